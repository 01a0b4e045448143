import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/**
 * One owner per data directory. Two brokers on one directory each append at the offsets they think
 * are free, and the second silently overwrites what the first acknowledged; so every command that
 * writes the directory (`start`, `init`, a future `restore`) holds this lock for as long as it runs.
 *
 * The lock is an exclusive POSIX record lock, taken through SQLite on `parapet.lock` (the file stays
 * empty: SQLite locks a byte range far past its end). The kernel drops such a lock when its process
 * dies, however it dies, so a `kill -9` never leaves a stale lock that blocks the next start, and
 * SQLite also makes a second lock within one process fail (POSIX locks alone would not). Nothing
 * else may open `parapet.lock`: closing any descriptor of it would release a POSIX lock.
 *
 * Who holds the lock is written beside it, in `parapet.owner`, once the lock is held: a refused
 * process can name the owner without reading the locked file.
 */

export const LOCK_FILE = 'parapet.lock';
export const OWNER_FILE = 'parapet.owner';

export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  /** What holds it: `parapet start`, `parapet init`. */
  readonly command: string;
  /** ISO-8601 time the lock was taken. */
  readonly since: string;
}

export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError';
  readonly dataDir: string;
  /** Undefined when the owner file could not be read (the owner is still starting, or it is damaged). */
  readonly owner: LockOwner | undefined;

  constructor(dataDir: string, owner: LockOwner | undefined) {
    const who = owner === undefined ? 'another process' : `${owner.command} (pid ${owner.pid} on ${owner.host}, since ${owner.since})`;
    super(`the data directory ${dataDir} is in use by ${who}: stop it first, or use another --data-dir`);
    this.dataDir = dataDir;
    this.owner = owner;
  }
}

export class DataDirLock {
  readonly dataDir: string;
  #db: Database.Database | undefined;

  private constructor(dataDir: string, db: Database.Database) {
    this.dataDir = dataDir;
    this.#db = db;
  }

  /**
   * Takes the lock of `dataDir`, creating the directory (mode 0700) when it does not exist. Throws
   * DataDirLockedError at once, without waiting, when another process or another lock of this
   * process holds it; file-system errors (EACCES, ENOTDIR…) are thrown as they are.
   */
  static acquire(dataDir: string, command: string, clock: () => number = Date.now): DataDirLock {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const path = join(dataDir, LOCK_FILE);
    // Owner-only from its creation: the lock file is empty, but nobody else has business opening it.
    writeFileSync(path, '', { mode: 0o600, flag: 'a' });
    const db = new Database(path, { timeout: 0 });
    try {
      // Nothing is ever written: the open transaction exists only to hold the lock. The journal is
      // kept in memory so that no `-journal` file appears beside it (better-sqlite3's defensive
      // mode refuses journal_mode OFF).
      db.pragma('journal_mode = MEMORY');
      db.exec('BEGIN EXCLUSIVE');
    } catch (err) {
      db.close();
      if (err instanceof Error && 'code' in err && err.code === 'SQLITE_BUSY') throw new DataDirLockedError(dataDir, readOwner(dataDir));
      throw err;
    }
    const lock = new DataDirLock(dataDir, db);
    const owner: LockOwner = { pid: process.pid, host: hostname(), command, since: new Date(clock()).toISOString() };
    const ownerPath = join(dataDir, OWNER_FILE);
    const tmp = `${ownerPath}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      writeFileSync(tmp, `${JSON.stringify(owner)}\n`, { mode: 0o600 });
      chmodSync(tmp, 0o600);
      renameSync(tmp, ownerPath);
    } catch (err) {
      rmSync(tmp, { force: true });
      lock.release();
      throw err;
    }
    return lock;
  }

  get held(): boolean {
    return this.#db !== undefined;
  }

  /** Releases the lock (idempotent). The owner file stays: it is only read while the lock is held. */
  release(): void {
    const db = this.#db;
    if (db === undefined) return;
    this.#db = undefined;
    db.close();
  }
}

/** The owner the lock holder wrote, when it can be read and makes sense. */
export function readOwner(dataDir: string): LockOwner | undefined {
  try {
    const o = JSON.parse(readFileSync(join(dataDir, OWNER_FILE), 'utf8')) as Partial<LockOwner>;
    if (typeof o.pid === 'number' && typeof o.host === 'string' && typeof o.command === 'string' && typeof o.since === 'string') {
      return { pid: o.pid, host: o.host, command: o.command, since: o.since };
    }
  } catch {
    // Missing or being replaced: the refusal then names "another process".
  }
  return undefined;
}
