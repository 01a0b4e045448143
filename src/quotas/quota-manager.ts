import {
  checkQuotaValue,
  entityComponents,
  entityFromComponents,
  entityFromKey,
  entityKey,
  entityLabel,
  EntityTypes,
  isQuotaKey,
  part,
  precedence,
  QUOTA_KEYS,
  QuotaKeys,
  type EntityPart,
  type QuotaEntity,
  type QuotaKey,
} from './entities.js';
import { configDefaults, rateWindowOf, type QuotaConfig } from './quota-config.js';
import type { RateWindow } from './windowed-rate.js';
import type { QuotaChange, QuotaStore } from './quota-store.js';
import { TokenBucket } from '../token-bucket.js';
import { throttleMs, WindowedRate } from './windowed-rate.js';

/** Which limit applies to a request, and the measure it is counted in. */
export interface ResolvedQuota {
  readonly limit: number;
  /** The measure's key: the quota key and the part of (user, client id) sharing it. */
  readonly measure: string;
  /** The entity that set it, as `entityLabel` writes it; `config default` for the config file's. */
  readonly source: string;
}

/** One entry of an AlterClientQuotas request, as decoded. */
export interface AlterEntry {
  readonly entity: readonly { entityType: string; entityName: string | null }[];
  readonly ops: readonly { key: string; value: number; remove: boolean }[];
}

/** The outcome of one entry: null when it was (or would be) applied, else why not. */
export type AlterOutcome = { readonly errorCode: 'INVALID_REQUEST' | 'POLICY_VIOLATION'; readonly message: string } | null;

/** One component of a DescribeClientQuotas filter (matchType: 0 exact, 1 default, 2 any named). */
export interface FilterComponent {
  readonly entityType: string;
  readonly matchType: number;
  readonly match: string | null;
}

export interface DescribedEntry {
  readonly entity: { entityType: string; entityName: string | null }[];
  readonly values: { key: string; value: number }[];
}

export interface QuotaManagerDeps {
  readonly config: QuotaConfig;
  readonly store: QuotaStore;
  /** Milliseconds, monotonic (performance.now by default; tests pass a fake clock). */
  readonly now?: () => number;
}

/**
 * The broker's quotas: the settings (stored entities and the config file's defaults), which applies to
 * whom, and the measures of what each user or client has used. Measures are kept for at most
 * `maxTrackedClients` (user, client id) parts per key, the least recently used forgotten first, so no
 * client-chosen string can grow the broker's memory without bound.
 */
export class QuotaManager {
  readonly #config: QuotaConfig;
  readonly #store: QuotaStore;
  readonly #now: () => number;
  /** entityKey → key → value. */
  readonly #settings = new Map<string, Map<QuotaKey, number>>();
  /** measure key → its rate or bucket, in least-recently-used order. */
  readonly #measures = new Map<string, WindowedRate | TokenBucket>();
  readonly #maxThrottleMs: number;
  readonly #window: RateWindow;
  readonly #defaults: Readonly<Record<QuotaKey, number>>;

  constructor(deps: QuotaManagerDeps) {
    this.#config = deps.config;
    this.#store = deps.store;
    this.#now = deps.now ?? (() => performance.now());
    this.#window = rateWindowOf(deps.config);
    this.#defaults = configDefaults(deps.config);
    this.#maxThrottleMs = this.#window.samples * this.#window.sampleMs;
    // A key this Parapet does not know (stored by a newer one) is left alone.
    for (const q of deps.store.quotas()) if (isQuotaKey(q.key)) this.#set(q.entity, q.key, q.value);
  }

  get enabled(): boolean {
    return this.#config.enabled;
  }

  /** The longest throttle time the broker asks for: the whole window. */
  get maxThrottleMs(): number {
    return this.#maxThrottleMs;
  }

  /** The limit of `key` for a request of `user` with `clientId`; null when none applies. */
  resolve(key: QuotaKey, user: string, clientId: string): ResolvedQuota | null {
    for (const { entity, shared } of precedence(user, clientId)) {
      const value = this.#settings.get(entityKey(entity))?.get(key);
      if (value !== undefined) return { limit: value, measure: `${key} ${entityKey(shared)}`, source: entityLabel(entity) };
    }
    const fallback = this.#defaults[key];
    if (fallback <= 0) return null;
    return { limit: fallback, measure: `${key} ${entityKey({ user: part.named(user), clientId: part.absent })}`, source: 'config default' };
  }

  /**
   * Counts `value` (bytes, or percent of a second of request time) against the rate quota `key` and
   * answers how long the client must now wait, in ms (0: it is within its quota).
   */
  record(key: QuotaKey, user: string, clientId: string, value: number): number {
    if (!this.#config.enabled) return 0;
    const quota = this.resolve(key, user, clientId);
    if (quota === null) return 0;
    const now = this.#now();
    let rate = this.#measures.get(quota.measure);
    if (!(rate instanceof WindowedRate)) rate = new WindowedRate(this.#window, now);
    this.#touch(quota.measure, rate);
    rate.record(value, now);
    return throttleMs(rate, quota.limit, now, this.#maxThrottleMs);
  }

  /**
   * The controller mutation quota (KIP-599) of a request: how long until its bucket is out of debt (0:
   * it may mutate now), and what takes `count` partition mutations from it.
   */
  mutations(user: string, clientId: string): { debtMs(): number; take(count: number): void } {
    const quota = this.#config.enabled ? this.resolve(QuotaKeys.CONTROLLER_MUTATION_RATE, user, clientId) : null;
    if (quota === null) return { debtMs: () => 0, take: () => undefined };
    const now = this.#now();
    const burst = (quota.limit * this.#maxThrottleMs) / 1000;
    let bucket = this.#measures.get(quota.measure);
    if (!(bucket instanceof TokenBucket) || bucket.ratePerSecond !== quota.limit) bucket = new TokenBucket(quota.limit, burst, now);
    this.#touch(quota.measure, bucket);
    const held = bucket;
    return {
      debtMs: () => Math.min(this.#maxThrottleMs, held.debtMs(this.#now())),
      take: (count) => {
        held.take(count, this.#now());
      },
    };
  }

  /** Measures kept now (tests and diagnostics). */
  get trackedMeasures(): number {
    return this.#measures.size;
  }

  /**
   * Applies AlterClientQuotas entries: each one all or nothing, checked first (Kafka validates each
   * entry and answers per entity). With `validateOnly`, nothing is applied.
   */
  alter(entries: readonly AlterEntry[], validateOnly: boolean): AlterOutcome[] {
    const changes: (QuotaChange & { readonly key: QuotaKey })[] = [];
    const outcomes: AlterOutcome[] = [];
    const entitiesAfter = new Set(this.#settings.keys());
    for (const entry of entries) {
      const checked = entityFromComponents(entry.entity);
      if (!checked.ok) {
        outcomes.push({ errorCode: 'INVALID_REQUEST', message: checked.message });
        continue;
      }
      const key = entityKey(checked.value);
      const problem = this.#checkOps(entry.ops);
      if (problem !== null) {
        outcomes.push({ errorCode: 'INVALID_REQUEST', message: `${entityLabel(checked.value)}: ${problem}` });
        continue;
      }
      const current = new Map(this.#settings.get(key) ?? []);
      for (const op of entry.ops) {
        if (op.remove) current.delete(op.key as QuotaKey);
        else current.set(op.key as QuotaKey, op.value);
      }
      if (current.size > 0 && !entitiesAfter.has(key) && entitiesAfter.size >= this.#config.maxEntities) {
        outcomes.push({ errorCode: 'POLICY_VIOLATION', message: `${entityLabel(checked.value)}: the broker keeps at most ${this.#config.maxEntities} quota entities (quotas.maxEntities)` });
        continue;
      }
      if (current.size > 0) entitiesAfter.add(key);
      else entitiesAfter.delete(key);
      for (const op of entry.ops) changes.push({ entity: key, key: op.key as QuotaKey, value: op.remove ? null : op.value });
      outcomes.push(null);
    }
    if (!validateOnly && changes.length > 0) {
      this.#store.alterQuotas(changes);
      for (const c of changes) this.#set(c.entity, c.key, c.value);
    }
    return outcomes;
  }

  /** DescribeClientQuotas: the stored entities matching the filter, with their values. */
  describe(components: readonly FilterComponent[], strict: boolean): { ok: true; entries: DescribedEntry[] } | { ok: false; message: string } {
    const wanted = new Map<string, FilterComponent>();
    for (const c of components) {
      if (c.entityType !== EntityTypes.USER && c.entityType !== EntityTypes.CLIENT_ID && c.entityType !== EntityTypes.IP) {
        return { ok: false, message: `unknown quota entity type ${JSON.stringify(c.entityType)} (user, client-id, ip)` };
      }
      if (wanted.has(c.entityType)) return { ok: false, message: `the filter names the ${c.entityType} type twice` };
      if (c.matchType < 0 || c.matchType > 2) return { ok: false, message: `unknown match type ${c.matchType} (0 exact, 1 default, 2 any)` };
      if (c.matchType === 0 && c.match === null) return { ok: false, message: `an exact match of ${c.entityType} needs a name` };
      wanted.set(c.entityType, c);
    }
    const entries: DescribedEntry[] = [];
    for (const [key, values] of [...this.#settings].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const entity = entityFromKey(key);
      if (!matches(entity, wanted, strict)) continue;
      entries.push({ entity: entityComponents(entity), values: [...values].map(([k, value]) => ({ key: k, value })) });
    }
    return { ok: true, entries };
  }

  #checkOps(ops: AlterEntry['ops']): string | null {
    const seen = new Set<string>();
    for (const op of ops) {
      if (seen.has(op.key)) return `the key ${op.key} is named twice`;
      seen.add(op.key);
      if (op.remove) {
        if (!(QUOTA_KEYS as readonly string[]).includes(op.key)) return `unknown quota key ${JSON.stringify(op.key)} (${QUOTA_KEYS.join(', ')})`;
        continue;
      }
      const checked = checkQuotaValue(op.key, op.value);
      if (!checked.ok) return checked.message;
    }
    return null;
  }

  #set(entity: string, key: QuotaKey, value: number | null): void {
    const values = this.#settings.get(entity) ?? new Map<QuotaKey, number>();
    if (value === null) values.delete(key);
    else values.set(key, value);
    if (values.size === 0) this.#settings.delete(entity);
    else this.#settings.set(entity, values);
  }

  /** Marks a measure as just used; forgets the least recently used one beyond the bound. */
  #touch(key: string, measure: WindowedRate | TokenBucket): void {
    this.#measures.delete(key);
    this.#measures.set(key, measure);
    if (this.#measures.size > this.#config.maxTrackedClients) {
      const oldest = this.#measures.keys().next();
      if (oldest.done !== true) this.#measures.delete(oldest.value);
    }
  }
}

function matches(entity: QuotaEntity, wanted: ReadonlyMap<string, FilterComponent>, strict: boolean): boolean {
  const sides: [string, EntityPart][] = [
    [EntityTypes.USER, entity.user],
    [EntityTypes.CLIENT_ID, entity.clientId],
  ];
  // An ip component matches nothing here: Parapet stores no ip entities.
  if (wanted.has(EntityTypes.IP)) return false;
  for (const [type, side] of sides) {
    const c = wanted.get(type);
    if (c === undefined) {
      if (strict && side !== part.absent) return false;
      continue;
    }
    if (c.matchType === 0 && side !== part.named(c.match ?? '')) return false;
    if (c.matchType === 1 && side !== part.default) return false;
    // Any name of the type, its default included (what kafka-configs --describe --entity-type lists).
    if (c.matchType === 2 && side === part.absent) return false;
  }
  return true;
}
