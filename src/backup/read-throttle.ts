/**
 * Paces the writer's reads to a byte rate, so that a backup taken while the broker serves does not
 * take the disk from producers (the issue's `--rate`). It tracks the bytes read since the start and
 * sleeps whenever that is ahead of `rate × elapsed`; the clock and sleep are injected for tests.
 */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export class ReadThrottle {
  readonly #rate: number | undefined;
  readonly #clock: Clock;
  readonly #start: number;
  #bytes = 0;

  constructor(bytesPerSecond: number | undefined, clock: Clock) {
    if (bytesPerSecond !== undefined && !(Number.isFinite(bytesPerSecond) && bytesPerSecond > 0)) {
      throw new RangeError(`the backup rate must be a positive number of bytes per second, not ${bytesPerSecond}`);
    }
    this.#rate = bytesPerSecond;
    this.#clock = clock;
    this.#start = clock.now();
  }

  /** Called after reading `bytes`: waits until the average rate is back at or under the limit. */
  async took(bytes: number): Promise<void> {
    this.#bytes += bytes;
    if (this.#rate === undefined) return;
    const due = this.#start + (this.#bytes / this.#rate) * 1000;
    const wait = due - this.#clock.now();
    if (wait > 0) await this.#clock.sleep(wait);
  }
}
