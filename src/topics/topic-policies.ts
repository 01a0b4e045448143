/**
 * Topic policies (issue 18, docs/governance/topic-policies.md): Kafka's `create.topic.policy.class.name`
 * and `alter.config.policy.class.name` (KIP-108, KIP-133) declared in the config file instead of coded.
 * Each policy selects topics by name (a literal or a glob) and optionally by tag (the topic config
 * `tags`), and bounds what such a topic may be: its partition count, its name, its retention.ms, and
 * whether it may be stored in clear text or without validation of its values. A violation is refused with POLICY_VIOLATION (44) and a message
 * naming the policy, as Kafka's PolicyViolationException is.
 *
 * The check is a pure function of the topic as it would be after the operation; TopicAdmin calls it.
 */
import { namePatternProblem } from '../regex-guard.js';
import { parseTopicPattern, topicMatches, type TopicPattern } from './topic-pattern.js';
import { ENCRYPTED, parseTags, TOPIC_CONFIGS } from './topic-configs.js';

// The guard moved to src/regex-guard.ts (JSON Schema patterns use it too); re-exported for its callers.
export { namePatternProblem };
/** The topic config `requireValidation` asks for (src/governance/validation/settings.ts reads it). */
const VALUE_VALIDATION_CONFIG = 'confluent.value.schema.validation';

/** A bound on either side, either optional. */
export interface PolicyRange {
  readonly min?: number;
  readonly max?: number;
}

/** One policy as written in the config file (`topicPolicies`), and as the broker config holds it. */
export interface TopicPolicy {
  /** Named in every refusal: [a-z0-9-]{1,64}, unique. */
  readonly name: string;
  /** A literal topic name, or a glob where `*` is any run of characters and `?` one character. */
  readonly topics: string;
  /** When given, the policy applies only to topics whose `tags` config names one of these. */
  readonly tags?: readonly string[];
  readonly partitions?: PolicyRange;
  /** A regular expression the whole topic name must match (a search: anchor it with ^ and $). */
  readonly namePattern?: string;
  /** Bounds of retention.ms; -1 (keep forever) is above any max and never below a min. */
  readonly retentionMs?: PolicyRange;
  /** `encryption=none` is refused. */
  readonly requireEncryption?: boolean;
  /**
   * The topic must have validation on produce of its values (`confluent.value.schema.validation=true`,
   * docs/governance/validation.md): every value it takes names a schema registered for it.
   */
  readonly requireValidation?: boolean;
}

/** A policy with its glob and name pattern compiled (once, when the broker starts). */
export interface CompiledTopicPolicy {
  readonly policy: TopicPolicy;
  readonly topics: TopicPattern;
  readonly namePattern: RegExp | null;
}

/** The aspects of a topic an operation can change: only the rules about those are checked for it. */
export type PolicyAspect = 'name' | 'partitions' | 'configs';
export const ALL_ASPECTS: ReadonlySet<PolicyAspect> = new Set(['name', 'partitions', 'configs']);

export interface TopicPolicyViolation {
  /** The policy's name. */
  readonly rule: string;
  /** `topic policy "<name>": <what is wrong and what is allowed>`. */
  readonly message: string;
}

export const POLICY_NAME = /^[a-z0-9-]{1,64}$/;

/** Compiles the policies (validated at config load: a pattern that fails here is a bug, thrown). */
export function compileTopicPolicies(policies: readonly TopicPolicy[]): CompiledTopicPolicy[] {
  return policies.map((policy) => {
    if (policy.namePattern !== undefined) {
      const problem = namePatternProblem(policy.namePattern);
      if (problem !== null) throw new Error(`topic policy "${policy.name}": namePattern ${problem}`);
    }
    const topics = parseTopicPattern(policy.topics);
    if ('error' in topics) throw new Error(`topic policy "${policy.name}": ${topics.error}`);
    return { policy, topics, namePattern: policy.namePattern === undefined ? null : new RegExp(policy.namePattern, 'u') };
  });
}

/** The topic as it would be after the operation. `configs`: the topic's own configs; absent ones take their defaults. */
export interface PolicyTopic {
  readonly name: string;
  readonly partitions: number;
  readonly configs: Readonly<Record<string, string>>;
}

const rangeText = (r: PolicyRange, unit = '') =>
  r.min !== undefined && r.max !== undefined ? `${r.min}${unit} to ${r.max}${unit}` : r.min !== undefined ? `at least ${r.min}${unit}` : `at most ${String(r.max)}${unit}`;

/**
 * The first violation of the policies that apply to `topic`, or null. `aspects`: the rules checked
 * (an operation is judged by what it can change: an AlterConfigs of a topic created before a partition
 * bound existed is not refused for its partition count, which no config change can fix).
 */
export function checkTopicPolicies(policies: readonly CompiledTopicPolicy[], topic: PolicyTopic, aspects: ReadonlySet<PolicyAspect> = ALL_ASPECTS): TopicPolicyViolation | null {
  const tags = parseTags(topic.configs.tags);
  for (const { policy, topics, namePattern } of policies) {
    if (!topicMatches(topics, topic.name)) continue;
    if (policy.tags !== undefined && !policy.tags.some((t) => tags.includes(t))) continue;
    const refuse = (what: string): TopicPolicyViolation => ({ rule: policy.name, message: `topic policy "${policy.name}": ${what}` });
    const scope = policy.tags === undefined ? '' : ` for topics tagged ${policy.tags.join(' or ')}`;
    if (aspects.has('name') && namePattern !== null && !namePattern.test(topic.name)) {
      return refuse(`topic name ${topic.name} does not match ${String(policy.namePattern)}${scope}`);
    }
    const p = policy.partitions;
    if (aspects.has('partitions') && p !== undefined && ((p.min !== undefined && topic.partitions < p.min) || (p.max !== undefined && topic.partitions > p.max))) {
      return refuse(`${topic.name} would have ${topic.partitions} partitions; allowed${scope}: ${rangeText(p)}`);
    }
    if (!aspects.has('configs')) continue;
    const r = policy.retentionMs;
    if (r !== undefined) {
      const own = topic.configs['retention.ms'];
      // A stored value that is not an integer (never accepted) is read as the default, as the logs read it.
      const value = own !== undefined && /^-?\d+$/.test(own) ? own : (TOPIC_CONFIGS['retention.ms']?.defaultValue ?? '-1');
      const ms = BigInt(value);
      // -1 keeps records forever: longer than any max, and never shorter than a min.
      const tooShort = ms !== -1n && r.min !== undefined && ms < BigInt(r.min);
      const tooLong = r.max !== undefined && (ms === -1n || ms > BigInt(r.max));
      if (tooShort || tooLong) {
        const shown = ms === -1n ? '-1 (forever)' : value;
        return refuse(`retention.ms=${shown}${own === undefined ? ' (the default)' : ''} is not allowed${scope}: ${rangeText(r, ' ms')}`);
      }
    }
    if (policy.requireEncryption === true && (topic.configs.encryption ?? ENCRYPTED) === 'none') {
      return refuse(`encryption=none is not allowed${scope}: the topic must be stored encrypted (encryption=${ENCRYPTED})`);
    }
    if (policy.requireValidation === true && topic.configs[VALUE_VALIDATION_CONFIG] !== 'true') {
      return refuse(`${VALUE_VALIDATION_CONFIG}=true is required${scope}: the topic's values must be validated against the schema registry`);
    }
  }
  return null;
}
