import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode } from '../protocol/error-codes.js';
import { FindCoordinator } from '../protocol/messages/find-coordinator.js';
import type { BrokerNode, ClusterConnections } from './cluster-connections.js';
import { ClientError, ConnectionError, KafkaError, throwIfError } from './errors.js';
import type { KafkaConnection } from './kafka-connection.js';

/** Errors that mean "ask FindCoordinator again, a little later" (coordinator moved, or still loading). */
export const COORDINATOR_RETRY_CODES: ReadonlySet<number> = new Set([ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.NOT_COORDINATOR]);

/**
 * Waits between attempts. A Kafka cluster answers COORDINATOR_NOT_AVAILABLE while it creates
 * `__consumer_offsets` on first use, which takes a few seconds; after about 5 s the error is shown.
 */
export const COORDINATOR_RETRY_BACKOFF_MS = [100, 200, 400, 800, 1600, 2000] as const;

/** FindCoordinator key types: a consumer group's, and a transactional id's (KIP-98). */
export const CoordinatorKeyType = { group: 0, transaction: 1 } as const;

/**
 * The coordinators of one kind of key (consumer groups or transactional ids), found with FindCoordinator
 * through the bootstrap connection and kept until {@link forget} (a coordinator that moved). A failed
 * lookup is not kept: the next call asks again. The few keys of one admin command are all it holds.
 */
export class Coordinators {
  readonly #cluster: ClusterConnections;
  readonly #keyType: number;
  /** How a key is named in errors: `group "g"`, `transactional id "t"`. */
  readonly #name: (key: string) => string;
  readonly #found = new Map<string, Promise<BrokerNode>>();

  constructor(cluster: ClusterConnections, keyType: (typeof CoordinatorKeyType)[keyof typeof CoordinatorKeyType], name: (key: string) => string) {
    this.#cluster = cluster;
    this.#keyType = keyType;
    this.#name = name;
  }

  of(key: string): Promise<BrokerNode> {
    let found = this.#found.get(key);
    if (found === undefined) {
      found = this.#find(key);
      this.#found.set(key, found);
      found.catch(() => this.#found.delete(key));
    }
    return found;
  }

  forget(key: string): void {
    this.#found.delete(key);
  }

  /**
   * `fn` on the key's coordinator, tried again after a pause (about 5 s in all) while the coordinator is
   * moving or loading: a KafkaError thrown with one of those codes, or (with `codeOf`) a response that
   * carries one. The coordinator is looked up again before each new attempt.
   */
  async withRetries<T>(key: string, fn: (connection: KafkaConnection, coordinator: BrokerNode) => Promise<T>, codeOf?: (response: T) => number): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const pause = COORDINATOR_RETRY_BACKOFF_MS[attempt];
      try {
        const coordinator = await this.of(key);
        const response = await fn(await this.connect(key, coordinator), coordinator);
        if (codeOf === undefined || !COORDINATOR_RETRY_CODES.has(codeOf(response)) || pause === undefined) return response;
      } catch (err) {
        if (!(err instanceof KafkaError) || !COORDINATOR_RETRY_CODES.has(err.code) || pause === undefined) throw err;
      }
      this.forget(key);
      await sleep(pause);
    }
  }

  /** A connection to the key's coordinator; an unreachable one is named in the error. */
  async connect(key: string, coordinator: BrokerNode): Promise<KafkaConnection> {
    try {
      return await this.#cluster.to(coordinator);
    } catch (err) {
      if (!(err instanceof ConnectionError)) throw err;
      throw new ConnectionError(`the coordinator of ${this.#name(key)} is broker ${coordinator.nodeId}, but ${err.message}`);
    }
  }

  async #find(key: string): Promise<BrokerNode> {
    const connection = this.#cluster.bootstrap;
    const what = `find the coordinator of ${this.#name(key)}`;
    // FindCoordinator v0 has no key type: it can only find group coordinators.
    if (this.#keyType !== CoordinatorKeyType.group && connection.versionFor(FindCoordinator) < 1) {
      throw new ClientError(`${what}: the broker only offers FindCoordinator v0, which cannot find a transaction coordinator`);
    }
    const batched = connection.versionFor(FindCoordinator) >= 4;
    const response = await connection.request(FindCoordinator, { key, keyType: this.#keyType, coordinatorKeys: [key] });
    // v4 (KIP-699) answers a batch of keys; earlier versions one coordinator at the top level.
    const answer = batched ? response.coordinators?.find((c) => c.key === key) : response;
    if (answer === undefined) throw new ClientError(`${what}: the broker returned no result`);
    throwIfError(what, answer.errorCode ?? 0, answer.errorMessage ?? null);
    const { nodeId, host, port } = answer;
    if (nodeId === undefined || host === undefined || port === undefined) throw new ClientError(`${what}: the broker named no coordinator`);
    return { nodeId, host, port };
  }
}
