import type { PartitionKeys } from '../crypto/partition-keys.js';
import type { BatchPlace } from '../crypto/sealed-batch.js';
import type { AbortedTxn } from '../log/txn-index.js';

/**
 * Most bytes one batch of a compacted topic may decompress to: the cleaner reads every batch whole, and
 * a produce to a compacted topic refuses a larger one, so that what is accepted can be cleaned.
 */
export const MAX_CLEANABLE_BATCH_BYTES = 64 * 1024 * 1024;

/** Suffix of a cleaned copy of a segment, written beside the original before it replaces it. */
export const CLEANED_SUFFIX = '.cleaned';

/** A rolled segment as the cleaner sees it: immutable until the cleaner or retention replaces it. */
export interface RolledSegment {
  readonly baseOffset: bigint;
  /** One past its last offset (the base offset when empty). */
  readonly nextOffset: bigint;
  readonly size: number;
  /** Largest record timestamp in it (−1 when empty). */
  readonly maxTimestamp: number;
  /** The `.log` file. */
  readonly path: string;
}

/** A segment's cleaned copy, synced to disk, with its index files' content. */
export interface CleanedSegment {
  readonly path: string;
  readonly size: number;
  readonly offsetIndex: Buffer;
  readonly timeIndex: Buffer;
}

/** What the cleaner needs of a partition's log (PartitionLog implements it). */
export interface CompactableLog {
  readonly id: { readonly topic: string; readonly partition: number };
  readonly dir: string;
  readonly place: BatchPlace;
  readonly keys: PartitionKeys | undefined;
  readonly logStartOffset: bigint;
  /**
   * The last stable offset (KIP-98): a transaction ongoing at or after it may still abort, so nothing
   * there is cleaned (Kafka's LogCleanerManager bounds the cleanable part by the first unstable offset).
   */
  readonly lastStableOffset: bigint;
  readonly offline: string | null;
  rolledSegments(): RolledSegment[];
  /**
   * The aborted transactions with records in [from, upTo), with their markers' offsets: their records
   * are removed by cleaning. Throws the file system's error, or a TxnIndexDamage.
   */
  abortedTxnsBetween(from: bigint, upTo: bigint): readonly AbortedTxn[];
  producerLastOffset(producerId: bigint): bigint | undefined;
  replaceSegment(original: RolledSegment, cleaned: CleanedSegment): boolean;
}
