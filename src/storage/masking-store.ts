import type Database from 'better-sqlite3';

/**
 * The masking policies added with `parapet mask add` (metadata store v13; docs/governance/masking.md),
 * kept across restarts. Storage keeps each policy as the JSON text it was given with who added it and
 * when; src/governance/masking checks and applies them.
 */
export interface StoredMaskingPolicy {
  readonly name: string;
  /** The policy as JSON (src/governance/masking/policy.ts, MaskingPolicy). */
  readonly definition: string;
  /** When it was added, ms since the epoch. */
  readonly createdMs: number;
  /** Who added it (a principal). */
  readonly createdBy: string;
}

export interface MaskingStore {
  /** Every stored policy, by name. */
  maskingPolicies(): StoredMaskingPolicy[];
  /** Adds a policy; false (nothing stored) when one of that name exists. */
  addMaskingPolicy(policy: StoredMaskingPolicy): boolean;
  /** Whether there was a policy of that name to remove. */
  removeMaskingPolicy(name: string): boolean;
}

/**
 * The v13 table; run inside the migration's transaction. IF NOT EXISTS: a store whose version was set
 * back (a test simulating an older store) still has it, and a migration must not fail on it.
 */
export const MASKING_SCHEMA_V13 = `
  CREATE TABLE IF NOT EXISTS masking_policies (
    name TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    created_by TEXT NOT NULL) WITHOUT ROWID;`;

interface PolicyRow {
  name: string;
  definition: string;
  created_ms: number;
  created_by: string;
}

/** The MaskingStore over the metadata store's database (its statements prepared once). */
export class MaskingTables implements MaskingStore {
  readonly #all: Database.Statement<[], PolicyRow>;
  readonly #insert: Database.Statement<[string, string, number, string]>;
  readonly #remove: Database.Statement<[string]>;

  constructor(db: Database.Database) {
    this.#all = db.prepare('SELECT name, definition, created_ms, created_by FROM masking_policies ORDER BY name');
    this.#insert = db.prepare('INSERT OR IGNORE INTO masking_policies (name, definition, created_ms, created_by) VALUES (?, ?, ?, ?)');
    this.#remove = db.prepare('DELETE FROM masking_policies WHERE name = ?');
  }

  maskingPolicies(): StoredMaskingPolicy[] {
    return this.#all.all().map((r) => ({ name: r.name, definition: r.definition, createdMs: r.created_ms, createdBy: r.created_by }));
  }

  addMaskingPolicy(policy: StoredMaskingPolicy): boolean {
    return this.#insert.run(policy.name, policy.definition, policy.createdMs, policy.createdBy).changes > 0;
  }

  removeMaskingPolicy(name: string): boolean {
    return this.#remove.run(name).changes > 0;
  }
}
