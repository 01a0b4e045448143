import { createHmac } from 'node:crypto';
import { parsePath, type PathSegment } from './path.js';
import { parseRule, type MaskRule } from './rules.js';
import { parseTopicPattern, topicMatches, type TopicPattern } from '../../topics/topic-pattern.js';

/**
 * Masking policies (docs/governance/masking.md): which topics, for whom, which fields and how. They
 * come from the config file's `masking:` section and from `parapet mask add` (stored in the metadata
 * store); both are checked by {@link policyProblems} before they are accepted.
 *
 * Who a policy applies to: everyone (the default, and the safe one: a consumer nobody thought of sees
 * masked data), less the `exempt` principals; or, when `principals` is given, only those (less the
 * exempt). Super users are principals like any other here: exempt them by name if they must see
 * clear data. Entries are principals (`User:alice`, `User:cert:CN`) or `Group:NAME`, a group of the
 * config's `principalGroups`.
 */

/** Which part of a record a field path is in. */
export type MaskedPart = 'value' | 'key';

export interface MaskingField {
  readonly path: string;
  /** `mask`, `keep-first N`, `keep-last N`, `hash`, `redact` or `null` (./rules.ts). */
  readonly rule: string;
  /** Default `value`. */
  readonly part?: MaskedPart;
}

export interface MaskingPolicy {
  /** [a-z0-9-]{1,64}, unique among the config's and the CLI's policies. */
  readonly name: string;
  /** Literal names, prefixes (`orders-*`) or globs. */
  readonly topics: readonly string[];
  /** Only these principals and groups; absent: everyone. */
  readonly principals?: readonly string[];
  /** Never these principals and groups. */
  readonly exempt?: readonly string[];
  readonly fields: readonly MaskingField[];
}

/** The config file's `masking:` section. */
export interface MaskingConfig {
  /** Named lists of principals, referred to as `Group:NAME`. */
  readonly principalGroups?: Readonly<Record<string, readonly string[]>>;
  readonly policies?: readonly MaskingPolicy[];
}

// Bounds (docs/governance/masking.md#bounds-and-cost). Each fetch of a masked topic walks every field of
// every policy that applies, per record: fields × path depth bounds the work per record.
/** Policies of each source (the config file; the CLI's, in the metadata store). */
export const MAX_POLICIES = 256;
export const MAX_TOPICS_PER_POLICY = 64;
export const MAX_FIELDS_PER_POLICY = 64;
/** Principals and groups named by one policy's `principals` and `exempt` together. */
export const MAX_PRINCIPALS_PER_POLICY = 1000;
export const MAX_GROUPS = 256;
export const MAX_GROUP_MEMBERS = 10_000;
/** Longest principal accepted (Kafka user names are far shorter; certificate DNs fit). */
export const MAX_PRINCIPAL_LENGTH = 512;

export const MASKING_POLICY_NAME = /^[a-z0-9-]{1,64}$/;
const GROUP_NAME = /^[A-Za-z0-9._-]{1,64}$/;
const GROUP_PREFIX = 'Group:';

/** Why a principal or group entry is not one; null when it is. */
function entryProblem(entry: string, groups: Readonly<Record<string, readonly string[]>>): string | null {
  if (entry.startsWith(GROUP_PREFIX)) {
    const name = entry.slice(GROUP_PREFIX.length);
    if (!GROUP_NAME.test(name)) return `${JSON.stringify(entry.slice(0, 80))}: a group is Group:NAME (letters, digits, . _ -; at most 64)`;
    if (!Object.prototype.hasOwnProperty.call(groups, name)) return `${entry}: no such group in masking.principalGroups`;
    return null;
  }
  return principalProblem(entry);
}

function principalProblem(entry: string): string | null {
  if (!/^User:\S/u.test(entry) || entry.length > MAX_PRINCIPAL_LENGTH || /\p{Cc}/u.test(entry)) {
    return `${JSON.stringify(entry.slice(0, 80))}: a principal is User:NAME (at most ${MAX_PRINCIPAL_LENGTH} characters), a group Group:NAME`;
  }
  return null;
}

/** What is wrong with the groups (one sentence each); empty when nothing. */
export function groupProblems(groups: Readonly<Record<string, readonly string[]>>): string[] {
  const problems: string[] = [];
  const names = Object.keys(groups);
  if (names.length > MAX_GROUPS) problems.push(`at most ${MAX_GROUPS} principal groups, ${names.length} given`);
  let members = 0;
  for (const name of names) {
    if (!GROUP_NAME.test(name)) problems.push(`group ${JSON.stringify(name.slice(0, 80))}: a group name is 1 to 64 letters, digits, . _ -`);
    for (const p of groups[name] ?? []) {
      members++;
      const problem = principalProblem(p);
      if (problem !== null) problems.push(`group ${name}: ${problem}`);
    }
  }
  if (members > MAX_GROUP_MEMBERS) problems.push(`at most ${MAX_GROUP_MEMBERS} group members in all, ${members} given`);
  return problems;
}

/** What is wrong with a policy (one sentence each, naming it); empty when it can be applied. */
export function policyProblems(policy: MaskingPolicy, groups: Readonly<Record<string, readonly string[]>> = {}): string[] {
  const problems: string[] = [];
  const say = (what: string) => problems.push(`masking policy ${JSON.stringify(policy.name.slice(0, 64))}: ${what}`);
  if (!MASKING_POLICY_NAME.test(policy.name)) say('a policy name is 1 to 64 characters a-z, 0-9 and -');
  if (policy.topics.length === 0 || policy.topics.length > MAX_TOPICS_PER_POLICY) say(`give 1 to ${MAX_TOPICS_PER_POLICY} topics (names, prefixes such as orders-* or globs)`);
  for (const t of policy.topics.slice(0, MAX_TOPICS_PER_POLICY)) {
    const parsed = parseTopicPattern(t);
    if ('error' in parsed) say(parsed.error);
  }
  const entries = [...(policy.principals ?? []), ...(policy.exempt ?? [])];
  if (entries.length > MAX_PRINCIPALS_PER_POLICY) say(`at most ${MAX_PRINCIPALS_PER_POLICY} principals and groups in principals and exempt together`);
  else {
    for (const e of entries) {
      const problem = entryProblem(e, groups);
      if (problem !== null) say(problem);
    }
  }
  if (policy.principals?.length === 0) say('principals is empty: the policy would apply to nobody; leave it out to apply to everyone');
  if (policy.fields.length === 0 || policy.fields.length > MAX_FIELDS_PER_POLICY) say(`give 1 to ${MAX_FIELDS_PER_POLICY} fields`);
  for (const f of policy.fields.slice(0, MAX_FIELDS_PER_POLICY)) {
    const path = parsePath(f.path);
    if ('error' in path) say(path.error);
    const rule = parseRule(f.rule);
    if ('error' in rule) say(`field ${JSON.stringify(f.path.slice(0, 80))}: ${rule.error}`);
    // The policy may come from an HTTP body: its part is checked, whatever its type says.
    const part: unknown = f.part;
    if (part !== undefined && part !== 'value' && part !== 'key') say(`field ${JSON.stringify(f.path.slice(0, 80))}: part is value or key`);
  }
  return problems;
}

/** A field ready to apply: its path's segments, its rule and the policy's hash key. */
export interface AppliedField {
  readonly policy: string;
  readonly segments: readonly PathSegment[];
  readonly rule: MaskRule;
  readonly hashKey: Buffer;
}

/** What to do to the records of one topic for one principal. */
export interface TopicMasking {
  /** The policies that apply, in order. */
  readonly policies: readonly string[];
  readonly value: readonly AppliedField[];
  readonly key: readonly AppliedField[];
  /**
   * Mask every record whole (fail closed), whatever its content: a stored policy this broker cannot
   * apply as written (./registry.ts) still hides what it covered.
   */
  readonly whole: boolean;
}

/** Where a policy came from: the config file, or `parapet mask add` (the metadata store). */
export type PolicySource = 'config' | 'cli';

export interface CompiledPolicy {
  readonly policy: MaskingPolicy;
  readonly source: PolicySource;
  readonly topics: readonly TopicPattern[];
  /** Principals it applies to; null: everyone. */
  readonly only: ReadonlySet<string> | null;
  readonly exempt: ReadonlySet<string>;
  readonly value: readonly AppliedField[];
  readonly key: readonly AppliedField[];
  readonly whole: boolean;
}

/**
 * The key of a policy's `hash` rule: HMAC-SHA-256 of the policy's name under the broker's masking
 * secret (MetadataStore.brokerSecret). Each policy has its own key, so hashes under two policies cannot
 * be compared; the secret never leaves the metadata store (nor its backups).
 */
export function policyHashKey(secret: Buffer, policyName: string): Buffer {
  return createHmac('sha256', secret).update(`parapet masking hash key v1\u0000${policyName}`, 'utf8').digest();
}

/**
 * Compiles a policy. `policyProblems` must have accepted it, except for what may have changed since it
 * was stored: a group that no longer exists exempts nobody, and in `principals` makes the policy apply
 * to everyone (both fail closed); `warn` hears of it. A field that no longer parses masks every record
 * of the policy's topics whole.
 */
export function compilePolicy(
  policy: MaskingPolicy,
  source: PolicySource,
  groups: Readonly<Record<string, readonly string[]>>,
  secret: Buffer,
  warn: (message: string) => void = () => undefined,
): CompiledPolicy {
  const expand = (entries: readonly string[], what: string): Set<string> | null => {
    const out = new Set<string>();
    for (const e of entries) {
      if (!e.startsWith(GROUP_PREFIX)) {
        out.add(e);
        continue;
      }
      const name = e.slice(GROUP_PREFIX.length);
      const members = Object.prototype.hasOwnProperty.call(groups, name) ? groups[name] : undefined;
      if (members === undefined) {
        warn(`masking policy ${policy.name}: ${what} names ${e}, which masking.principalGroups no longer defines`);
        if (what === 'principals') return null;
        continue;
      }
      for (const m of members) out.add(m);
    }
    return out;
  };
  const topics: TopicPattern[] = [];
  for (const t of policy.topics) {
    const parsed = parseTopicPattern(t);
    if ('error' in parsed) warn(`masking policy ${policy.name}: ${parsed.error}`);
    else topics.push(parsed);
  }
  const hashKey = policyHashKey(secret, policy.name);
  const value: AppliedField[] = [];
  const key: AppliedField[] = [];
  let whole = false;
  for (const f of policy.fields) {
    const path = parsePath(f.path);
    const rule = parseRule(f.rule);
    const part: unknown = f.part;
    if ('error' in path || 'error' in rule || (part !== undefined && part !== 'value' && part !== 'key')) {
      warn(`masking policy ${policy.name}: field ${JSON.stringify(f.path.slice(0, 80))} cannot be applied; every record of its topics is masked whole`);
      whole = true;
      continue;
    }
    (f.part === 'key' ? key : value).push({ policy: policy.name, segments: path.segments, rule, hashKey });
  }
  return {
    policy,
    source,
    topics,
    only: policy.principals === undefined ? null : expand(policy.principals, 'principals'),
    exempt: expand(policy.exempt ?? [], 'exempt') ?? new Set(),
    value,
    key,
    whole,
  };
}

/** Whether the policy applies to the principal. */
export function appliesTo(policy: CompiledPolicy, principal: string): boolean {
  if (policy.exempt.has(principal)) return false;
  return policy.only === null || policy.only.has(principal);
}

/**
 * The policies in force, as one immutable set: a change makes a new set, which the next fetch reads
 * (a fetch in progress keeps the set it started with).
 */
export class MaskingPolicySet {
  readonly #policies: readonly CompiledPolicy[];

  constructor(policies: readonly CompiledPolicy[]) {
    this.#policies = policies;
  }

  get policies(): readonly CompiledPolicy[] {
    return this.#policies;
  }

  get isEmpty(): boolean {
    return this.#policies.length === 0;
  }

  /**
   * The masking of each topic for one principal, or null when no policy applies to it at all (its
   * fetches cost nothing). The answer per topic is computed once per call of this (once per fetch).
   */
  forPrincipal(principal: string): ((topic: string) => TopicMasking | undefined) | null {
    const applying = this.#policies.filter((p) => appliesTo(p, principal));
    if (applying.length === 0) return null;
    const seen = new Map<string, TopicMasking | undefined>();
    return (topic) => {
      if (seen.has(topic)) return seen.get(topic);
      const matching = applying.filter((p) => p.topics.some((t) => topicMatches(t, topic)));
      const masking =
        matching.length === 0
          ? undefined
          : {
              policies: matching.map((p) => p.policy.name),
              value: matching.flatMap((p) => p.value),
              key: matching.flatMap((p) => p.key),
              whole: matching.some((p) => p.whole),
            };
      seen.set(topic, masking);
      return masking;
    };
  }
}
