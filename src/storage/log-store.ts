import type { ValidateOptions } from '../records/batch.js';
import type { LogFailure } from './outcomes.js';

/**
 * What the broker asks of partition logs, as interfaces: the handlers (produce, fetch, list offsets,
 * the waiting fetches) and topic administration depend on these, not on the file-backed
 * implementation (log/log-manager.ts, log/partition-log.ts), so that another one (an encrypted log
 * format, a gateway that forwards to an upstream cluster) plugs in without touching them.
 * test/unit/storage/log-store.suite.test.ts runs one behavioural suite over every implementation.
 */

/** A single broker is the only leader a partition ever has: its epoch stays 0. */
export const LEADER_EPOCH = 0;

/** A topic as a log store needs it. */
export interface TopicLogs {
  readonly name: string;
  readonly id: string;
  readonly partitions: number;
}

/** What became of a batch given to {@link LogStore.append}. */
export type AppendOutcome =
  | {
      readonly kind: 'appended';
      readonly baseOffset: bigint;
      readonly logStartOffset: bigint;
      /** The broker's timestamp on a LogAppendTime topic, else null. */
      readonly appendTime: number | null;
    }
  /**
   * An idempotent producer's retry of a batch appended before: not written again, answered as a
   * success with the original's offset and append time, as Kafka does (UnifiedLog
   * analyzeAndValidateProducerState returns the duplicate's metadata rather than an error). A sync
   * after it covers the original.
   */
  | { readonly kind: 'duplicate'; readonly baseOffset: bigint; readonly logStartOffset: bigint; readonly appendTime: number | null }
  | LogFailure;

export type LogRead =
  | { readonly kind: 'records'; readonly records: Buffer }
  | { readonly kind: 'out-of-range' }
  | { readonly kind: 'corrupt'; readonly reason: string }
  | { readonly kind: 'offline'; readonly reason: string }
  /** The store failed this read (out of descriptors, EIO): retriable, the partition stays online. */
  | { readonly kind: 'unavailable'; readonly reason: string }
  /** Sealed batches whose key cannot be had now (a KEK missing, an HSM down): may pass. */
  | { readonly kind: 'key-unavailable'; readonly reason: string }
  /** Sealed batches whose topic's keys were destroyed (crypto-shredding): gone for good. */
  | { readonly kind: 'key-destroyed'; readonly reason: string };

/**
 * Where an offset's data starts in a log, as its store reckons positions (the file-backed log: a byte
 * position in the segment with this base offset). Found once by {@link PartitionView.locate};
 * {@link PartitionView.bytesAfter} then measures the data after it without reading any.
 */
export interface LogPosition {
  readonly segmentBase: bigint;
  readonly position: number;
}

/**
 * A transaction marker (KIP-98) the transaction coordinator writes into each partition of a
 * transaction when it ends: the producer, the epoch it ends the transaction with, commit or abort, and
 * the coordinator's epoch.
 */
export interface TransactionMarker {
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly commit: boolean;
  readonly coordinatorEpoch: number;
}

/** What became of a marker given to {@link LogStore.appendMarker}. */
export type MarkerOutcome =
  | { readonly kind: 'appended'; readonly offset: bigint }
  /**
   * The producer has no transaction ongoing on the partition: nothing was written. A coordinator that
   * sends its markers again after a crash gets this for the partitions the first round reached.
   */
  | { readonly kind: 'no-transaction' }
  | LogFailure;

/** An aborted transaction as a read_committed Fetch answers it (Kafka's FetchResponse.AbortedTransaction). */
export interface AbortedTransaction {
  readonly producerId: bigint;
  readonly firstOffset: bigint;
}

/**
 * Whether a partition's transaction state can be read now ({@link PartitionView.loadTransactionState}),
 * else why not, as a read would say it.
 */
export type TransactionStateLoad = { readonly kind: 'ready' } | Exclude<LogRead, { readonly kind: 'records' }>;

/** An offset found by timestamp, with the timestamp of the record there. */
export interface TimestampedOffset {
  readonly offset: bigint;
  readonly timestamp: bigint;
}

/**
 * One partition's log as the fetch and list-offsets handlers read it. Appends go through
 * {@link LogStore.append}, which checks and orders them; a view only reads.
 */
export interface PartitionView {
  /** The first offset still in the log (retention moves it forward). */
  readonly logStartOffset: bigint;
  /** One past the last appended offset; the high watermark of a single-replica partition. */
  readonly logEndOffset: bigint;
  /**
   * The last stable offset (KIP-98): the first offset of the oldest transaction still ongoing, else
   * the log end. read_committed consumers read below it only. Before {@link loadTransactionState} is
   * ready it may say less than it will (the log start): never more.
   */
  readonly lastStableOffset: bigint;
  /**
   * Loads what {@link lastStableOffset} and {@link abortedTransactions} need when it is not at hand
   * (an encrypted partition's producer state, which waits for its keys after a restart).
   */
  loadTransactionState(): Promise<TransactionStateLoad>;
  /**
   * The aborted transactions with a marker at or after `from` that started before `upTo`, ascending by
   * first offset: what a read_committed Fetch of the records in [from, upTo) answers beside them, so
   * that the consumer drops those transactions' batches. Throws the store's I/O error (one with an
   * errno `code`), or another error when its index is damaged (the read must then be refused).
   */
  abortedTransactions(from: bigint, upTo: bigint): AbortedTransaction[];
  /**
   * Whole batches from the one that holds `offset`, up to `maxBytes` (at least one batch when
   * `minOneBatch`, KIP-74). Below the log start or past the log end is out of range; the log-end
   * offset itself reads as empty. A read may end before the log end with room left (the file-backed
   * log reads one segment at a time, as Kafka's does): readers go on from the offset after its last batch.
   * With `endOffset`, only the batches that end before it (a read_committed fetch: the last stable offset).
   */
  read(offset: bigint, maxBytes: number, minOneBatch: boolean, endOffset?: bigint): LogRead;
  /**
   * {@link read}, with every batch as its producer sent it: what Fetch serves. A store that keeps
   * batches in another form (sealed by encryption at rest) opens them here.
   */
  readRecords(offset: bigint, maxBytes: number, minOneBatch: boolean, endOffset?: bigint): Promise<LogRead>;
  /** Where the data of `offset` starts (the log end for the log-end offset), reading no data. */
  locate(offset: bigint): LogPosition | 'out-of-range' | 'offline';
  /**
   * Bytes from `from` to the log end, counted up to `atMost`, reading no data: what a waiting fetch
   * checks after each append. A position the log no longer holds counts as `atMost` (answer now). With
   * `stableOnly`, to the last stable offset instead (a read_committed fetch).
   */
  bytesAfter(from: LogPosition, atMost: number, stableOnly?: boolean): number;
  /**
   * The first record whose timestamp is ≥ `timestamp`, or null when every record is older. Rejects
   * with the store's I/O error (one with an errno `code`) when it cannot read now: the caller reports
   * it ({@link LogStore.reportIoError}) and answers it as retriable.
   */
  offsetForTimestamp(timestamp: number): Promise<TimestampedOffset | null>;
  /** The record with the largest timestamp (KIP-734), or null when the log is empty; rejects as {@link offsetForTimestamp}. */
  offsetOfMaxTimestamp(): Promise<TimestampedOffset | null>;
}

/** A partition's log, or why there is none. */
export type PartitionLookup<L extends PartitionView = PartitionView> =
  | { readonly kind: 'log'; readonly log: L }
  | { readonly kind: 'unknown-partition' }
  /** The partition exists but its log cannot be had now (out of descriptors, a damaged directory). */
  | { readonly kind: 'unavailable'; readonly reason: string };

/** The partition logs of the broker, as the handlers and topic administration use them. */
export interface LogStore {
  /** Makes a topic known, or raises its partition count; a store may defer all work to first use. */
  addTopic(topic: TopicLogs): void;
  /**
   * Start-up: opens (recovering) the partitions of the known topics that hold data, at most `limit`;
   * the others open on first use. Returns how many were opened and how many were left closed.
   */
  openExisting(limit: number): { opened: number; deferred: number };
  /** Removes a topic's logs; a topic re-created with the same name starts empty, at offset 0. */
  deleteTopic(name: string): Promise<void>;
  lookup(topic: string, partition: number): PartitionLookup;
  /**
   * Appends one client batch (exactly one v2 batch, as a producer sent it for the partition): checks
   * it, orders it against the producer's earlier batches, assigns its offsets. Readable once this
   * resolves, durable after {@link sync}. Rejects only on a bug; every refusal is an outcome.
   */
  append(topic: string, partition: number, records: Buffer | null, format?: ValidateOptions): Promise<AppendOutcome>;
  /**
   * Writes a transaction marker into a partition (the transaction coordinator, at EndTxn), ending the
   * producer's ongoing transaction there; readable once this resolves, durable after {@link sync}. A
   * marker whose epoch is older than the producer's on the partition is refused (`fenced`); with no
   * transaction ongoing nothing is written (`no-transaction`). Rejects only on a bug.
   */
  appendMarker(topic: string, partition: number, marker: TransactionMarker): Promise<MarkerOutcome>;
  /** Resolves when everything appended before the call is durable. */
  sync(): Promise<void>;
  /**
   * Calls `listener` after every append to `log` (a view {@link lookup} gave), transaction markers
   * included (they move the last stable offset), and once when its topic is deleted; returns the
   * function that stops it.
   */
  watch(log: PartitionView, listener: () => void): () => void;
  /** Reports an I/O error a caller met while reading (the store rate-limits the logging). */
  reportIoError(err: unknown, operation: string, partition?: string): void;
}

/** A log store with what the broker's lifecycle calls besides: retention, idle files, shutdown. */
export interface ManagedLogStore extends LogStore {
  /** Applies retention to every partition; returns how many units (segments) it deleted. */
  enforceRetention(): Promise<number>;
  /** Lets go of resources unused for `idleMs` (the file-backed store: segment file descriptors). */
  closeIdleFiles(idleMs: number): number;
  /** Makes everything durable and closes (graceful shutdown); a new store opens the same data again. */
  close(): Promise<void>;
}
