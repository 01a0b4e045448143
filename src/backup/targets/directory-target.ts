import { randomBytes } from 'node:crypto';
import { mkdirSync, statSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { BackupError, BackupErrorKinds } from '../backup-error.js';
import type { BackupTarget } from '../contracts.js';
import { checkKey, checkPrefix, KEY_SEGMENT } from './object-key.js';

/**
 * A backup target on a directory (local disk or a mount). Objects are files under it, 0600 in 0700
 * directories, so a target on a shared mount shows nothing to other accounts. `put` writes a temporary
 * file (`.put-…`, never listed), fsyncs it, renames it into place and fsyncs the directory: a reader
 * sees the whole object or nothing, and a crash leaves no half object under a real key.
 */

const SEGMENT = KEY_SEGMENT;
const TEMP_PREFIX = '.put-';

const isMissing = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'ENOENT';

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class DirectoryTarget implements BackupTarget {
  readonly description: string;
  readonly #root: string;

  /** Creates the directory (0700) when it does not exist. */
  constructor(root: string) {
    this.#root = resolve(root);
    this.description = `directory ${this.#root}`;
    mkdirSync(this.#root, { recursive: true, mode: 0o700 });
    if (!statSync(this.#root).isDirectory()) throw new BackupError(BackupErrorKinds.BAD_KEY, this.#root, `${this.#root} is not a directory`);
  }

  #path(key: string): string {
    checkKey(key);
    return join(this.#root, ...key.split('/'));
  }

  async put(key: string, data: Buffer): Promise<void> {
    const path = this.#path(key);
    const dir = dirname(path);
    const firstCreated = await mkdir(dir, { recursive: true, mode: 0o700 });
    const temp = join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    const handle = await open(temp, 'wx', 0o600);
    try {
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, path);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw err;
    }
    await fsyncPath(dir);
    // New directories must reach the disk too: their entries live in their parents.
    if (firstCreated !== undefined) {
      for (let d = dir; d !== this.#root && d.startsWith(this.#root); d = dirname(d)) await fsyncPath(dirname(d));
    }
  }

  async get(key: string): Promise<Buffer | null> {
    try {
      return await readFile(this.#path(key));
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async has(key: string): Promise<boolean> {
    try {
      return (await stat(this.#path(key))).isFile();
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    checkPrefix(prefix);
    // Only the directory the prefix reaches into is walked: listing `backups/` never reads `chunks/`.
    const slash = prefix.lastIndexOf('/');
    const base = slash < 0 ? '' : prefix.slice(0, slash);
    const keys: string[] = [];
    const walk = async (relative: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(relative === '' ? this.#root : join(this.#root, ...relative.split('/')), { withFileTypes: true });
      } catch (err) {
        if (isMissing(err)) return;
        throw err;
      }
      for (const entry of entries) {
        if (!SEGMENT.test(entry.name)) continue;
        const key = relative === '' ? entry.name : `${relative}/${entry.name}`;
        if (entry.isDirectory()) {
          if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) await walk(key);
        } else if (entry.isFile() && key.startsWith(prefix)) {
          keys.push(key);
        }
      }
    };
    await walk(base);
    return keys.sort();
  }

  async remove(key: string): Promise<void> {
    const path = this.#path(key);
    try {
      await unlink(path);
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    await fsyncPath(dirname(path));
  }
}
