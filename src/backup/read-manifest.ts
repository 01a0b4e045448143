import { BackupError, BackupErrorKinds } from './backup-error.js';
import type { BackupTarget } from './contracts.js';
import { manifestKey, parseManifest, startedKey } from './format/manifest.js';
import type { Manifest } from './format/manifest-schema.js';
import type { TrustedSigner } from './keys/backup-keys.js';

/** The verified manifest of backup `id`; `manifest-missing` when it has none (an incomplete backup). */
export async function readManifest(target: BackupTarget, id: string, trusted: TrustedSigner): Promise<Manifest> {
  const key = manifestKey(id);
  const bytes = await target.get(key);
  if (bytes === null) {
    const started = await target.has(startedKey(id));
    throw new BackupError(
      BackupErrorKinds.MANIFEST_MISSING,
      key,
      started ? `backup ${id} is incomplete: it has no manifest (it was interrupted)` : `${target.description} holds no backup ${id}`,
    );
  }
  const manifest = parseManifest(bytes, trusted, key);
  if (manifest.id !== id) throw new BackupError(BackupErrorKinds.MANIFEST_SCHEMA, key, `${key} is the manifest of backup ${manifest.id}`);
  return manifest;
}
