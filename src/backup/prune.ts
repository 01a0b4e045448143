import { isBackupError } from './backup-error.js';
import type { BackupTarget } from './contracts.js';
import { CHUNK_ID, sealedBy } from './format/chunk-seal.js';
import { manifestKey, parseManifestUnverified, startedKey } from './format/manifest.js';
import type { TrustedSigner } from './keys/backup-keys.js';
import { listBackups, readManifest, type BackupListing } from './reader.js';

/**
 * Retention (`parapet backup prune`, `backup create --keep/--keep-within`): keeps the newest `keep`
 * complete backups, every complete backup younger than `keepWithinMs`, and always the newest complete
 * one; removes the other complete backups and every incomplete backup older than the newest complete
 * one (an interrupted run that a later backup superseded). Damaged backups (a manifest that does not
 * parse or is signed by another key) are never removed: that is for a person to look at.
 *
 * The order makes a crash at any point harmless. 1. Every pruned manifest goes first: from then on the
 * backup is no longer listed as complete, so nothing can restore from it while its chunks go. 2. Then
 * every chunk that no kept manifest lists (and that no kept incomplete backup sealed: a newer
 * interrupted backup's chunks may be reused by the next run). 3. started.json last: it holds the
 * wrapped data key of the chunks its backup sealed, which the writer needs to reuse an orphan chunk;
 * while it exists the backup shows as incomplete and the next prune finishes the job.
 * Runs under the target's lock (the caller takes it): no backup writes chunks meanwhile.
 */

export interface RetentionPolicy {
  /** Keep this many newest complete backups (at least 1). */
  readonly keep?: number;
  /** Keep every complete backup created less than this long ago. */
  readonly keepWithinMs?: number;
}

export interface PruneOptions {
  readonly policy: RetentionPolicy;
  readonly trusted: TrustedSigner;
  readonly now?: () => number;
  /** Report what would go; remove nothing. */
  readonly dryRun?: boolean;
}

export interface PrunedBackup {
  readonly id: string;
  readonly complete: boolean;
  readonly createdAt: string | null;
}

export interface PruneReport {
  readonly kept: readonly string[];
  readonly pruned: readonly PrunedBackup[];
  readonly chunksRemoved: number;
  readonly dryRun: boolean;
  readonly notes: readonly string[];
}

/** Which backups go, from a listing (oldest first, as listBackups returns it). */
export function planPrune(listings: readonly BackupListing[], policy: RetentionPolicy, nowMs: number): { keep: BackupListing[]; prune: BackupListing[] } {
  const complete = listings.filter((b) => b.complete);
  const newest = complete.at(-1);
  const keepIds = new Set<string>();
  if (newest !== undefined) keepIds.add(newest.id);
  if (policy.keep !== undefined) for (const b of complete.slice(-policy.keep)) keepIds.add(b.id);
  if (policy.keepWithinMs !== undefined) {
    for (const b of complete) {
      const created = b.createdAt === null ? NaN : Date.parse(b.createdAt);
      if (!Number.isFinite(created) || nowMs - created < policy.keepWithinMs) keepIds.add(b.id);
    }
  }
  const prune = listings.filter((b) => {
    if (keepIds.has(b.id)) return false;
    if (b.complete) return true;
    // Incomplete: only once a newer complete backup exists; damaged: never.
    return b.damaged === undefined && newest !== undefined && b.id < newest.id;
  });
  const pruned = new Set(prune.map((b) => b.id));
  return { keep: listings.filter((b) => !pruned.has(b.id)), prune };
}

export async function pruneBackups(target: BackupTarget, options: PruneOptions): Promise<PruneReport> {
  const dryRun = options.dryRun === true;
  const listings = await listBackups(target, { trusted: options.trusted });
  const { keep, prune } = planPrune(listings, options.policy, (options.now ?? Date.now)());
  const notes: string[] = [];

  // What the kept backups need: every chunk their manifests list.
  const referenced = new Set<string>();
  let sweep = true;
  for (const b of keep) {
    if (b.complete) {
      for (const file of (await readManifest(target, b.id, options.trusted)).files) for (const c of file.chunks) referenced.add(c.id);
    } else if (b.damaged !== undefined) {
      notes.push(`backup ${b.id} is damaged (${b.damaged}): kept`);
      const bytes = await target.get(manifestKey(b.id));
      try {
        if (bytes !== null) for (const file of parseManifestUnverified(bytes, manifestKey(b.id)).files) for (const c of file.chunks) referenced.add(c.id);
      } catch (err) {
        if (!isBackupError(err)) throw err;
        // Which chunks it lists cannot be known: removing none is the safe answer.
        sweep = false;
      }
    }
  }
  if (!sweep) notes.push('no chunk removed: a damaged manifest that does not parse may list any of them');
  const keptIncomplete = new Set(keep.filter((b) => !b.complete && b.damaged === undefined).map((b) => b.id));

  if (!dryRun) for (const b of prune) if (b.complete) await target.remove(manifestKey(b.id));

  let chunksRemoved = 0;
  if (sweep) {
    for (const key of await target.list('chunks/')) {
      const id = key.slice(key.lastIndexOf('/') + 1);
      if (referenced.has(id)) continue;
      if (keptIncomplete.size > 0 && CHUNK_ID.test(id)) {
        const sealed = await target.get(key);
        let sealer: string | null = null;
        try {
          sealer = sealed === null ? null : sealedBy(sealed, id);
        } catch (err) {
          if (!isBackupError(err)) throw err;
        }
        if (sealer !== null && keptIncomplete.has(sealer)) continue;
      }
      if (!dryRun) await target.remove(key);
      chunksRemoved++;
    }
  }

  if (!dryRun) for (const b of prune) await target.remove(startedKey(b.id));
  return { kept: keep.map((b) => b.id), pruned: prune.map((b) => ({ id: b.id, complete: b.complete, createdAt: b.createdAt })), chunksRemoved, dryRun, notes };
}

/** `30d`, `12h`, `90m`, `2w` → milliseconds; null when it is not one. */
export function parseDuration(text: string): number | null {
  const m = /^(\d+)\s*([mhdw])$/i.exec(text.trim());
  if (m?.[1] === undefined || m[2] === undefined) return null;
  const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 }[m[2].toLowerCase() as 'm' | 'h' | 'd' | 'w'];
  const value = Number(m[1]) * unit;
  return value > 0 ? value : null;
}
