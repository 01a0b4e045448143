import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DataDirLock, LOCK_FILE, OWNER_FILE } from '../../storage/data-dir-lock.js';
import { UsageError } from '../admin/common.js';

/**
 * The data directory a restore writes into. A live broker's directory is always refused (its lock is
 * held); an initialised one (anything in it but the lock files) only with `--overwrite`, whose old
 * contents are then removed. The lock is held for the whole restore, so that no broker starts on a
 * half-written directory; the caller releases it when the restore is done.
 */
export function takeRestoreDestination(dataDir: string, options: { overwrite: boolean }): DataDirLock {
  const lock = DataDirLock.acquire(dataDir, 'parapet restore');
  try {
    const present = existsSync(dataDir) ? readdirSync(dataDir).filter((name) => name !== LOCK_FILE && name !== OWNER_FILE) : [];
    if (present.length > 0) {
      if (!options.overwrite) {
        throw new UsageError(
          `${dataDir} is not empty (${present.slice(0, 5).join(', ')}${present.length > 5 ? ', …' : ''}): restore into a new directory, or pass --overwrite to replace what is there`,
        );
      }
      for (const name of present) rmSync(join(dataDir, name), { recursive: true, force: true });
    }
    return lock;
  } catch (err) {
    lock.release();
    throw err;
  }
}
