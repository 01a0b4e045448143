import { splitBatches, validateBatch, type BatchHeader, type ValidateOptions } from '../../records/batch.js';
import { RecordFault } from '../../records/faults.js';
import type { LogFailure } from '../outcomes.js';

/** The batch the log may take, with its header; or why it may not. */
export type AppendValidation = { readonly kind: 'valid'; readonly batch: Buffer; readonly header: BatchHeader } | LogFailure;

/**
 * The validation step of an append: what the log requires of a client's records before it takes them,
 * as Kafka's LogValidator does. Pure: it reads the records and changes nothing, so nothing is undone
 * when it refuses. The checks run in this order, which decides the answer to records wrong in two ways.
 */
export function validateAppend(records: Buffer | null, maxMessageBytes: number, format: ValidateOptions): AppendValidation {
  let batch: Buffer;
  let header: BatchHeader;
  try {
    const batches = records === null ? [] : splitBatches(records);
    // One batch per append (Kafka's LogValidator.validateOneBatchRecords; Produce v3+ carries one per partition).
    if (batches.length !== 1) return { kind: 'invalid-record', message: `a produce request must carry exactly one record batch per partition (found ${batches.length})` };
    batch = batches[0] as Buffer;
    if (batch.length > maxMessageBytes) {
      return { kind: 'too-large', message: `record batch of ${batch.length} bytes is larger than max.message.bytes (${maxMessageBytes})` };
    }
    header = validateBatch(batch, format);
  } catch (err) {
    if (err instanceof RecordFault) return { kind: err.kind, message: err.message };
    throw err;
  }
  // Control records (transaction markers) are written by the broker only (Kafka's LogValidator):
  // consumers skip them, so a forged one would hide offsets from them.
  if (header.isControl) return { kind: 'invalid-record', message: 'clients may not write control batches' };
  // Producers number records 0..n−1 in every batch, compressed or not. The log trusts lastOffsetDelta
  // to advance offsets, so a batch claiming another range (or no records) is refused, not stored.
  if (header.recordCount < 1 || header.lastOffsetDelta !== header.recordCount - 1) {
    return { kind: 'invalid-record', message: `batch of ${header.recordCount} records claims lastOffsetDelta ${header.lastOffsetDelta}` };
  }
  // A transaction belongs to a producer id: without one no marker could ever end it. Whether the
  // transaction is ongoing is for the commit step to say (LogManagerOptions.transactionGuard and the
  // producer state), not for this pure step.
  if (header.isTransactional && header.producerId < 0n) {
    return { kind: 'invalid-record', message: 'a transactional batch must carry a producer id' };
  }
  return { kind: 'valid', batch, header };
}
