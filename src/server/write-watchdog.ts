/** What the watchdog looks at on each tick. */
export interface WatchedWrites {
  /** Whether the connection holds response bytes; the watchdog stops by itself when it holds none. */
  readonly holding: boolean;
  /** Bytes handed to the socket that it has not taken yet (Node's writableLength). */
  readonly backlog: number;
  /** Bytes the socket has taken so far: only ever grows. */
  readonly taken: number;
}

/**
 * Notices a client that takes none of the response bytes waiting for it. While the connection holds
 * responses it ticks (a quarter of the timeout apart, at most a second), and calls `onStall` once
 * `timeoutMs` has passed with bytes waiting in the socket and none of them taken. A slow client that
 * reads, however slowly, is never stalled, nor is one whose responses wait for a handler (an fsync).
 *
 * Kafka closes a connection without any activity after connections.max.idle.ms (10 minutes); this is
 * narrower and shorter on purpose: it only runs while the broker holds a response the client does not
 * take, which is memory held for that client (docs/security/limits.md).
 */
export class WriteWatchdog {
  readonly #timeoutMs: number;
  readonly #tickMs: number;
  readonly #watch: () => WatchedWrites;
  readonly #onStall: () => void;
  #timer: NodeJS.Timeout | null = null;
  #lastTaken = 0;
  #stalledMs = 0;

  constructor(options: { timeoutMs: number; watch: () => WatchedWrites; onStall: () => void }) {
    this.#timeoutMs = options.timeoutMs;
    this.#tickMs = Math.max(1, Math.min(1000, Math.floor(options.timeoutMs / 4)));
    this.#watch = options.watch;
    this.#onStall = options.onStall;
  }

  get armed(): boolean {
    return this.#timer !== null;
  }

  /** Starts ticking, if it is not already: cheap enough to call after every change. */
  arm(): void {
    if (this.#timer !== null) return;
    this.#lastTaken = this.#watch().taken;
    this.#stalledMs = 0;
    this.#timer = setInterval(() => {
      this.#tick();
    }, this.#tickMs);
    this.#timer.unref();
  }

  disarm(): void {
    if (this.#timer === null) return;
    clearInterval(this.#timer);
    this.#timer = null;
  }

  #tick(): void {
    const w = this.#watch();
    if (!w.holding) {
      this.disarm();
      return;
    }
    if (w.backlog === 0 || w.taken !== this.#lastTaken) {
      this.#lastTaken = w.taken;
      this.#stalledMs = 0;
      return;
    }
    this.#stalledMs += this.#tickMs;
    if (this.#stalledMs >= this.#timeoutMs) {
      this.disarm();
      this.#onStall();
    }
  }
}
