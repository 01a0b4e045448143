/**
 * A token bucket: `ratePerSecond` tokens a second, holding at most `capacity`. The connection creation
 * rates (KIP-612: one per listener, one per client address) take single tokens, now or from the future;
 * the controller mutation quota (KIP-599) takes a request's partitions at once, into debt if need be,
 * so that one large CreateTopics goes through whole and the requests after it wait the debt off.
 */
export class TokenBucket {
  #tokens: number;
  #at: number;

  constructor(
    readonly ratePerSecond: number,
    readonly capacity: number,
    now: number,
  ) {
    this.#tokens = capacity;
    this.#at = now;
  }

  /** The tokens now (negative: in debt). */
  tokens(now: number): number {
    if (now > this.#at) {
      this.#tokens = Math.min(this.capacity, this.#tokens + ((now - this.#at) * this.ratePerSecond) / 1000);
      this.#at = now;
    }
    return this.#tokens;
  }

  /** Takes a token if there is one (the per-address rate: over it, the connection is refused). */
  tryTake(now: number): boolean {
    if (this.tokens(now) < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /**
   * Takes a token now or from the future: how many ms the caller must wait for it (0: none). A wait
   * longer than `maxWaitMs` takes nothing and answers undefined (the listener rate: over it, the
   * accept is delayed; far over it, refused).
   */
  reserve(now: number, maxWaitMs: number): number | undefined {
    const tokens = this.tokens(now);
    const waitMs = tokens >= 1 ? 0 : Math.ceil(((1 - tokens) * 1000) / this.ratePerSecond);
    if (waitMs > maxWaitMs) return undefined;
    this.#tokens -= 1;
    return waitMs;
  }

  /** Takes `count` tokens, into debt if need be. */
  take(count: number, now: number): void {
    this.#tokens = this.tokens(now) - count;
  }

  /** Until the bucket is out of debt, in ms; 0 when it is not in debt. */
  debtMs(now: number): number {
    const tokens = this.tokens(now);
    return tokens >= 0 ? 0 : Math.ceil((-tokens * 1000) / this.ratePerSecond);
  }

  /** Whether the bucket is full again: whoever tracks it may forget it. */
  full(now: number): boolean {
    return this.tokens(now) >= this.capacity;
  }
}
