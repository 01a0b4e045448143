import type { SecurityEvents } from '../events.js';
import type { LoginRefusal } from './login-guard-config.js';

/** One refused attempt, as the guard saw it. */
export interface Refusal {
  readonly source: string;
  readonly remote: string;
  readonly reason: LoginRefusal;
  readonly mechanism: string;
  readonly user: string | undefined;
  readonly connection: number | undefined;
}

interface Pending {
  /** The latest refusal of the interval: its address and user are the summary's. */
  latest: Refusal;
  count: number;
  reportedAt: number;
}

/** Starts a timer; the broker's unrefs it so that a pending summary never keeps the process alive. */
export type Schedule = (run: () => void, ms: number) => { cancel(): void };

export const realSchedule: Schedule = (run, ms) => {
  const timer = setTimeout(run, ms).unref();
  return {
    cancel: () => {
      clearTimeout(timer);
    },
  };
};

/**
 * Reports refused logins without letting an attacker choose how many log lines and audit records they
 * make: the first refusal of a source is reported at once, the next ones of the interval are summed
 * into one `login-refused` event with their count, per source and reason. At most `maxSources` such
 * pairs are tracked; refusals of others are summed under the source `*` (the metrics still count each one).
 */
export class RefusalReporter {
  readonly #events: SecurityEvents;
  readonly #intervalMs: number;
  readonly #maxSources: number;
  readonly #now: () => number;
  readonly #schedule: Schedule;
  readonly #pending = new Map<string, Pending>();
  #timer: { cancel(): void } | undefined;

  constructor(options: { events: SecurityEvents; intervalMs: number; maxSources: number; now: () => number; schedule: Schedule }) {
    this.#events = options.events;
    this.#intervalMs = options.intervalMs;
    this.#maxSources = options.maxSources;
    this.#now = options.now;
    this.#schedule = options.schedule;
  }

  refused(refusal: Refusal): void {
    const now = this.#now();
    // Per source and reason: a summary never mixes a block with a guarded user.
    const own = `${refusal.source} ${refusal.reason}`;
    const key = this.#pending.has(own) || this.#pending.size < this.#maxSources ? own : `* ${refusal.reason}`;
    const entry = this.#pending.get(key);
    if (entry === undefined) {
      this.#pending.set(key, { latest: refusal, count: 0, reportedAt: now });
      this.#emit(key.startsWith('* ') ? { ...refusal, source: '*', remote: '*' } : refusal, 1);
      this.#arm();
      return;
    }
    entry.latest = refusal;
    entry.count += 1;
  }

  /** Reports the sums of the interval, and forgets the sources that were quiet during it. */
  flush(): void {
    const now = this.#now();
    for (const [key, entry] of this.#pending) {
      if (entry.count > 0) {
        this.#emit(key.startsWith('* ') ? { ...entry.latest, source: '*', remote: '*' } : entry.latest, entry.count);
        entry.count = 0;
        entry.reportedAt = now;
      } else if (now - entry.reportedAt >= this.#intervalMs) {
        this.#pending.delete(key);
      }
    }
    this.#timer = undefined;
    this.#arm();
  }

  /** Reports what is pending and stops the timer (the broker stops). */
  close(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    for (const [key, entry] of this.#pending) {
      if (entry.count > 0) this.#emit(key.startsWith('* ') ? { ...entry.latest, source: '*', remote: '*' } : entry.latest, entry.count);
    }
    this.#pending.clear();
  }

  #arm(): void {
    if (this.#timer !== undefined || this.#pending.size === 0) return;
    this.#timer = this.#schedule(() => {
      this.flush();
    }, this.#intervalMs);
  }

  #emit(r: Refusal, count: number): void {
    this.#events.emit({
      type: 'login-refused',
      remote: r.remote,
      source: r.source,
      reason: r.reason,
      mechanism: r.mechanism,
      count,
      ...(r.user === undefined ? {} : { claimedUser: r.user }),
      ...(r.connection === undefined ? {} : { connection: r.connection }),
    });
  }
}
