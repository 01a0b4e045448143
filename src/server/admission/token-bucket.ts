/**
 * A token bucket: `ratePerSecond` tokens a second, holding at most `capacity`. The connection creation
 * rates (KIP-612) use one per listener and one per client address.
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

  #refill(now: number): void {
    if (now > this.#at) this.#tokens = Math.min(this.capacity, this.#tokens + ((now - this.#at) * this.ratePerSecond) / 1000);
    this.#at = Math.max(this.#at, now);
  }

  /** Takes a token if there is one (the per-address rate: over it, the connection is refused). */
  tryTake(now: number): boolean {
    this.#refill(now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /**
   * Takes a token now or from the future: how many ms the caller must wait for it (0: none). A wait
   * longer than `maxWaitMs` takes nothing and answers undefined (the listener rate: over it, the
   * accept is delayed; far over it, refused).
   */
  reserve(now: number, maxWaitMs: number): number | undefined {
    this.#refill(now);
    const waitMs = this.#tokens >= 1 ? 0 : Math.ceil(((1 - this.#tokens) * 1000) / this.ratePerSecond);
    if (waitMs > maxWaitMs) return undefined;
    this.#tokens -= 1;
    return waitMs;
  }

  /** Whether the bucket is full again: an address whose bucket is full can be forgotten. */
  full(now: number): boolean {
    this.#refill(now);
    return this.#tokens >= this.capacity;
  }
}
