import type { MaskingStore } from '../../storage/masking-store.js';
import {
  compilePolicy,
  groupProblems,
  MAX_POLICIES,
  MaskingPolicySet,
  policyProblems,
  type CompiledPolicy,
  type MaskingConfig,
  type MaskingPolicy,
  type PolicySource,
} from './policy.js';
import { parseRule, ruleText } from './rules.js';

/**
 * The masking policies in force: the config file's (fixed while the broker runs) and the CLI's
 * (`parapet mask add|remove`, kept in the metadata store). Every change builds a new
 * {@link MaskingPolicySet}; the record-masking stage reads {@link MaskingRegistry.current} at every
 * fetch, so a change applies from the next fetch on.
 */
export interface MaskingRegistryOptions {
  readonly config: MaskingConfig;
  /** Where the CLI's policies are kept; absent: only the config's apply, and add/remove are refused. */
  readonly store?: MaskingStore;
  /** The broker's masking secret (MetadataStore.brokerSecret), from which each policy's hash key is derived. */
  readonly secret: Buffer;
  readonly clock?: () => number;
  /** Hears of a stored policy applied otherwise than as written (a group gone from the config). */
  readonly warn?: (message: string) => void;
}

/** A policy as `GET /v1/masking/policies` and `parapet mask list` show it. */
export interface ListedPolicy extends MaskingPolicy {
  readonly source: PolicySource;
  /** When it was added (ISO 8601), CLI policies only. */
  readonly createdAt?: string;
  readonly createdBy?: string;
}

export type RegistryChange =
  | { readonly kind: 'added'; readonly policy: ListedPolicy }
  | { readonly kind: 'removed'; readonly name: string }
  /** 400: the policy is not valid; 404: no CLI policy of that name; 409: the name is taken, or a config policy's. */
  | { readonly kind: 'refused'; readonly status: 400 | 404 | 409; readonly message: string };

export class MaskingRegistry {
  readonly #o: MaskingRegistryOptions;
  readonly #groups: Readonly<Record<string, readonly string[]>>;
  readonly #fromConfig: readonly CompiledPolicy[];
  #stored: { policy: MaskingPolicy; createdMs: number; createdBy: string; compiled: CompiledPolicy }[] = [];
  #current: MaskingPolicySet;

  /** Throws when the config section is not valid (config-file.ts has checked it already). */
  constructor(options: MaskingRegistryOptions) {
    this.#o = options;
    this.#groups = options.config.principalGroups ?? {};
    const policies = options.config.policies ?? [];
    const problems = [...groupProblems(this.#groups), ...policies.flatMap((p) => policyProblems(p, this.#groups)), ...duplicateNames(policies)];
    if (policies.length > MAX_POLICIES) problems.push(`at most ${MAX_POLICIES} masking policies in the config file, ${policies.length} given`);
    if (problems.length > 0) throw new Error(`masking: ${problems.join('; ')}`);
    this.#fromConfig = policies.map((p) => compilePolicy(p, 'config', this.#groups, options.secret));
    for (const row of options.store?.maskingPolicies() ?? []) {
      const policy = decodeStored(row.name, row.definition);
      this.#stored.push({ policy, createdMs: row.createdMs, createdBy: row.createdBy, compiled: compilePolicy(policy, 'cli', this.#groups, options.secret, options.warn) });
    }
    this.#current = this.#build();
  }

  /** The set the next fetch applies. */
  current(): MaskingPolicySet {
    return this.#current;
  }

  list(): ListedPolicy[] {
    return [
      ...this.#fromConfig.map((c) => ({ ...c.policy, source: 'config' as const })),
      ...this.#stored.map((s) => ({ ...s.policy, source: 'cli' as const, createdAt: new Date(s.createdMs).toISOString(), createdBy: s.createdBy })),
    ];
  }

  get principalGroups(): Readonly<Record<string, readonly string[]>> {
    return this.#groups;
  }

  /** Adds a CLI policy (checked, stored, then in force), added by `by`. */
  add(policy: MaskingPolicy, by: string): RegistryChange {
    const store = this.#o.store;
    if (store === undefined) return { kind: 'refused', status: 409, message: 'this broker keeps no masking policies of its own: declare them in the config file (masking.policies)' };
    const problems = policyProblems(policy, this.#groups);
    if (problems.length > 0) return { kind: 'refused', status: 400, message: problems.join('; ') };
    if (this.#fromConfig.some((c) => c.policy.name === policy.name)) return { kind: 'refused', status: 409, message: `masking policy ${policy.name} is declared in the config file: choose another name` };
    if (this.#stored.length >= MAX_POLICIES) return { kind: 'refused', status: 409, message: `at most ${MAX_POLICIES} masking policies are added with the CLI: remove one first` };
    const clean = normalise(policy);
    const createdMs = (this.#o.clock ?? Date.now)();
    if (!store.addMaskingPolicy({ name: clean.name, definition: JSON.stringify(clean), createdMs, createdBy: by })) {
      return { kind: 'refused', status: 409, message: `a masking policy named ${policy.name} exists: remove it first to replace it` };
    }
    this.#stored.push({ policy: clean, createdMs, createdBy: by, compiled: compilePolicy(clean, 'cli', this.#groups, this.#o.secret) });
    this.#stored.sort((a, b) => (a.policy.name < b.policy.name ? -1 : 1));
    this.#current = this.#build();
    return { kind: 'added', policy: { ...clean, source: 'cli', createdAt: new Date(createdMs).toISOString(), createdBy: by } };
  }

  /** Removes a CLI policy; config policies stay until the config changes. */
  remove(name: string): RegistryChange {
    if (this.#fromConfig.some((c) => c.policy.name === name)) return { kind: 'refused', status: 409, message: `masking policy ${name} is declared in the config file: remove it there and restart` };
    if (this.#o.store?.removeMaskingPolicy(name) !== true) return { kind: 'refused', status: 404, message: `no masking policy named ${JSON.stringify(name.slice(0, 64))} was added with the CLI` };
    this.#stored = this.#stored.filter((s) => s.policy.name !== name);
    this.#current = this.#build();
    return { kind: 'removed', name };
  }

  #build(): MaskingPolicySet {
    return new MaskingPolicySet([...this.#fromConfig, ...this.#stored.map((s) => s.compiled)]);
  }
}

function duplicateNames(policies: readonly MaskingPolicy[]): string[] {
  const seen = new Set<string>();
  const problems: string[] = [];
  for (const p of policies) {
    if (seen.has(p.name)) problems.push(`the policy name ${p.name} is used twice`);
    seen.add(p.name);
  }
  return problems;
}

/** The policy with only its known keys, absent ones left out, rules in their one spelling (what is stored and listed). */
function normalise(p: MaskingPolicy): MaskingPolicy {
  return {
    name: p.name,
    topics: [...p.topics],
    ...(p.principals === undefined ? {} : { principals: [...p.principals] }),
    ...(p.exempt === undefined || p.exempt.length === 0 ? {} : { exempt: [...p.exempt] }),
    fields: p.fields.map((f) => {
      const rule = parseRule(f.rule);
      return { path: f.path, rule: 'error' in rule ? f.rule : ruleText(rule), ...(f.part === undefined || f.part === 'value' ? {} : { part: f.part }) };
    }),
  };
}

/**
 * A stored policy read back. Stored policies were checked when added; a row that no longer reads as a
 * policy (a store edited by hand) is kept in force as far as it can be: fail closed, its fields that
 * cannot be applied make every record of its topics masked whole (policy.ts, compilePolicy).
 */
function decodeStored(name: string, definition: string): MaskingPolicy {
  let raw: unknown;
  try {
    raw = JSON.parse(definition);
  } catch {
    raw = {};
  }
  const o = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const strings = (v: unknown): string[] | undefined => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined);
  const fields = Array.isArray(o.fields)
    ? o.fields.map((f: unknown) => {
        const field = (typeof f === 'object' && f !== null ? f : {}) as Record<string, unknown>;
        const partKnown = field.part === undefined || field.part === 'value' || field.part === 'key';
        // An empty path never parses: such a field masks the policy's records whole.
        const path = typeof field.path === 'string' && partKnown ? field.path : '';
        return { path, rule: typeof field.rule === 'string' ? field.rule : '', ...(field.part === 'key' ? { part: 'key' as const } : {}) };
      })
    : [{ path: '', rule: '' }];
  const principals = strings(o.principals);
  const exempt = strings(o.exempt);
  return { name, topics: strings(o.topics) ?? [], ...(principals === undefined ? {} : { principals }), ...(exempt === undefined ? {} : { exempt }), fields: fields.length === 0 ? [{ path: '', rule: '' }] : fields };
}
