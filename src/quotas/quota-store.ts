import type { QuotaKey } from './entities.js';

/** One stored quota value: the entity (src/quotas/entities.ts entityKey), the key, the value. */
export interface StoredQuota {
  readonly entity: string;
  readonly key: QuotaKey;
  readonly value: number;
}

/** One change of an AlterClientQuotas entry: a value set, or removed (null). */
export interface QuotaChange {
  readonly entity: string;
  readonly key: QuotaKey;
  readonly value: number | null;
}

/** Where quota settings are kept across restarts: the metadata store. */
export interface QuotaStore {
  quotas(): StoredQuota[];
  /** Applies every change in one transaction. */
  alterQuotas(changes: readonly QuotaChange[]): void;
}

/** A store in memory (tests, and a broker without a data directory). */
export class MemoryQuotaStore implements QuotaStore {
  readonly #values = new Map<string, StoredQuota>();

  quotas(): StoredQuota[] {
    return [...this.#values.values()];
  }

  alterQuotas(changes: readonly QuotaChange[]): void {
    for (const c of changes) {
      const id = `${c.key} ${c.entity}`;
      if (c.value === null) this.#values.delete(id);
      else this.#values.set(id, { entity: c.entity, key: c.key, value: c.value });
    }
  }
}
