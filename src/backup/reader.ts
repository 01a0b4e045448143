import { isBackupError } from './backup-error.js';
import { StartedSchema } from './chunk-index.js';
import type { BackupTarget } from './contracts.js';
import { manifestKey, parseManifest, parseManifestUnverified, startedKey } from './format/manifest.js';
import type { Manifest } from './format/manifest-schema.js';
import type { TrustedSigner } from './keys/backup-keys.js';

export { readManifest } from './read-manifest.js';
export { restoreFiles, type RestoreOptions, type RestoreResult } from './restore-files.js';
export { verifyBackup, type VerifyReport, type VerifyProblem, type PartitionRestorable } from './verify-backup.js';

/**
 * Reading a target: what backups it holds (`backup list`), checking one (`backup verify`,
 * verify-backup.ts) and writing its files back (`restore`, restore-files.ts). A backup is usable only
 * once its manifest is written; one with only `started.json` was interrupted and is listed as
 * incomplete, and a manifest that does not parse is listed as damaged, never skipped silently.
 */

export interface BackupListing {
  readonly id: string;
  /** The capture time (the start time for an incomplete backup). */
  readonly createdAt: string | null;
  readonly completedAt?: string;
  /** A manifest that parses (and, when a trusted key is given, verifies). */
  readonly complete: boolean;
  /** Why the manifest cannot be used, when there is one that fails. */
  readonly damaged?: string;
  readonly totalBytes: number;
  /** Bytes this backup added to the target (sealed). */
  readonly storedBytes: number;
  readonly partitions: number;
  readonly topics: readonly string[];
}

/** Every backup in the target, oldest id first. With `trusted`, manifests signed otherwise are listed as damaged. */
export async function listBackups(target: BackupTarget, options: { trusted?: TrustedSigner } = {}): Promise<BackupListing[]> {
  const ids = new Set<string>();
  for (const key of await target.list('backups/')) {
    const m = /^backups\/([^/]+)\/(started|manifest)\.json$/.exec(key);
    if (m?.[1] !== undefined) ids.add(m[1]);
  }
  const listings: BackupListing[] = [];
  for (const id of [...ids].sort()) listings.push(await listOne(target, id, options.trusted));
  return listings;
}

async function listOne(target: BackupTarget, id: string, trusted: TrustedSigner | undefined): Promise<BackupListing> {
  const empty = { id, createdAt: null, complete: false, totalBytes: 0, storedBytes: 0, partitions: 0, topics: [] };
  const bytes = await target.get(manifestKey(id));
  if (bytes === null) {
    const started = await target.get(startedKey(id));
    let startedAt: string | null = null;
    if (started !== null) {
      try {
        const parsed = StartedSchema.safeParse(JSON.parse(started.toString('utf8')));
        if (parsed.success) startedAt = parsed.data.startedAt;
      } catch {
        // An unreadable started.json still marks an incomplete backup.
      }
    }
    return { ...empty, createdAt: startedAt };
  }
  let manifest: Manifest;
  try {
    manifest = trusted === undefined ? parseManifestUnverified(bytes, manifestKey(id)) : parseManifest(bytes, trusted, manifestKey(id));
  } catch (err) {
    if (isBackupError(err)) return { ...empty, damaged: err.message };
    throw err;
  }
  if (manifest.id !== id) return { ...empty, damaged: `${manifestKey(id)} is the manifest of backup ${manifest.id}` };
  return {
    id,
    createdAt: manifest.createdAt,
    completedAt: manifest.completedAt,
    complete: true,
    totalBytes: manifest.totals.bytes,
    storedBytes: manifest.totals.newBytes,
    partitions: manifest.partitions.length,
    topics: [...new Set(manifest.partitions.map((p) => p.topic))].sort(),
  };
}
