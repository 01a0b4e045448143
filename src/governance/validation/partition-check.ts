import { DEFAULT_READ_LIMITS, type ReadLimits } from '../../bytes/reader.js';
import { BATCH_HEADER_SIZE, splitBatches, validateBatch, type BatchHeader } from '../../records/batch.js';
import { CompressionCodec, decompress, decompressSync } from '../../records/compression.js';
import { RecordFault } from '../../records/faults.js';
import { walkRecords } from '../../records/record.js';
import type { SchemaLookup } from '../../schemas/types.js';
import { storageErrorCode } from '../../topics/storage-errors.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { checkSerialized, type RefusalReason } from './record-check.js';
import type { TopicValidation } from './settings.js';

/**
 * The check of one produced partition's records (docs/governance/validation.md): every record of every
 * data batch, its key and value each by ./record-check.ts. One bad record refuses the partition's
 * records whole (a batch is appended whole or not at all), with INVALID_RECORD (87) and, per bad record,
 * KIP-467's record error: its relative index in its batch and why.
 *
 * What the log checks itself (framing, CRC, magic, codec, the header) is left to it: such a partition
 * passes here and the log answers it as it answers any produce. What only reading the records reveals
 * (a payload that does not decompress, or decompresses past the bound, records that do not parse)
 * refuses the partition here with the records layer's code: records that cannot be read cannot be
 * checked, and are not let through unchecked (fail closed). Control batches are skipped (clients may
 * not write them; the log refuses them).
 *
 * Bounds: one batch is decompressed at a time, at most `validation.maxBatchBytes` (the log's own bound
 * for reading a produced batch); zstd, whose decoder here is asynchronous only, goes through `serial`,
 * one decompression at a time for all connections. Event-loop time is the walk and, with `payload`, the
 * decoding of every key and value checked: linear in the decompressed bytes.
 */

/** At most this many record errors are listed in one partition's answer (Kafka lists every one; a batch can hold a million). */
export const MAX_RECORD_ERRORS = 10;
/** The partition's error message is cut to this length. */
const MAX_MESSAGE_CHARS = 1000;

export interface RecordError {
  readonly batchIndex: number;
  readonly batchIndexErrorMessage: string;
}

export type PartitionVerdict =
  /** Every record passed (or there were none to check). */
  | { readonly kind: 'accepted'; readonly records: number }
  /** The batches are malformed in a way the log checks itself: pass them on for its answer. */
  | { readonly kind: 'pass'; readonly reason: string }
  | {
      readonly kind: 'refused';
      readonly errorCode: number;
      readonly errorMessage: string;
      /** The first {@link MAX_RECORD_ERRORS} bad records, in order. */
      readonly recordErrors: readonly RecordError[];
      /** Every bad record found, by reason (an unreadable batch counts its declared records as `unreadable`). */
      readonly reasons: Readonly<Partial<Record<RefusalReason, number>>>;
      /** Records refused with the partition: every record it carried. */
      readonly records: number;
    };

export interface PartitionCheckOptions {
  /** The Produce version, for the log's codec rule (zstd needs v7+, KIP-110): a batch it refuses passes here. */
  readonly produceVersion?: number;
  /** Length limits of the record fields. */
  readonly limits?: ReadLimits;
  /** Where zstd decompressions take turns (shared by every connection); default: at once. */
  readonly serial?: <T>(task: () => Promise<T>) => Promise<T>;
}

interface Walk {
  records: number;
  bad: number;
  readonly errors: RecordError[];
  readonly reasons: Partial<Record<RefusalReason, number>>;
  /** Set when a batch could not be read: the partition is refused with this code. */
  unreadable: { readonly errorCode: number; readonly message: string } | null;
}

/**
 * The verdict on one partition's `records` of a produce to `topic`. Synchronous unless a batch to
 * check is zstd (see above).
 */
export function checkPartition(
  records: Buffer | null,
  topic: string,
  validation: TopicValidation,
  lookup: SchemaLookup,
  options: PartitionCheckOptions = {},
): PartitionVerdict | Promise<PartitionVerdict> {
  if (records === null || records.length === 0) return { kind: 'accepted', records: 0 };
  const data: { header: BatchHeader; batch: Buffer }[] = [];
  try {
    for (const batch of splitBatches(records)) {
      const header = validateBatch(batch, { verifyCrc: true, ...(options.produceVersion === undefined ? {} : { produceVersion: options.produceVersion }) });
      if (!header.isControl) data.push({ header, batch });
    }
  } catch (err) {
    if (err instanceof RecordFault) return { kind: 'pass', reason: err.message };
    throw err;
  }
  const limits = options.limits ?? DEFAULT_READ_LIMITS;
  const walk: Walk = { records: 0, bad: 0, errors: [], reasons: {}, unreadable: null };
  for (let i = 0; i < data.length; i++) {
    const { header, batch } = data[i] as { header: BatchHeader; batch: Buffer };
    if (header.compression === CompressionCodec.zstd) return continueAsync(i);
    let payload: Buffer;
    try {
      payload = decompressSync(header.compression, batch.subarray(BATCH_HEADER_SIZE), validation.maxBatchBytes);
    } catch (err) {
      unreadable(walk, header, i, err);
      break;
    }
    walkBatch(walk, header, payload, i, topic, validation, lookup, limits);
    if (walk.unreadable !== null) break;
  }
  return verdict(walk, topic);

  async function continueAsync(from: number): Promise<PartitionVerdict> {
    const serial = options.serial ?? (<T>(task: () => Promise<T>) => task());
    for (let i = from; i < data.length; i++) {
      const { header, batch } = data[i] as { header: BatchHeader; batch: Buffer };
      // The decompression and the walk of its output in one turn of the queue: one zstd batch is held at a time.
      await serial(async () => {
        let payload: Buffer;
        try {
          payload = await decompress(header.compression, batch.subarray(BATCH_HEADER_SIZE), validation.maxBatchBytes);
        } catch (err) {
          unreadable(walk, header, i, err);
          return;
        }
        walkBatch(walk, header, payload, i, topic, validation, lookup, limits);
      });
      if (walk.unreadable !== null) break;
    }
    return verdict(walk, topic);
  }
}

function unreadable(walk: Walk, header: BatchHeader, batchNumber: number, err: unknown): void {
  if (!(err instanceof RecordFault)) throw err;
  walk.unreadable = { errorCode: storageErrorCode(err.kind), message: `batch ${batchNumber} cannot be read for schema validation: ${err.message}` };
  walk.reasons.unreadable = (walk.reasons.unreadable ?? 0) + header.recordCount;
  walk.records += header.recordCount;
}

function walkBatch(walk: Walk, header: BatchHeader, payload: Buffer, batchNumber: number, topic: string, validation: TopicValidation, lookup: SchemaLookup, limits: ReadLimits): void {
  let seen = 0;
  try {
    walkRecords(header, payload, limits, (span) => {
      seen++;
      const refusal = checkSerialized(span.key, 'key', topic, validation, lookup) ?? checkSerialized(span.value, 'value', topic, validation, lookup);
      if (refusal === null) return;
      walk.bad++;
      walk.reasons[refusal.reason] = (walk.reasons[refusal.reason] ?? 0) + 1;
      if (walk.errors.length < MAX_RECORD_ERRORS) {
        // KIP-467: batch_index is the record's relative index in its batch.
        walk.errors.push({ batchIndex: span.index, batchIndexErrorMessage: `record ${span.index}${batchNumber === 0 ? '' : ` of batch ${batchNumber}`}: ${refusal.message}` });
      }
    });
  } catch (err) {
    if (!(err instanceof RecordFault)) throw err;
    walk.unreadable = { errorCode: storageErrorCode(err.kind), message: `batch ${batchNumber} cannot be read for schema validation: ${err.message}` };
    walk.reasons.unreadable = (walk.reasons.unreadable ?? 0) + Math.max(header.recordCount - seen, 0);
  }
  walk.records += header.recordCount;
}

function verdict(walk: Walk, topic: string): PartitionVerdict {
  if (walk.unreadable !== null) {
    return { kind: 'refused', errorCode: walk.unreadable.errorCode, errorMessage: cut(walk.unreadable.message), recordErrors: walk.errors, reasons: walk.reasons, records: walk.records };
  }
  if (walk.bad === 0) return { kind: 'accepted', records: walk.records };
  const first = walk.errors[0]?.batchIndexErrorMessage ?? '';
  const errorMessage = `${walk.bad} of ${walk.records} records refused by schema validation of topic ${topic} (docs/governance/validation.md); first: ${first}`;
  return { kind: 'refused', errorCode: ErrorCode.INVALID_RECORD, errorMessage: cut(errorMessage), recordErrors: walk.errors, reasons: walk.reasons, records: walk.records };
}

function cut(text: string): string {
  return text.length <= MAX_MESSAGE_CHARS ? text : `${text.slice(0, MAX_MESSAGE_CHARS)}…`;
}
