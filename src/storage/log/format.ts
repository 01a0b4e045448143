import { join } from 'node:path';
import { CURRENT_MAGIC } from '../../records/batch.js';
import { SEALED_MAGIC } from '../crypto/sealed-batch.js';
import type { LogFs } from './log-fs.js';

/**
 * The on-disk layout of a partition (docs/storage-format.md). Version 1 stores Kafka record batches v2
 * verbatim; readers dispatch on the magic byte of each entry, so a later encrypted batch form can live
 * next to plain batches in the same segment without a migration.
 */
export const LOG_FORMAT_VERSION = 1;
/**
 * Version 2 may hold sealed batches (encryption at rest) next to plain ones. A partition moves to it,
 * in `partition.json`, before its first sealed batch is written: an older build, which reads only
 * version 1, then refuses the partition instead of taking a sealed batch for a torn write and
 * truncating the log there.
 */
export const SEALED_FORMAT_VERSION = 2;
/**
 * Version 3 may also hold segments rewritten by compaction, whose offsets have gaps where the cleaner
 * removed batches (and sealed batches, as version 2). A partition moves to it before the first cleaned
 * segment replaces an original: an older build, which takes a gap for corruption, then refuses the
 * partition instead of truncating a segment at its first gap.
 */
export const COMPACTED_FORMAT_VERSION = 3;
/**
 * Version 4 may also hold transactions (KIP-98): transactional batches, commit and abort markers, and
 * an aborted-transaction index per segment (`.txnindex`). A partition moves to it before its first
 * transactional batch: an older build would serve the records of aborted transactions to read_committed
 * consumers as committed ones, so it must refuse the partition. `partition.json` then also says from
 * which offset on the log may hold transactions (`transactionalFrom`): segments below it need no index.
 */
export const TRANSACTIONAL_FORMAT_VERSION = 4;
/** The format versions this build reads. */
export const READABLE_FORMAT_VERSIONS: readonly number[] = [LOG_FORMAT_VERSION, SEALED_FORMAT_VERSION, COMPACTED_FORMAT_VERSION, TRANSACTIONAL_FORMAT_VERSION];

/** Written in every partition directory: the format version and which partition this is. */
export const PARTITION_META_FILE = 'partition.json';

/**
 * Writes a partition's `partition.json` durably (the file, then the directory): at creation, and when
 * the partition moves to a newer format version, which must be on disk before any data that needs it.
 * `transactionalFrom` (version 4): the log end when the partition moved to it.
 */
export function writePartitionMeta(
  fs: LogFs,
  dir: string,
  id: { topic: string; partition: number; topicId: string },
  formatVersion: number,
  transactionalFrom?: bigint,
): void {
  const meta = { formatVersion, ...id, ...(transactionalFrom === undefined ? {} : { transactionalFrom: String(transactionalFrom) }) };
  fs.writeFileDurably(join(dir, PARTITION_META_FILE), Buffer.from(`${JSON.stringify(meta)}\n`));
  fs.fsyncDir(dir);
}

/** Segment files are named by their base offset, zero-padded to 20 digits (Kafka's convention). */
export function segmentFileName(baseOffset: bigint, suffix: '.log' | '.index' | '.timeindex' | '.txnindex'): string {
  return `${baseOffset.toString().padStart(20, '0')}${suffix}`;
}

/** The base offset of a `.log` file name, or null for any other file. */
export function parseSegmentFileName(name: string): bigint | null {
  const m = /^(\d{20})\.log$/.exec(name);
  return m?.[1] === undefined ? null : BigInt(m[1]);
}

export function segmentPaths(dir: string, baseOffset: bigint): { log: string; index: string; timeIndex: string; txnIndex: string } {
  return {
    log: join(dir, segmentFileName(baseOffset, '.log')),
    index: join(dir, segmentFileName(baseOffset, '.index')),
    timeIndex: join(dir, segmentFileName(baseOffset, '.timeindex')),
    txnIndex: join(dir, segmentFileName(baseOffset, '.txnindex')),
  };
}

/** `.index` entry: relative offset (int32) and byte position (int32), as in Kafka's OffsetIndex. */
export const OFFSET_INDEX_ENTRY = 8;
/** `.timeindex` entry: max timestamp so far (int64) and relative offset (int32), as in Kafka's TimeIndex. */
export const TIME_INDEX_ENTRY = 12;
/** One index entry per this many bytes of log (Kafka's index.interval.bytes default). */
export const INDEX_INTERVAL_BYTES = 4096;
/** Relative offsets are int32: a segment rolls before its offsets would overflow. */
export const MAX_RELATIVE_OFFSET = 0x7fffffff;

/**
 * Whether a stored entry's magic byte is one this build reads: a Kafka v2 batch, or a sealed
 * (encrypted) one (crypto/sealed-batch.ts), whose header keeps the offsets, length, CRC and timestamps
 * where a v2 batch has them.
 */
export function isStoredEntryMagic(magic: number): boolean {
  return magic === CURRENT_MAGIC || magic === SEALED_MAGIC;
}
