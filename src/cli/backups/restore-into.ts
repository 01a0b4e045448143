import { copyFileSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BackupTarget } from '../../backup/contracts.js';
import type { Manifest } from '../../backup/format/manifest-schema.js';
import type { Identity } from '../../backup/keys/backup-keys.js';
import { restoreFiles } from '../../backup/reader.js';
import { LOCK_FILE, OWNER_FILE } from '../../storage/data-dir-lock.js';
import { KEYRING_FILE } from '../../storage/crypto/key-setup.js';
import { takeRestoreDestination } from './restore-destination.js';

export interface RestoredInto {
  readonly dataDir: string;
  readonly files: number;
  readonly bytes: number;
  /** The keyring file copied from `keysFrom`, or null when it has none. */
  readonly keyring: string | null;
  /** Whether the backup holds topics encrypted at rest (their data keys), which need a KEK provider. */
  readonly sealed: boolean;
}

/**
 * What `parapet restore` and `parapet dr drill` both do: write a verified manifest's files into a
 * data directory (held under its lock, so that no broker starts on it half-written), then copy the
 * keyring of `keysFrom`. The keys of encrypted topics are not in backups (a shredded topic must stay
 * shredded in every backup): the restored parapet.yaml names the original master key by reference,
 * and the keyring beside it is the current one of `keysFrom`. A restore that fails leaves nothing
 * to start a broker on.
 */
export async function restoreInto(
  target: BackupTarget,
  manifest: Manifest,
  identity: Identity,
  dataDir: string,
  options: { readonly keysFrom: string; readonly overwrite: boolean },
): Promise<RestoredInto> {
  const dir = resolve(dataDir);
  const lock = takeRestoreDestination(dir, { overwrite: options.overwrite });
  try {
    let restored;
    try {
      restored = await restoreFiles(target, manifest, identity, dir);
    } catch (err) {
      for (const name of readdirSync(dir)) if (name !== LOCK_FILE && name !== OWNER_FILE) rmSync(join(dir, name), { recursive: true, force: true });
      throw err;
    }
    const keyring = join(options.keysFrom, KEYRING_FILE);
    const keyringCopied = existsSync(keyring);
    if (keyringCopied) copyFileSync(keyring, join(dir, KEYRING_FILE));
    return {
      dataDir: dir,
      files: restored.files,
      bytes: restored.bytes,
      keyring: keyringCopied ? keyring : null,
      sealed: manifest.files.some((f) => f.kind === 'data-keys'),
    };
  } finally {
    lock.release();
  }
}
