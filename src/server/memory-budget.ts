/**
 * The broker-wide budget of what clients make the broker hold between reading a request and writing
 * its response: request bytes (frames admitted and not yet handled) and response bytes (computed and
 * not yet taken by the kernel). Every connection draws on it, so that N connections cannot multiply
 * the per-connection bounds without limit.
 *
 * Request bytes follow Kafka's KIP-72 memory pool (queued.max.request.bytes, SimpleMemoryPool in its
 * non-strict mode): a frame is admitted while the pool is not exhausted, whatever its size, so one
 * maximum-size frame always gets through and the pool holds at most `maxRequestBytes` plus one frame.
 * When it is exhausted, connections stop reading until memory is released. Response bytes are
 * counted the same way: while they are above `maxResponseBytes`, no new request is read either.
 *
 * One exception keeps the broker usable while misbehaving clients hold the budget (until their
 * write timeout closes them): a connection that holds nothing at all may always read one small
 * frame (see {@link GUARANTEED_FRAME_BYTES}), so Metadata, heartbeats and small produce requests of
 * everyone else still get through. What that costs is bounded by the number of connections.
 */
export class MemoryBudget {
  readonly maxRequestBytes: number;
  readonly maxResponseBytes: number;
  #requestBytes = 0;
  #responseBytes = 0;
  /** Called, in the order they started waiting, when memory is released. */
  readonly #waiting = new Set<() => void>();
  #notifyScheduled = false;

  constructor(options: { maxRequestBytes: number; maxResponseBytes: number }) {
    this.maxRequestBytes = options.maxRequestBytes;
    this.maxResponseBytes = options.maxResponseBytes;
  }

  get requestBytes(): number {
    return this.#requestBytes;
  }

  get responseBytes(): number {
    return this.#responseBytes;
  }

  /**
   * Response bytes left before the budget is used up (0 when it is): a Fetch spends no more than this
   * beyond its first batch, so clients that fetch and never read cannot each pin a 55 MiB response.
   */
  get responseRoom(): number {
    return Math.max(0, this.maxResponseBytes - this.#responseBytes);
  }

  /** Whether unsent responses use the whole response budget: connections that hold some start nothing new. */
  get responsesFull(): boolean {
    return this.#responseBytes >= this.maxResponseBytes;
  }

  /**
   * Reserves `size` request bytes, or returns false when the budget is exhausted (the caller waits
   * with {@link whenReleased}). `holdsNothing`: the connection has no request or response bytes.
   */
  tryReserveRequest(size: number, holdsNothing: boolean): boolean {
    const available = this.#requestBytes < this.maxRequestBytes && !this.responsesFull;
    if (!available && !(holdsNothing && size <= GUARANTEED_FRAME_BYTES)) return false;
    this.#requestBytes += size;
    return true;
  }

  releaseRequest(size: number): void {
    this.#requestBytes -= size;
    this.#released();
  }

  addResponse(size: number): void {
    this.#responseBytes += size;
  }

  releaseResponse(size: number): void {
    this.#responseBytes -= size;
    this.#released();
  }

  /** Calls `wake` once, after the next release of memory; a callback already waiting keeps its place. */
  whenReleased(wake: () => void): void {
    this.#waiting.add(wake);
  }

  /** Forgets a waiting callback (its connection closed). */
  cancel(wake: () => void): void {
    this.#waiting.delete(wake);
  }

  /**
   * Wakes the waiting connections after the current event: never from inside another connection's
   * code path, and once for a burst of releases. Each re-checks and waits again if it still cannot
   * read; the first ones to wait are woken first, so a connection with a large frame is not starved.
   */
  #released(): void {
    if (this.#notifyScheduled || this.#waiting.size === 0) return;
    this.#notifyScheduled = true;
    queueMicrotask(() => {
      this.#notifyScheduled = false;
      const waiting = [...this.#waiting];
      this.#waiting.clear();
      for (const wake of waiting) wake();
    });
  }
}

/**
 * The largest frame a connection holding nothing may always read, exhausted budget or not: the
 * frame limit before authentication (docs/security/authentication.md), small enough that every
 * connection may hold one, large enough for any request but a big produce.
 */
export const GUARANTEED_FRAME_BYTES = 64 * 1024;
