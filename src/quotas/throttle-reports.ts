import type { SecurityEvent, SecurityEvents } from '../security/events.js';
import type { Principal } from '../security/types.js';

/** A user is reported at most this often; the throttles in between are summed into the next report. */
export const THROTTLE_REPORT_INTERVAL_MS = 60_000;
/** Users whose report state is kept; beyond, the least recently throttled is forgotten (its next throttle is reported). */
const MAX_REPORTED_USERS = 1000;

/** One throttle, as the quota stage saw it: the `quota-throttled` event without the summed counts. */
export type Throttle = Omit<Extract<SecurityEvent, { type: 'quota-throttled' }>, 'type' | 'repeated' | 'maxRepeatedMs'>;

/**
 * Throttles as security events, so that who is held back is in the log and the audit trail without one
 * line per throttled request (a producer over its quota is throttled many times a second): the first
 * throttle of a user is reported, then at most one per user per interval, carrying how many were not.
 */
export class ThrottleReports {
  readonly #events: SecurityEvents;
  readonly #now: () => number;
  readonly #users = new Map<Principal, { at: number; repeated: number; maxMs: number }>();

  constructor(events: SecurityEvents, now: () => number = () => performance.now()) {
    this.#events = events;
    this.#now = now;
  }

  throttled(t: Throttle): void {
    const now = this.#now();
    const state = this.#users.get(t.principal);
    if (state !== undefined && now - state.at < THROTTLE_REPORT_INTERVAL_MS) {
      state.repeated++;
      state.maxMs = Math.max(state.maxMs, t.throttleMs);
      return;
    }
    this.#users.delete(t.principal);
    this.#users.set(t.principal, { at: now, repeated: 0, maxMs: 0 });
    if (this.#users.size > MAX_REPORTED_USERS) {
      const oldest = this.#users.keys().next();
      if (oldest.done !== true) this.#users.delete(oldest.value);
    }
    const summary = state === undefined || state.repeated === 0 ? {} : { repeated: state.repeated, maxRepeatedMs: state.maxMs };
    this.#events.emit({ type: 'quota-throttled', ...t, ...summary });
  }
}
