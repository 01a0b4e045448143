import { createHash } from 'node:crypto';
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BATCH_HEADER_SIZE, BatchOffsets, LOG_OVERHEAD } from '../../records/batch.js';
import { SEALED_MAGIC } from '../../storage/crypto/sealed-batch.js';
import { parseSegmentFileName } from '../../storage/log/format.js';

/**
 * What a restored partition holds on disk, for `parapet dr drill` to compare with what the broker
 * started on it serves: the offset range of every stored batch between the captured log start and
 * end, whether any is sealed (encryption at rest), and, when none is, the SHA-256 of those batches'
 * bytes in order. A plain batch is stored as its producer sent it (with its offsets assigned), and
 * Fetch serves it unchanged, so the two digests must be equal. A sealed batch is served opened,
 * under the topic's key: only its offsets can be compared with the stored form.
 */
export interface BatchSpan {
  readonly baseOffset: bigint;
  readonly lastOffset: bigint;
}

export interface RestoredLog {
  readonly spans: readonly BatchSpan[];
  readonly sealed: boolean;
  /** Records in the plain batches (a sealed batch's count is under its encryption). */
  readonly plainRecords: number;
  /** SHA-256 of the plain batches in offset order; null when any batch is sealed. */
  readonly sha256: string | null;
}

/** Whether a batch holds any offset of [from, to): the batches a drill fetches and compares. */
export function batchInRange(span: BatchSpan, from: bigint, to: bigint): boolean {
  return span.lastOffset >= from && span.baseOffset < to;
}

/**
 * Reads the segments of `<dataDir>/logs/<topic>-<partition>/` in base offset order, one batch in
 * memory at a time. The files were checked against the signed manifest by the restore, batch CRCs
 * by `backup verify`; a batch that cannot be framed here is an error naming the file.
 */
export function readRestoredLog(dataDir: string, topic: string, partition: number, from: bigint, to: bigint): RestoredLog {
  const dir = join(dataDir, 'logs', `${topic}-${partition}`);
  const segments = readdirSync(dir)
    .map((name) => ({ name, base: parseSegmentFileName(name) }))
    .filter((s): s is { name: string; base: bigint } => s.base !== null)
    .sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0));
  const hash = createHash('sha256');
  const spans: BatchSpan[] = [];
  let sealed = false;
  let plainRecords = 0;
  const header = Buffer.alloc(BATCH_HEADER_SIZE);
  for (const segment of segments) {
    const path = join(dir, segment.name);
    const size = statSync(path).size;
    const fd = openSync(path, 'r');
    try {
      let position = 0;
      while (position < size) {
        if (readSync(fd, header, 0, header.length, position) < header.length) throw new Error(`${path}: a partial batch header at byte ${position}`);
        const length = LOG_OVERHEAD + header.readInt32BE(BatchOffsets.batchLength);
        if (length < header.length || position + length > size) throw new Error(`${path}: a batch of ${length} bytes at byte ${position} does not fit the file`);
        const baseOffset = header.readBigInt64BE(BatchOffsets.baseOffset);
        const span = { baseOffset, lastOffset: baseOffset + BigInt(header.readInt32BE(BatchOffsets.lastOffsetDelta)) };
        if (batchInRange(span, from, to)) {
          spans.push(span);
          if (header.readInt8(BatchOffsets.magic) === SEALED_MAGIC) {
            sealed = true;
          } else {
            const batch = Buffer.allocUnsafe(length);
            readSync(fd, batch, 0, length, position);
            hash.update(batch);
            plainRecords += header.readInt32BE(BatchOffsets.recordCount);
          }
        }
        position += length;
      }
    } finally {
      closeSync(fd);
    }
  }
  return { spans, sealed, plainRecords, sha256: sealed ? null : hash.digest('hex') };
}
