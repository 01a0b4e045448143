import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { ParapetError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { assignOffsets, BatchAttributes, BatchOffsets, LOG_OVERHEAD } from '../../records/batch.js';
import { firstRecordAtOrAfter } from '../../records/record-search.js';
import { LEADER_EPOCH, type LogPosition, type LogRead, type PartitionView, type TimestampedOffset } from '../log-store.js';
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
import type { OneAtATime } from './one-at-a-time.js';
import { segmentsToDelete } from './retention.js';
import { KeyFault } from '../crypto/kek-provider.js';
import type { PartitionKeys, SealingKey } from '../crypto/partition-keys.js';
import { isSealed, sealBatch, sealedDekId, SEALING_OVERHEAD, unsealBatch, type BatchPlace } from '../crypto/sealed-batch.js';
import { unsealEntriesInPlace, type Unsealed } from '../crypto/unseal-entries.js';
import type { UnsealPool } from '../crypto/unseal-pool.js';
import { isSealedSnapshot, sealedSnapshotDekId, sealSnapshot, unsealSnapshot } from '../crypto/sealed-snapshot.js';
import { Segment, type SegmentDeps } from './segment.js';

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
  /** The format version in `partition.json`: raised to {@link SEALED_FORMAT_VERSION} before the first sealed batch. */
  #formatVersion = LOG_FORMAT_VERSION;
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
    let formatVersion = LOG_FORMAT_VERSION;
    if (fs.existsSync(metaPath)) formatVersion = checkFormat(fs.readFileSync(metaPath), metaPath);
    else writePartitionMeta(fs, dir, id, formatVersion);
    for (const name of fs.readdirSync(dir)) {
      // A cleaned copy the cleaner had not swapped in when the process stopped: the original is intact.
      if (name.endsWith(CLEANED_SUFFIX)) fs.unlinkSync(join(dir, name));
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
    for (const offset of this.#snapshotOffsets().reverse()) {
      const path = join(this.dir, snapshotFileName(offset));
      if (offset > this.logEndOffset) {
        // The log lost data after the snapshot was written (truncated at an unreadable header): the
        // snapshot describes batches that are gone.
        fs.unlinkSync(path);
        continue;
      }
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
    for (const segment of this.#segments) {
      if (segment.nextOffset <= from) continue;
      segment.scanBatches((batch, stored) => {
        if (batch.baseOffset < from || this.#producersDeferred) return;
        let header = stored;
        if (isSealed(stored)) {
          if (keys === null) {
            this.#producersDeferred = true;
            return;
          }
          const opened = this.#unsealStoredEntry(segment, batch.position, keys);
          if (opened === null) return;
          header = opened;
        }
        scanned++;
        const producerId = header.readBigInt64BE(BatchOffsets.producerId);
        if (producerId < 0n || (header.readInt16BE(BatchOffsets.attributes) & BatchAttributes.control) !== 0) return;
        this.#producers.update(
          {
            producerId,
            producerEpoch: header.readInt16BE(BatchOffsets.producerEpoch),
            baseSequence: header.readInt32BE(BatchOffsets.baseSequence),
            lastOffsetDelta: Number(batch.lastOffset - batch.baseOffset),
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
    this.#producers.removeBefore(this.logStartOffset);
    if (this.#producers.producerCount > 0 || scanned > 0) {
      logger.debug(
        { partition: label, source, from: from.toString(), batchesScanned: scanned, producers: this.#producers.producerCount, ms: Math.round(performance.now() - started) },
        'producer state loaded',
      );
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
    try {
      this.#segments[i] = Segment.open(this.#segmentDeps, this.dir, old.baseOffset, false, true);
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
    if (seal !== undefined) {
      if (this.#formatVersion < SEALED_FORMAT_VERSION) this.#raiseFormatVersion();
      this.#sealKey = seal;
    }
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
      this.#producers.update({ producerId, producerEpoch, baseSequence, lastOffsetDelta: batch.lastOffsetDelta }, baseOffset, batch.maxTimestamp, now);
    }
    return baseOffset;
  }

  /** Records, durably and before any sealed batch is written, that this partition may hold them. */
  #raiseFormatVersion(): void {
    writePartitionMeta(this.#deps.fs, this.dir, this.id, SEALED_FORMAT_VERSION);
    this.#formatVersion = SEALED_FORMAT_VERSION;
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
    this.#segments.push(Segment.create(this.#segmentDeps, this.dir, offset));
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
   * the log-end offset itself reads as empty.
   */
  read(offset: bigint, maxBytes: number, minOneBatch: boolean): LogRead {
    if (this.#offline !== null) return { kind: 'offline', reason: this.#offline };
    if (offset < this.logStartOffset || offset > this.logEndOffset) return { kind: 'out-of-range' };
    try {
      return this.#read(offset, maxBytes, minOneBatch);
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
  async readRecords(offset: bigint, maxBytes: number, minOneBatch: boolean): Promise<LogRead> {
    const read = this.read(offset, maxBytes, minOneBatch);
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
   * error its read will meet) rather than wait.
   */
  bytesAfter(from: LogPosition, atMost: number): number {
    if (atMost <= 0) return 0;
    if (this.#offline !== null || from.segmentBase < this.logStartOffset) return atMost;
    let bytes = 0;
    for (let i = this.#segments.length - 1; i >= 0 && bytes < atMost; i--) {
      const segment = this.#segments[i] as Segment;
      if (segment.baseOffset > from.segmentBase) {
        bytes += segment.size;
        continue;
      }
      bytes += Math.max(0, segment.size - from.position);
      break;
    }
    return Math.min(bytes, atMost);
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

/** The buffer appends seal into (the commit step is synchronous, so one serves every partition). */
let scratch = Buffer.alloc(0);

function sealScratch(size: number): Buffer {
  // Up to the largest batch a producer can send; rarer, larger ones get a buffer of their own.
  if (scratch.length < size && size <= 16 * 1024 * 1024) scratch = Buffer.allocUnsafeSlow(2 ** Math.ceil(Math.log2(size)));
  return scratch;
}

/** The format version a `partition.json` gives, when this build reads it; else a STORAGE_ERROR. */
function checkFormat(meta: Buffer, path: string): number {
  let version: unknown;
  try {
    version = (JSON.parse(meta.toString('utf8')) as { formatVersion?: unknown }).formatVersion;
  } catch {
    throw new ParapetError('STORAGE_ERROR', `${path} is not valid JSON`);
  }
  if (typeof version !== 'number' || !READABLE_FORMAT_VERSIONS.includes(version)) {
    throw new ParapetError('STORAGE_ERROR', `${path}: log format version ${String(version)} is not supported (this build reads versions ${READABLE_FORMAT_VERSIONS.join(' and ')})`);
  }
  return version;
}

/** A read refused for want of a key: destroyed keys are gone for good, anything else may pass. */
function keyFaultRead(err: unknown): LogRead {
  if (!(err instanceof KeyFault)) throw err;
  if (err.kind === 'destroyed') return { kind: 'key-destroyed', reason: err.message };
  if (err.kind === 'tampered') return { kind: 'corrupt', reason: err.message };
  return { kind: 'key-unavailable', reason: err.message };
}
