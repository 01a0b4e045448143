/**
 * The two kinds of table the login guard keeps, each with a fixed maximum of entries, so that no
 * number of sources or user names can grow its memory (docs/security/network.md#brute-force-defence).
 */

/**
 * A map that forgets its least recently used entry when full. Used for scores, which an attacker can
 * only push out by making attempts from (or for) as many other keys as the table holds.
 */
export class LruTable<V> {
  readonly #max: number;
  readonly #entries = new Map<string, V>();

  constructor(max: number) {
    this.#max = Math.max(1, max);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The entry, now the most recently used. */
  get(key: string): V | undefined {
    const value = this.#entries.get(key);
    if (value === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, value);
    return value;
  }

  set(key: string, value: V): void {
    this.#entries.delete(key);
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, value);
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }
}

/**
 * Keys with an expiry (blocked sources, guarded users, trusted sources). Entries are kept in the order
 * of their expiry (every duration is fixed, and a renewed entry moves to the end), so expired ones are
 * dropped from the front, and when the table is full the one that would expire first goes.
 */
export class ExpiringSet {
  readonly #max: number;
  readonly #until = new Map<string, number>();

  constructor(max: number) {
    this.#max = Math.max(1, max);
  }

  /** Live entries (expired ones at the front are dropped first). */
  size(now: number): number {
    this.#purge(now);
    return this.#until.size;
  }

  /** When the key's entry expires, if it is live. */
  until(key: string, now: number): number | undefined {
    const until = this.#until.get(key);
    if (until === undefined) return undefined;
    if (until > now) return until;
    this.#until.delete(key);
    return undefined;
  }

  has(key: string, now: number): boolean {
    return this.until(key, now) !== undefined;
  }

  /** Adds or renews the key until `until` (a later time than every entry's, as durations are fixed). */
  add(key: string, until: number, now: number): void {
    this.#until.delete(key);
    this.#purge(now);
    if (this.#until.size >= this.#max) {
      const first = this.#until.keys().next();
      if (first.done !== true) this.#until.delete(first.value);
    }
    this.#until.set(key, until);
  }

  delete(key: string): void {
    this.#until.delete(key);
  }

  #purge(now: number): void {
    for (const [key, until] of this.#until) {
      if (until > now) return;
      this.#until.delete(key);
    }
  }
}
