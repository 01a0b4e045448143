import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { ParapetError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { assignOffsets, BatchAttributes, BatchOffsets, LOG_OVERHEAD } from '../../records/batch.js';
import { buildTransactionMarker, readTransactionMarker } from '../../records/control-records.js';
import { RecordFault } from '../../records/faults.js';
import { firstRecordAtOrAfter } from '../../records/record-search.js';
import {
  LEADER_EPOCH,
  type AbortedTransaction,
  type LogPosition,
  type LogRead,
  type PartitionView,
  type TimestampedOffset,
  type TransactionMarker,
  type TransactionStateLoad,
} from '../log-store.js';
import type { LogFailure } from '../outcomes.js';
import type { LogConfig } from './log-config.js';
import {
  COMPACTED_FORMAT_VERSION,
  LOG_FORMAT_VERSION,
  MAX_RELATIVE_OFFSET,
  PARTITION_META_FILE,
  parseSegmentFileName,
  READABLE_FORMAT_VERSIONS,
  SEALED_FORMAT_VERSION,
  segmentPaths,
  TRANSACTIONAL_FORMAT_VERSION,
  writePartitionMeta,
} from './format.js';
import { CLEANED_SUFFIX, type CleanedSegment, type CompactableLog, type RolledSegment } from '../compaction/compactable-log.js';
import { ioErrorCode } from './io-faults.js';
import type { LogFs } from './log-fs.js';
import { isTransientIoError, OpenFiles } from './open-files.js';
import {
  DEFAULT_PRODUCER_ID_EXPIRATION_MS,
  ProducerStateManager,
  parseSnapshotFileName,
  snapshotFileName,
  type ProducerBatch,
  type ProducerCheck,
} from './producer-state.js';
import type { OneAtATime } from '../../one-at-a-time.js';
import { segmentsToDelete } from './retention.js';
import { KeyFault } from '../crypto/kek-provider.js';
import type { PartitionKeys, SealingKey } from '../crypto/partition-keys.js';
import { isSealed, sealBatch, sealedDekId, SEALING_OVERHEAD, unsealBatch, type BatchPlace } from '../crypto/sealed-batch.js';
import { unsealEntriesInPlace, type Unsealed } from '../crypto/unseal-entries.js';
import type { UnsealPool } from '../crypto/unseal-pool.js';
import { isSealedSnapshot, sealedSnapshotDekId, sealSnapshot, unsealSnapshot } from '../crypto/sealed-snapshot.js';
import { Segment, type SegmentDeps } from './segment.js';
import { SegmentTxnIndex, TxnIndexDamage, inspectTxnIndex, type AbortedTxn } from './txn-index.js';

export { LEADER_EPOCH } from '../log-store.js';

export interface PartitionLogDeps {
  readonly fs: LogFs;
  readonly logger: Logger;
  /** Milliseconds since the epoch; injected so tests can drive segment.ms and retention.ms. */
  readonly clock: () => number;
  /** Buffers for reads sent to consumers (see SegmentDeps.allocate). */
  readonly allocate?: (size: number) => Buffer;
  /** Gives back a buffer from `allocate` that nothing refers to any more (a sealed read that serves nothing). */
  readonly release?: (buffer: Buffer) => void;
  /** Where large sealed reads are opened (worker threads); without it, on the event loop. */
  readonly unsealPool?: UnsealPool;
  /** How long an idle producer's state is kept (Kafka's producer.id.expiration.ms); default one day. */
  readonly producerIdExpirationMs?: number;
  /** The broker's bounded cache of open descriptors; without one, the log keeps its own, unbounded. */
  readonly files?: OpenFiles;
  /** Told of file system errors that a read turned into an `unavailable` answer (rate-limited logging). */
  readonly onIoError?: (err: unknown, operation: string, partition: string) => void;
  /**
   * Where searches by timestamp wait their turn: one decompressed batch at a time for the whole broker
   * (docs/security/limits.md#listoffsets-by-timestamp). Without one, each log searches on its own.
   */
  readonly timestampSearches?: OneAtATime;
  /** The partition's data keys (encryption at rest); without them, sealed batches cannot be read or written. */
  readonly keys?: PartitionKeys;
}

/**
 * The most bytes a search by timestamp inflates one stored batch to. Past it the search answers the
 * batch's first offset: a consumer seeking by time then reads a few records older than it asked for,
 * never misses one. Producers' batches are at most a megabyte or so, compressed maybe tenfold.
 */
export const MAX_TIMESTAMP_SEARCH_BYTES = 8 * 1024 * 1024;

export interface PartitionId {
  readonly topic: string;
  readonly partition: number;
  readonly topicId: string;
}

/** A validated batch to append: offsets are assigned by the log. */
export interface BatchToAppend {
  readonly bytes: Buffer;
  readonly lastOffsetDelta: number;
  readonly maxTimestamp: number;
  /** Seal the batch with this data key (encryption at rest) once its offsets are assigned. */
  readonly sealWith?: SealingKey;
}

// Defined with the store interfaces; re-exported where callers found them before.
export type { LogPosition, LogRead };

/** What became of a transaction marker given to {@link PartitionLog.appendMarker}. */
export type MarkerWrite = { readonly kind: 'appended'; readonly offset: bigint } | { readonly kind: 'no-transaction' } | LogFailure<'fenced'>;

const READY: TransactionStateLoad = Object.freeze({ kind: 'ready' });

/**
 * One partition's log: a directory of segments, appended to at the end and read by offset. The last
 * segment is the active one; older segments are immutable until retention deletes them whole.
 * Offsets never go back: the active segment (even empty) is never deleted and its name keeps the
 * log-end offset across restarts.
 */
export class PartitionLog implements PartitionView, CompactableLog {
  readonly id: PartitionId;
  readonly dir: string;
  readonly #deps: PartitionLogDeps;
  readonly #segmentDeps: SegmentDeps;
  readonly #config: () => LogConfig;
  /** Ascending by base offset; never empty. */
  readonly #segments: Segment[];
  /** Rolled segments whose index files are written once their data is durable. */
  readonly #awaitingIndexes = new Set<Segment>();
  #closed = false;
  /** Idempotent producers' sequences and epochs (see producer-state.ts), rebuilt at open. */
  #producers = new ProducerStateManager();
  /**
   * Set when the producer state could not be loaded at open because it lies in sealed snapshots or
   * batches and keys are asynchronous: {@link loadDeferredProducerState} loads it before the first append.
   */
  #producersDeferred = false;
  #loadingProducers: Promise<void> | null = null;
  /** The data key of the last sealed append: it seals the producer state snapshots too. */
  #sealKey: SealingKey | null = null;
  /**
   * The format version in `partition.json`: raised to {@link SEALED_FORMAT_VERSION} before the first
   * sealed batch, to {@link TRANSACTIONAL_FORMAT_VERSION} before the first transactional one.
   */
  #formatVersion = LOG_FORMAT_VERSION;
  /** Version 4: the log end when the partition moved to it; no offset below it belongs to a transaction. */
  #transactionalFrom = 0n;
  /** Where the last stable offset's data starts, found once per value (what waiting read_committed fetches count to). */
  #stablePosition: { offset: bigint; position: LogPosition } | null = null;
  /** The producer state captured at the last roll, written as a snapshot once that data is durable. */
  #pendingSnapshot: { offset: bigint; data: Buffer } | null = null;
  /** Offset of the newest snapshot on disk (written or loaded), to skip rewriting an unchanged one. */
  #snapshotOffset: bigint | null = null;
  /**
   * Set when an fsync failed. After a failed fsync the kernel may have dropped the dirty pages while the
   * page cache still shows them ("fsyncgate"), so what the log holds is unknown: the partition stops
   * appending and serving until a restart recovers it from disk, as Kafka takes a log directory offline.
   */
  #offline: string | null = null;
  #closing: Promise<void> | null = null;

  private constructor(deps: PartitionLogDeps, dir: string, id: PartitionId, config: () => LogConfig, segments: Segment[], segmentDeps: SegmentDeps) {
    this.#deps = deps;
    this.dir = dir;
    this.id = id;
    this.#config = config;
    this.#segments = segments;
    this.#segmentDeps = segmentDeps;
  }

  /** Opens (or creates) the partition directory, recovering the active segment. */
  static open(deps: PartitionLogDeps, dir: string, id: PartitionId, config: () => LogConfig): PartitionLog {
    const { fs } = deps;
    const label = `${id.topic}-${id.partition}`;
    const files = deps.files ?? new OpenFiles({ fs, maxOpen: Infinity });
    const segmentDeps: SegmentDeps = { fs, files, logger: deps.logger, label, ...(deps.allocate === undefined ? {} : { allocate: deps.allocate }) };
    if (!fs.existsSync(dir)) {
      fs.mkdirSync(dir);
      fs.fsyncDir(join(dir, '..'));
    }
    const metaPath = join(dir, PARTITION_META_FILE);
    let meta: PartitionMeta = { formatVersion: LOG_FORMAT_VERSION, transactionalFrom: 0n };
    if (fs.existsSync(metaPath)) meta = checkFormat(fs.readFileSync(metaPath), metaPath);
    else writePartitionMeta(fs, dir, id, meta.formatVersion);
    const { formatVersion } = meta;
    for (const name of fs.readdirSync(dir)) {
      // A cleaned copy the cleaner had not swapped in when the process stopped: the original is intact.
      // A `.txnindex.tmp` is an index write a crash cut short: never renamed, so never trusted.
      if (name.endsWith(CLEANED_SUFFIX) || name.endsWith('.txnindex.tmp')) fs.unlinkSync(join(dir, name));
    }
    const bases = fs
      .readdirSync(dir)
      .map(parseSegmentFileName)
      .filter((b): b is bigint => b !== null)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const segments: Segment[] = [];
    try {
      const compacted = formatVersion >= COMPACTED_FORMAT_VERSION;
      for (const [i, base] of bases.entries()) {
        const active = i === bases.length - 1;
        // Only rolled segments are ever rewritten by the cleaner: the active one keeps its strict offset check.
        segments.push(Segment.open(segmentDeps, dir, base, active, compacted && !active));
      }
      if (segments.length === 0) segments.push(Segment.create(segmentDeps, dir, 0n));
      const log = new PartitionLog(deps, dir, id, config, segments, segmentDeps);
      log.#formatVersion = formatVersion;
      log.#transactionalFrom = meta.transactionalFrom;
      log.#loadProducerState(null);
      return log;
    } catch (err) {
      // A failed open (EMFILE half-way through the segments) must not leave descriptors behind: the
      // partition is opened again, whole, on its next use.
      for (const segment of segments) void segment.close();
      throw err;
    }
  }

  /**
   * Rebuilds the producer state: the newest usable snapshot, then the batches after its offset. A
   * snapshot is written when a segment rolls (once its data is durable) and at a clean close, so a
   * clean restart reads no batch at all and a crash re-reads only the active segment, which recovery
   * has just read (it is in the page cache). Without a usable snapshot (a damaged file, or a log from
   * before producer state existed) every segment is scanned once; the next roll or close writes one.
   * Kafka does the same (ProducerStateManager snapshots, UnifiedLog.rebuildProducerState).
   *
   * A partition that may hold transactions (format version 4) also gets its segments' aborted-transaction
   * indexes here. Each `.txnindex` says up to which offset it is complete; the scan starts at a snapshot
   * no later than the first offset they leave uncovered (after a crash, the active segment's start; a
   * missing file, as after a restore from a backup, which holds `.log` files only: wherever it is, down
   * to the log start), and the abort markers it meets give the missing entries, each with the first
   * offset of its transaction from the producer state. What it rebuilt for a rolled segment is written
   * at once; the active segment's stays in memory.
   */
  #loadProducerState(keys: ReadonlyMap<number, KeyObject> | null): void {
    const { fs, logger } = this.#deps;
    const label = `${this.id.topic}-${this.id.partition}`;
    const started = performance.now();
    let from = this.logStartOffset;
    let source = 'log';
    for (const name of fs.readdirSync(this.dir)) {
      // Left by a crash inside writeFileDurably: never renamed, so never trusted.
      if (name.endsWith('.snapshot.tmp')) fs.unlinkSync(join(this.dir, name));
    }
    const indexes = this.#formatVersion >= TRANSACTIONAL_FORMAT_VERSION ? this.#inspectTxnIndexes() : null;
    const uncovered = indexes?.uncovered ?? this.logEndOffset;
    for (const offset of this.#snapshotOffsets().reverse()) {
      const path = join(this.dir, snapshotFileName(offset));
      if (offset > this.logEndOffset) {
        // The log lost data after the snapshot was written (truncated at an unreadable header): the
        // snapshot describes batches that are gone.
        fs.unlinkSync(path);
        continue;
      }
      // Its state is past aborted transactions whose index entries must be rebuilt: an older one is needed.
      if (offset > uncovered) continue;
      try {
        let data = fs.readFileSync(path);
        if (isSealedSnapshot(data)) {
          if (keys === null) {
            this.#producersDeferred = true;
            return;
          }
          const key = keys.get(sealedSnapshotDekId(data));
          const clear = key === undefined ? null : unsealSnapshot(data, this.#place, offset, key);
          if (clear === null) throw new Error('the sealed snapshot fails authentication or its data key is missing');
          data = clear;
        }
        from = this.#producers.restoreSnapshot(data);
        this.#snapshotOffset = offset;
        source = 'snapshot';
        break;
      } catch (err) {
        logger.warn({ partition: label, snapshot: path, err: String(err) }, 'unreadable producer state snapshot: rebuilding the producer state from the log instead');
      }
    }
    const now = this.#deps.clock();
    let scanned = 0;
    /** The abort markers the scan met, per segment. */
    const aborted = new Map<Segment, AbortedTxn[]>();
    for (const segment of this.#segments) {
      if (segment.nextOffset <= from) continue;
      segment.scanBatches((batch, stored) => {
        if (batch.baseOffset < from || this.#producersDeferred) return;
        let bytes = stored;
        if (isSealed(stored)) {
          if (keys === null) {
            this.#producersDeferred = true;
            return;
          }
          const opened = this.#unsealStoredEntry(segment, batch.position, keys);
          if (opened === null) return;
          bytes = opened;
        }
        scanned++;
        const producerId = bytes.readBigInt64BE(BatchOffsets.producerId);
        const attributes = bytes.readInt16BE(BatchOffsets.attributes);
        if (producerId < 0n) return;
        const producerEpoch = bytes.readInt16BE(BatchOffsets.producerEpoch);
        if ((attributes & BatchAttributes.control) !== 0) {
          const marker = this.#markerOf(bytes, batch.baseOffset);
          const first = this.#producers.endTransaction(producerId, producerEpoch, batch.baseOffset, now);
          if (marker.commit || indexes === null) return;
          // A marker whose transaction started before the scan did (its start is gone with retention):
          // its batches after the scan's start are the ones to drop.
          const entry = { producerId, firstOffset: first ?? from, lastOffset: batch.baseOffset, lastStableOffset: this.#producers.firstUnstableOffset ?? batch.baseOffset + 1n };
          const list = aborted.get(segment) ?? [];
          list.push(entry);
          aborted.set(segment, list);
          return;
        }
        this.#producers.update(
          {
            producerId,
            producerEpoch,
            baseSequence: bytes.readInt32BE(BatchOffsets.baseSequence),
            lastOffsetDelta: Number(batch.lastOffset - batch.baseOffset),
            isTransactional: (attributes & BatchAttributes.transactional) !== 0,
          },
          batch.baseOffset,
          batch.maxTimestamp,
          now,
        );
      });
    }
    if (this.#producersDeferred) {
      this.#producers = new ProducerStateManager();
      logger.debug({ partition: label }, 'producer state is sealed: it is loaded with the keys before the first append');
      return;
    }
    if (indexes !== null) this.#installTxnIndexes(indexes.files, aborted, from);
    this.#producers.removeBefore(this.logStartOffset);
    if (this.#producers.producerCount > 0 || scanned > 0) {
      logger.debug(
        {
          partition: label,
          source,
          from: from.toString(),
          batchesScanned: scanned,
          producers: this.#producers.producerCount,
          ongoingTransactions: this.#producers.ongoingTransactions,
          ms: Math.round(performance.now() - started),
        },
        'producer state loaded',
      );
    }
  }

  /**
   * The transaction marker a control batch read back from the log holds. A control batch that is no
   * well-formed marker is no torn write (its CRC passed): it is damage or a forgery, and whether its
   * transaction committed cannot be told, so the partition is refused rather than guessed at.
   */
  #markerOf(batch: Buffer, offset: bigint): { commit: boolean } {
    try {
      const marker = readTransactionMarker(batch);
      if (marker !== null) return marker;
    } catch (err) {
      if (!(err instanceof RecordFault)) throw err;
      throw new ParapetError('STORAGE_ERROR', `partition ${this.id.topic}-${this.id.partition}: the control batch at offset ${offset} is no transaction marker (${err.message})`);
    }
    throw new ParapetError('STORAGE_ERROR', `partition ${this.id.topic}-${this.id.partition}: the batch at offset ${offset} is no control batch`);
  }

  /**
   * Checks each segment's `.txnindex` (header, CRCs, entries inside the segment) without keeping its
   * entries, and finds the first offset the indexes leave uncovered: where the first segment whose
   * index does not reach its end stops (the log end when none). Offsets below `transactionalFrom`
   * hold no transaction and need no index. A damaged file is reported and counts as missing.
   */
  #inspectTxnIndexes(): { files: Map<Segment, { coveredTo: bigint; count: number }>; uncovered: bigint } {
    const { fs, logger } = this.#deps;
    const files = new Map<Segment, { coveredTo: bigint; count: number }>();
    let uncovered: bigint | null = null;
    for (const segment of this.#segments) {
      const next = segment.nextOffset;
      const trivial = this.#transactionalFrom < segment.baseOffset ? segment.baseOffset : this.#transactionalFrom > next ? next : this.#transactionalFrom;
      let covered = trivial;
      if (fs.existsSync(segment.txnIndexPath)) {
        try {
          const file = inspectTxnIndex(fs, segment.txnIndexPath, segment.baseOffset, next);
          files.set(segment, file);
          if (file.coveredTo > covered) covered = file.coveredTo;
        } catch (err) {
          if (!(err instanceof TxnIndexDamage)) throw err;
          logger.warn(
            { partition: `${this.id.topic}-${this.id.partition}`, segment: segment.baseOffset.toString(), err: err.message },
            'damaged aborted-transaction index: it is rebuilt from the log',
          );
        }
      }
      if (uncovered === null && covered < next) uncovered = covered;
    }
    return { files, uncovered: uncovered ?? this.logEndOffset };
  }

  /**
   * Gives every segment its aborted-transaction index after the scan from `from`: a segment the scan
   * did not reach keeps its file (or is empty, below `transactionalFrom`); one it reached gets the
   * entries of its file below `from` and those the scan found. A rebuilt rolled segment's index is
   * written now (its data is on disk); the active segment's is held in memory.
   */
  #installTxnIndexes(files: ReadonlyMap<Segment, { coveredTo: bigint; count: number }>, aborted: ReadonlyMap<Segment, AbortedTxn[]>, from: bigint): void {
    const { fs, logger } = this.#deps;
    for (const segment of this.#segments) {
      const file = files.get(segment);
      const active = segment === this.#active;
      if (segment.nextOffset <= from) {
        if (file === undefined) segment.txnIndex = SegmentTxnIndex.inMemory(segment.txnIndexPath);
        else if (active) segment.txnIndex = SegmentTxnIndex.inMemory(segment.txnIndexPath, SegmentTxnIndex.onDisk(segment.txnIndexPath, file.count).all(fs));
        else segment.txnIndex = SegmentTxnIndex.onDisk(segment.txnIndexPath, file.count);
        continue;
      }
      const kept = file === undefined || segment.baseOffset >= from ? [] : SegmentTxnIndex.onDisk(segment.txnIndexPath, file.count).all(fs).filter((e) => e.lastOffset < from);
      const index = SegmentTxnIndex.inMemory(segment.txnIndexPath, [...kept, ...(aborted.get(segment) ?? [])]);
      segment.txnIndex = index;
      if (active) continue;
      try {
        index.persist(fs, segment.nextOffset, true);
      } catch (err) {
        // Kept in memory, so reads stay right; the next start rebuilds it again.
        logger.warn({ partition: `${this.id.topic}-${this.id.partition}`, segment: segment.baseOffset.toString(), err: String(err) }, 'could not write a rebuilt aborted-transaction index');
      }
    }
  }

  /** A sealed entry's batch, read whole and opened with `keys`; null (logged) when it cannot be. */
  #unsealStoredEntry(segment: Segment, position: number, keys: ReadonlyMap<number, KeyObject>): Buffer | null {
    const { records } = segment.read(position, 1, true);
    const key = records.length > 0 ? keys.get(sealedDekId(records)) : undefined;
    const opened: Buffer | { reason: string } = key === undefined ? { reason: 'its data key is missing' } : unsealBatch(records, this.#place, key);
    if (!Buffer.isBuffer(opened)) {
      this.#deps.logger.error(
        { partition: `${this.id.topic}-${this.id.partition}`, segment: segment.baseOffset.toString(), position, reason: opened.reason },
        'a sealed batch cannot be opened: its producer fields are left out of the producer state',
      );
      return null;
    }
    return opened;
  }

  /** The partition's data keys (encryption at rest), when the broker has a key provider. */
  get keys(): PartitionKeys | undefined {
    return this.#deps.keys;
  }

  /** Whether the producer state waits for keys (see {@link loadDeferredProducerState}). */
  get producerStateDeferred(): boolean {
    return this.#producersDeferred;
  }

  /**
   * Loads a producer state that lies in sealed snapshots or batches, with the partition's keys, before
   * the first append (the log manager calls it in an append's preparation step). Throws a
   * {@link KeyFault} when the keys cannot be had: the append is then refused.
   */
  loadDeferredProducerState(): Promise<void> {
    if (!this.#producersDeferred) return Promise.resolve();
    // Appends waiting at once share one load.
    this.#loadingProducers ??= this.#loadDeferred().finally(() => {
      this.#loadingProducers = null;
    });
    return this.#loadingProducers;
  }

  async #loadDeferred(): Promise<void> {
    const keys = this.#deps.keys;
    if (keys === undefined) throw new KeyFault('unavailable', 'the broker has no key provider: the producer state of this encrypted partition cannot be read');
    const opened = new Map<number, KeyObject>();
    for (const { id } of keys.stored()) opened.set(id, await keys.openingKey(id));
    this.#producersDeferred = false;
    this.#loadProducerState(opened);
  }

  get #place(): BatchPlace {
    return { topicId: this.id.topicId, partition: this.id.partition };
  }

  /**
   * The snapshot bytes to write: sealed with the current data key on a partition that seals; none on
   * a partition that holds sealed data but sealed nothing in this process (clear producer fields of
   * sealed batches must not reach the disk), nor while the state itself waits for keys.
   */
  #snapshotData(offset: bigint): Buffer | null {
    if (this.#producersDeferred) return null;
    const data = this.#producers.encodeSnapshot(offset);
    if (this.#sealKey !== null) return sealSnapshot(data, this.#place, offset, this.#sealKey.id, this.#sealKey.key);
    let holdsKeys = false;
    try {
      holdsKeys = (this.#deps.keys?.stored().length ?? 0) > 0;
    } catch {
      holdsKeys = true;
    }
    return holdsKeys ? null : data;
  }

  /** Offsets of the producer state snapshots in the directory, ascending. */
  #snapshotOffsets(): bigint[] {
    return this.#deps.fs
      .readdirSync(this.dir)
      .map(parseSnapshotFileName)
      .filter((o): o is bigint => o !== null)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /**
   * Writes a producer state snapshot and keeps the two newest (the older one in case the newer is found
   * damaged). Like an index, a snapshot is an optimisation: failing to write one costs a longer scan at
   * the next start, so it is logged, not thrown.
   */
  #writeSnapshot(offset: bigint, data: Buffer): void {
    const { fs } = this.#deps;
    try {
      fs.writeFileDurably(join(this.dir, snapshotFileName(offset)), data);
      this.#snapshotOffset = offset;
      for (const old of this.#snapshotOffsets().slice(0, -2)) fs.unlinkSync(join(this.dir, snapshotFileName(old)));
    } catch (err) {
      this.#deps.logger.warn(
        { partition: `${this.id.topic}-${this.id.partition}`, offset: offset.toString(), err: String(err) },
        'could not write the producer state snapshot: the next start rebuilds it from the log',
      );
    }
  }

  /**
   * Why the partition takes no append and serves no read (an fsync failed: see {@link flush}), as a
   * message for the client; null while it is online.
   */
  get offline(): string | null {
    return this.#offline === null ? null : `partition ${this.id.topic}-${this.id.partition} is offline: ${this.#offline}`;
  }

  /**
   * Checks an idempotent batch (producer id ≥ 0) against the partition's producer state: append it, or
   * answer it as a duplicate of a batch already appended, or refuse it (fenced epoch, sequence gap).
   * The caller appends right after, in the same synchronous step, so that the check still holds, and
   * checks {@link offline} first: a duplicate's original may not be durable on an offline partition.
   */
  checkProducer(batch: ProducerBatch): ProducerCheck {
    return this.#producers.check(batch);
  }

  /** The partition's state of one producer (epoch and retained batches), for diagnostics and tests. */
  producerState(producerId: bigint): ReturnType<ProducerStateManager['producer']> {
    return this.#producers.producer(producerId);
  }

  get #active(): Segment {
    // The constructor's callers guarantee at least one segment.
    return this.#segments[this.#segments.length - 1] as Segment;
  }

  /** The first offset still in the log (retention moves it forward). */
  get logStartOffset(): bigint {
    return (this.#segments[0] as Segment).baseOffset;
  }

  /** One past the last appended offset; also the high watermark of a single-replica partition. */
  get logEndOffset(): bigint {
    return this.#active.nextOffset;
  }

  /**
   * What a backup capture takes of this log, read in one synchronous step (nothing can append between
   * the reads): each segment's `.log` path and its size, which always ends at a complete batch (an
   * append writes its whole batch before the size moves; a failed write is cut back), and the offsets.
   * Null while the log is offline: after a failed fsync what it holds is unknown.
   */
  captureView(): { logStartOffset: bigint; logEndOffset: bigint; segments: { baseOffset: bigint; path: string; length: number }[] } | null {
    if (this.#offline !== null || this.#closed) return null;
    return {
      logStartOffset: this.logStartOffset,
      logEndOffset: this.logEndOffset,
      segments: this.#segments.map((s) => ({ baseOffset: s.baseOffset, path: s.logPath, length: s.size })),
    };
  }

  /**
   * The segments the cleaner may rewrite: rolled, durable and indexed (never the active one), ascending.
   * Empty while the log is offline or closed.
   */
  rolledSegments(): RolledSegment[] {
    if (this.#offline !== null || this.#closed) return [];
    return this.#segments
      .slice(0, -1)
      .filter((s) => !s.dirty && !this.#awaitingIndexes.has(s))
      .map((s) => ({ baseOffset: s.baseOffset, nextOffset: s.nextOffset, size: s.size, maxTimestamp: s.maxTimestamp, path: s.logPath }));
  }

  /** The last offset of the newest batch of `producerId` this partition holds, if it has one. */
  producerLastOffset(producerId: bigint): bigint | undefined {
    return this.#producers.producer(producerId)?.batches.at(-1)?.lastOffset;
  }

  /** Where sealed batches of this partition are bound (their associated data). */
  get place(): BatchPlace {
    return this.#place;
  }

  /**
   * Puts a cleaned copy of a rolled segment in place of the original, in one synchronous step (no read
   * sees a mix). The copy was written and synced beside it (`<base>.log.cleaned`); the rename over the
   * original is atomic, so a crash leaves either segment whole, and the index files, removed first, are
   * written again after (a crash in between rebuilds them from the log). A copy that kept nothing
   * deletes the segment, unless it is the first, whose base offset is the log start.
   * False, with nothing changed, when the original is no longer what was cleaned (retention deleted it,
   * the log closed): the caller removes its copy.
   */
  replaceSegment(original: RolledSegment, cleaned: CleanedSegment): boolean {
    const { fs, logger } = this.#deps;
    const i = this.#segments.findIndex((s) => s.baseOffset === original.baseOffset);
    const old = this.#segments[i];
    if (old === undefined || i === this.#segments.length - 1 || this.#closed || this.#offline !== null) return false;
    if (old.size !== original.size || old.dirty || this.#awaitingIndexes.has(old)) return false;
    // Before the first segment with gaps: an older build must refuse the partition, not truncate it.
    if (this.#formatVersion < COMPACTED_FORMAT_VERSION) {
      writePartitionMeta(fs, this.dir, this.id, COMPACTED_FORMAT_VERSION);
      this.#formatVersion = COMPACTED_FORMAT_VERSION;
    }
    const paths = segmentPaths(this.dir, old.baseOffset);
    for (const path of [paths.index, paths.timeIndex]) if (fs.existsSync(path)) fs.unlinkSync(path);
    if (cleaned.size === 0 && i > 0) {
      fs.unlinkSync(cleaned.path);
      this.#segments.splice(i, 1);
      old.delete().then(
        () => {
          fs.fsyncDir(this.dir);
        },
        (err: unknown) => {
          logger.warn({ partition: `${this.id.topic}-${this.id.partition}`, segment: old.baseOffset.toString(), err: String(err) }, 'could not remove an emptied segment: the next start serves it until it is cleaned again');
        },
      );
      return true;
    }
    // The first segment stays even when emptied: its base offset is the log start.
    fs.renameSync(cleaned.path, paths.log);
    fs.fsyncDir(this.dir);
    // The old descriptor (if open) is of the replaced file: closed, never reused for the new one.
    void old.close();
    try {
      if (cleaned.size > 0) {
        fs.writeFileDurably(paths.index, cleaned.offsetIndex);
        fs.writeFileDurably(paths.timeIndex, cleaned.timeIndex);
      }
    } catch (err) {
      logger.warn({ partition: `${this.id.topic}-${this.id.partition}`, segment: old.baseOffset.toString(), err: String(err) }, 'could not write the index of a cleaned segment: it is rebuilt from the log');
    }
    // Offsets do not move: the segment's aborted transactions are still its own (markers are kept).
    this.#stablePosition = null;
    try {
      const replacement = Segment.open(this.#segmentDeps, this.dir, old.baseOffset, false, true);
      replacement.txnIndex = old.txnIndex;
      this.#segments[i] = replacement;
    } catch (err) {
      // The cleaned file is in place and durable; what this process holds of it is not. A restart opens it.
      this.#offline = `a cleaned segment could not be opened (${ioErrorCode(err) ?? String(err)})`;
      logger.error({ partition: `${this.id.topic}-${this.id.partition}`, reason: this.#offline }, 'partition taken offline: restart the broker to open it again');
    }
    return true;
  }

  get sizeBytes(): number {
    return this.#segments.reduce((sum, s) => sum + s.size, 0);
  }

  get segmentCount(): number {
    return this.#segments.length;
  }

  /**
   * Appends one batch: assigns its offsets (in place, outside the CRC), rolls first when the active
   * segment is full or old, and writes it. Returns the base offset. Throws the file system's error
   * (ENOSPC…) with nothing appended.
   */
  append(batch: BatchToAppend): bigint {
    if (this.#closed) throw new ParapetError('STORAGE_ERROR', `log ${this.id.topic}-${this.id.partition} is closed`);
    const offline = this.offline;
    if (offline !== null) throw new ParapetError('STORAGE_ERROR', offline);
    const now = this.#deps.clock();
    const seal = batch.sealWith;
    const transactional = (batch.bytes.readInt16BE(BatchOffsets.attributes) & BatchAttributes.transactional) !== 0;
    // Before the first batch that needs it: the newer version reads everything the older ones hold.
    this.#raiseFormatVersion(transactional ? TRANSACTIONAL_FORMAT_VERSION : seal !== undefined ? SEALED_FORMAT_VERSION : LOG_FORMAT_VERSION);
    if (seal !== undefined) this.#sealKey = seal;
    this.#maybeRoll(batch.bytes.length + (seal === undefined ? 0 : SEALING_OVERHEAD), batch.lastOffsetDelta, now);
    const baseOffset = this.logEndOffset;
    assignOffsets(batch.bytes, baseOffset, LEADER_EPOCH);
    const lastOffset = baseOffset + BigInt(batch.lastOffsetDelta);
    // Sealed into a buffer reused from one append to the next: the segment writes it synchronously and keeps no view of it.
    const stored = seal === undefined ? batch.bytes : sealBatch(batch.bytes, this.#place, seal.id, seal.key, sealScratch(batch.bytes.length + SEALING_OVERHEAD));
    this.#active.append({ bytes: stored, baseOffset, lastOffset, maxTimestamp: batch.maxTimestamp }, now);
    if (seal !== undefined) {
      seal.batches++;
      seal.bytes += batch.bytes.length;
    }
    const producerId = batch.bytes.readBigInt64BE(BatchOffsets.producerId);
    if (producerId >= 0n) {
      const producerEpoch = batch.bytes.readInt16BE(BatchOffsets.producerEpoch);
      const baseSequence = batch.bytes.readInt32BE(BatchOffsets.baseSequence);
      this.#producers.update({ producerId, producerEpoch, baseSequence, lastOffsetDelta: batch.lastOffsetDelta, isTransactional: transactional }, baseOffset, batch.maxTimestamp, now);
    }
    return baseOffset;
  }

  /**
   * Records, durably and before any batch that needs it is written, that this partition may hold sealed
   * batches (version 2) or transactions (version 4). Moving to version 4 also records the log end as
   * `transactionalFrom` and gives every segment an (empty) aborted-transaction index: nothing below
   * the log end belongs to a transaction.
   */
  #raiseFormatVersion(to: number): void {
    if (this.#formatVersion >= to) return;
    if (to >= TRANSACTIONAL_FORMAT_VERSION) {
      const from = this.logEndOffset;
      writePartitionMeta(this.#deps.fs, this.dir, this.id, to, from);
      this.#transactionalFrom = from;
      for (const segment of this.#segments) segment.txnIndex ??= SegmentTxnIndex.inMemory(segment.txnIndexPath);
    } else {
      writePartitionMeta(this.#deps.fs, this.dir, this.id, to);
    }
    this.#formatVersion = to;
  }

  /**
   * Writes a transaction marker (KIP-98) for the producer's ongoing transaction on this partition and
   * ends it, in one synchronous step: the producer state check, the write, the state update and, for
   * an abort, the entry in the active segment's aborted-transaction index (the segment that holds the
   * marker). A marker is a control batch of the broker's: never sealed (it holds no user data), so
   * recovery reads it without keys. `no-transaction` (nothing written) when the producer has no
   * transaction ongoing here, as after a coordinator sends its markers again following a crash;
   * `fenced` when the marker's epoch is older than the producer's here. Throws the file system's error
   * (ENOSPC…) with nothing written and the transaction still ongoing.
   */
  appendMarker(marker: TransactionMarker, logAppendTime: boolean): MarkerWrite {
    if (this.#closed) throw new ParapetError('STORAGE_ERROR', `log ${this.id.topic}-${this.id.partition} is closed`);
    const offline = this.offline;
    if (offline !== null) throw new ParapetError('STORAGE_ERROR', offline);
    if (this.#producersDeferred) throw new ParapetError('STORAGE_ERROR', `log ${this.id.topic}-${this.id.partition}: the producer state is not loaded`);
    const check = this.#producers.checkMarker(marker.producerId, marker.producerEpoch);
    if (check.kind !== 'end') return check;
    // A transaction is ongoing, so the partition already moved to version 4: this changes nothing.
    this.#raiseFormatVersion(TRANSACTIONAL_FORMAT_VERSION);
    const now = this.#deps.clock();
    const bytes = buildTransactionMarker({ ...marker, timestamp: now, logAppendTime });
    this.#maybeRoll(bytes.length, 0, now);
    const offset = this.logEndOffset;
    assignOffsets(bytes, offset, LEADER_EPOCH);
    const active = this.#active;
    active.append({ bytes, baseOffset: offset, lastOffset: offset, maxTimestamp: now }, now);
    const first = this.#producers.endTransaction(marker.producerId, marker.producerEpoch, offset, now) ?? check.firstOffset;
    if (!marker.commit) {
      active.txnIndex ??= SegmentTxnIndex.inMemory(active.txnIndexPath);
      active.txnIndex.add({ producerId: marker.producerId, firstOffset: first, lastOffset: offset, lastStableOffset: this.#producers.firstUnstableOffset ?? offset + 1n });
    }
    return { kind: 'appended', offset };
  }

  /** The producers' transactions ongoing on this partition (diagnostics and tests). */
  get ongoingTransactions(): number {
    return this.#producers.ongoingTransactions;
  }

  /**
   * The last stable offset (KIP-98): the first offset of the oldest transaction still ongoing, else the
   * log end; never below the log start (Kafka's UnifiedLog.updateFirstUnstableOffset). read_committed
   * consumers read below it only. While the producer state of an encrypted partition waits for its keys
   * (see {@link loadTransactionState}) nothing is known to be stable: the log start.
   */
  get lastStableOffset(): bigint {
    if (this.#formatVersion < TRANSACTIONAL_FORMAT_VERSION) return this.logEndOffset;
    if (this.#producersDeferred) return this.logStartOffset;
    const first = this.#producers.firstUnstableOffset;
    if (first === null) return this.logEndOffset;
    return first < this.logStartOffset ? this.logStartOffset : first;
  }

  /**
   * Loads what {@link lastStableOffset} and {@link abortedTransactions} need when it lies in sealed
   * data (an encrypted partition after a restart): the producer state, with the partition's keys. Ready
   * at once everywhere else.
   */
  async loadTransactionState(): Promise<TransactionStateLoad> {
    if (!this.#producersDeferred) return READY;
    try {
      await this.loadDeferredProducerState();
      return READY;
    } catch (err) {
      if (err instanceof KeyFault) return keyFaultRead(err);
      const code = ioErrorCode(err);
      if (code !== undefined) {
        this.#deps.onIoError?.(err, 'load producer state', `${this.id.topic}-${this.id.partition}`);
        return { kind: 'unavailable', reason: `${code}: ${err instanceof Error ? err.message : String(err)}` };
      }
      if (err instanceof ParapetError) return { kind: 'corrupt', reason: err.message };
      throw err;
    }
  }

  /**
   * The aborted transactions a read_committed consumer needs for the records in [from, upTo): those
   * aborted by a marker at or after `from` that started before `upTo`, ascending by first offset
   * (Kafka's UnifiedLog.collectAbortedTransactions). Reads the indexes of the segments from the one
   * that holds `from`, and stops at the first entry whose last stable offset reaches `upTo`: every
   * transaction that started before it had ended by then. Throws the file system's error, or a
   * {@link TxnIndexDamage} (logged) when an index fails its checks.
   */
  abortedTransactions(from: bigint, upTo: bigint): AbortedTransaction[] {
    return this.abortedTxnsBetween(from, upTo)
      .map(({ producerId, firstOffset }) => ({ producerId, firstOffset }))
      .sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
  }

  /** {@link abortedTransactions} with each one's marker offset, in marker order (what the cleaner needs). */
  abortedTxnsBetween(from: bigint, upTo: bigint): AbortedTxn[] {
    if (this.#formatVersion < TRANSACTIONAL_FORMAT_VERSION || upTo <= from) return [];
    if (this.#producersDeferred) throw new ParapetError('STORAGE_ERROR', `log ${this.id.topic}-${this.id.partition}: the transaction state is not loaded`);
    const found: AbortedTxn[] = [];
    for (let i = this.#indexOfSegmentFor(from); i < this.#segments.length; i++) {
      const segment = this.#segments[i] as Segment;
      const index = segment.txnIndex;
      if (index === null || index.count === 0) continue;
      const search = { complete: false };
      try {
        index.forEach(this.#deps.fs, (e) => {
          if (e.lastOffset >= from && e.firstOffset < upTo) found.push(e);
          search.complete = e.lastStableOffset >= upTo;
          return !search.complete;
        });
      } catch (err) {
        if (err instanceof TxnIndexDamage) {
          this.#deps.logger.error(
            { partition: `${this.id.topic}-${this.id.partition}`, segment: segment.baseOffset.toString(), err: err.message },
            'damaged aborted-transaction index: read_committed reads of this partition are refused; restart the broker to rebuild it from the log',
          );
        }
        throw err;
      }
      if (search.complete) break;
    }
    return found;
  }

  #maybeRoll(incomingBytes: number, lastOffsetDelta: number, now: number): void {
    const active = this.#active;
    if (active.isEmpty) return;
    const config = this.#config();
    const full = active.size + incomingBytes > config.segmentBytes;
    // A compacted topic's records must become cleanable within max.compaction.lag.ms: the active
    // segment, which is never cleaned, rolls by then (Kafka does the same).
    const rollMs = Math.min(config.segmentMs, config.compaction?.maxCompactionLagMs ?? Infinity);
    const old = now - (active.rollClockStart ?? now) >= rollMs;
    const offsetsOverflow = Number(this.logEndOffset - active.baseOffset) + lastOffsetDelta > MAX_RELATIVE_OFFSET;
    if (full || old || offsetsOverflow) this.roll();
  }

  /** Starts a new active segment at the log-end offset; the old one is synced, then indexed, in the background. */
  roll(): void {
    const previous = this.#active;
    const offset = this.logEndOffset;
    const next = Segment.create(this.#segmentDeps, this.dir, offset);
    if (this.#formatVersion >= TRANSACTIONAL_FORMAT_VERSION) next.txnIndex = SegmentTxnIndex.inMemory(next.txnIndexPath);
    this.#segments.push(next);
    this.#awaitingIndexes.add(previous);
    // The state now covers exactly the offsets below the new segment: a crash after this roll rebuilds
    // from this snapshot plus the new segment.
    const data = this.#snapshotData(offset);
    this.#pendingSnapshot = data === null ? null : { offset, data };
    this.flush().catch((err: unknown) => {
      this.#deps.logger.error({ partition: `${this.id.topic}-${this.id.partition}`, err: String(err) }, 'flushing a rolled segment failed');
    });
  }

  /**
   * Reads whole batches starting with the one that holds `offset`, up to `maxBytes` (at least one batch
   * when `minOneBatch`, KIP-74). An offset below the log start or above the log end is out of range;
   * the log-end offset itself reads as empty. With `endOffset` (a read_committed fetch: the last
   * stable offset), only batches that end before it are read: a read from `endOffset` on is empty,
   * and KIP-74's first batch is one below it.
   */
  read(offset: bigint, maxBytes: number, minOneBatch: boolean, endOffset?: bigint): LogRead {
    if (this.#offline !== null) return { kind: 'offline', reason: this.#offline };
    if (offset < this.logStartOffset || offset > this.logEndOffset) return { kind: 'out-of-range' };
    if (endOffset !== undefined && offset >= endOffset) return { kind: 'records', records: EMPTY };
    try {
      const read = this.#read(offset, maxBytes, minOneBatch);
      return endOffset === undefined || read.kind !== 'records' ? read : { kind: 'records', records: batchesBefore(read.records, endOffset) };
    } catch (err) {
      // An evicted segment reopened into EMFILE, or a read error: this read fails, the log does not.
      const code = ioErrorCode(err);
      if (code === undefined) throw err;
      this.#deps.onIoError?.(err, 'read', `${this.id.topic}-${this.id.partition}`);
      return { kind: 'unavailable', reason: `${code}: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  /**
   * {@link read}, with sealed batches opened: the batches as their producers sent them, what Fetch
   * serves. A batch that fails authentication is never served: the read ends before it (`corrupt` when
   * it is the first). Keys that cannot be had answer `key-unavailable`, or `key-destroyed` after
   * crypto-shredding.
   */
  async readRecords(offset: bigint, maxBytes: number, minOneBatch: boolean, endOffset?: bigint): Promise<LogRead> {
    const read = this.read(offset, maxBytes, minOneBatch, endOffset);
    // A partition below format version 2 never held a sealed batch: nothing to look for.
    if (read.kind !== 'records' || this.#formatVersion < SEALED_FORMAT_VERSION) return read;
    return this.#unsealRead(read.records);
  }

  async #unsealRead(stored: Buffer): Promise<LogRead> {
    const ids = new Set<number>();
    for (let at = 0; at < stored.length; at += LOG_OVERHEAD + stored.readInt32BE(at + BatchOffsets.batchLength)) {
      if (isSealed(stored, at)) ids.add(sealedDekId(stored, at));
    }
    if (ids.size === 0) return { kind: 'records', records: stored };
    const keys = this.#deps.keys;
    if (keys === undefined) return { kind: 'key-unavailable', reason: 'the broker has no key provider: sealed batches cannot be read' };
    // One key at a time, in the order the batches need them: a key that cannot be had ends the read
    // before the first batch sealed with it (as a batch failing authentication does), so the batches
    // before it are served and only a read that starts there fails.
    const opened = new Map<number, KeyObject>();
    let fault: unknown = null;
    for (const id of ids) {
      try {
        opened.set(id, await keys.openingKey(id));
      } catch (err) {
        fault = err;
        break;
      }
    }
    let opening: { buffer: Buffer; unsealed: Unsealed };
    try {
      // In place: the batches are written over the entries that held them (worker threads open large reads).
      opening = await (this.#deps.unsealPool?.unseal(stored, opened, this.#place) ?? { buffer: stored, unsealed: unsealEntriesInPlace(stored, opened, this.#place) });
    } catch (err) {
      return { kind: 'unavailable', reason: err instanceof Error ? err.message : String(err) };
    }
    const { buffer, unsealed } = opening;
    const records = buffer.subarray(0, unsealed.length);
    const stop = unsealed.stop;
    if (stop === null || records.length > 0) {
      if (stop?.kind === 'forged') this.#reportForged(stop.baseOffset, stop.reason);
      return { kind: 'records', records };
    }
    this.#deps.release?.(buffer);
    if (stop.kind === 'no-key') return keyFaultRead(fault ?? new KeyFault('missing', `data key ${stop.id} cannot be had`));
    this.#reportForged(stop.baseOffset, stop.reason);
    return { kind: 'corrupt', reason: stop.reason };
  }

  #reportForged(baseOffset: bigint, reason: string): void {
    this.#deps.logger.error({ partition: `${this.id.topic}-${this.id.partition}`, offset: baseOffset.toString(), reason }, 'refused to serve a sealed record batch');
  }

  #read(offset: bigint, maxBytes: number, minOneBatch: boolean): LogRead {
    for (let i = this.#indexOfSegmentFor(offset); i < this.#segments.length; i++) {
      const segment = this.#segments[i] as Segment;
      const position = segment.positionOf(offset);
      // A segment can end before `offset` (a gap after a recovered torn tail): continue with the next.
      if (position === null) continue;
      const read = segment.read(position, maxBytes, minOneBatch);
      if (read.corrupt !== null) {
        this.#deps.logger.error(
          { partition: `${this.id.topic}-${this.id.partition}`, offset: offset.toString(), segment: segment.baseOffset.toString(), ...read.corrupt },
          'refused to serve a corrupt record batch',
        );
        return { kind: 'corrupt', reason: read.corrupt.reason };
      }
      const reachedEnd = position + read.records.length === segment.size;
      if (!reachedEnd || read.records.length >= maxBytes || this.#formatVersion < COMPACTED_FORMAT_VERSION) return { kind: 'records', records: read.records };
      return { kind: 'records', records: this.#readOn(i + 1, read.records, maxBytes) };
    }
    return { kind: 'records', records: Buffer.alloc(0) };
  }

  /**
   * A read that reached the end of a compacted segment goes on into the next ones, as far as maxBytes
   * allows. Cleaned segments are small and may end in batches without records (a producer's last batch,
   * kept for its sequence): a response of only those makes KafkaJS take the partition for read to its
   * end and skip it. A batch after a corrupt one is never reached: the read stops before it.
   */
  #readOn(next: number, first: Buffer, maxBytes: number): Buffer {
    const parts = [first];
    let total = first.length;
    for (let i = next; i < this.#segments.length && total < maxBytes; i++) {
      const segment = this.#segments[i] as Segment;
      const read = segment.read(0, maxBytes - total, false);
      if (read.records.length > 0) parts.push(read.records);
      total += read.records.length;
      if (read.corrupt !== null || read.records.length < segment.size) break;
    }
    if (parts.length === 1) return first;
    const joined = this.#deps.allocate?.(total) ?? Buffer.allocUnsafe(total);
    let at = 0;
    for (const part of parts) {
      at += part.copy(joined, at);
      this.#deps.release?.(part);
    }
    return joined;
  }

  /**
   * Where the data of `offset` starts: the batch that holds it, or the end of the log for the log-end
   * offset (where the next append will land). Reads at most the batch headers after one sparse index
   * entry, and nothing at all for the log-end offset, where a caught-up consumer waits.
   */
  locate(offset: bigint): LogPosition | 'out-of-range' | 'offline' {
    if (this.#offline !== null) return 'offline';
    if (offset < this.logStartOffset || offset > this.logEndOffset) return 'out-of-range';
    for (let i = this.#indexOfSegmentFor(offset); i < this.#segments.length; i++) {
      const segment = this.#segments[i] as Segment;
      const position = segment.positionOf(offset);
      if (position !== null) return { segmentBase: segment.baseOffset, position };
    }
    return { segmentBase: this.#active.baseOffset, position: this.#active.size };
  }

  /**
   * Bytes of the log from `from` to its end, counted up to `atMost`, without reading any data: what a
   * waiting fetch checks after each append (Kafka's DelayedFetch compares log positions the same way).
   * Usually `from` is in the active segment and this is one subtraction. A position whose segment
   * retention has deleted, or an offline log, counts as `atMost`: the fetch must answer now (with the
   * error its read will meet) rather than wait. With `stableOnly` (a read_committed fetch), only the
   * bytes below the last stable offset count: a marker that moves it wakes the fetch as an append does.
   */
  bytesAfter(from: LogPosition, atMost: number, stableOnly = false): number {
    if (atMost <= 0) return 0;
    if (this.#offline !== null || from.segmentBase < this.logStartOffset) return atMost;
    const end = stableOnly ? this.#stableEnd() : null;
    let bytes = 0;
    let i = end === null ? this.#segments.length - 1 : this.#indexOfSegmentFor(end.segmentBase);
    for (; i >= 0 && bytes < atMost; i--) {
      const segment = this.#segments[i] as Segment;
      const stop = end !== null && segment.baseOffset === end.segmentBase ? end.position : segment.size;
      if (segment.baseOffset > from.segmentBase) {
        bytes += stop;
        continue;
      }
      if (segment.baseOffset === from.segmentBase) bytes += Math.max(0, stop - from.position);
      break;
    }
    return Math.min(bytes, atMost);
  }

  /**
   * Where the data at the last stable offset starts; null when it is the log end. Found once per value
   * of the last stable offset (it stays put while a transaction is ongoing), not at every append.
   */
  #stableEnd(): LogPosition | null {
    const stable = this.lastStableOffset;
    if (stable >= this.logEndOffset) return null;
    if (this.#stablePosition?.offset !== stable) {
      const position = this.locate(stable);
      if (typeof position === 'string') return { segmentBase: this.logStartOffset, position: 0 };
      this.#stablePosition = { offset: stable, position };
    }
    return this.#stablePosition.position;
  }

  #indexOfSegmentFor(offset: bigint): number {
    let lo = 0;
    let hi = this.#segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((this.#segments[mid] as Segment).baseOffset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * ListOffsets by timestamp: the first record whose timestamp is ≥ `timestamp` (its offset and own
   * timestamp), or null when every record is older. Records are decoded only in the one batch found.
   */
  async offsetForTimestamp(timestamp: number): Promise<TimestampedOffset | null> {
    for (const segment of this.#segments) {
      const position = segment.positionOfTimestamp(timestamp);
      if (position === null) continue;
      const read = segment.read(position, 1, true);
      if (read.corrupt !== null || read.records.length === 0) return null;
      const batch = await this.#openForSearch(read.records);
      const search = () => firstRecordAtOrAfter(batch, BigInt(timestamp), MAX_TIMESTAMP_SEARCH_BYTES);
      const found = await (this.#deps.timestampSearches?.run(search) ?? search());
      if (found === 'too-large') {
        // The batch's first offset and its largest timestamp, which is at or after the one asked for.
        return { offset: batch.readBigInt64BE(BatchOffsets.baseOffset), timestamp: batch.readBigInt64BE(BatchOffsets.maxTimestamp) };
      }
      if (found !== 'none') return found;
    }
    return null;
  }

  /**
   * A batch read for a search by timestamp, opened when sealed. A key that cannot be had rejects as an
   * I/O error would (code `EKEYUNAVAILABLE`): the search is retriable, and the partition stays online.
   */
  async #openForSearch(stored: Buffer): Promise<Buffer> {
    if (!isSealed(stored)) return stored;
    const opened = await this.#unsealRead(stored.subarray(0, LOG_OVERHEAD + stored.readInt32BE(BatchOffsets.batchLength)));
    if (opened.kind === 'records') return opened.records;
    throw Object.assign(new Error(`a sealed batch cannot be searched: ${'reason' in opened ? opened.reason : opened.kind}`), { code: 'EKEYUNAVAILABLE' });
  }

  /** ListOffsets MAX_TIMESTAMP (KIP-734): the record with the largest timestamp, or null when empty. */
  async offsetOfMaxTimestamp(): Promise<TimestampedOffset | null> {
    const max = this.#segments.reduce((m, s) => Math.max(m, s.maxTimestamp), -1);
    return max < 0 ? null : this.offsetForTimestamp(max);
  }

  /** Makes everything appended so far durable (group commit calls this), then indexes rolled segments. */
  async flush(): Promise<void> {
    const rolled = [...this.#awaitingIndexes];
    const snapshot = this.#pendingSnapshot;
    this.#pendingSnapshot = null;
    try {
      await Promise.all(this.#segments.map((s) => s.flush()));
    } catch (err) {
      // Out of descriptors is not a failed fsync: nothing was synced and nothing lost, so the partition
      // stays online and the caller may retry. (Unsynced files stay open, so this is not expected.)
      if (this.#offline === null && !isTransientIoError(err)) {
        const code = (err as { code?: unknown } | null)?.code;
        this.#offline = `fsync failed (${typeof code === 'string' ? code : String(err)})`;
        this.#deps.logger.error(
          { partition: `${this.id.topic}-${this.id.partition}`, reason: this.#offline },
          'partition taken offline: its data may not be on disk; restart the broker to recover it from the log',
        );
      }
      throw err;
    }
    for (const segment of rolled) {
      if (!this.#awaitingIndexes.delete(segment) || !this.#segments.includes(segment)) continue;
      this.#writeIndexes(segment);
    }
    // Once closed (or deleted), the directory may be gone or renamed; a close writes its own snapshot.
    if (snapshot !== null && !this.#closed) this.#writeSnapshot(snapshot.offset, snapshot.data);
  }

  /**
   * Index files are an optimisation: failing to write one (a full disk) must not fail the acks=all
   * sync of data that is already durable, nor stop a close; the next open rebuilds it from the log.
   */
  #writeIndexes(segment: Segment): void {
    try {
      segment.writeIndexes();
      // The aborted transactions too, once the data is durable. While the producer state waits for
      // keys the active segment's are not known: its file is left as it is, and the next start rebuilds it.
      if (!this.#producersDeferred) segment.txnIndex?.persist(this.#deps.fs, segment.nextOffset, segment !== this.#active);
    } catch (err) {
      this.#deps.logger.warn(
        { partition: `${this.id.topic}-${this.id.partition}`, segment: segment.baseOffset.toString(), err: String(err) },
        'could not write the index files of a segment: they will be rebuilt from the log at the next start',
      );
    }
  }

  get dirty(): boolean {
    return this.#active.dirty || this.#awaitingIndexes.size > 0;
  }

  /** Deletes whole segments past retention.ms / retention.bytes, never the active one. Returns how many. */
  async enforceRetention(): Promise<number> {
    const now = this.#deps.clock();
    this.#producers.removeExpired(now - (this.#deps.producerIdExpirationMs ?? DEFAULT_PRODUCER_ID_EXPIRATION_MS));
    const config = this.#config();
    // cleanup.policy=compact alone keeps every segment: the cleaner decides what goes, key by key.
    const doomed = config.deleteRetention === false ? 0 : segmentsToDelete(this.#segments, config, now);
    if (doomed === 0) return 0;
    const removed = this.#segments.splice(0, doomed);
    this.#stablePosition = null;
    this.#producers.removeBefore(this.logStartOffset);
    for (const segment of removed) {
      this.#awaitingIndexes.delete(segment);
      await segment.delete();
    }
    this.#deps.fs.fsyncDir(this.dir);
    this.#deps.logger.info(
      { partition: `${this.id.topic}-${this.id.partition}`, segments: doomed, logStartOffset: this.logStartOffset.toString() },
      'retention deleted old segments',
    );
    return doomed;
  }

  /** Flushes, writes every index (the active one too, for a fast reopen) and closes the files. */
  close(): Promise<void> {
    // A second call waits for the first: its caller may remove the directory once it resolves.
    this.#closing ??= this.#closed ? Promise.resolve() : this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    // Closed before the final flush: an append accepted during it would be closed unsynced, and its
    // acks=all sync would then find only closed segments and succeed without an fsync.
    this.#closed = true;
    await this.flush();
    for (const segment of this.#segments) {
      if (!segment.isEmpty) this.#writeIndexes(segment);
      await segment.close();
    }
    // A clean restart then loads the producer state without reading any batch.
    const end = this.logEndOffset;
    const data = this.#snapshotOffset === end ? null : this.#snapshotData(end);
    if (data !== null) this.#writeSnapshot(end, data);
    this.#deps.keys?.forget();
  }

  /**
   * Closes the files and removes the partition directory (topic deletion). `dir` is where the directory
   * is now: the log manager renames it first, and by the time the files are closed `this.dir` may
   * belong to a topic re-created with the same name, which must be left alone.
   */
  async delete(dir: string = this.dir): Promise<void> {
    this.#closed = true;
    // Index and snapshot writes queued by a roll would otherwise land in `this.dir` after the rename.
    this.#awaitingIndexes.clear();
    this.#pendingSnapshot = null;
    // Every segment is marked closed before any await: none may be reopened by its old path.
    await Promise.all(this.#segments.map((segment) => segment.close()));
    this.#deps.keys?.forget();
    this.#deps.fs.rmSync(dir);
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * The whole stored entries of `records` (clear or sealed: both keep the base offset and lastOffsetDelta
 * in the clear) that end before `endOffset`. A read_committed read stops at the last stable offset, which
 * is where a batch starts (a transaction's first batch) or the log end, so no batch straddles it.
 */
function batchesBefore(records: Buffer, endOffset: bigint): Buffer {
  let at = 0;
  while (at + BatchOffsets.lastOffsetDelta + 4 <= records.length) {
    const last = records.readBigInt64BE(at + BatchOffsets.baseOffset) + BigInt(records.readInt32BE(at + BatchOffsets.lastOffsetDelta));
    if (last >= endOffset) break;
    at += LOG_OVERHEAD + records.readInt32BE(at + BatchOffsets.batchLength);
  }
  return at >= records.length ? records : records.subarray(0, at);
}

/** The buffer appends seal into (the commit step is synchronous, so one serves every partition). */
let scratch = Buffer.alloc(0);

function sealScratch(size: number): Buffer {
  // Up to the largest batch a producer can send; rarer, larger ones get a buffer of their own.
  if (scratch.length < size && size <= 16 * 1024 * 1024) scratch = Buffer.allocUnsafeSlow(2 ** Math.ceil(Math.log2(size)));
  return scratch;
}

/** What `partition.json` says of the partition's format. */
interface PartitionMeta {
  readonly formatVersion: number;
  /** Version 4: the first offset that may belong to a transaction (0 when the file does not say: every segment needs its index). */
  readonly transactionalFrom: bigint;
}

/** The format a `partition.json` gives, when this build reads it; else a STORAGE_ERROR. */
function checkFormat(meta: Buffer, path: string): PartitionMeta {
  let parsed: { formatVersion?: unknown; transactionalFrom?: unknown };
  try {
    parsed = JSON.parse(meta.toString('utf8')) as { formatVersion?: unknown; transactionalFrom?: unknown };
  } catch {
    throw new ParapetError('STORAGE_ERROR', `${path} is not valid JSON`);
  }
  const version = parsed.formatVersion;
  if (typeof version !== 'number' || !READABLE_FORMAT_VERSIONS.includes(version)) {
    throw new ParapetError('STORAGE_ERROR', `${path}: log format version ${String(version)} is not supported (this build reads versions ${READABLE_FORMAT_VERSIONS.join(', ')})`);
  }
  const from = parsed.transactionalFrom;
  return { formatVersion: version, transactionalFrom: typeof from === 'string' && /^\d{1,19}$/.test(from) ? BigInt(from) : 0n };
}

/** A read refused for want of a key: destroyed keys are gone for good, anything else may pass. */
function keyFaultRead(err: unknown): Exclude<LogRead, { kind: 'records' }> {
  if (!(err instanceof KeyFault)) throw err;
  if (err.kind === 'destroyed') return { kind: 'key-destroyed', reason: err.message };
  if (err.kind === 'tampered') return { kind: 'corrupt', reason: err.message };
  return { kind: 'key-unavailable', reason: err.message };
}
