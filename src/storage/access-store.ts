import type Database from 'better-sqlite3';

/**
 * The access log's tables in the metadata store (schema v8, src/storage/metadata-store.ts): observed
 * access summed per (principal, operation, resource, scope, outcome), logins per principal, and the
 * log's own state. Bounded here, in SQL: after each batch of observations the least recently seen
 * rows beyond a principal's cap, then beyond the total, are deleted, and counted as dropped.
 */

/**
 * One stored row of observed access. Storage gives the codes no meaning: the operation and resource
 * type are Kafka's ACL codes, the scope one of src/security/access-log's (which reads these rows).
 */
export interface StoredAccess {
  readonly principal: string;
  readonly operation: number;
  readonly resourceType: number;
  readonly resourceName: string;
  readonly scope: string;
  readonly allowed: boolean;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  readonly count: number;
}

export interface StoredLogin {
  readonly principal: string;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  readonly count: number;
  readonly lastAddress: string;
  readonly lastMechanism: string;
}

/** Since when the log records (its first open), and how many observations it dropped to keep its bounds. */
export interface StoredAccessState {
  readonly recordingSinceMs: number;
  readonly dropped: number;
}

export interface AccessBounds {
  readonly maxEntries: number;
  readonly maxEntriesPerPrincipal: number;
  readonly maxPrincipals: number;
}

/** A batch of observations to add to what is stored (counts and times are merged). */
export interface AccessBatch {
  readonly access: readonly StoredAccess[];
  readonly logins: readonly StoredLogin[];
  /** Observations the in-memory buffer already dropped (it was full between two writes). */
  readonly droppedBeforeWrite: number;
}

interface AccessRow {
  principal: string;
  operation: number;
  resource_type: number;
  resource_name: string;
  scope: string;
  allowed: number;
  first_seen: number;
  last_seen: number;
  count: number;
}

interface LoginRow {
  principal: string;
  first_seen: number;
  last_seen: number;
  count: number;
  last_address: string;
  last_mechanism: string;
}

const accessFromRow = (r: AccessRow): StoredAccess => ({
  principal: r.principal,
  operation: r.operation,
  resourceType: r.resource_type,
  resourceName: r.resource_name,
  scope: r.scope,
  allowed: r.allowed === 1,
  firstSeenMs: r.first_seen,
  lastSeenMs: r.last_seen,
  count: r.count,
});

const loginFromRow = (r: LoginRow): StoredLogin => ({
  principal: r.principal,
  firstSeenMs: r.first_seen,
  lastSeenMs: r.last_seen,
  count: r.count,
  lastAddress: r.last_address,
  lastMechanism: r.last_mechanism,
});

/** The v8 tables, created by the metadata store's migration. */
export const ACCESS_SCHEMA_V8 = `
  CREATE TABLE observed_access (
    principal TEXT NOT NULL,
    operation INTEGER NOT NULL,
    resource_type INTEGER NOT NULL,
    resource_name TEXT NOT NULL,
    scope TEXT NOT NULL,
    allowed INTEGER NOT NULL CHECK (allowed IN (0, 1)),
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    count INTEGER NOT NULL CHECK (count > 0),
    PRIMARY KEY (principal, operation, resource_type, resource_name, scope, allowed));
  CREATE INDEX observed_access_by_last_seen ON observed_access (last_seen);
  CREATE INDEX observed_access_by_principal ON observed_access (principal, last_seen);
  CREATE TABLE observed_logins (
    principal TEXT PRIMARY KEY,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    count INTEGER NOT NULL CHECK (count > 0),
    last_address TEXT NOT NULL,
    last_mechanism TEXT NOT NULL);
  CREATE INDEX observed_logins_by_last_seen ON observed_logins (last_seen);
  CREATE TABLE access_log_state (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;`;

export class AccessStore {
  readonly #db: Database.Database;
  readonly #s: {
    upsertAccess: Database.Statement<[string, number, number, string, string, number, number, number, number]>;
    upsertLogin: Database.Statement<[string, number, number, number, string, string]>;
    countOf: Database.Statement<[string], { n: number }>;
    count: Database.Statement<[], { n: number }>;
    loginCount: Database.Statement<[], { n: number }>;
    dropOldestOf: Database.Statement<[string, number]>;
    dropOldest: Database.Statement<[number]>;
    dropOldestLogins: Database.Statement<[number]>;
    accessOf: Database.Statement<[string, number], AccessRow>;
    access: Database.Statement<[number], AccessRow>;
    logins: Database.Statement<[], LoginRow>;
    state: Database.Statement<[string], { value: number }>;
    setState: Database.Statement<[string, number]>;
    addState: Database.Statement<[string, number]>;
  };

  constructor(db: Database.Database, now: number) {
    this.#db = db;
    this.#s = {
      upsertAccess: db.prepare(
        `INSERT INTO observed_access (principal, operation, resource_type, resource_name, scope, allowed, first_seen, last_seen, count)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (principal, operation, resource_type, resource_name, scope, allowed) DO UPDATE SET
           first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen), count = count + excluded.count`,
      ),
      upsertLogin: db.prepare(
        `INSERT INTO observed_logins (principal, first_seen, last_seen, count, last_address, last_mechanism) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (principal) DO UPDATE SET
           first_seen = min(first_seen, excluded.first_seen),
           last_address = CASE WHEN excluded.last_seen >= last_seen THEN excluded.last_address ELSE last_address END,
           last_mechanism = CASE WHEN excluded.last_seen >= last_seen THEN excluded.last_mechanism ELSE last_mechanism END,
           last_seen = max(last_seen, excluded.last_seen), count = count + excluded.count`,
      ),
      countOf: db.prepare('SELECT COUNT(*) AS n FROM observed_access WHERE principal = ?'),
      count: db.prepare('SELECT COUNT(*) AS n FROM observed_access'),
      loginCount: db.prepare('SELECT COUNT(*) AS n FROM observed_logins'),
      dropOldestOf: db.prepare('DELETE FROM observed_access WHERE rowid IN (SELECT rowid FROM observed_access WHERE principal = ? ORDER BY last_seen, rowid LIMIT ?)'),
      dropOldest: db.prepare('DELETE FROM observed_access WHERE rowid IN (SELECT rowid FROM observed_access ORDER BY last_seen, rowid LIMIT ?)'),
      dropOldestLogins: db.prepare('DELETE FROM observed_logins WHERE rowid IN (SELECT rowid FROM observed_logins ORDER BY last_seen, rowid LIMIT ?)'),
      accessOf: db.prepare(
        `SELECT principal, operation, resource_type, resource_name, scope, allowed, first_seen, last_seen, count FROM observed_access
         WHERE principal = ? AND last_seen >= ? ORDER BY resource_type, resource_name, operation, scope, allowed`,
      ),
      access: db.prepare(
        `SELECT principal, operation, resource_type, resource_name, scope, allowed, first_seen, last_seen, count FROM observed_access
         WHERE last_seen >= ? ORDER BY principal, resource_type, resource_name, operation, scope, allowed`,
      ),
      logins: db.prepare('SELECT principal, first_seen, last_seen, count, last_address, last_mechanism FROM observed_logins ORDER BY principal'),
      state: db.prepare('SELECT value FROM access_log_state WHERE name = ?'),
      setState: db.prepare('INSERT OR IGNORE INTO access_log_state (name, value) VALUES (?, ?)'),
      addState: db.prepare('INSERT INTO access_log_state (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + excluded.value'),
    };
    // The first open marks when recording began: a grant unused "for 30 days" means something only then.
    this.#s.setState.run('recording_since', now);
  }

  /**
   * Adds a batch in one transaction, then deletes the least recently seen rows beyond the bounds;
   * returns how many rows were dropped (the buffer's drops included) and how many rows are kept now.
   */
  write(batch: AccessBatch, bounds: AccessBounds): { dropped: number; entries: number } {
    const write = this.#db.transaction(() => {
      const s = this.#s;
      const touched = new Set<string>();
      for (const a of batch.access) {
        s.upsertAccess.run(a.principal, a.operation, a.resourceType, a.resourceName, a.scope, a.allowed ? 1 : 0, a.firstSeenMs, a.lastSeenMs, a.count);
        touched.add(a.principal);
      }
      for (const l of batch.logins) s.upsertLogin.run(l.principal, l.firstSeenMs, l.lastSeenMs, l.count, l.lastAddress, l.lastMechanism);
      let dropped = batch.droppedBeforeWrite;
      for (const principal of touched) {
        const over = (s.countOf.get(principal)?.n ?? 0) - bounds.maxEntriesPerPrincipal;
        if (over > 0) dropped += s.dropOldestOf.run(principal, over).changes;
      }
      let entries = s.count.get()?.n ?? 0;
      if (entries > bounds.maxEntries) {
        const removed = s.dropOldest.run(entries - bounds.maxEntries).changes;
        dropped += removed;
        entries -= removed;
      }
      const loginsOver = (s.loginCount.get()?.n ?? 0) - bounds.maxPrincipals;
      if (loginsOver > 0) dropped += s.dropOldestLogins.run(loginsOver).changes;
      if (dropped > 0) s.addState.run('dropped', dropped);
      return { dropped, entries };
    });
    return write();
  }

  /** Every row last seen at or after `sinceMs`, of one principal or of all. */
  access(principal: string | null, sinceMs = 0): StoredAccess[] {
    const rows = principal === null ? this.#s.access.all(sinceMs) : this.#s.accessOf.all(principal, sinceMs);
    return rows.map(accessFromRow);
  }

  logins(): StoredLogin[] {
    return this.#s.logins.all().map(loginFromRow);
  }

  /** How many access rows are stored. */
  entries(): number {
    return this.#s.count.get()?.n ?? 0;
  }

  state(): StoredAccessState {
    return { recordingSinceMs: this.#s.state.get('recording_since')?.value ?? 0, dropped: this.#s.state.get('dropped')?.value ?? 0 };
  }
}
