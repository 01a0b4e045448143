import { crc32c } from '@node-rs/crc32';
import { BATCH_HEADER_SIZE, BatchOffsets, CRC_START, LOG_OVERHEAD } from '../../records/batch.js';
import { MAX_RELATIVE_OFFSET, isStoredEntryMagic } from './format.js';
import type { LogFs } from './log-fs.js';

/** What a scan learns about one batch in a segment file. */
export interface ScannedBatch {
  readonly position: number;
  readonly size: number;
  readonly baseOffset: bigint;
  readonly lastOffset: bigint;
  readonly maxTimestamp: number;
}

export interface CorruptBatch {
  readonly position: number;
  readonly size: number;
  readonly reason: string;
  /** The offsets it held, from its neighbours (its own header is not trusted). */
  readonly firstOffset: bigint;
  readonly lastOffset: bigint;
}

export interface ScanResult {
  /** Bytes of whole batches: the file is truncated to this when `tornTail` is set. */
  readonly validBytes: number;
  /** Why the bytes after `validBytes` cannot be batches, or null. */
  readonly tornTail: string | null;
  /**
   * `torn`: the end of the file holds a partial or failing last batch, a write cut short by a crash.
   * `unreadable`: a length or magic that cannot be right, after which no batch can be located; it may
   * be corruption in the middle of the file, so what follows it is lost.
   */
  readonly tailKind: 'torn' | 'unreadable' | null;
  /** Complete batches that fail their CRC or break offset order, followed by good ones: kept, never served. */
  readonly corrupt: readonly CorruptBatch[];
}

/**
 * A batch's offsets must continue the segment exactly; right after corrupt batches they may start
 * later (the corrupt ones held the gap), but still within the segment's 32-bit relative range.
 */
function offsetsFit(baseOffset: bigint, lastOffset: bigint, nextOffset: bigint, segmentBase: bigint, gapAllowed: boolean): boolean {
  if (lastOffset < baseOffset) return false;
  if (!gapAllowed) return baseOffset === nextOffset;
  return baseOffset >= nextOffset && lastOffset - segmentBase <= BigInt(MAX_RELATIVE_OFFSET);
}

/** Read granularity of a scan: big enough to amortise syscalls, small enough to stay flat in memory. */
const SCAN_CHUNK = 4 * 1024 * 1024;

/**
 * Walks a segment file batch by batch (length, magic and, with `verifyCrc`, CRC-32C), calling `onBatch`
 * for every good batch in order. A partial or unparseable batch at the end, or a CRC failure on the last
 * batch, is a torn tail (a write cut short by a crash); a CRC failure followed by good batches is
 * corruption of data at rest, reported but not truncated, because the batches after it were acknowledged.
 * Offsets inside a segment are contiguous, so a batch whose base offset is not the next one is corrupt
 * too (the base offset is outside the CRC); after a corrupt batch the next good one tells where its
 * offsets ended. An unparseable length or magic anywhere ends the scan: nothing after it can be located.
 */
export function scanSegment(
  fs: LogFs,
  fd: number,
  fileSize: number,
  segmentBaseOffset: bigint,
  options: {
    verifyCrc: boolean;
    /**
     * A segment rewritten by compaction has gaps where the cleaner removed batches (format version 3,
     * never the active segment): a batch may start after the next offset, within the segment's range.
     */
    allowGaps?: boolean;
    /**
     * `bytes` is a view of the whole batch (its header first), valid only during the call: a transaction
     * marker's record is read from it.
     */
    onBatch: (batch: ScannedBatch, bytes: Buffer) => void;
  },
): ScanResult {
  const corrupt: CorruptBatch[] = [];
  /** Corrupt batches whose offset range ends where the next good batch starts. */
  let pending: Omit<CorruptBatch, 'lastOffset'>[] = [];
  let nextOffset = segmentBaseOffset;
  const end = (validBytes: number, tailKind: 'torn' | 'unreadable' | null, tornTail: string | null): ScanResult => {
    // Corrupt batches with no good batch after them are the tail: nothing after them was acknowledged.
    const first = pending[0];
    if (first !== undefined) return { validBytes: first.position, tornTail: `last batches unreadable: ${first.reason}`, tailKind: 'torn', corrupt };
    return { validBytes, tornTail, tailKind, corrupt };
  };
  let chunk = Buffer.alloc(0);
  let chunkStart = 0;
  let position = 0;
  const view = (length: number): Buffer | null => {
    if (position + length > fileSize) return null;
    if (position < chunkStart || position + length > chunkStart + chunk.length) {
      chunk = Buffer.allocUnsafe(Math.min(Math.max(SCAN_CHUNK, length), fileSize - position));
      chunkStart = position;
      const read = fs.readSync(fd, chunk, 0, chunk.length, position);
      if (read < chunk.length) chunk = chunk.subarray(0, read);
      if (read < length) return null;
    }
    return chunk.subarray(position - chunkStart, position - chunkStart + length);
  };

  while (position < fileSize) {
    const header = view(BATCH_HEADER_SIZE);
    if (header === null) return end(position, 'torn', `partial batch header (${fileSize - position} bytes)`);
    const size = LOG_OVERHEAD + header.readInt32BE(BatchOffsets.batchLength);
    const magic = header.readInt8(BatchOffsets.magic);
    if (size < BATCH_HEADER_SIZE || !isStoredEntryMagic(magic)) {
      const reason = `unreadable batch header (length ${size - LOG_OVERHEAD}, magic ${magic})`;
      // Zeros are space the file system extended but the crash never filled: a torn write too.
      const torn = position + BATCH_HEADER_SIZE >= fileSize || header.every((b) => b === 0);
      return end(position, torn ? 'torn' : 'unreadable', reason);
    }
    const baseOffset = header.readBigInt64BE(BatchOffsets.baseOffset);
    const lastOffset = baseOffset + BigInt(header.readInt32BE(BatchOffsets.lastOffsetDelta));
    const maxTimestamp = Number(header.readBigInt64BE(BatchOffsets.maxTimestamp));
    const storedCrc = header.readUInt32BE(BatchOffsets.crc);
    const batch = view(size);
    if (batch === null) return end(position, 'torn', `partial batch (${fileSize - position} of ${size} bytes)`);
    let problem: string | null = null;
    if (options.verifyCrc && (crc32c(batch.subarray(CRC_START)) >>> 0) !== storedCrc) problem = 'CRC-32C mismatch';
    else if (!offsetsFit(baseOffset, lastOffset, nextOffset, segmentBaseOffset, pending.length > 0 || options.allowGaps === true)) {
      problem = `offsets ${baseOffset}..${lastOffset} do not follow ${nextOffset - 1n}`;
    }
    if (problem !== null) {
      pending.push({ position, size, reason: problem, firstOffset: nextOffset });
    } else {
      for (const bad of pending) corrupt.push({ ...bad, lastOffset: baseOffset - 1n });
      pending = [];
      options.onBatch({ position, size, baseOffset, lastOffset, maxTimestamp }, batch);
      nextOffset = lastOffset + 1n;
    }
    position += size;
  }
  return end(position, null, null);
}
