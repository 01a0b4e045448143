import { DEFAULT_READ_LIMITS, type ReadLimits } from '../../bytes/reader.js';
import { Writer } from '../../bytes/writer.js';
import { ParapetError } from '../../errors.js';
import { BATCH_HEADER_SIZE, BatchOffsets, LOG_OVERHEAD, splitBatches, validateBatch, writeBatchCrc, type BatchHeader } from '../../records/batch.js';
import { CompressionCodec, compress, compressSync, decompress, decompressSync } from '../../records/compression.js';
import { FaultReader } from '../../records/faults.js';
import { walkRecords, type RecordSpan } from '../../records/record.js';
import type { SchemaLookup } from '../../schemas/types.js';
import { maskPayload, type FailReason, type MaskOutcome } from './record-masker.js';
import type { TopicMasking } from './policy.js';

/**
 * Rewrites the records of one fetched partition for a principal under masking policies
 * (docs/governance/masking.md). The batches are split (a partial batch at the end, which the read may
 * leave, is dropped: the client would ignore it and fetch it again); control batches (transaction
 * markers) pass as they are; each data batch is decompressed, its records masked one by one
 * (./record-masker.ts), and, when any record changed, written again with the same base offset, offset
 * and timestamp deltas, producer id, epoch and base sequence, attributes (codec, transactional flag,
 * timestamp type) and codec, a new length and a correct CRC. A batch in which nothing changed is sent
 * as it was read. Each record keeps its attributes, deltas and headers byte for byte.
 *
 * Failing closed: a key or value that cannot be masked field by field (not JSON, an unknown schema id, a
 * payload its schema does not decode, a masked value its schema does not encode) is replaced whole by an
 * empty one, and the record gets a header `parapet.masked` naming the reason. Empty rather than null:
 * null is a tombstone, which a consumer of a compacted topic would apply as a deletion. A batch that
 * cannot be split, decompressed (within the bound) or read is not sent at all: the partition answers
 * an error instead.
 *
 * Bounds: one batch is decompressed at a time, at most `maxBatchBytes` (default 32 MiB, as the produce
 * path's decompressed limit at the default max.message.bytes), and with zstd (asynchronous only) the
 * decompressions of all fetches take turns through `serial`. The rewritten records take at most
 * `maxOutputBytes` (by default twice what was read, and at least 1 MiB more than it), except the first
 * batch, which is always sent whole (KIP-74) so the consumer progresses: batches that would go past are
 * left for the next fetch, as a read cut at max_bytes leaves them. Masked batches may be larger than
 * what was read (a hash is 64 characters; a masked value compresses worse than a repetitive one: lz4
 * batches of JSON grew 3-4 times in bench/governance.ts), and holding them to the size read made every
 * fetch of a compressed topic carry one batch.
 */

/** The header a record masked whole carries; its value is the reason (a {@link FailReason}). */
export const MASKED_HEADER = 'parapet.masked';

export const DEFAULT_MAX_BATCH_BYTES = 32 * 1024 * 1024;

/** The default of RewriteOptions.maxOutputBytes for `readBytes` read: twice as much, and at least 1 MiB more. */
export function defaultMaxOutputBytes(readBytes: number): number {
  return Math.max(2 * readBytes, readBytes + 1024 * 1024);
}

export interface RewriteOptions {
  /** The schema registry, for wire-format records; absent: those records fail closed. */
  readonly lookup?: SchemaLookup;
  /** Largest decompressed batch; a larger one refuses the partition. */
  readonly maxBatchBytes?: number;
  /** Length limits of the record fields. */
  readonly limits?: ReadLimits;
  /** Most bytes of rewritten records per partition (the first batch is always whole); default above. */
  readonly maxOutputBytes?: number;
  /** Where asynchronous decompressions (zstd) wait their turn, shared by every fetch. */
  readonly serial?: <T>(task: () => Promise<T>) => Promise<T>;
}

export interface RewriteCounts {
  /** Data records read. */
  records: number;
  /** Records with at least one field masked (not whole). */
  masked: number;
  /** Records whose key or value was replaced whole, by reason. */
  failedClosed: number;
  readonly reasons: Partial<Record<FailReason, number>>;
}

export type RewriteResult =
  | { readonly kind: 'records'; readonly records: Buffer; readonly counts: RewriteCounts }
  /** The partition cannot be served masked: answer an error code, never the bytes. */
  | { readonly kind: 'unreadable'; readonly reason: string };

const MASKED_KEY = Buffer.from(MASKED_HEADER, 'utf8');
const EMPTY = Buffer.alloc(0);

function newCounts(): RewriteCounts {
  return { records: 0, masked: 0, failedClosed: 0, reasons: {} };
}

/**
 * The partition's records rewritten; synchronous unless a batch is zstd (whose decoder here is
 * asynchronous only), so that most fetches are masked in the turn they were read.
 */
export function rewriteRecords(records: Buffer, masking: TopicMasking, options: RewriteOptions = {}): RewriteResult | Promise<RewriteResult> {
  let batches: Buffer[];
  try {
    batches = splitBatches(records, { allowPartialTail: true });
  } catch (err) {
    return unreadable(err);
  }
  const needsAsync = batches.some((b) => b.length > BatchOffsets.attributes + 1 && (b.readInt16BE(BatchOffsets.attributes) & 0x07) === CompressionCodec.zstd);
  return needsAsync ? rewriteAsync(batches, records, masking, options) : rewriteSync(batches, records, masking, options);
}

function unreadable(err: unknown): RewriteResult {
  if (err instanceof ParapetError) return { kind: 'unreadable', reason: err.message };
  throw err;
}

function open(batch: Buffer): { header: BatchHeader; controlOrEmpty: boolean } {
  // The log checked the CRC when it read the batch; the structure is checked again here.
  const header = validateBatch(batch, { verifyCrc: false, allowCleaned: true });
  return { header, controlOrEmpty: header.isControl || header.recordCount === 0 };
}

function rewriteSync(batches: readonly Buffer[], read: Buffer, masking: TopicMasking, options: RewriteOptions): RewriteResult {
  const counts = newCounts();
  const out = new Output(read, options.maxOutputBytes ?? defaultMaxOutputBytes(read.length));
  const max = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
  try {
    for (const batch of batches) {
      const { header, controlOrEmpty } = open(batch);
      if (controlOrEmpty) {
        if (!out.add(batch, true)) break;
        continue;
      }
      const payload = decompressSync(header.compression, batch.subarray(BATCH_HEADER_SIZE), max);
      const rewritten = maskBatch(header, payload, masking, options, counts);
      const bytes = rewritten === null ? batch : withPayload(batch, compressSync(header.compression, rewritten));
      if (!out.add(bytes, bytes === batch)) break;
    }
  } catch (err) {
    return unreadable(err);
  }
  return { kind: 'records', records: out.result(), counts };
}

async function rewriteAsync(batches: readonly Buffer[], read: Buffer, masking: TopicMasking, options: RewriteOptions): Promise<RewriteResult> {
  const counts = newCounts();
  const out = new Output(read, options.maxOutputBytes ?? defaultMaxOutputBytes(read.length));
  const max = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
  const serial = options.serial ?? (<T>(task: () => Promise<T>) => task());
  try {
    for (const batch of batches) {
      const { header, controlOrEmpty } = open(batch);
      if (controlOrEmpty) {
        if (!out.add(batch, true)) break;
        continue;
      }
      // One decompressed batch at a time across fetches: the decompression, the masking and the
      // compression of the result happen in one turn of the queue.
      const bytes = await serial(async () => {
        const payload = await decompress(header.compression, batch.subarray(BATCH_HEADER_SIZE), max);
        const rewritten = maskBatch(header, payload, masking, options, counts);
        return rewritten === null ? batch : withPayload(batch, await compress(header.compression, rewritten));
      });
      if (!out.add(bytes, bytes === batch)) break;
    }
  } catch (err) {
    return unreadable(err);
  }
  return { kind: 'records', records: out.result(), counts };
}

/**
 * The rewritten batches, within `limit` bytes (the first batch always whole). While every batch is sent
 * as it was read, the result is a view of what was read: no copy.
 */
class Output {
  readonly #read: Buffer;
  readonly #limit: number;
  readonly #parts: Buffer[] = [];
  #size = 0;
  #identical = true;

  constructor(read: Buffer, limit: number) {
    this.#read = read;
    this.#limit = limit;
  }

  /** Adds a batch; false when it does not fit (the ones after it are left for the next fetch). */
  add(batch: Buffer, original: boolean): boolean {
    if (this.#parts.length > 0 && this.#size + batch.length > this.#limit) return false;
    this.#parts.push(batch);
    this.#size += batch.length;
    if (!original) this.#identical = false;
    return true;
  }

  result(): Buffer {
    if (this.#identical) return this.#read.subarray(0, this.#size);
    return Buffer.concat(this.#parts, this.#size);
  }
}

/** The batch with a new (compressed) records section: length and CRC recomputed, every other field kept. */
function withPayload(batch: Buffer, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(BATCH_HEADER_SIZE + payload.length);
  batch.copy(out, 0, 0, BATCH_HEADER_SIZE);
  payload.copy(out, BATCH_HEADER_SIZE);
  out.writeInt32BE(out.length - LOG_OVERHEAD, BatchOffsets.batchLength);
  writeBatchCrc(out);
  return out;
}

/**
 * Masks the records of a decompressed payload; returns the new uncompressed records section, or null
 * when no record changed.
 */
function maskBatch(header: BatchHeader, payload: Buffer, masking: TopicMasking, options: RewriteOptions, counts: RewriteCounts): Buffer | null {
  const w = new Writer();
  // An object, not a let: the callback sets it.
  const seen = { changed: false };
  walkRecords(header, payload, options.limits ?? DEFAULT_READ_LIMITS, (span) => {
    counts.records++;
    const key = span.key === null ? null : masking.whole ? WHOLE : maskPayload(span.key, masking.key, options.lookup);
    const value = span.value === null ? null : masking.whole ? WHOLE : maskPayload(span.value, masking.value, options.lookup);
    const keyChanged = key !== null && key.kind !== 'unchanged';
    const valueChanged = value !== null && value.kind !== 'unchanged';
    if (!keyChanged && !valueChanged) {
      // Byte for byte: the record's length varint and body.
      w.raw(payload.subarray(span.start, span.end));
      return;
    }
    seen.changed = true;
    const reasons = [key, value].flatMap((o) => (o !== null && o.kind === 'failed' ? [o.reason] : []));
    if (reasons.length > 0) {
      counts.failedClosed++;
      for (const r of reasons) counts.reasons[r] = (counts.reasons[r] ?? 0) + 1;
    } else {
      counts.masked++;
    }
    writeRecord(w, payload, span, replacement(span.key, key), replacement(span.value, value), reasons[0]);
  });
  return seen.changed ? w.toBuffer() : null;
}

/** The policy cannot be applied as written: every key and value of its topics is replaced. */
const WHOLE: MaskOutcome = Object.freeze({ kind: 'failed', reason: 'policy-not-applicable' });

function replacement(original: Buffer | null, outcome: MaskOutcome | null): Buffer | null {
  if (original === null || outcome === null || outcome.kind === 'unchanged') return original;
  return outcome.kind === 'masked' ? outcome.bytes : EMPTY;
}

/** Where the record's headers start in the payload: right after its value (or the value's null length). */
function headersStart(payload: Buffer, span: RecordSpan): number {
  // Re-read the fields before the headers: their sizes are varints the span does not keep.
  const r = new FaultReader(payload, 'CORRUPT_RECORDS', 'invalid-record', DEFAULT_READ_LIMITS, span.start, span.end);
  r.varint(); // length
  r.int8(); // attributes
  r.varlong(); // timestampDelta
  r.varint(); // offsetDelta
  const keyLength = r.varint();
  if (keyLength > 0) r.skip(keyLength);
  const valueLength = r.varint();
  if (valueLength > 0) r.skip(valueLength);
  return r.offset;
}

/**
 * Writes one record with a new key and value: attributes, timestamp and offset deltas as they were,
 * the headers as they were (byte for byte), plus `parapet.masked` when the record failed closed.
 */
function writeRecord(w: Writer, payload: Buffer, span: RecordSpan, key: Buffer | null, value: Buffer | null, failed: FailReason | undefined): void {
  const start = headersStart(payload, span);
  const r = new FaultReader(payload, 'CORRUPT_RECORDS', 'invalid-record', DEFAULT_READ_LIMITS, start, span.end);
  const headerCount = r.varint();
  const headers = payload.subarray(r.offset, span.end);
  const body = new Writer();
  body.int8(span.attributes).varlong(span.timestampDelta).varint(span.offsetDelta);
  writeNullable(body, key);
  writeNullable(body, value);
  if (failed === undefined) {
    body.varint(headerCount).raw(headers);
  } else {
    const reason = Buffer.from(failed, 'utf8');
    body.varint(headerCount + 1).raw(headers).varint(MASKED_KEY.length).raw(MASKED_KEY).varint(reason.length).raw(reason);
  }
  w.varint(body.length).append(body);
}

function writeNullable(w: Writer, v: Buffer | null): void {
  if (v === null) w.varint(-1);
  else w.varint(v.length).raw(v);
}
