/**
 * The rate a quota is measured with, as Kafka measures it (its `Rate` over a `SampledStat`): the window
 * is `samples` consecutive samples of `sampleMs` each (quota.window.num, default 11, and
 * quota.window.size.seconds, default 1). A value is added to the current sample; a sample older than
 * the whole window is forgotten. The rate is what the live samples hold divided by the time they cover,
 * counted as at least `samples - 1` full samples, so a client's first burst is spread over the window
 * rather than divided by the few milliseconds since it started.
 */
export interface RateWindow {
  /** Samples kept (quota.window.num). */
  readonly samples: number;
  /** Length of one sample, in ms (quota.window.size.seconds × 1000). */
  readonly sampleMs: number;
}

export const DEFAULT_RATE_WINDOW: RateWindow = { samples: 11, sampleMs: 1000 };

export class WindowedRate {
  readonly #window: RateWindow;
  /** When each sample began; -Infinity: never used. */
  readonly #starts: number[];
  readonly #values: number[];
  #current = 0;

  constructor(window: RateWindow, now: number) {
    this.#window = window;
    this.#starts = new Array<number>(window.samples).fill(-Infinity);
    this.#values = new Array<number>(window.samples).fill(0);
    this.#starts[0] = now;
  }

  record(value: number, now: number): void {
    this.#purge(now);
    const { sampleMs, samples } = this.#window;
    if (now - (this.#starts[this.#current] as number) >= sampleMs) {
      this.#current = (this.#current + 1) % samples;
      this.#starts[this.#current] = now;
      this.#values[this.#current] = 0;
    }
    this.#values[this.#current] = (this.#values[this.#current] as number) + value;
  }

  /** What the live samples hold. */
  total(now: number): number {
    this.#purge(now);
    let total = 0;
    for (const v of this.#values) total += v;
    return total;
  }

  /** The time the rate is divided by, in ms: since the oldest live sample began, at least `samples - 1` samples. */
  windowMs(now: number): number {
    this.#purge(now);
    const { sampleMs, samples } = this.#window;
    let oldest = now;
    for (const start of this.#starts) if (start < oldest && start !== -Infinity) oldest = start;
    let elapsed = now - oldest;
    const fullSamples = Math.floor(elapsed / sampleMs);
    if (fullSamples < samples - 1) elapsed += (samples - 1 - fullSamples) * sampleMs;
    return elapsed;
  }

  /** Per second. */
  rate(now: number): number {
    return (this.total(now) * 1000) / this.windowMs(now);
  }

  /** Whether nothing was recorded for the whole window: the tracker may forget this rate. */
  idle(now: number): boolean {
    return this.total(now) === 0;
  }

  #purge(now: number): void {
    const expireBefore = now - this.#window.samples * this.#window.sampleMs;
    for (let i = 0; i < this.#starts.length; i++) {
      if (i !== this.#current && (this.#starts[i] as number) < expireBefore) {
        this.#starts[i] = -Infinity;
        this.#values[i] = 0;
      }
    }
    // The current sample expires too once the whole window has passed since it began: start afresh.
    if ((this.#starts[this.#current] as number) < expireBefore) {
      this.#starts[this.#current] = now;
      this.#values[this.#current] = 0;
    }
  }
}

/**
 * How long a client over its quota must wait for its rate to fall back to the quota (Kafka's
 * ClientQuotaManager.throttleTime): (rate − quota) / quota × window, i.e. the time the excess takes at
 * the quota's pace. 0 when the rate is within the quota; never more than `maxMs`.
 */
export function throttleMs(rate: WindowedRate, quota: number, now: number, maxMs: number): number {
  const value = rate.rate(now);
  if (value <= quota) return 0;
  return Math.min(maxMs, Math.round(((value - quota) / quota) * rate.windowMs(now)));
}
