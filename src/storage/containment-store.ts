import type Database from 'better-sqlite3';

/**
 * Where incident-response state is kept across restarts (metadata store v7): the principals an
 * administrator disabled and the lockdown, each with who, when and why. The security layer
 * (src/security/containment) gives them meaning; storage keeps principals as text.
 */

/** A disabled principal: its credentials and ACLs are kept, its logins refused. */
export interface StoredDisabledPrincipal {
  readonly principal: string;
  readonly reason: string;
  /** When it was disabled, ms since the epoch. */
  readonly since: number;
  /** Who disabled it (a principal). */
  readonly by: string;
}

/** The lockdown while it is on: only super users may connect. */
export interface StoredLockdown {
  readonly reason: string;
  readonly since: number;
  readonly by: string;
}

export interface ContainmentStore {
  disabledPrincipals(): StoredDisabledPrincipal[];
  /** Adds or replaces the row of `record.principal`. */
  disablePrincipal(record: StoredDisabledPrincipal): void;
  /** Whether there was a row to remove. */
  enablePrincipal(principal: string): boolean;
  /** The lockdown in force, or null. */
  lockdown(): StoredLockdown | null;
  /** Turns the lockdown on with `state`, or off with null. */
  setLockdown(state: StoredLockdown | null): void;
}

/** The v7 tables; run inside the migration's transaction. */
export const CONTAINMENT_SCHEMA_V7 = `
  CREATE TABLE disabled_principals (
    principal TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    since INTEGER NOT NULL,
    disabled_by TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE lockdown (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    reason TEXT NOT NULL,
    since INTEGER NOT NULL,
    enabled_by TEXT NOT NULL);`;

interface DisabledRow {
  principal: string;
  reason: string;
  since: number;
  disabled_by: string;
}

interface LockdownRow {
  reason: string;
  since: number;
  enabled_by: string;
}

/** The ContainmentStore over the metadata store's database (its statements prepared once). */
export class ContainmentTables implements ContainmentStore {
  readonly #all: Database.Statement<[], DisabledRow>;
  readonly #upsert: Database.Statement<[string, string, number, string]>;
  readonly #remove: Database.Statement<[string]>;
  readonly #lockdown: Database.Statement<[], LockdownRow>;
  readonly #setLockdown: Database.Statement<[string, number, string]>;
  readonly #clearLockdown: Database.Statement<[]>;

  constructor(db: Database.Database) {
    this.#all = db.prepare('SELECT principal, reason, since, disabled_by FROM disabled_principals ORDER BY since, principal');
    this.#upsert = db.prepare('INSERT OR REPLACE INTO disabled_principals (principal, reason, since, disabled_by) VALUES (?, ?, ?, ?)');
    this.#remove = db.prepare('DELETE FROM disabled_principals WHERE principal = ?');
    this.#lockdown = db.prepare('SELECT reason, since, enabled_by FROM lockdown WHERE id = 1');
    this.#setLockdown = db.prepare('INSERT OR REPLACE INTO lockdown (id, reason, since, enabled_by) VALUES (1, ?, ?, ?)');
    this.#clearLockdown = db.prepare('DELETE FROM lockdown');
  }

  disabledPrincipals(): StoredDisabledPrincipal[] {
    return this.#all.all().map((r) => ({ principal: r.principal, reason: r.reason, since: r.since, by: r.disabled_by }));
  }

  disablePrincipal(record: StoredDisabledPrincipal): void {
    this.#upsert.run(record.principal, record.reason, record.since, record.by);
  }

  enablePrincipal(principal: string): boolean {
    return this.#remove.run(principal).changes > 0;
  }

  lockdown(): StoredLockdown | null {
    const row = this.#lockdown.get();
    return row === undefined ? null : { reason: row.reason, since: row.since, by: row.enabled_by };
  }

  setLockdown(state: StoredLockdown | null): void {
    if (state === null) this.#clearLockdown.run();
    else this.#setLockdown.run(state.reason, state.since, state.by);
  }
}
