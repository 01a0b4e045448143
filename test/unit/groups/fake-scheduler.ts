import type { Scheduler } from '../../../src/groups/scheduler.js';

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/**
 * A virtual clock for the group coordinator: time moves only through {@link advance}, which fires the
 * due timers one at a time in (due time, scheduling order), with `now()` set to each timer's due time
 * while it runs. Timers scheduled or cancelled by a running timer are honoured in the same advance,
 * so a chain (a session expiry that starts a rebalance that schedules its deadline) plays out exactly
 * as it would in real time.
 */
export class FakeScheduler implements Scheduler {
  #now = 0;
  #nextId = 1;
  /** Sorted by due time, then by id (scheduling order). */
  readonly #queue: Timer[] = [];

  now(): number {
    return this.#now;
  }

  schedule(fn: () => void, ms: number): unknown {
    const timer: Timer = { id: this.#nextId++, at: this.#now + Math.max(0, ms), fn };
    // Insert after every timer due at or before it: equal due times keep scheduling order.
    let lo = 0;
    let hi = this.#queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#queue[mid]?.at ?? Infinity) <= timer.at) lo = mid + 1;
      else hi = mid;
    }
    this.#queue.splice(lo, 0, timer);
    return timer.id;
  }

  /** Like clearTimeout: unknown, fired or null handles are ignored. */
  cancel(handle: unknown): void {
    const i = this.#queue.findIndex((t) => t.id === handle);
    if (i >= 0) this.#queue.splice(i, 1);
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way (including new ones). */
  advance(ms: number): void {
    if (ms < 0) throw new RangeError('time only moves forward');
    const until = this.#now + ms;
    for (;;) {
      const next = this.#queue[0];
      if (next === undefined || next.at > until) break;
      this.#queue.shift();
      this.#now = next.at;
      next.fn();
    }
    this.#now = until;
  }

  /** How many timers are waiting (for leak checks). */
  get pending(): number {
    return this.#queue.length;
  }

  /** Due times of the waiting timers, in firing order. */
  dueTimes(): number[] {
    return this.#queue.map((t) => t.at);
  }
}
