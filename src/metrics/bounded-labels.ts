/** The label value every client-chosen value beyond a {@link BoundedLabelValues} bound is counted under. */
export const OTHER_LABEL_VALUE = 'other';

/**
 * Keeps the distinct values a client can put into one label (a principal: OAUTHBEARER tokens can
 * name any number of them) within a bound: each metric label is a time series Prometheus stores for
 * weeks, and the registry keeps every one of them in memory. The first `max` distinct values are
 * kept as they are; every value after them is reported as `other`, so the series stay bounded
 * whatever clients do (docs/operations/monitoring.md, "Bounded labels").
 */
export class BoundedLabelValues {
  readonly #max: number;
  readonly #seen = new Set<string>();

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 0) throw new RangeError(`a label bound must be a whole number ≥ 0, not ${max}`);
    this.#max = max;
  }

  /** `value` while it is one of the first `max` distinct values seen, else `other`. */
  of(value: string): string {
    if (this.#seen.has(value)) return value;
    if (this.#seen.size >= this.#max) return OTHER_LABEL_VALUE;
    this.#seen.add(value);
    return value;
  }

  /** Distinct values kept so far (at most the bound). */
  get size(): number {
    return this.#seen.size;
  }
}
