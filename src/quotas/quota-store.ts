import type { QuotaChange, QuotaStore, StoredQuota } from '../storage/quota-store.js';

export type { QuotaChange, QuotaStore, StoredQuota } from '../storage/quota-store.js';

/** A store in memory (tests). */
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
