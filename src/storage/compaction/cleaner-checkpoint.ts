import { join } from 'node:path';
import type { Logger } from '../../logger.js';
import type { LogFs } from '../log/log-fs.js';

/** Kept in each compacted partition's directory: where the never-cleaned part starts, and when cleanings ran. */
export const CLEANER_CHECKPOINT_FILE = 'cleaner.json';

/** One cleaning: every record below `end` had been read by a cleaner at `at` (ms since the epoch). */
export interface CleaningPass {
  readonly end: bigint;
  readonly at: number;
}

export interface CleanerCheckpoint {
  /** The first offset no cleaning has read: the dirty part of the log starts here. */
  readonly firstDirtyOffset: bigint;
  /**
   * The cleanings whose tombstones may still be kept, oldest first. A tombstone's delete.retention.ms
   * runs from the first cleaning that read it: the first pass whose `end` is above its offset.
   */
  readonly passes: readonly CleaningPass[];
  /** When the oldest tombstone kept becomes removable: a cleaning is due then even with no dirty data. */
  readonly tombstonesExpireAt: number | null;
}

export const EMPTY_CHECKPOINT: CleanerCheckpoint = { firstDirtyOffset: 0n, passes: [], tombstonesExpireAt: null };

/** Passes kept at most; older ones merge into the next (its later time keeps tombstones longer, never shorter). */
const MAX_PASSES = 64;

/**
 * Reads a partition's checkpoint. Missing or unreadable, the partition is treated as never cleaned: the
 * next cleaning reads it all again (costs time, loses nothing), and its tombstones count from then.
 */
export function readCheckpoint(fs: LogFs, dir: string, logger: Logger): CleanerCheckpoint {
  const path = join(dir, CLEANER_CHECKPOINT_FILE);
  if (!fs.existsSync(path)) return EMPTY_CHECKPOINT;
  try {
    const raw = JSON.parse(fs.readFileSync(path).toString('utf8')) as { firstDirtyOffset?: unknown; passes?: unknown; tombstonesExpireAt?: unknown };
    if (typeof raw.firstDirtyOffset !== 'string' || !/^\d+$/.test(raw.firstDirtyOffset) || !Array.isArray(raw.passes)) throw new Error('unexpected fields');
    const passes = raw.passes.map((p: unknown) => {
      const { end, at } = p as { end?: unknown; at?: unknown };
      if (typeof end !== 'string' || !/^\d+$/.test(end) || typeof at !== 'number') throw new Error('unexpected pass');
      return { end: BigInt(end), at };
    });
    const expire = typeof raw.tombstonesExpireAt === 'number' ? raw.tombstonesExpireAt : null;
    return { firstDirtyOffset: BigInt(raw.firstDirtyOffset), passes, tombstonesExpireAt: expire };
  } catch (err) {
    logger.warn({ file: path, err: String(err) }, 'unreadable cleaner checkpoint: the partition is cleaned from its start again');
    return EMPTY_CHECKPOINT;
  }
}

export function writeCheckpoint(fs: LogFs, dir: string, checkpoint: CleanerCheckpoint): void {
  const body = {
    firstDirtyOffset: checkpoint.firstDirtyOffset.toString(),
    passes: checkpoint.passes.map((p) => ({ end: p.end.toString(), at: p.at })),
    tombstonesExpireAt: checkpoint.tombstonesExpireAt,
  };
  fs.writeFileDurably(join(dir, CLEANER_CHECKPOINT_FILE), Buffer.from(`${JSON.stringify(body)}\n`));
}

/**
 * The passes after a cleaning that read up to `end` at `now`. Passes older than `deleteRetentionMs`
 * (their tombstones are all removable) fold into one at time 0; beyond {@link MAX_PASSES} the oldest
 * two merge, keeping the later time (their tombstones are then kept longer, never shorter).
 */
export function addPass(passes: readonly CleaningPass[], end: bigint, now: number, deleteRetentionMs: number): CleaningPass[] {
  let expiredEnd = -1n;
  const out: CleaningPass[] = [];
  for (const pass of passes) {
    if (now - pass.at >= deleteRetentionMs) expiredEnd = pass.end > expiredEnd ? pass.end : expiredEnd;
    else out.push(pass);
  }
  if (expiredEnd >= 0n) out.unshift({ end: expiredEnd, at: 0 });
  if ((out.at(-1)?.end ?? -1n) < end) out.push({ end, at: now });
  while (out.length > MAX_PASSES) {
    const second = out[1] as CleaningPass;
    out.splice(0, 2, { end: second.end, at: second.at });
  }
  return out;
}

/** When the cleaning that first read `offset` ran, or null when no kept pass did (long enough ago). */
export function firstReadAt(passes: readonly CleaningPass[], offset: bigint): number | null {
  for (const pass of passes) if (offset < pass.end) return pass.at;
  return null;
}
