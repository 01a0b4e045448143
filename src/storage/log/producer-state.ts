import { crc32c } from '@node-rs/crc32';
import { z } from 'zod';
import type { LogFailure } from '../outcomes.js';

/**
 * Idempotent and transactional producers (KIP-98), per partition: what the log remembers of each
 * producer id so that a retried batch is recognised instead of written twice, a batch that would leave
 * a gap or comes from a fenced epoch is refused, and each producer's ongoing transaction is known (its
 * first offset: what holds the last stable offset back). Follows Kafka's ProducerStateManager /
 * ProducerAppendInfo / ProducerStateEntry (storage/internals/log).
 */

/**
 * Kafka's ProducerStateEntry.NUM_BATCHES_TO_RETAIN. An idempotent producer has at most 5 requests in
 * flight per partition (librdkafka and the Java client cap max.in.flight at 5 with idempotence), so a
 * retry can only repeat one of its last 5 batches.
 */
export const BATCHES_TO_RETAIN = 5;

/**
 * Kafka's producer.id.expiration.ms default (KIP-854): a producer idle this long on a partition is
 * forgotten there. Its next batch is then accepted whatever its sequence (see {@link ProducerStateManager.check}).
 */
export const DEFAULT_PRODUCER_ID_EXPIRATION_MS = 24 * 3600_000;

const INT32_MAX = 0x7fffffff;

/** The producer fields of a batch header, as the check and the update need them. */
export interface ProducerBatch {
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly lastOffsetDelta: number;
  /** Part of a transaction (the batch's transactional attribute); default false. */
  readonly isTransactional?: boolean;
}

/** One appended batch of a producer (Kafka's BatchMetadata). */
export interface ProducerBatchMetadata {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly baseOffset: bigint;
  readonly lastOffset: bigint;
  /** The batch's max timestamp as stored: the append time on LogAppendTime topics. */
  readonly timestamp: number;
}

/** What appending a batch would do, given what the partition knows of its producer. */
export type ProducerCheck =
  | { readonly kind: 'append' }
  /** The batch was appended before (a retry whose answer was lost): answer with the original. */
  | { readonly kind: 'duplicate'; readonly original: ProducerBatchMetadata }
  | LogFailure<'fenced' | 'out-of-sequence' | 'invalid-txn-state'>;

const APPEND: ProducerCheck = Object.freeze({ kind: 'append' });

/** What writing a transaction marker for a producer would do. */
export type MarkerCheck =
  /** The producer's ongoing transaction on this partition, which the marker ends. */
  | { readonly kind: 'end'; readonly firstOffset: bigint }
  /** No transaction of the producer is ongoing here (a marker sent again after a crash): nothing to write. */
  | { readonly kind: 'no-transaction' }
  | LogFailure<'fenced'>;

interface ProducerEntry {
  epoch: number;
  /**
   * Ascending by sequence, at most {@link BATCHES_TO_RETAIN}. Empty once a marker of a newer epoch
   * started that epoch (KIP-890 bumps the epoch when a transaction ends): its first batch then starts
   * at sequence 0.
   */
  batches: ProducerBatchMetadata[];
  /** When this broker last appended for the producer (or loaded its state): drives expiry. */
  lastSeenMs: number;
  /** The last offset of its newest batch or marker: what retention compares with the log start. */
  lastOffset: bigint;
  /** The first offset of its ongoing transaction (Kafka's currentTxnFirstOffset), or null. */
  txnFirstOffset: bigint | null;
}

/** Kafka's DefaultRecordBatch.incrementSequence: sequences wrap from 2^31−1 to 0. */
export function lastSequence(baseSequence: number, lastOffsetDelta: number): number {
  return baseSequence > INT32_MAX - lastOffsetDelta ? lastOffsetDelta - (INT32_MAX - baseSequence) - 1 : baseSequence + lastOffsetDelta;
}

/** Kafka's ProducerAppendInfo.inSequence: `next` directly follows `last`, across the wrap. */
export function inSequence(last: number, next: number): boolean {
  return next === last + 1 || (next === 0 && last === INT32_MAX);
}

/**
 * The version of the snapshot file layout this build writes (docs/storage-format.md, "Producer state").
 * Version 2 adds each producer's ongoing transaction and the offset of its last batch or marker;
 * version 1 (no transactions) is still read.
 */
export const PRODUCER_SNAPSHOT_VERSION = 2;

const decimal = z.string().regex(/^-?\d{1,19}$/);
const batchTuple = z.tuple([z.number().int().min(0).max(INT32_MAX), z.number().int().min(0).max(INT32_MAX), decimal, decimal, z.number().int()]);
const producerV1 = {
  id: decimal,
  epoch: z.number().int().min(-0x8000).max(0x7fff),
  lastSeenMs: z.number().int(),
};
const SnapshotSchema = z.discriminatedUnion('version', [
  z.strictObject({
    version: z.literal(1),
    offset: decimal,
    producers: z.array(z.strictObject({ ...producerV1, batches: z.array(batchTuple).min(1).max(BATCHES_TO_RETAIN) })),
  }),
  z.strictObject({
    version: z.literal(2),
    offset: decimal,
    producers: z.array(
      z.strictObject({
        ...producerV1,
        lastOffset: decimal,
        txnFirstOffset: decimal.nullable(),
        batches: z.array(batchTuple).max(BATCHES_TO_RETAIN),
      }),
    ),
  }),
]);

/**
 * The producer state of one partition: per producer id, its current epoch and its last
 * {@link BATCHES_TO_RETAIN} batches. Owned by the PartitionLog, which checks a batch here and appends
 * it in one synchronous step, so nothing can come between the check and the append.
 */
export class ProducerStateManager {
  readonly #producers = new Map<bigint, ProducerEntry>();
  /**
   * The producers with an ongoing transaction, to the transaction's first offset. In insertion order,
   * which is ascending by first offset: a transaction starts at the log end, after every ongoing one
   * (and a restored snapshot inserts them sorted). The first entry is the first unstable offset.
   */
  readonly #ongoing = new Map<bigint, bigint>();

  get producerCount(): number {
    return this.#producers.size;
  }

  /** The current epoch, retained batches and ongoing transaction of a producer, or undefined when the partition has none. */
  producer(producerId: bigint): { readonly epoch: number; readonly batches: readonly ProducerBatchMetadata[]; readonly txnFirstOffset: bigint | null } | undefined {
    const entry = this.#producers.get(producerId);
    return entry === undefined ? undefined : { epoch: entry.epoch, batches: [...entry.batches], txnFirstOffset: entry.txnFirstOffset };
  }

  /**
   * The first offset of the oldest ongoing transaction (Kafka's firstUnstableOffset), or null when none
   * is: the last stable offset is this, else the log end.
   */
  get firstUnstableOffset(): bigint | null {
    for (const first of this.#ongoing.values()) return first;
    return null;
  }

  /** How many transactions are ongoing on the partition. */
  get ongoingTransactions(): number {
    return this.#ongoing.size;
  }

  /** The first offset of `producerId`'s ongoing transaction here, or null. */
  ongoingTransaction(producerId: bigint): bigint | null {
    return this.#ongoing.get(producerId) ?? null;
  }

  /**
   * Checks a batch with a producer id against the state, in Kafka's order (UnifiedLog
   * analyzeAndValidateProducerState, then ProducerAppendInfo checkProducerEpoch / checkSequence):
   * - a batch of the current epoch with the same first and last sequence as one of the retained
   *   batches is a duplicate: it is not appended, and is answered with the original's offsets;
   * - an epoch older than the current one is `fenced` (answered INVALID_PRODUCER_EPOCH);
   * - a newer epoch (the producer bumped it, KIP-360) must start again at sequence 0, else it is
   *   `out-of-sequence` (answered OUT_OF_ORDER_SEQUENCE_NUMBER);
   * - the current epoch must continue exactly after the last sequence (with wrap-around), else it is
   *   `out-of-sequence`;
   * - a batch outside a transaction from a producer whose transaction is ongoing here is
   *   `invalid-txn-state` (answered INVALID_TXN_STATE: Kafka's ProducerAppendInfo "Expected
   *   transactional write from producer"), else the transaction would hold records that no marker
   *   ends;
   * - a producer the partition does not know is accepted at any sequence. Kafka does this since 2.5
   *   (KIP-360), where UNKNOWN_PRODUCER_ID (59) was replaced: the state is gone because retention
   *   removed the producer's batches or the producer was idle past the expiration, and refusing would
   *   fail a healthy producer (librdkafka treats 59 on a retried batch as fatal).
   */
  check(batch: ProducerBatch): ProducerCheck {
    const entry = this.#producers.get(batch.producerId);
    if (entry === undefined) return APPEND;
    const firstSeq = batch.baseSequence;
    const lastSeq = lastSequence(firstSeq, batch.lastOffsetDelta);
    const id = String(batch.producerId);
    if (batch.producerEpoch === entry.epoch) {
      const original = entry.batches.find((b) => b.firstSeq === firstSeq && b.lastSeq === lastSeq);
      if (original !== undefined) return { kind: 'duplicate', original };
    }
    if (batch.producerEpoch < entry.epoch) {
      return {
        kind: 'fenced',
        message: `producer ${id} used epoch ${batch.producerEpoch}, older than its current epoch ${entry.epoch} on this partition (fenced)`,
      };
    }
    if (entry.txnFirstOffset !== null && batch.isTransactional !== true) {
      return {
        kind: 'invalid-txn-state',
        message: `producer ${id} has a transaction ongoing on this partition (since offset ${entry.txnFirstOffset}): a batch outside a transaction is refused until it ends`,
      };
    }
    if (batch.producerEpoch > entry.epoch) {
      if (firstSeq === 0) return APPEND;
      return {
        kind: 'out-of-sequence',
        message: `producer ${id} started epoch ${batch.producerEpoch} at sequence ${firstSeq}; a new epoch starts at sequence 0`,
      };
    }
    // No batch in this epoch yet (a marker started it): the first one starts at sequence 0.
    const last = entry.batches.at(-1)?.lastSeq ?? -1;
    if (inSequence(last, firstSeq)) return APPEND;
    return {
      kind: 'out-of-sequence',
      message: `out of order sequence for producer ${id} epoch ${entry.epoch}: batch ${firstSeq}..${lastSeq}, expected ${last === INT32_MAX ? 0 : last + 1}`,
    };
  }

  /**
   * Records an appended batch (after {@link check} allowed it, or while rebuilding from the log). A new
   * epoch replaces the producer's batches (Kafka's ProducerStateEntry.maybeUpdateProducerEpoch). A
   * transactional batch with no transaction ongoing starts one at its base offset; an ongoing one stays
   * (across an epoch too) until its marker.
   */
  update(batch: ProducerBatch, baseOffset: bigint, timestamp: number, nowMs: number): void {
    const lastOffset = baseOffset + BigInt(batch.lastOffsetDelta);
    const metadata: ProducerBatchMetadata = {
      firstSeq: batch.baseSequence,
      lastSeq: lastSequence(batch.baseSequence, batch.lastOffsetDelta),
      baseOffset,
      lastOffset,
      timestamp,
    };
    let entry = this.#producers.get(batch.producerId);
    if (entry === undefined) {
      entry = { epoch: batch.producerEpoch, batches: [metadata], lastSeenMs: nowMs, lastOffset, txnFirstOffset: null };
      this.#producers.set(batch.producerId, entry);
    } else if (entry.epoch !== batch.producerEpoch) {
      entry.epoch = batch.producerEpoch;
      entry.batches = [metadata];
    } else {
      entry.batches.push(metadata);
      if (entry.batches.length > BATCHES_TO_RETAIN) entry.batches.shift();
    }
    entry.lastSeenMs = nowMs;
    entry.lastOffset = lastOffset;
    if (batch.isTransactional === true && entry.txnFirstOffset === null) {
      entry.txnFirstOffset = baseOffset;
      this.#ongoing.set(batch.producerId, baseOffset);
    }
  }

  /**
   * Checks a transaction marker of `producerId` at `producerEpoch` (Kafka's
   * ProducerAppendInfo.appendEndTxnMarker, checkProducerEpoch): an epoch older than the producer's on
   * this partition is `fenced`; with no transaction ongoing there is nothing to end. The caller writes
   * the marker right after, in the same synchronous step, then calls {@link endTransaction}.
   */
  checkMarker(producerId: bigint, producerEpoch: number): MarkerCheck {
    const entry = this.#producers.get(producerId);
    if (entry === undefined) return { kind: 'no-transaction' };
    if (producerEpoch < entry.epoch) {
      return {
        kind: 'fenced',
        message: `a transaction marker of producer ${producerId} has epoch ${producerEpoch}, older than its current epoch ${entry.epoch} on this partition (fenced)`,
      };
    }
    if (entry.txnFirstOffset === null) return { kind: 'no-transaction' };
    return { kind: 'end', firstOffset: entry.txnFirstOffset };
  }

  /**
   * Records a marker written at `offset` (after {@link checkMarker}, or while rebuilding from the log):
   * the producer's transaction ends. A marker of a newer epoch (KIP-890 ends a transaction with the
   * epoch bumped) makes it the producer's epoch, with no batch yet. Returns the first offset of the
   * transaction it ended, or null when none was known (rebuilding from a point after its start).
   */
  endTransaction(producerId: bigint, producerEpoch: number, offset: bigint, nowMs: number): bigint | null {
    let entry = this.#producers.get(producerId);
    if (entry === undefined) {
      entry = { epoch: producerEpoch, batches: [], lastSeenMs: nowMs, lastOffset: offset, txnFirstOffset: null };
      this.#producers.set(producerId, entry);
    }
    if (producerEpoch > entry.epoch) {
      entry.epoch = producerEpoch;
      entry.batches = [];
    }
    entry.lastSeenMs = nowMs;
    entry.lastOffset = offset;
    const first = entry.txnFirstOffset;
    entry.txnFirstOffset = null;
    this.#ongoing.delete(producerId);
    return first;
  }

  /**
   * Forgets producers not seen since `cutoffMs` (Kafka's removeExpiredProducers), never one whose
   * transaction is ongoing (its first offset holds the last stable offset). Returns how many.
   */
  removeExpired(cutoffMs: number): number {
    let removed = 0;
    for (const [id, entry] of this.#producers) {
      if (entry.lastSeenMs < cutoffMs && entry.txnFirstOffset === null) {
        this.#producers.delete(id);
        removed++;
      }
    }
    return removed;
  }

  /**
   * Forgets producers whose last batch or marker is below the log start offset (retention removed it),
   * as Kafka does when the log start moves (ProducerStateManager.onLogStartOffsetIncremented), never
   * one whose transaction is ongoing. Returns how many.
   */
  removeBefore(logStartOffset: bigint): number {
    let removed = 0;
    for (const [id, entry] of this.#producers) {
      if (entry.lastOffset < logStartOffset && entry.txnFirstOffset === null) {
        this.#producers.delete(id);
        removed++;
      }
    }
    return removed;
  }

  /**
   * The state as a snapshot file: one line of JSON, then the CRC-32C of that line in hex. `offset` is
   * the log offset the state is complete up to (every batch below it is included, none after).
   */
  encodeSnapshot(offset: bigint): Buffer {
    const producers = [...this.#producers].map(([id, e]) => ({
      id: String(id),
      epoch: e.epoch,
      lastSeenMs: e.lastSeenMs,
      lastOffset: String(e.lastOffset),
      txnFirstOffset: e.txnFirstOffset === null ? null : String(e.txnFirstOffset),
      batches: e.batches.map((b) => [b.firstSeq, b.lastSeq, String(b.baseOffset), String(b.lastOffset), b.timestamp]),
    }));
    const body = Buffer.from(JSON.stringify({ version: PRODUCER_SNAPSHOT_VERSION, offset: String(offset), producers }), 'utf8');
    return Buffer.concat([body, Buffer.from(`\n${hex32(crc32c(body))}\n`, 'ascii')]);
  }

  /**
   * Replaces the state with a snapshot's; returns the snapshot's offset. Throws (leaving the state as
   * it was) when the file is damaged: a wrong CRC, bad JSON or a value out of range.
   */
  restoreSnapshot(data: Buffer): bigint {
    const text = data.toString('utf8');
    const m = /^([^\n]*)\n([0-9a-f]{8})\n$/.exec(text);
    if (m?.[1] === undefined || m[2] === undefined) throw new Error('not a producer state snapshot (expected a JSON line and a CRC line)');
    const body = Buffer.from(m[1], 'utf8');
    if (hex32(crc32c(body)) !== m[2]) throw new Error(`CRC mismatch: stored ${m[2]}, computed ${hex32(crc32c(body))}`);
    const parsed = SnapshotSchema.safeParse(JSON.parse(m[1]) as unknown);
    if (!parsed.success) throw new Error(`invalid snapshot: ${parsed.error.issues[0]?.message ?? 'schema mismatch'}`);
    const restored = new Map<bigint, ProducerEntry>();
    for (const p of parsed.data.producers) {
      const batches = p.batches.map(([firstSeq, lastSeq, base, last, timestamp]) => ({ firstSeq, lastSeq, baseOffset: BigInt(base), lastOffset: BigInt(last), timestamp }));
      // Version 1 was written before transactions: no producer has one ongoing, none is without a batch.
      const v2 = 'lastOffset' in p ? p : null;
      const lastOffset = v2 === null ? (batches.at(-1)?.lastOffset ?? -1n) : BigInt(v2.lastOffset);
      const txnFirstOffset = v2?.txnFirstOffset == null ? null : BigInt(v2.txnFirstOffset);
      restored.set(BigInt(p.id), { epoch: p.epoch, lastSeenMs: p.lastSeenMs, batches, lastOffset, txnFirstOffset });
    }
    this.#producers.clear();
    this.#ongoing.clear();
    for (const [id, entry] of restored) this.#producers.set(id, entry);
    const ongoing = [...restored].filter(([, e]) => e.txnFirstOffset !== null) as [bigint, ProducerEntry & { txnFirstOffset: bigint }][];
    ongoing.sort(([, a], [, b]) => (a.txnFirstOffset < b.txnFirstOffset ? -1 : a.txnFirstOffset > b.txnFirstOffset ? 1 : 0));
    for (const [id, entry] of ongoing) this.#ongoing.set(id, entry.txnFirstOffset);
    return BigInt(parsed.data.offset);
  }
}

function hex32(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

/** Snapshot files are named by their offset like segments (`00000000000000001234.snapshot`, Kafka's name). */
export function snapshotFileName(offset: bigint): string {
  return `${offset.toString().padStart(20, '0')}.snapshot`;
}

/** The offset of a snapshot file name, or null for any other file. */
export function parseSnapshotFileName(name: string): bigint | null {
  const m = /^(\d{20})\.snapshot$/.exec(name);
  return m?.[1] === undefined ? null : BigInt(m[1]);
}
