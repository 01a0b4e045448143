import { randomUUID } from 'node:crypto';
import { isFault } from '../errors.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { MetadataStore, TopicRecord } from '../storage/metadata-store.js';
import { TOPIC_CONFIGS, topicNameProblem, validateTopicConfigs } from './topic-configs.js';

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
 * codes, then the metadata store. Partition logs will be created and deleted here too.
 */
export class TopicAdmin {
  readonly #store: MetadataStore;
  readonly #defaultPartitions: number;

  constructor(store: MetadataStore, options: { defaultPartitions: number }) {
    this.#store = store;
    this.#defaultPartitions = options.defaultPartitions;
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
      return ok(this.#store.createTopic(record.name, record.id, partitions, spec.configs));
    } catch (err) {
      if (isFault(err, 'METADATA_ERROR') && err.context.kafkaErrorCode !== undefined) return fail(err.context.kafkaErrorCode, err.message);
      throw err;
    }
  }

  delete(name: string): TopicOutcome {
    return this.#store.deleteTopic(name) ? ok() : fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic ${name}`);
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
    if (!validateOnly) this.#store.alterConfigs(name, change);
    return ok();
  }

  addPartitions(name: string, count: number, validateOnly: boolean): TopicOutcome {
    const topic = this.#store.topic(name);
    if (topic === undefined) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic ${name}`);
    if (count <= topic.partitions) {
      return fail(ErrorCode.INVALID_PARTITIONS, `topic ${name} has ${topic.partitions} partitions; the new count must be higher`);
    }
    if (!validateOnly) this.#store.setPartitionCount(name, count);
    return ok();
  }
}
