import type { KeyObject } from 'node:crypto';

/**
 * Unwrapped data keys, shared by every partition, at most `maxKeys` of them (least recently used
 * first out), so that the key material in the broker's memory is bounded whatever the number of
 * partitions and key rollovers. Keys are node:crypto KeyObjects: their bytes live outside the JS heap
 * and are never printed (a KeyObject logs as `SecretKeyObject { type: 'secret' }`).
 */
export class DataKeyCache {
  readonly #maxKeys: number;
  readonly #keys = new Map<string, KeyObject>();

  constructor(maxKeys: number) {
    this.#maxKeys = Math.max(1, maxKeys);
  }

  get size(): number {
    return this.#keys.size;
  }

  get(partition: string, id: number): KeyObject | undefined {
    const k = `${partition}\0${id}`;
    const key = this.#keys.get(k);
    if (key !== undefined) {
      this.#keys.delete(k);
      this.#keys.set(k, key);
    }
    return key;
  }

  set(partition: string, id: number, key: KeyObject): void {
    const k = `${partition}\0${id}`;
    this.#keys.delete(k);
    this.#keys.set(k, key);
    while (this.#keys.size > this.#maxKeys) {
      const oldest = this.#keys.keys().next().value;
      if (oldest === undefined) break;
      this.#keys.delete(oldest);
    }
  }

  dropPartition(partition: string): void {
    const prefix = `${partition}\0`;
    for (const k of [...this.#keys.keys()]) if (k.startsWith(prefix)) this.#keys.delete(k);
  }
}
