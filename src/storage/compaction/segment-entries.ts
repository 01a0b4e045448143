import { crc32c } from '@node-rs/crc32';
import { BATCH_HEADER_SIZE, BatchOffsets, CRC_START, LOG_OVERHEAD } from '../../records/batch.js';
import { isStoredEntryMagic } from '../log/format.js';
import type { LogFs } from '../log/log-fs.js';

/** One stored entry (a v2 batch or a sealed one) of a segment file. */
export interface StoredEntry {
  /** The entry's bytes: a view valid until the next entry is read. */
  readonly bytes: Buffer;
  readonly baseOffset: bigint;
  readonly lastOffset: bigint;
  readonly maxTimestamp: number;
}

/** A segment the cleaner cannot read whole: it refuses to clean the partition rather than drop anything. */
export class UncleanableSegment extends Error {}

/** Read granularity: large sequential reads, with memory flat whatever the segment's size. */
const CHUNK_BYTES = 1024 * 1024;

/**
 * Reads a rolled segment's entries in order, checking each one's length, magic and CRC-32C. Any entry
 * that fails is an {@link UncleanableSegment}: the broker serves around a corrupt batch, but the
 * cleaner must never rewrite (or leave out) what it could not read.
 */
export function* segmentEntries(fs: LogFs, path: string, size: number): Generator<StoredEntry> {
  const fd = fs.openSync(path, 'r');
  try {
    let buffer = Buffer.alloc(0);
    let chunkStart = 0;
    let chunkLength = 0;
    const view = (position: number, length: number): Buffer => {
      if (position < chunkStart || position + length > chunkStart + chunkLength) {
        const want = Math.min(Math.max(CHUNK_BYTES, length), size - position);
        if (buffer.length < want) buffer = Buffer.allocUnsafe(want);
        chunkLength = fs.readSync(fd, buffer, 0, want, position);
        chunkStart = position;
        if (chunkLength < length) throw new UncleanableSegment(`${path}: ${length} bytes expected at byte ${position}, ${chunkLength} read`);
      }
      return buffer.subarray(position - chunkStart, position - chunkStart + length);
    };
    for (let position = 0; position < size; ) {
      if (size - position < BATCH_HEADER_SIZE) throw new UncleanableSegment(`${path}: a partial batch header at byte ${position}`);
      const header = view(position, BATCH_HEADER_SIZE);
      const length = LOG_OVERHEAD + header.readInt32BE(BatchOffsets.batchLength);
      const magic = header.readInt8(BatchOffsets.magic);
      if (length < BATCH_HEADER_SIZE || position + length > size || !isStoredEntryMagic(magic)) {
        throw new UncleanableSegment(`${path}: an unreadable batch header at byte ${position} (length ${length - LOG_OVERHEAD}, magic ${magic})`);
      }
      const bytes = view(position, length);
      if ((crc32c(bytes.subarray(CRC_START)) >>> 0) !== bytes.readUInt32BE(BatchOffsets.crc)) {
        throw new UncleanableSegment(`${path}: the batch at byte ${position} fails its CRC-32C`);
      }
      const baseOffset = bytes.readBigInt64BE(BatchOffsets.baseOffset);
      yield {
        bytes,
        baseOffset,
        lastOffset: baseOffset + BigInt(bytes.readInt32BE(BatchOffsets.lastOffsetDelta)),
        maxTimestamp: Number(bytes.readBigInt64BE(BatchOffsets.maxTimestamp)),
      };
      position += length;
    }
  } finally {
    fs.closeSync(fd);
  }
}
