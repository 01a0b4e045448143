/**
 * The controller mutation quota's measure (KIP-599): a token bucket of partition mutations. It fills at
 * the quota's rate up to a burst of rate × the whole quota window, and a mutation takes its tokens even
 * when that leaves the bucket in debt: one large CreateTopics is let through whole, and the requests
 * after it wait until the debt is paid back.
 */
export class TokenBucket {
  #tokens: number;
  #at: number;

  constructor(
    readonly rate: number,
    readonly burst: number,
    now: number,
  ) {
    this.#tokens = burst;
    this.#at = now;
  }

  tokens(now: number): number {
    if (now > this.#at) {
      this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) * this.rate) / 1000);
      this.#at = now;
    }
    return this.#tokens;
  }

  /** Takes `count` tokens, into debt if need be. */
  take(count: number, now: number): void {
    this.#tokens = this.tokens(now) - count;
  }

  /** Until the bucket is out of debt, in ms; 0 when it is not in debt. */
  debtMs(now: number): number {
    const tokens = this.tokens(now);
    return tokens >= 0 ? 0 : Math.ceil((-tokens * 1000) / this.rate);
  }

  /** Whether the bucket is full: the tracker may forget it. */
  full(now: number): boolean {
    return this.tokens(now) >= this.burst;
  }
}
