import type { CompactionConfig } from '../log/log-config.js';
import type { CleanerCheckpoint } from './cleaner-checkpoint.js';
import type { RolledSegment } from './compactable-log.js';

/** Why a partition is cleaned now. */
export type CleaningReason = 'dirty-ratio' | 'max-compaction-lag' | 'tombstones-expired';

export type CleaningPlan =
  | {
      readonly kind: 'clean';
      readonly reason: CleaningReason;
      /** The cleanable segments, from the log start: every one may be rewritten. */
      readonly segments: readonly RolledSegment[];
      /** Where the never-cleaned part starts (at or after the log start). */
      readonly firstDirtyOffset: bigint;
      /** One past the last cleanable offset: records at or after it are never touched. */
      readonly cleanableEnd: bigint;
      readonly dirtyRatio: number;
    }
  | { readonly kind: 'idle'; readonly dirtyRatio: number };

/**
 * Whether a compacted partition is due for cleaning, and what may be cleaned (Kafka's
 * LogCleanerManager rules). The cleanable part is the rolled segments up to the first that holds a
 * record younger than min.compaction.lag.ms, or an offset at or past `stableEnd` (the last stable
 * offset: a transaction ongoing there may still abort, KIP-98); the active segment never is. Its dirty
 * part is what no cleaning has read yet. A partition is due when the dirty share of the cleanable bytes
 * reaches min.cleanable.dirty.ratio, when dirty records are older than max.compaction.lag.ms, or when
 * tombstones kept by an earlier cleaning have passed delete.retention.ms.
 */
export function planCleaning(rolled: readonly RolledSegment[], checkpoint: CleanerCheckpoint, config: CompactionConfig, now: number, stableEnd?: bigint): CleaningPlan {
  const segments: RolledSegment[] = [];
  for (const segment of rolled) {
    if (config.minCompactionLagMs > 0 && segment.maxTimestamp > now - config.minCompactionLagMs) break;
    if (stableEnd !== undefined && segment.nextOffset > stableEnd) break;
    segments.push(segment);
  }
  const first = segments[0];
  const last = segments.at(-1);
  if (first === undefined || last === undefined) return { kind: 'idle', dirtyRatio: 0 };
  const firstDirtyOffset = checkpoint.firstDirtyOffset > first.baseOffset ? checkpoint.firstDirtyOffset : first.baseOffset;
  let clean = 0;
  let dirty = 0;
  let oldestDirty = Infinity;
  for (const segment of segments) {
    if (segment.nextOffset <= firstDirtyOffset) {
      clean += segment.size;
    } else {
      dirty += segment.size;
      if (segment.maxTimestamp >= 0) oldestDirty = Math.min(oldestDirty, segment.maxTimestamp);
    }
  }
  const dirtyRatio = clean + dirty === 0 ? 0 : dirty / (clean + dirty);
  const plan = (reason: CleaningReason): CleaningPlan => ({ kind: 'clean', reason, segments, firstDirtyOffset, cleanableEnd: last.nextOffset, dirtyRatio });
  if (dirty > 0 && dirtyRatio >= config.minCleanableDirtyRatio) return plan('dirty-ratio');
  // The segment's newest record stands for its age: a segment is due once all of it is past the lag.
  if (dirty > 0 && now - oldestDirty >= config.maxCompactionLagMs) return plan('max-compaction-lag');
  if (checkpoint.tombstonesExpireAt !== null && now >= checkpoint.tombstonesExpireAt) return plan('tombstones-expired');
  return { kind: 'idle', dirtyRatio };
}
