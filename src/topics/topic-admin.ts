import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { LogStore } from '../storage/log-store.js';
import type { TopicRecord, TopicStore } from '../storage/topic-store.js';
import { outOfRangeConfigs } from './log-config.js';
import { topicNameProblem } from '../protocol/names.js';
import { storageErrorCode } from './storage-errors.js';
import { INTERNAL_TOPICS } from './internal-topics.js';
import type { TopicConfigCache } from './topic-config-cache.js';
import { checkAddedAssignments, checkTopicAssignments, type PartitionAssignment } from './replica-assignment.js';
import { TOPIC_CONFIGS, validateTopicConfigs, type TopicConfigLimits } from './topic-configs.js';
import type { SecurityEvents } from '../security/events.js';
import { ALL_ASPECTS, checkTopicPolicies, compileTopicPolicies, type CompiledTopicPolicy, type PolicyAspect, type PolicyTopic, type TopicPolicy } from './topic-policies.js';

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
  /** Manual replica assignments (./replica-assignment.ts); empty for none. */
  readonly assignments: readonly PartitionAssignment[];
  readonly configs: Readonly<Record<string, string>>;
}

export interface TopicAdminOptions {
  /** Partitions of a topic created without a count. */
  readonly defaultPartitions: number;
  /** Most partitions of one topic (INVALID_PARTITIONS above it). */
  readonly maxPartitionsPerTopic: number;
  /** Most partitions of all topics together (POLICY_VIOLATION above it). */
  readonly maxPartitions: number;
  /** The ranges of topic configs that depend on broker settings. */
  readonly configLimits: TopicConfigLimits;
  readonly logger: Logger;
  /** This broker's node id: the only broker a manual replica assignment may name (default 0). */
  readonly nodeId?: number;
  /** Where a topic set to `encryption=none` is reported as an insecure setting (default: the log). */
  readonly events?: SecurityEvents;
  /** The declared topic policies (./topic-policies.ts), checked for every principal; default none. */
  readonly topicPolicies?: readonly TopicPolicy[];
}

const PARTITION_ASPECTS: ReadonlySet<PolicyAspect> = new Set(['partitions']);
const CONFIG_ASPECTS: ReadonlySet<PolicyAspect> = new Set(['configs']);

/**
 * Topic administration shared by the admin APIs (and later the CLI): validation with Kafka's error
 * codes, then the metadata store and the partition logs, in that order (a topic exists once it is in
 * the store; its logs are opened from the store at start-up if a crash came in between).
 *
 * Partition counts are bounded before anything is written: per topic (INVALID_PARTITIONS, the code
 * Kafka gives a count it cannot accept) and for the whole broker (POLICY_VIOLATION, what KRaft answers
 * when a request would exceed what one operation may create, and what create-topic policies answer).
 */
export class TopicAdmin {
  readonly #store: TopicStore;
  readonly #logs: LogStore;
  readonly #configs: TopicConfigCache;
  readonly #o: TopicAdminOptions;
  readonly #policies: readonly CompiledTopicPolicy[];
  /** Partitions of all topics in the store. */
  #totalPartitions: number;

  /** `configs`: what the logs read topic configs from, told of every change made here. */
  constructor(store: TopicStore, logs: LogStore, configs: TopicConfigCache, options: TopicAdminOptions) {
    this.#store = store;
    this.#logs = logs;
    this.#configs = configs;
    this.#o = options;
    this.#policies = compileTopicPolicies(options.topicPolicies ?? []);
    // The broker's own topics (one __audit partition) are not the clients' to count against maxPartitions.
    this.#totalPartitions = store.topics().reduce((sum, t) => sum + (INTERNAL_TOPICS.has(t.name) ? 0 : t.partitions), 0);
  }

  /**
   * Start-up: makes every topic in the store known to the logs and opens the partitions that hold data
   * (recovering them), at most maxPartitions of them; the rest open on first use. Topics and configs an
   * older version accepted beyond today's limits are served (refusing to start would lock the data
   * away) and named in warnings that say how to bring them back within the limits.
   */
  openLogs(): void {
    const { logger, maxPartitionsPerTopic, maxPartitions, configLimits } = this.#o;
    for (const topic of this.#store.topics()) {
      this.#logs.addTopic(topic);
      if (topic.partitions > maxPartitionsPerTopic) {
        logger.warn(
          { topic: topic.name, partitions: topic.partitions, maxPartitionsPerTopic },
          `topic ${topic.name} has ${topic.partitions} partitions, more than maxPartitionsPerTopic allows (recorded before this limit applied): ` +
            `it is served and its partitions open on first use; delete it (parapet topic delete ${topic.name}) and create it again with fewer partitions, or raise maxPartitionsPerTopic`,
        );
      }
      const problems = outOfRangeConfigs(topic.configs, configLimits);
      if (problems.length > 0) {
        logger.warn(
          { topic: topic.name, problems },
          `topic ${topic.name} has configs outside today's ranges (stored before these ranges applied): the broker uses the nearest allowed value; ` +
            `set them with parapet topic alter ${topic.name} --config <name>=<value> (or --delete-config <name>)`,
        );
      }
    }
    if (this.#totalPartitions > maxPartitions) {
      logger.warn(
        { partitions: this.#totalPartitions, maxPartitions },
        `the topics hold ${this.#totalPartitions} partitions, more than maxPartitions allows: no topic or partition can be created until topics are deleted or maxPartitions is raised`,
      );
    }
    const { opened, deferred } = this.#logs.openExisting(maxPartitions);
    logger.info({ opened, deferred }, 'partition logs opened');
    if (deferred > 0) {
      logger.warn({ opened, deferred, maxPartitions }, `${deferred} partition directories beyond maxPartitions were not opened at start: each opens on first use`);
    }
  }

  /** The ranges topic configs are checked against. */
  get configLimits(): TopicConfigLimits {
    return this.#o.configLimits;
  }

  /**
   * Why `count` partitions for one topic cannot be had, with `others` partitions held by the other topics
   * (and those accepted earlier in the same validate-only request), or null.
   */
  #partitionProblem(count: number, others: number): TopicOutcome | null {
    const { maxPartitionsPerTopic, maxPartitions } = this.#o;
    if (count > maxPartitionsPerTopic) {
      return fail(ErrorCode.INVALID_PARTITIONS, `${count} partitions is more than this broker allows for one topic (maxPartitionsPerTopic = ${maxPartitionsPerTopic})`);
    }
    if (others + count > maxPartitions) {
      return fail(
        ErrorCode.POLICY_VIOLATION,
        `${count} partitions would bring the broker to ${others + count} partitions, more than it allows in all (maxPartitions = ${maxPartitions}); ${Math.max(0, maxPartitions - others)} can still be created`,
      );
    }
    return null;
  }

  /**
   * The topic policies' refusal of `topic` as the operation would leave it, or null. The broker's own
   * topics are exempt (they are not the clients' to shape); every principal, super users included, is
   * bound, as Kafka's CreateTopicPolicy binds every caller. `aspects`: what the operation can change.
   */
  #policyProblem(topic: PolicyTopic, aspects: ReadonlySet<PolicyAspect>): TopicOutcome | null {
    if (this.#policies.length === 0 || INTERNAL_TOPICS.has(topic.name)) return null;
    const violation = checkTopicPolicies(this.#policies, topic, aspects);
    return violation === null ? null : fail(ErrorCode.POLICY_VIOLATION, violation.message);
  }

  list(): TopicRecord[] {
    return this.#store.topics();
  }

  get(name: string): TopicRecord | undefined {
    return this.#store.topic(name);
  }

  /**
   * Creates a topic, or only checks that it could be (`validateOnly`). `pending`: partitions that
   * topics accepted earlier in the same validate-only request would add (nothing was created for them).
   */
  create(spec: CreateTopicSpec, validateOnly: boolean, pending = 0): TopicOutcome {
    const nameProblem = topicNameProblem(spec.name);
    if (nameProblem !== null) return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, nameProblem);
    if (this.#store.topic(spec.name) !== undefined) return fail(ErrorCode.TOPIC_ALREADY_EXISTS, `topic ${spec.name} already exists`);
    let partitions = spec.numPartitions === -1 ? this.#o.defaultPartitions : spec.numPartitions;
    if (spec.assignments.length > 0) {
      const assigned = checkTopicAssignments(spec.assignments, spec.numPartitions, spec.replicationFactor, this.#o.nodeId ?? 0);
      if (assigned.kind === 'refused') return fail(assigned.errorCode, assigned.errorMessage);
      partitions = assigned.partitions;
    }
    if (partitions < 1) return fail(ErrorCode.INVALID_PARTITIONS, 'the number of partitions must be at least 1');
    if (spec.replicationFactor !== -1 && spec.replicationFactor !== 1) {
      return fail(ErrorCode.INVALID_REPLICATION_FACTOR, 'a single broker keeps exactly one replica (replication factor 1)');
    }
    const configProblem = validateTopicConfigs(spec.configs, this.#o.configLimits);
    if (configProblem !== null) return fail(ErrorCode.INVALID_CONFIG, configProblem);
    const internal = INTERNAL_TOPICS.has(spec.name);
    const partitionProblem = internal ? null : this.#partitionProblem(partitions, this.#totalPartitions + pending);
    if (partitionProblem !== null) return partitionProblem;
    const policyProblem = this.#policyProblem({ name: spec.name, partitions, configs: spec.configs }, ALL_ASPECTS);
    if (policyProblem !== null) return policyProblem;
    const record: TopicRecord = { name: spec.name, id: randomUUID(), partitions, configs: spec.configs };
    if (validateOnly) return ok(record);
    const created = this.#store.createTopic(record.name, record.id, partitions, spec.configs);
    if (created.kind !== 'created') return fail(storageErrorCode(created.kind), created.message);
    if (!internal) this.#totalPartitions += created.topic.partitions;
    this.#configs.forget(spec.name);
    this.#reportClearText(spec.name, spec.configs, 'created');
    // Nothing on disk yet: each partition's directory is created when it is first used.
    this.#logs.addTopic(created.topic);
    return ok(created.topic);
  }

  async delete(name: string): Promise<TopicOutcome> {
    const topic = this.#store.topic(name);
    if (topic === undefined || !this.#store.deleteTopic(name)) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic ${name}`);
    if (!INTERNAL_TOPICS.has(name)) this.#totalPartitions -= topic.partitions;
    this.#configs.forget(name);
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
    const problem = validateTopicConfigs({ ...change.replace, ...change.set }, this.#o.configLimits);
    if (problem !== null) return fail(ErrorCode.INVALID_CONFIG, problem);
    // A change of tags can bring the topic under a policy it was not under: then it must meet all of it.
    const after = configsAfter(topic.configs, change);
    const retagged = (after.tags ?? '') !== (topic.configs.tags ?? '');
    const policyProblem = this.#policyProblem({ name, partitions: topic.partitions, configs: after }, retagged ? ALL_ASPECTS : CONFIG_ASPECTS);
    if (policyProblem !== null) return policyProblem;
    if (!validateOnly) {
      const altered = this.#store.alterConfigs(name, change);
      if (altered.kind !== 'changed') return fail(storageErrorCode(altered.kind), altered.message);
      this.#configs.forget(name);
      this.#reportClearText(name, { ...change.replace, ...change.set }, 'altered');
    }
    return ok();
  }

  /** `encryption=none` is insecure by name: warned about and recorded as a security event. */
  #reportClearText(name: string, configs: Readonly<Record<string, string>>, how: string): void {
    if (configs.encryption !== 'none') return;
    const detail = `topic ${name} ${how} with encryption=none: its new batches are stored in clear text on disk and in every copy of the data directory`;
    if (this.#o.events === undefined) this.#o.logger.warn({ topic: name }, detail);
    else this.#o.events.emit({ type: 'insecure-setting', setting: `topic ${name}: encryption=none`, detail });
  }

  /**
   * Raises a topic's partition count to `count`; `pending` as in {@link create}. `assignments` (null for
   * none): the replicas of each added partition, which must be this broker alone.
   */
  addPartitions(name: string, count: number, validateOnly: boolean, pending = 0, assignments: readonly { readonly brokerIds: readonly number[] }[] | null = null): TopicOutcome {
    const topic = this.#store.topic(name);
    if (topic === undefined) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic ${name}`);
    if (count <= topic.partitions) {
      return fail(ErrorCode.INVALID_PARTITIONS, `topic ${name} has ${topic.partitions} partitions; the new count must be higher`);
    }
    if (assignments !== null) {
      const assigned = checkAddedAssignments(assignments, topic.partitions, count, this.#o.nodeId ?? 0);
      if (assigned.kind === 'refused') return fail(assigned.errorCode, assigned.errorMessage);
    }
    const problem = this.#partitionProblem(count, this.#totalPartitions - topic.partitions + pending);
    if (problem !== null) return problem;
    // Only the partition bounds: a name or configs that an older policy set allowed do not block a new partition.
    const policyProblem = this.#policyProblem({ name, partitions: count, configs: topic.configs }, PARTITION_ASPECTS);
    if (policyProblem !== null) return policyProblem;
    if (!validateOnly) {
      const raised = this.#store.setPartitionCount(name, count);
      if (raised.kind !== 'changed') return fail(storageErrorCode(raised.kind), raised.message);
      this.#totalPartitions += count - topic.partitions;
      this.#logs.addTopic({ ...topic, partitions: count });
    }
    return ok();
  }
}

/** A topic's configs after a change, as the metadata store applies it: replace all, then set, then remove. */
function configsAfter(
  configs: Readonly<Record<string, string>>,
  change: { replace?: Record<string, string>; set?: Record<string, string>; remove?: readonly string[] },
): Record<string, string> {
  const removed = new Set(change.remove ?? []);
  return Object.fromEntries(Object.entries({ ...(change.replace ?? configs), ...change.set }).filter(([k]) => !removed.has(k)));
}
