import type { SecurityEvents } from '../security/events.js';
import type { Principal } from '../security/types.js';

export interface DataAccessOptions {
  readonly events: SecurityEvents;
  /** How long reads and writes are summed before they are reported (default one minute). */
  readonly intervalMs?: number;
  /** Distinct (principal, topic, operation) sums held at once; reaching it reports them all early. */
  readonly maxEntries?: number;
  readonly clock?: () => number;
}

export const DEFAULT_DATA_ACCESS_INTERVAL_MS = 60_000;
export const DEFAULT_DATA_ACCESS_MAX_ENTRIES = 10_000;

interface Sum {
  readonly principal: Principal;
  readonly topic: string;
  readonly operation: 'read' | 'write';
  requests: number;
  bytes: number;
  readonly from: number;
}

/**
 * Who read or wrote which topic, without one audit event per request: each (principal, topic,
 * operation) is summed over an interval and reported once as a `data-access` event. The sums held are
 * bounded (maxEntries): a principal touching very many topics makes the report come early, not grow.
 * Principals are authenticated and topics exist, so the keys are not free client strings.
 */
export class DataAccessLedger {
  readonly #o: Required<Omit<DataAccessOptions, 'events'>> & { events: SecurityEvents };
  /** By principal, then topic, then operation: no key string is built per request. */
  readonly #sums = new Map<Principal, Map<string, { read?: Sum; write?: Sum }>>();
  #size = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: DataAccessOptions) {
    this.#o = {
      events: options.events,
      intervalMs: options.intervalMs ?? DEFAULT_DATA_ACCESS_INTERVAL_MS,
      maxEntries: options.maxEntries ?? DEFAULT_DATA_ACCESS_MAX_ENTRIES,
      clock: options.clock ?? Date.now,
    };
  }

  start(): void {
    this.#timer = setInterval(() => {
      this.report();
    }, this.#o.intervalMs);
    this.#timer.unref();
  }

  note(principal: Principal, topic: string, operation: 'read' | 'write', bytes: number): void {
    const sum = this.#sums.get(principal)?.get(topic)?.[operation];
    if (sum !== undefined) {
      sum.requests++;
      sum.bytes += bytes;
      return;
    }
    if (this.#size >= this.#o.maxEntries) this.report();
    let topics = this.#sums.get(principal);
    if (topics === undefined) this.#sums.set(principal, (topics = new Map<string, { read?: Sum; write?: Sum }>()));
    let ops = topics.get(topic);
    if (ops === undefined) topics.set(topic, (ops = {}));
    ops[operation] = { principal, topic, operation, requests: 1, bytes, from: this.#o.clock() };
    this.#size++;
  }

  /** Reports every sum held and starts new ones (every interval, when full, and at close). */
  report(): void {
    if (this.#size === 0) return;
    const to = this.#o.clock();
    const sums = [...this.#sums.values()].flatMap((topics) => [...topics.values()].flatMap((ops) => [ops.write, ops.read].filter((s): s is Sum => s !== undefined)));
    this.#sums.clear();
    this.#size = 0;
    for (const s of sums) {
      this.#o.events.emit({ type: 'data-access', principal: s.principal, topic: s.topic, operation: s.operation, requests: s.requests, bytes: s.bytes, from: s.from, to });
    }
  }

  get size(): number {
    return this.#size;
  }

  close(): void {
    clearInterval(this.#timer);
    this.report();
  }
}
