import { closeSync, existsSync, fsyncSync, fstatSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { BATCH_HEADER_SIZE, BatchOffsets, CRC_START, CURRENT_MAGIC, LOG_OVERHEAD } from '../../records/batch.js';
import type { PartitionKeys } from '../../storage/crypto/partition-keys.js';
import { sealBatch, SEALED_MAGIC } from '../../storage/crypto/sealed-batch.js';
import { isSealedSnapshot } from '../../storage/crypto/sealed-snapshot.js';
import { PARTITION_META_FILE, SEALED_FORMAT_VERSION, segmentPaths, writePartitionMeta } from '../../storage/log/format.js';
import { nodeLogFs } from '../../storage/log/log-fs.js';
import { fsyncDirectory } from '../../storage/durable-files.js';
import { segmentFiles, type PartitionDir } from './partition-files.js';

/**
 * `parapet keys encrypt-existing`: the clear batches of a partition (written while its topic had
 * `encryption=none`, or before encryption at rest existed) sealed in place, segment by segment, so
 * that nobody has to wait for retention to remove them. A sealed entry keeps its batch's offsets and
 * timestamps in the clear header (crypto/sealed-batch.ts), so consumers' offsets, the producer state
 * and retention are unchanged; only byte positions move, and the indexes that record them go.
 */

/** A segment the command will not rewrite; the original is left untouched. */
export class RewriteRefused extends Error {
  override name = 'RewriteRefused';
}

/** What was done to one partition. */
export interface PartitionRewrite {
  readonly segments: number;
  readonly batches: number;
  /** Bytes of the clear batches that were sealed. */
  readonly clearBytes: number;
  readonly dataKeyIds: readonly number[];
  readonly snapshotsDeleted: number;
}

/** Where a segment is written before it replaces the original; the broker does not look at it. */
export const REWRITE_SUFFIX = '.rewrite';
/** Index positions are int32: a segment grown past this by sealing could not be indexed. */
const MAX_SEGMENT_BYTES = 0x7fffffff;

interface Entry {
  readonly position: number;
  readonly size: number;
  readonly magic: number;
}

export async function encryptPartition(p: PartitionDir, keys: PartitionKeys): Promise<PartitionRewrite> {
  // Left by an interrupted run: its original is still in place (the rename is the last step).
  for (const name of readdirSync(p.dir)) if (name.endsWith(`.log${REWRITE_SUFFIX}`)) rmSync(join(p.dir, name), { force: true });
  let segments = 0;
  let batches = 0;
  let clearBytes = 0;
  const dataKeyIds = new Set<number>();
  for (const segment of segmentFiles(p.dir)) {
    const entries = readEntries(segment.path);
    const clear = entries.filter((e) => e.magic === CURRENT_MAGIC);
    if (clear.length === 0) continue;
    // Before the first sealed batch, as the broker does: an older build must refuse the partition
    // rather than take a sealed batch for a torn write and truncate the log there.
    // Never lowered: a compacted partition (version 3) stays at 3, which reads sealed batches too.
    if (segments === 0 && storedFormatVersion(p.dir) < SEALED_FORMAT_VERSION) writePartitionMeta(nodeLogFs, p.dir, { topic: p.topic, partition: p.partition, topicId: p.topicId }, SEALED_FORMAT_VERSION);
    for (const id of await rewriteSegment(p, segment.base, entries, keys)) dataKeyIds.add(id);
    segments++;
    batches += clear.length;
    clearBytes += clear.reduce((sum, e) => sum + e.size, 0);
  }
  return { segments, batches, clearBytes, dataKeyIds: [...dataKeyIds].sort((a, b) => a - b), snapshotsDeleted: deleteClearSnapshots(p.dir) };
}

/** The entries of a segment file, by their headers; refuses a file the broker has not recovered. */
function readEntries(path: string): Entry[] {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const header = Buffer.alloc(BatchOffsets.magic + 1);
    const entries: Entry[] = [];
    for (let at = 0; at < size; ) {
      const read = readSync(fd, header, 0, header.length, at);
      const length = read < header.length ? 0 : LOG_OVERHEAD + header.readInt32BE(BatchOffsets.batchLength);
      const magic = read < header.length ? -1 : header.readInt8(BatchOffsets.magic);
      if (length < BATCH_HEADER_SIZE || at + length > size || (magic !== CURRENT_MAGIC && magic !== SEALED_MAGIC)) {
        throw new RewriteRefused(
          `${path}: no whole batch at byte ${at} (a torn write, or damage): start the broker once so that it recovers the log, stop it, and run this again`,
        );
      }
      entries.push({ position: at, size: length, magic });
      at += length;
    }
    return entries;
  } finally {
    closeSync(fd);
  }
}

/** Rewrites one segment with its clear entries sealed; returns the data key ids used. */
async function rewriteSegment(p: PartitionDir, base: bigint, entries: readonly Entry[], keys: PartitionKeys): Promise<number[]> {
  const paths = segmentPaths(p.dir, base);
  const rewrite = `${paths.log}${REWRITE_SUFFIX}`;
  const place = { topicId: p.topicId, partition: p.partition };
  const used = new Set<number>();
  const source = openSync(paths.log, 'r');
  let out: number | undefined;
  try {
    out = openSync(rewrite, 'wx', 0o600);
    let written = 0;
    for (const e of entries) {
      const entry = Buffer.allocUnsafe(e.size);
      readFully(source, entry, e.position);
      let stored: Buffer = entry;
      if (e.magic === CURRENT_MAGIC) {
        // Sealing a damaged batch would give it a valid tag and CRC: the damage would be served as data.
        if (crc32c(entry.subarray(CRC_START)) >>> 0 !== entry.readUInt32BE(BatchOffsets.crc)) {
          throw new RewriteRefused(
            `${paths.log}: the batch at byte ${e.position} (offset ${entry.readBigInt64BE(BatchOffsets.baseOffset)}) fails its CRC: ` +
              'the segment was left as it is; the broker refuses to serve that batch (docs/storage-format.md#durability-and-recovery)',
          );
        }
        const key = await keys.sealingKey();
        stored = sealBatch(entry, place, key.id, key.key);
        // As the broker's append counts them: the key's limits hold across the rewrite too.
        key.batches++;
        key.bytes += entry.length;
        used.add(key.id);
      }
      writeFully(out, stored, written);
      written += stored.length;
    }
    if (written > MAX_SEGMENT_BYTES) throw new RewriteRefused(`${paths.log}: sealed, the segment would be ${written} bytes, past the 2 GiB an index can address`);
    fsyncSync(out);
    closeSync(out);
    out = undefined;
  } catch (err) {
    if (out !== undefined) closeSync(out);
    rmSync(rewrite, { force: true });
    throw err;
  } finally {
    closeSync(source);
  }
  // The indexes go before the new file comes. At open the broker believes a segment's `.index` and
  // `.timeindex` when they decode and their last entry names a batch of the `.log`; the entries before
  // it are not checked, and in the rewritten file every sealed batch is longer, so they would point
  // into the middle of batches and reads would start there. With the deletions made durable (the
  // directory fsync) before the rename, a crash leaves one of: the old log with its indexes (and a
  // `.rewrite` file the broker ignores and the next run replaces); the old log without indexes; the
  // new log without indexes. The broker rebuilds missing indexes from the log at start, so each is
  // consistent. Renaming first would leave, until the deletions, the new log with the old indexes.
  for (const index of [paths.index, paths.timeIndex]) if (existsSync(index)) unlinkSync(index);
  fsyncDirectory(p.dir);
  renameSync(rewrite, paths.log);
  fsyncDirectory(p.dir);
  return [...used];
}

/**
 * Producer state snapshots in the clear hold producer ids, epochs and sequences, which sealing the
 * batches hides: they go. The broker rebuilds the state from the sealed batches (with their keys)
 * before the partition's first append, and writes sealed snapshots from then on. A `.snapshot.tmp`
 * (a write a crash interrupted) is clear too.
 */
function deleteClearSnapshots(dir: string): number {
  let deleted = 0;
  for (const name of readdirSync(dir)) {
    if (!/^\d{20}\.snapshot(\.tmp)?$/.test(name)) continue;
    const path = join(dir, name);
    if (isSealedSnapshot(readFileSync(path))) continue;
    unlinkSync(path);
    deleted++;
  }
  if (deleted > 0) fsyncDirectory(dir);
  return deleted;
}

function readFully(fd: number, into: Buffer, position: number): void {
  for (let done = 0; done < into.length; ) {
    const n = readSync(fd, into, done, into.length - done, position + done);
    if (n === 0) throw new RewriteRefused(`the segment ended inside a batch at byte ${position}`);
    done += n;
  }
}

function writeFully(fd: number, data: Buffer, position: number): void {
  for (let done = 0; done < data.length; ) done += writeSync(fd, data, done, data.length - done, position + done);
}

/** The format version in a partition's `partition.json` (1 when it has none or it cannot be read: the lowest). */
function storedFormatVersion(dir: string): number {
  try {
    const version = (JSON.parse(readFileSync(join(dir, PARTITION_META_FILE), 'utf8')) as { formatVersion?: unknown }).formatVersion;
    return typeof version === 'number' ? version : 1;
  } catch {
    return 1;
  }
}
