import { z } from 'zod';
import type { BackupTarget } from './contracts.js';
import { isBackupError } from './backup-error.js';
import { BACKUP_ID } from './format/chunk-seal.js';
import type { WrappedDek } from './format/dek-wrap.js';
import { parseManifest, startedKey } from './format/manifest.js';
import { WrappedDekSchema } from './format/manifest-schema.js';
import type { TrustedSigner } from './keys/backup-keys.js';

/**
 * What a target already holds, for an incremental backup: which chunks exist and whose data key sealed
 * each, learnt from the complete manifests this writer's key signed (a manifest signed by another key
 * is not trusted to say where a chunk came from). Chunks that no such manifest lists (left by an
 * interrupted backup) are found by the writer with `has` and their header read; their data keys come
 * from that backup's `started.json`, written before any of its chunks.
 */

export interface KnownChunk {
  readonly dekOf: string;
  readonly sealedSha256: string;
}

export interface ChunkIndex {
  readonly chunks: Map<string, KnownChunk>;
  /** The wrapped data keys of each backup, from manifests (and started.json files, as they are read). */
  readonly deks: Map<string, readonly WrappedDek[]>;
}

export const StartedSchema = z.strictObject({
  id: z.string().regex(BACKUP_ID),
  startedAt: z.string(),
  deks: z.array(WrappedDekSchema).min(1),
});
export type Started = z.infer<typeof StartedSchema>;

export async function buildChunkIndex(target: BackupTarget, trusted: TrustedSigner): Promise<ChunkIndex> {
  const index: ChunkIndex = { chunks: new Map(), deks: new Map() };
  for (const key of await target.list('backups/')) {
    if (!key.endsWith('/manifest.json')) continue;
    const bytes = await target.get(key);
    if (bytes === null) continue;
    let manifest;
    try {
      manifest = parseManifest(bytes, trusted, key);
    } catch (err) {
      if (isBackupError(err)) continue;
      throw err;
    }
    for (const [id, entries] of Object.entries(manifest.deks)) if (!index.deks.has(id)) index.deks.set(id, entries);
    for (const file of manifest.files) {
      for (const chunk of file.chunks) index.chunks.set(chunk.id, { dekOf: chunk.dekOf, sealedSha256: chunk.sealedSha256 });
    }
  }
  return index;
}

/** The wrapped data keys of `backupId`: from the index, else from its started.json; null when neither has them. */
export async function deksOf(target: BackupTarget, index: ChunkIndex, backupId: string): Promise<readonly WrappedDek[] | null> {
  const known = index.deks.get(backupId);
  if (known !== undefined) return known;
  const bytes = await target.get(startedKey(backupId));
  if (bytes === null) return null;
  let parsed;
  try {
    parsed = StartedSchema.safeParse(JSON.parse(bytes.toString('utf8')));
  } catch {
    return null;
  }
  if (!parsed.success || parsed.data.id !== backupId) return null;
  index.deks.set(backupId, parsed.data.deks);
  return parsed.data.deks;
}
