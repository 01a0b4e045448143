import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode } from '../protocol/error-codes.js';
import { DescribeTransactions } from '../protocol/messages/describe-transactions.js';
import { InitProducerId } from '../protocol/messages/init-producer-id.js';
import { ListTransactions } from '../protocol/messages/list-transactions.js';
import type { BrokerNode, ClusterConnections } from './cluster-connections.js';
import { ClientError, ConnectionError, KafkaError, throwIfError } from './errors.js';
import { COORDINATOR_RETRY_BACKOFF_MS, COORDINATOR_RETRY_CODES, CoordinatorKeyType, Coordinators } from './coordinators.js';
import type { KafkaConnection } from './kafka-connection.js';

/** Transactional ids per DescribeTransactions request: a listing of the broker's 50,000 ids is described in bounded requests. */
const DESCRIBE_BATCH = 1000;

export interface TransactionListing {
  readonly transactionalId: string;
  readonly producerId: bigint;
  /** Kafka's names: Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort (Kafka also has Dead, PrepareEpochFence). */
  readonly state: string;
  /** The broker that listed it: its coordinator. */
  readonly coordinator: BrokerNode;
}

export interface TransactionListFilter {
  /** Only these states (none: every state). */
  readonly states?: readonly string[];
  /** Only these producer ids (none: every producer). */
  readonly producerIds?: readonly bigint[];
  /** Only transactions open for at least this long (KIP-994, ListTransactions v1). */
  readonly minDurationMs?: number;
}

export interface TransactionList {
  readonly transactions: readonly TransactionListing[];
  /** State filters some broker does not know: they matched nothing there. */
  readonly unknownStates: readonly string[];
}

export interface TransactionPartitions {
  readonly topic: string;
  /** Sorted. */
  readonly partitions: readonly number[];
}

export interface TransactionDescription {
  readonly transactionalId: string;
  readonly coordinator: BrokerNode;
  readonly state: string;
  /** The producer's transaction.timeout.ms. */
  readonly timeoutMs: number;
  /** When the open transaction started (the coordinator's clock); null when none is open. */
  readonly startTimeMs: number | null;
  readonly producerId: bigint;
  readonly producerEpoch: number;
  /** The partitions of the open (or ending) transaction, sorted by topic; empty when none. */
  readonly topics: readonly TransactionPartitions[];
}

export type TransactionDescribeResult =
  | { readonly transactionalId: string; readonly description: TransactionDescription }
  | { readonly transactionalId: string; readonly error: KafkaError };

/** What `abort` did: the transaction as it was, and the producer id and epoch the id has now. */
export interface AbortedTransaction {
  readonly aborted: TransactionDescription;
  readonly producerId: bigint;
  readonly producerEpoch: number;
}

/** States in which a transaction is being ended: the coordinator completes it, nothing can change its outcome. */
const ENDING_STATES: ReadonlySet<string> = new Set(['PrepareCommit', 'PrepareAbort', 'PrepareEpochFence']);

function byTopic(topics: readonly { topic: string; partitions: readonly number[] }[]): TransactionPartitions[] {
  const merged = new Map<string, Set<number>>();
  for (const t of topics) {
    let set = merged.get(t.topic);
    if (set === undefined) merged.set(t.topic, (set = new Set()));
    for (const p of t.partitions) set.add(p);
  }
  return [...merged]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([topic, set]) => ({ topic, partitions: [...set].sort((a, b) => a - b) }));
}

/**
 * Transactions administration over the Kafka protocol (KIP-664), as kafka-transactions.sh does it:
 * ListTransactions to every broker (each lists the transactional ids it coordinates), DescribeTransactions
 * and InitProducerId to each id's coordinator (FindCoordinator, key type 1).
 */
export class TransactionAdmin {
  readonly #cluster: ClusterConnections;
  /** Coordinators found, by transactional id: the few ids of one command, forgotten when one moves. */
  readonly #coordinators: Coordinators;

  constructor(cluster: ClusterConnections) {
    this.#cluster = cluster;
    this.#coordinators = new Coordinators(cluster, CoordinatorKeyType.transaction, (id) => `transactional id "${id}"`);
  }

  /** Every transactional id of the cluster that matches the filter and the principal may describe, sorted by id. */
  async list(filter: TransactionListFilter = {}): Promise<TransactionList> {
    const { brokers } = await this.#cluster.nodes();
    const targets: { connection: KafkaConnection; node: BrokerNode }[] =
      brokers.length === 0
        ? [{ connection: this.#cluster.bootstrap, node: { nodeId: -1, ...this.#cluster.bootstrap.address } }]
        : await Promise.all(brokers.map(async (node) => ({ connection: await this.#connectForList(node), node })));
    const found = new Map<string, TransactionListing>();
    const unknownStates = new Set<string>();
    for (const { connection, node } of targets) {
      if (filter.minDurationMs !== undefined && connection.versionFor(ListTransactions) < 1) {
        throw new ClientError(`broker ${node.nodeId} cannot filter transactions by duration (ListTransactions v1, KIP-994, Kafka 3.8)`);
      }
      const request = {
        stateFilters: [...(filter.states ?? [])],
        producerIdFilters: [...(filter.producerIds ?? [])],
        durationFilter: BigInt(filter.minDurationMs ?? -1),
      };
      const response = await withRetries(
        () => connection.request(ListTransactions, request),
        (r) => r.errorCode,
      );
      throwIfError('list transactions', response.errorCode);
      for (const s of response.unknownStateFilters) unknownStates.add(s);
      for (const t of response.transactionStates) {
        found.set(t.transactionalId, { transactionalId: t.transactionalId, producerId: t.producerId, state: t.transactionState, coordinator: node });
      }
    }
    return {
      transactions: [...found.values()].sort((a, b) => (a.transactionalId < b.transactionalId ? -1 : a.transactionalId > b.transactionalId ? 1 : 0)),
      unknownStates: [...unknownStates].sort(),
    };
  }

  /** Each id as its coordinator sees it, in the order asked; an id it does not know is TRANSACTIONAL_ID_NOT_FOUND (105). */
  async describe(transactionalIds: readonly string[]): Promise<TransactionDescribeResult[]> {
    const results = new Map<string, TransactionDescribeResult>();
    let pending = [...new Set(transactionalIds)];
    for (let attempt = 0; pending.length > 0; attempt++) {
      const retry: string[] = [];
      const last = COORDINATOR_RETRY_BACKOFF_MS[attempt] === undefined;
      const byCoordinator = new Map<string, { node: BrokerNode; ids: string[] }>();
      for (const id of pending) {
        let node: BrokerNode;
        try {
          node = await this.#coordinators.of(id);
        } catch (err) {
          if (err instanceof KafkaError && COORDINATOR_RETRY_CODES.has(err.code) && !last) {
            this.#coordinators.forget(id);
            retry.push(id);
            continue;
          }
          if (err instanceof KafkaError) {
            results.set(id, { transactionalId: id, error: err });
            continue;
          }
          throw err;
        }
        const key = `${node.nodeId}`;
        let group = byCoordinator.get(key);
        if (group === undefined) byCoordinator.set(key, (group = { node, ids: [] }));
        group.ids.push(id);
      }
      for (const { node, ids } of byCoordinator.values()) {
        const connection = await this.#coordinators.connect(ids[0] ?? '', node);
        for (let i = 0; i < ids.length; i += DESCRIBE_BATCH) {
          const response = await connection.request(DescribeTransactions, { transactionalIds: ids.slice(i, i + DESCRIBE_BATCH) });
          for (const s of response.transactionStates) {
            const what = `describe transactional id "${s.transactionalId}"`;
            if (COORDINATOR_RETRY_CODES.has(s.errorCode) && !last) {
              this.#coordinators.forget(s.transactionalId);
              retry.push(s.transactionalId);
            } else if (s.errorCode !== ErrorCode.NONE) {
              results.set(s.transactionalId, { transactionalId: s.transactionalId, error: new KafkaError(what, s.errorCode) });
            } else {
              const startTimeMs = Number(s.transactionStartTimeMs);
              results.set(s.transactionalId, {
                transactionalId: s.transactionalId,
                description: {
                  transactionalId: s.transactionalId,
                  coordinator: node,
                  state: s.transactionState,
                  timeoutMs: s.transactionTimeoutMs,
                  startTimeMs: startTimeMs < 0 ? null : startTimeMs,
                  producerId: s.producerId,
                  producerEpoch: s.producerEpoch,
                  topics: byTopic(s.topics),
                },
              });
            }
          }
        }
      }
      pending = retry;
      const pause = COORDINATOR_RETRY_BACKOFF_MS[attempt];
      if (pending.length > 0 && pause !== undefined) await sleep(pause);
    }
    return [...new Set(transactionalIds)].map(
      (id) => results.get(id) ?? { transactionalId: id, error: new KafkaError(`describe transactional id "${id}"`, ErrorCode.UNKNOWN_SERVER_ERROR, 'the broker returned no result for it') },
    );
  }

  /** One id as its coordinator sees it; a KafkaError (TRANSACTIONAL_ID_NOT_FOUND for an unknown id) otherwise. */
  async describeOne(transactionalId: string): Promise<TransactionDescription> {
    const [result] = await this.describe([transactionalId]);
    if (result === undefined) throw new ClientError(`describe transactional id "${transactionalId}": no result`);
    if ('error' in result) throw result.error;
    return result.description;
  }

  /**
   * Aborts the open transaction of a transactional id the way a new instance of its producer would:
   * InitProducerId with that id and its current timeout. The coordinator aborts the open transaction
   * (abort markers written to its partitions) and bumps the producer epoch, which fences the producer
   * that used the id: its next request fails with PRODUCER_FENCED or INVALID_PRODUCER_EPOCH, and a new
   * instance must call init_transactions. Refused, without an InitProducerId, for an id the coordinator does not
   * know (InitProducerId would create it), an id without an open transaction (nothing to abort: fencing
   * a healthy producer helps no one) and a transaction already being ended (its outcome is decided).
   * Between the check and the InitProducerId the producer may still end the transaction itself: that
   * end stands and the producer is fenced all the same.
   */
  async abort(transactionalId: string): Promise<AbortedTransaction> {
    for (let attempt = 0; ; attempt++) {
      const current = await this.describeOne(transactionalId);
      const name = JSON.stringify(transactionalId);
      if (ENDING_STATES.has(current.state)) {
        throw new ClientError(`the transaction of ${name} is already being ended (${current.state}): its outcome is decided and the coordinator completes it; nothing was changed`);
      }
      if (current.state !== 'Ongoing') {
        throw new ClientError(`transactional id ${name} has no open transaction (state ${current.state}): nothing to abort, its producer was not fenced`);
      }
      const response = await this.#withCoordinator(transactionalId, (connection) =>
        connection.request(InitProducerId, { transactionalId, transactionTimeoutMs: current.timeoutMs, producerId: -1n, producerEpoch: -1 }),
      );
      const pause = COORDINATOR_RETRY_BACKOFF_MS[attempt];
      // The coordinator is still writing markers of this id (the producer ending it, or an earlier abort): look again.
      if (response.errorCode === ErrorCode.CONCURRENT_TRANSACTIONS && pause !== undefined) {
        await sleep(pause);
        continue;
      }
      throwIfError(`abort the transaction of ${name} (InitProducerId)`, response.errorCode);
      return { aborted: current, producerId: response.producerId ?? -1n, producerEpoch: response.producerEpoch };
    }
  }

  /** A request to the id's coordinator, asked again (after a pause) while it is moving or loading. */
  #withCoordinator<T extends { errorCode: number }>(transactionalId: string, fn: (connection: KafkaConnection) => Promise<T>): Promise<T> {
    return this.#coordinators.withRetries(transactionalId, (connection) => fn(connection), (response) => response.errorCode);
  }

  /** Each broker lists only the transactional ids it coordinates: without one of them the list would be incomplete. */
  async #connectForList(broker: BrokerNode): Promise<KafkaConnection> {
    try {
      return await this.#cluster.to(broker);
    } catch (err) {
      if (!(err instanceof ConnectionError)) throw err;
      throw new ConnectionError(`list transactions: every broker lists the transactional ids it coordinates, and broker ${broker.nodeId} cannot be reached: ${err.message}`);
    }
  }
}

/** A request answered with a retriable coordinator error is sent again after a pause (about 5 s in all). */
async function withRetries<T>(send: () => Promise<T>, errorOf: (response: T) => number): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const response = await send();
    const pause = COORDINATOR_RETRY_BACKOFF_MS[attempt];
    if (!COORDINATOR_RETRY_CODES.has(errorOf(response)) || pause === undefined) return response;
    await sleep(pause);
  }
}
