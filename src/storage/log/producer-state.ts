import { crc32c } from '@node-rs/crc32';
import { z } from 'zod';
import type { LogFailure } from '../outcomes.js';

/**
 * Idempotent producers (KIP-98), per partition: what the log remembers of each producer id so that a
 * retried batch is recognised instead of written twice, and a batch that would leave a gap or comes
 * from a fenced epoch is refused. Follows Kafka's ProducerStateManager / ProducerAppendInfo /
 * ProducerStateEntry (storage/internals/log), without transactions.
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
  | LogFailure<'fenced' | 'out-of-sequence'>;

const APPEND: ProducerCheck = Object.freeze({ kind: 'append' });

interface ProducerEntry {
  epoch: number;
  /** Ascending by sequence, at most {@link BATCHES_TO_RETAIN}, never empty. */
  batches: ProducerBatchMetadata[];
  /** When this broker last appended for the producer (or loaded its state): drives expiry. */
  lastSeenMs: number;
}

/** Kafka's DefaultRecordBatch.incrementSequence: sequences wrap from 2^31−1 to 0. */
export function lastSequence(baseSequence: number, lastOffsetDelta: number): number {
  return baseSequence > INT32_MAX - lastOffsetDelta ? lastOffsetDelta - (INT32_MAX - baseSequence) - 1 : baseSequence + lastOffsetDelta;
}

/** Kafka's ProducerAppendInfo.inSequence: `next` directly follows `last`, across the wrap. */
export function inSequence(last: number, next: number): boolean {
  return next === last + 1 || (next === 0 && last === INT32_MAX);
}

/** The version of the snapshot file layout (docs/storage-format.md, "Producer state"). */
export const PRODUCER_SNAPSHOT_VERSION = 1;

const decimal = z.string().regex(/^-?\d{1,19}$/);
const SnapshotSchema = z.strictObject({
  version: z.literal(PRODUCER_SNAPSHOT_VERSION),
  offset: decimal,
  producers: z.array(
    z.strictObject({
      id: decimal,
      epoch: z.number().int().min(-0x8000).max(0x7fff),
      lastSeenMs: z.number().int(),
      batches: z
        .array(z.tuple([z.number().int().min(0).max(INT32_MAX), z.number().int().min(0).max(INT32_MAX), decimal, decimal, z.number().int()]))
        .min(1)
        .max(BATCHES_TO_RETAIN),
    }),
  ),
});

/**
 * The producer state of one partition: per producer id, its current epoch and its last
 * {@link BATCHES_TO_RETAIN} batches. Owned by the PartitionLog, which checks a batch here and appends
 * it in one synchronous step, so nothing can come between the check and the append.
 */
export class ProducerStateManager {
  readonly #producers = new Map<bigint, ProducerEntry>();

  get producerCount(): number {
    return this.#producers.size;
  }

  /** The current epoch and retained batches of a producer, or undefined when the partition has none. */
  producer(producerId: bigint): { readonly epoch: number; readonly batches: readonly ProducerBatchMetadata[] } | undefined {
    const entry = this.#producers.get(producerId);
    return entry === undefined ? undefined : { epoch: entry.epoch, batches: [...entry.batches] };
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
    if (batch.producerEpoch > entry.epoch) {
      if (firstSeq === 0) return APPEND;
      return {
        kind: 'out-of-sequence',
        message: `producer ${id} started epoch ${batch.producerEpoch} at sequence ${firstSeq}; a new epoch starts at sequence 0`,
      };
    }
    const last = (entry.batches[entry.batches.length - 1] as ProducerBatchMetadata).lastSeq;
    if (inSequence(last, firstSeq)) return APPEND;
    return {
      kind: 'out-of-sequence',
      message: `out of order sequence for producer ${id} epoch ${entry.epoch}: batch ${firstSeq}..${lastSeq}, expected ${last === INT32_MAX ? 0 : last + 1}`,
    };
  }

  /**
   * Records an appended batch (after {@link check} allowed it, or while rebuilding from the log). A new
   * epoch replaces the producer's batches (Kafka's ProducerStateEntry.maybeUpdateProducerEpoch).
   */
  update(batch: ProducerBatch, baseOffset: bigint, timestamp: number, nowMs: number): void {
    const metadata: ProducerBatchMetadata = {
      firstSeq: batch.baseSequence,
      lastSeq: lastSequence(batch.baseSequence, batch.lastOffsetDelta),
      baseOffset,
      lastOffset: baseOffset + BigInt(batch.lastOffsetDelta),
      timestamp,
    };
    const entry = this.#producers.get(batch.producerId);
    if (entry === undefined || entry.epoch !== batch.producerEpoch) {
      this.#producers.set(batch.producerId, { epoch: batch.producerEpoch, batches: [metadata], lastSeenMs: nowMs });
      return;
    }
    entry.batches.push(metadata);
    if (entry.batches.length > BATCHES_TO_RETAIN) entry.batches.shift();
    entry.lastSeenMs = nowMs;
  }

  /** Forgets producers not seen since `cutoffMs` (Kafka's removeExpiredProducers). Returns how many. */
  removeExpired(cutoffMs: number): number {
    let removed = 0;
    for (const [id, entry] of this.#producers) {
      if (entry.lastSeenMs < cutoffMs) {
        this.#producers.delete(id);
        removed++;
      }
    }
    return removed;
  }

  /**
   * Forgets producers whose last batch is below the log start offset (retention removed it), as Kafka
   * does when the log start moves (ProducerStateManager.onLogStartOffsetIncremented). Returns how many.
   */
  removeBefore(logStartOffset: bigint): number {
    let removed = 0;
    for (const [id, entry] of this.#producers) {
      if ((entry.batches[entry.batches.length - 1] as ProducerBatchMetadata).lastOffset < logStartOffset) {
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
      restored.set(BigInt(p.id), {
        epoch: p.epoch,
        lastSeenMs: p.lastSeenMs,
        batches: p.batches.map(([firstSeq, lastSeq, base, last, timestamp]) => ({ firstSeq, lastSeq, baseOffset: BigInt(base), lastOffset: BigInt(last), timestamp })),
      });
    }
    this.#producers.clear();
    for (const [id, entry] of restored) this.#producers.set(id, entry);
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
