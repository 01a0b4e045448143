/**
 * Where client quota settings are kept across restarts (the metadata store): one value per entity and
 * key. The entity is the quota layer's key of it (src/quotas/entities.ts); storage keeps it as text.
 */
export interface StoredQuota {
  readonly entity: string;
  readonly key: string;
  readonly value: number;
}

/** One change of an AlterClientQuotas entry: a value set, or removed (null). */
export interface QuotaChange {
  readonly entity: string;
  readonly key: string;
  readonly value: number | null;
}

export interface QuotaStore {
  quotas(): StoredQuota[];
  /** Applies every change in one transaction. */
  alterQuotas(changes: readonly QuotaChange[]): void;
}
