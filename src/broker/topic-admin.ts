import { randomUUID } from 'node:crypto';
import { isFault } from '../errors.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { LogManager } from '../storage/log/log-manager.js';
import type { MetadataStore, TopicRecord } from '../storage/metadata-store.js';
import { effectiveTopicConfig, type EffectiveTopicConfig } from './log-config.js';
import { topicNameProblem } from '../protocol/names.js';
import { TOPIC_CONFIGS, validateTopicConfigs } from './topic-configs.js';

/** A per-topic outcome as the admin APIs report it. */
export interface TopicOutcome {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly topic?: TopicRecord;
}

const ok = (topic?: TopicRecord): TopicOutcome => (topic === undefined ? { errorCode: 0, errorMessage: null } : { errorCode: 0, errorMessage: null, topic });
const fail = (errorCode: number, errorMessage: string): TopicOutcome => ({ errorCode, errorMessage });

export interface CreateTopicSpec {
  readonly name: string;
  /** −1 means the broker default. */
  readonly numPartitions: number;
  /** −1 means the broker default; a single broker can only keep one replica. */
  readonly replicationFactor: number;
  readonly assignments: readonly unknown[];
  readonly configs: Readonly<Record<string, string>>;
}

/**
 * Topic administration shared by the admin APIs (and later the CLI): validation with Kafka's error
 * codes, then the metadata store and the partition logs, in that order (a topic exists once it is in
 * the store; its logs are opened from the store at start-up if a crash came in between).
 */
export class TopicAdmin {
  readonly #store: MetadataStore;
  readonly #logs: LogManager;
  readonly #defaultPartitions: number;
  /** Effective configs by topic: the data path reads them on every append, the store only on a miss. */
  readonly #configs = new Map<string, EffectiveTopicConfig>();

  constructor(store: MetadataStore, logs: LogManager, options: { defaultPartitions: number }) {
    this.#store = store;
    this.#logs = logs;
    this.#defaultPartitions = options.defaultPartitions;
  }

  /** Opens the logs of every topic in the store (start-up). */
  openLogs(): void {
    for (const topic of this.#store.topics()) this.#logs.openTopic(topic);
  }

  /** The configs the data path obeys for `name` (defaults for an unknown topic). */
  config(name: string): EffectiveTopicConfig {
    let config = this.#configs.get(name);
    if (config === undefined) {
      config = effectiveTopicConfig(this.#store.topic(name)?.configs ?? {});
      this.#configs.set(name, config);
    }
    return config;
  }

  list(): TopicRecord[] {
    return this.#store.topics();
  }

  get(name: string): TopicRecord | undefined {
    return this.#store.topic(name);
  }

  create(spec: CreateTopicSpec, validateOnly: boolean): TopicOutcome {
    const nameProblem = topicNameProblem(spec.name);
    if (nameProblem !== null) return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, nameProblem);
    if (this.#store.topic(spec.name) !== undefined) return fail(ErrorCode.TOPIC_ALREADY_EXISTS, `topic ${spec.name} already exists`);
    if (spec.assignments.length > 0) return fail(ErrorCode.INVALID_REQUEST, 'manual replica assignments are not supported on a single broker');
    const partitions = spec.numPartitions === -1 ? this.#defaultPartitions : spec.numPartitions;
    if (partitions < 1) return fail(ErrorCode.INVALID_PARTITIONS, 'the number of partitions must be at least 1');
    if (spec.replicationFactor !== -1 && spec.replicationFactor !== 1) {
      return fail(ErrorCode.INVALID_REPLICATION_FACTOR, 'a single broker keeps exactly one replica (replication factor 1)');
    }
    const configProblem = validateTopicConfigs(spec.configs);
    if (configProblem !== null) return fail(ErrorCode.INVALID_CONFIG, configProblem);
    const record: TopicRecord = { name: spec.name, id: randomUUID(), partitions, configs: spec.configs };
    if (validateOnly) return ok(record);
    try {
      const created = this.#store.createTopic(record.name, record.id, partitions, spec.configs);
      this.#configs.delete(spec.name);
      this.#logs.openTopic(created);
      return ok(created);
    } catch (err) {
      if (isFault(err, 'METADATA_ERROR') && err.context.kafkaErrorCode !== undefined) return fail(err.context.kafkaErrorCode, err.message);
      throw err;
    }
  }

  async delete(name: string): Promise<TopicOutcome> {
    if (!this.#store.deleteTopic(name)) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic ${name}`);
    this.#configs.delete(name);
    await this.#logs.deleteTopic(name);
    return ok();
  }

  /** Changes a topic's configs after validating the result: `replace` (AlterConfigs) or set/remove (incremental). */
  alterConfigs(
    name: string,
    change: { replace?: Record<string, string>; set?: Record<string, string>; remove?: readonly string[] },
    validateOnly: boolean,
  ): TopicOutcome {
    const topic = this.#store.topic(name);
    if (topic === undefined) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic ${name}`);
    const unknownRemoval = (change.remove ?? []).find((k) => !(k in TOPIC_CONFIGS));
    if (unknownRemoval !== undefined) return fail(ErrorCode.INVALID_CONFIG, `unknown topic config ${unknownRemoval}`);
    const problem = validateTopicConfigs({ ...change.replace, ...change.set });
    if (problem !== null) return fail(ErrorCode.INVALID_CONFIG, problem);
    if (!validateOnly) {
      this.#store.alterConfigs(name, change);
      this.#configs.delete(name);
    }
    return ok();
  }

  addPartitions(name: string, count: number, validateOnly: boolean): TopicOutcome {
    const topic = this.#store.topic(name);
    if (topic === undefined) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic ${name}`);
    if (count <= topic.partitions) {
      return fail(ErrorCode.INVALID_PARTITIONS, `topic ${name} has ${topic.partitions} partitions; the new count must be higher`);
    }
    if (!validateOnly) {
      this.#store.setPartitionCount(name, count);
      this.#logs.openTopic({ ...topic, partitions: count });
    }
    return ok();
  }
}
