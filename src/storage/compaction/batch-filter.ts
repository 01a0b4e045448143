import { BATCH_HEADER_SIZE, BatchOffsets, LOG_OVERHEAD, TimestampType, validateBatch, writeBatchCrc, type BatchHeader } from '../../records/batch.js';
import { CompressionCodec, compress, decompress } from '../../records/compression.js';
import { walkRecords, type RecordSpan } from '../../records/record.js';
import type { ReadLimits } from '../../bytes/reader.js';

/**
 * The log cleaner's view of one record batch v2: the records' keys, offsets and timestamps, and a batch
 * rebuilt with only the records to keep. Every read goes through src/records, so a malformed batch
 * throws its RecordFault and the cleaner refuses to clean the partition rather than drop what it
 * cannot read.
 */

export interface KeyedRecord {
  readonly offset: bigint;
  /** A view into the batch or its decompressed payload, valid only during the callback. */
  readonly key: Buffer | null;
  /** A null value: a delete marker for its key (KIP-87 names it tombstone). */
  readonly tombstone: boolean;
  /** The record's own timestamp, or the batch's maxTimestamp under LogAppendTime (KIP-32). */
  readonly timestamp: bigint;
}

export type FilteredBatch =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'rewritten'; readonly bytes: Buffer; readonly records: number }
  | { readonly kind: 'dropped' };

const UNCHANGED: FilteredBatch = Object.freeze({ kind: 'unchanged' });
const DROPPED: FilteredBatch = Object.freeze({ kind: 'dropped' });

interface OpenBatch {
  readonly header: BatchHeader;
  readonly payload: Buffer;
  readonly limits: ReadLimits;
}

/**
 * Validates a batch with its CRC (the bytes come from disk). Batches the cleaner wrote before hold fewer
 * records than offsets, hence allowCleaned.
 */
function validate(batch: Buffer): BatchHeader {
  return validateBatch(batch, { verifyCrc: true, allowCleaned: true });
}

/** Decompresses the payload; every length and count inside is then bounded by what remains of at most `maxBytes`. */
async function open(batch: Buffer, header: BatchHeader, maxBytes: number): Promise<OpenBatch> {
  const payload = await decompress(header.compression, batch.subarray(BATCH_HEADER_SIZE), maxBytes);
  return { header, payload, limits: { maxBytesLength: maxBytes, maxArrayLength: maxBytes } };
}

function keyedRecord(header: BatchHeader, span: RecordSpan): KeyedRecord {
  return {
    offset: header.baseOffset + BigInt(span.offsetDelta),
    key: span.key,
    tombstone: span.value === null,
    timestamp: header.timestampType === TimestampType.logAppendTime ? header.maxTimestamp : header.baseTimestamp + span.timestampDelta,
  };
}

/** Calls `visit` for every record of `batch` in order (decompressing, bounded by maxBytes; views valid during the call). */
export async function forEachRecord(batch: Buffer, maxBytes: number, visit: (record: KeyedRecord) => void): Promise<void> {
  const { header, payload, limits } = await open(batch, validate(batch), maxBytes);
  walkRecords(header, payload, limits, (span) => {
    visit(keyedRecord(header, span));
  });
}

/**
 * Keeps the records for which `keep` is true. A batch that keeps some but not all is rebuilt with the
 * same header fields (baseOffset, partitionLeaderEpoch, attributes, lastOffsetDelta, baseTimestamp,
 * maxTimestamp, producerId, producerEpoch, baseSequence), recordCount = kept, the kept records' bytes
 * copied verbatim (their offset and timestamp deltas stay valid because base offset and base timestamp
 * are unchanged), compressed again with the batch's own codec, and a new CRC-32C. Keeping the offset
 * range is what Kafka's cleaner does for v2 (MemoryRecords.filterTo): a producer's next sequence is
 * baseSequence + lastOffsetDelta + 1, whatever was removed.
 *
 * No record kept: 'dropped', unless `retainEmpty` (the batch is its producer's last one, and
 * idempotence needs its sequence and epoch): then a header-only batch with recordCount 0 (an empty
 * payload for no codec, the codec's encoding of no bytes otherwise). An empty batch passed in again is
 * dropped or left unchanged by the same rule. Control batches are refused: the caller keeps them whole.
 */
export async function filterBatch(batch: Buffer, maxBytes: number, keep: (record: KeyedRecord) => boolean, retainEmpty: boolean): Promise<FilteredBatch> {
  const checked = validate(batch);
  if (checked.isControl) throw new RangeError('filterBatch does not take control batches (transaction markers): the cleaner keeps them whole');
  const { header, payload, limits } = await open(batch, checked, maxBytes);
  // Kept records as [start, end) ranges of the payload, adjacent ones merged.
  const ranges: number[] = [];
  let kept = 0;
  let keptBytes = 0;
  walkRecords(header, payload, limits, (span) => {
    if (!keep(keyedRecord(header, span))) return;
    kept++;
    keptBytes += span.end - span.start;
    if (ranges.length > 0 && ranges[ranges.length - 1] === span.start) ranges[ranges.length - 1] = span.end;
    else ranges.push(span.start, span.end);
  });
  if (kept === 0 && !retainEmpty) return DROPPED;
  if (kept === header.recordCount) return UNCHANGED;
  // Uncompressed records are copied straight after the header; others are gathered, then compressed.
  const none = header.compression === CompressionCodec.none;
  const records = Buffer.allocUnsafe((none ? BATCH_HEADER_SIZE : 0) + keptBytes);
  let at = none ? BATCH_HEADER_SIZE : 0;
  for (let i = 0; i < ranges.length; i += 2) at += payload.copy(records, at, ranges[i], ranges[i + 1]);
  let out: Buffer;
  if (none) {
    out = records;
  } else {
    const body = await compress(header.compression, records);
    out = Buffer.allocUnsafe(BATCH_HEADER_SIZE + body.length);
    body.copy(out, BATCH_HEADER_SIZE);
  }
  batch.copy(out, 0, 0, BATCH_HEADER_SIZE);
  out.writeInt32BE(out.length - LOG_OVERHEAD, BatchOffsets.batchLength);
  out.writeInt32BE(kept, BatchOffsets.recordCount);
  writeBatchCrc(out);
  return { kind: 'rewritten', bytes: out, records: kept };
}
