import type { BatchHeader } from '../../records/batch.js';

/** A validated batch on its way to a partition, as a {@link RecordTransform} sees it. */
export interface BatchToPrepare {
  readonly topic: string;
  readonly partition: number;
  /** The batch as the client sent it (a view into the request: copy what must outlive the call). */
  readonly bytes: Buffer;
  readonly header: BatchHeader;
}

/** The batch to commit, or why the transform will not let it be. */
export type PreparedBatch = { readonly kind: 'prepared'; readonly bytes: Buffer } | { readonly kind: 'refused'; readonly reason: string };

/**
 * The preparation step of an append: a hook given at construction of the log manager that may rewrite
 * a validated batch before it is committed (masking of records, to come) or refuse it. Encryption at
 * rest is not a transform: it needs the offset the commit assigns (src/storage/crypto/sealed-batch.ts).
 * It may take its time (a key service): it runs before the producer-state check, so that the check and
 * the append stay one synchronous step whatever the transform awaits.
 *
 * The bytes it returns are written as they are. They must stay one valid v2 batch with the validated
 * batch's offset range, producer fields and timestamps: the log indexes the batch, and the producer
 * state records it, by the validated header.
 */
export interface RecordTransform {
  prepare(batch: BatchToPrepare): PreparedBatch | Promise<PreparedBatch>;
}
