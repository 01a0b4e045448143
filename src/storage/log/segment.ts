import { crc32c } from '@node-rs/crc32';
import { BATCH_HEADER_SIZE, BatchOffsets, CRC_START, LOG_OVERHEAD } from '../../records/batch.js';
import type { Logger } from '../../logger.js';
import { INDEX_INTERVAL_BYTES, segmentPaths, isStoredEntryMagic } from './format.js';
import type { LogFs } from './log-fs.js';
import type { LogFile, OpenFiles } from './open-files.js';
import { scanSegment, type ScannedBatch } from './scan.js';
import { SparseIndex } from './sparse-index.js';
import type { SegmentTxnIndex } from './txn-index.js';

export interface SegmentDeps {
  readonly fs: LogFs;
  /** The bounded cache of open descriptors the segment's file lives in (see open-files.ts). */
  readonly files: OpenFiles;
  readonly logger: Logger;
  /** Where log lines about this segment say it belongs (`topic-partition`). */
  readonly label: string;
  /** Buffers for reads that are sent to consumers (a pool the connection gives them back to). */
  readonly allocate?: (size: number) => Buffer;
}

/** A batch about to be appended: its bytes (offsets already assigned) and what the index needs. */
export interface AppendedBatch {
  readonly bytes: Buffer;
  readonly baseOffset: bigint;
  readonly lastOffset: bigint;
  readonly maxTimestamp: number;
}

/** Whole batches read from a segment; `corrupt` says the read stopped at a batch that must not be served. */
export interface SegmentRead {
  readonly records: Buffer;
  readonly corrupt: { position: number; reason: string } | null;
}

/**
 * One segment: a `.log` file of record batches named by its base offset, with a sparse offset index and
 * a time index kept in memory and written beside it when the segment rolls or the log closes. Its file
 * descriptor lives in the log's {@link OpenFiles} cache: closed while the segment is idle and synced,
 * reopened on the next use.
 */
export class Segment {
  readonly baseOffset: bigint;
  readonly #deps: SegmentDeps;
  readonly #paths: ReturnType<typeof segmentPaths>;
  readonly #file: LogFile;
  #index: SparseIndex;
  #size = 0;
  /**
   * Bytes from the start whose batches passed a CRC check in this process: at append (the produce path
   * validates every batch), in the recovery scan, or at their first read. Reads check only past this
   * mark, so a batch is verified once, not on every fetch (15% of consume throughput when repeated).
   */
  #verifiedUpTo = 0;
  #nextOffset: bigint;
  #maxTimestamp = -1;
  #bytesSinceIndexEntry = 0;
  /** When the segment.ms clock started: the first append, or the first batch's timestamp on reopen. */
  #rollClockStart: number | null = null;
  /**
   * Batches found corrupt at rest, by position: reads stop there instead of serving them. `lastOffset`
   * comes from the good batch after it when recovery found it, else from its header (a payload CRC
   * failure leaves the header usable): a lookup of a later offset skips the batch.
   */
  readonly #corrupt = new Map<number, { reason: string; lastOffset: bigint }>();
  #dirty = false;
  /**
   * The last fsync started: a flush that finds nothing new to sync waits for it and shares its outcome,
   * because the data written before that flush may be exactly what the fsync in progress covers.
   */
  #inflight: Promise<void> = Promise.resolve();
  #closed = false;
  /** A segment rewritten by compaction: its offsets have gaps (see scan.ts). */
  readonly #allowGaps: boolean;
  /**
   * Its aborted-transaction index (txn-index.ts), set by the partition log on a partition that may hold
   * transactions (format version 4); null elsewhere, and while the producer state waits for keys.
   */
  #txnIndex: SegmentTxnIndex | null = null;

  private constructor(deps: SegmentDeps, dir: string, baseOffset: bigint, file: LogFile, allowGaps = false) {
    this.#deps = deps;
    this.#allowGaps = allowGaps;
    this.baseOffset = baseOffset;
    this.#paths = segmentPaths(dir, baseOffset);
    this.#file = file;
    this.#nextOffset = baseOffset;
    this.#index = new SparseIndex();
  }

  /** Creates an empty segment file and makes its directory entry durable. */
  static create(deps: SegmentDeps, dir: string, baseOffset: bigint): Segment {
    const paths = segmentPaths(dir, baseOffset);
    // 'w+' rather than 'wx+': an empty leftover from a crash between create and first append is reused.
    const file = deps.files.open(paths.log, 'w+', 0o600);
    try {
      deps.fs.fsyncDir(dir);
    } catch (err) {
      file.close();
      throw err;
    }
    return new Segment(deps, dir, baseOffset, file);
  }

  /**
   * Opens an existing segment. The active segment (`recover`) is always checked batch by batch with
   * CRCs and a torn tail is truncated; an older one loads its index files, and is recovered the same
   * way when they are missing or do not match the log. `allowGaps`: the segment may have been rewritten
   * by compaction (a rolled segment of a partition at format version 3).
   */
  static open(deps: SegmentDeps, dir: string, baseOffset: bigint, recover: boolean, allowGaps = false): Segment {
    const paths = segmentPaths(dir, baseOffset);
    const file = deps.files.open(paths.log, 'r+');
    const segment = new Segment(deps, dir, baseOffset, file, allowGaps);
    try {
      const size = file.use((fd) => deps.fs.fstatSync(fd).size);
      if (!recover && segment.#loadIndexes(size)) return segment;
      // Index files of a recovered segment describe an older state: they are rewritten when it rolls.
      for (const path of [paths.index, paths.timeIndex]) if (deps.fs.existsSync(path)) deps.fs.unlinkSync(path);
      segment.#recover(size, recover ? 'active segment' : 'missing or damaged index');
      return segment;
    } catch (err) {
      file.close();
      throw err;
    }
  }

  /** The segment's unsynced state, mirrored to its file so that the cache keeps it open until synced. */
  #setDirty(dirty: boolean): void {
    this.#dirty = dirty;
    if (dirty) this.#file.unsynced = true;
  }

  /** Reads `length` bytes at `position` into the start of `buf`; returns how many were read. */
  #readAt(buf: Buffer, length: number, position: number): number {
    return this.#file.use((fd) => this.#deps.fs.readSync(fd, buf, 0, length, position));
  }

  /** True while the file's descriptor is open (tests and diagnostics). */
  get fileOpen(): boolean {
    return this.#file.isOpen;
  }

  get size(): number {
    return this.#size;
  }

  /** The `.log` file's path (a backup capture hard-links it). */
  get logPath(): string {
    return this.#paths.log;
  }

  /** Where its aborted-transaction index is written. */
  get txnIndexPath(): string {
    return this.#paths.txnIndex;
  }

  get txnIndex(): SegmentTxnIndex | null {
    return this.#txnIndex;
  }

  set txnIndex(index: SegmentTxnIndex | null) {
    this.#txnIndex = index;
  }
  /** One past the last offset in this segment (the base offset when empty). */
  get nextOffset(): bigint {
    return this.#nextOffset;
  }
  get maxTimestamp(): number {
    return this.#maxTimestamp;
  }
  get isEmpty(): boolean {
    return this.#size === 0;
  }
  get rollClockStart(): number | null {
    return this.#rollClockStart;
  }
  get dirty(): boolean {
    return this.#dirty;
  }

  #loadIndexes(size: number): boolean {
    const { fs } = this.#deps;
    if (size === 0 || !fs.existsSync(this.#paths.index) || !fs.existsSync(this.#paths.timeIndex)) return false;
    const index = SparseIndex.decode(fs.readFileSync(this.#paths.index), fs.readFileSync(this.#paths.timeIndex), size, 0x7fffffff);
    if (index === null || index.positions[0] !== 0) return false;
    // The next offset and max timestamp come from the last batch, found from the last index entry.
    let last: ScannedBatch | null = null;
    let position = index.positions.at(-1) ?? 0;
    // The last entry must name the batch that starts there: an entry that decodes well but points at
    // the wrong batch (or inside one) would make reads skip data, so the index is rebuilt instead.
    const expectedBase = this.baseOffset + BigInt(index.relOffsets.at(-1) ?? 0);
    const header = Buffer.allocUnsafe(BATCH_HEADER_SIZE);
    while (position < size) {
      if (this.#file.use((fd) => fs.readSync(fd, header, 0, BATCH_HEADER_SIZE, position)) < BATCH_HEADER_SIZE) return false;
      const batchSize = LOG_OVERHEAD + header.readInt32BE(BatchOffsets.batchLength);
      if (batchSize < BATCH_HEADER_SIZE || position + batchSize > size || !isStoredEntryMagic(header.readInt8(BatchOffsets.magic))) return false;
      const baseOffset = header.readBigInt64BE(BatchOffsets.baseOffset);
      if (last === null && baseOffset !== expectedBase) return false;
      last = {
        position,
        size: batchSize,
        baseOffset,
        lastOffset: baseOffset + BigInt(header.readInt32BE(BatchOffsets.lastOffsetDelta)),
        maxTimestamp: Number(header.readBigInt64BE(BatchOffsets.maxTimestamp)),
      };
      position += batchSize;
    }
    if (last === null) return false;
    this.#index = index;
    this.#size = size;
    this.#nextOffset = last.lastOffset + 1n;
    this.#maxTimestamp = Math.max(index.timestamps.at(-1) ?? -1, last.maxTimestamp);
    this.#rollClockStart = this.#maxTimestamp;
    return true;
  }

  #recover(size: number, why: string): void {
    const { fs, logger, label } = this.#deps;
    const result = this.#file.use((fd) =>
      scanSegment(fs, fd, size, this.baseOffset, {
        verifyCrc: true,
        allowGaps: this.#allowGaps,
        onBatch: (batch) => {
          this.#track(batch);
        },
      }),
    );
    for (const bad of result.corrupt) {
      this.#corrupt.set(bad.position, { reason: bad.reason, lastOffset: bad.lastOffset });
      logger.error(
        {
          partition: label,
          segment: this.baseOffset.toString(),
          position: bad.position,
          bytes: bad.size,
          offsets: `${bad.firstOffset}..${bad.lastOffset}`,
          reason: bad.reason,
        },
        'corrupt record batch in the log: it will not be served',
      );
    }
    if (result.tornTail !== null) {
      this.#file.use((fd) => {
        fs.ftruncateSync(fd, result.validBytes);
      });
      const details = { partition: label, segment: this.baseOffset.toString(), truncatedAt: result.validBytes, droppedBytes: size - result.validBytes, reason: result.tornTail };
      if (result.tailKind === 'unreadable') {
        logger.error(details, 'truncated the log at an unreadable batch header: the bytes after it cannot be located and are lost');
      } else {
        logger.warn(details, 'truncated a torn write at the end of the log (it was never acknowledged with acks=all)');
      }
    }
    // A crashed process may have written batches it never synced: they are served from now on, and a
    // producer's retry of one is answered as a duplicate (idempotence) without another write, so they
    // are made durable here, before anything relies on them. Cheap when nothing is dirty.
    if (result.validBytes > 0 || result.tornTail !== null) {
      this.#file.use((fd) => {
        fs.fsyncSync(fd);
      });
    }
    this.#size = result.validBytes;
    this.#verifiedUpTo = result.validBytes;
    logger.debug({ partition: label, segment: this.baseOffset.toString(), bytes: this.#size, why }, 'segment recovered');
  }

  /**
   * Walks the segment's batches in order, handing each one's bytes to `onBatch` (a view of the whole
   * batch, valid during the call). Reads the file in large sequential chunks and checks every CRC, so that a damaged header
   * is skipped rather than believed; a damaged length or magic ends the walk. Read-only: it repairs
   * nothing (recovery does).
   */
  scanBatches(onBatch: (batch: ScannedBatch, bytes: Buffer) => void): void {
    this.#file.use((fd) =>
      scanSegment(this.#deps.fs, fd, this.#size, this.baseOffset, {
        verifyCrc: true,
        allowGaps: this.#allowGaps,
        onBatch: (batch, bytes) => {
          if (!this.#corrupt.has(batch.position)) onBatch(batch, bytes);
        },
      }),
    );
  }

  /** Updates next offset, max timestamp and the sparse indexes for a batch at `position`. */
  #track(batch: ScannedBatch): void {
    const rel = Number(batch.baseOffset - this.baseOffset);
    if (this.#index.positions.length === 0 || this.#bytesSinceIndexEntry >= INDEX_INTERVAL_BYTES) {
      this.#index.addOffset(rel, batch.position);
      this.#bytesSinceIndexEntry = 0;
    }
    this.#bytesSinceIndexEntry += batch.size;
    if (batch.maxTimestamp > this.#maxTimestamp) this.#maxTimestamp = batch.maxTimestamp;
    this.#index.addTime(this.#maxTimestamp, rel);
    this.#nextOffset = batch.lastOffset + 1n;
    this.#rollClockStart ??= batch.maxTimestamp;
  }

  /**
   * Appends one batch at the end of the file. On a failed or short write (ENOSPC, EIO) the file is cut
   * back to its previous size, so the log never holds a partial batch that was not acknowledged.
   */
  append(batch: AppendedBatch, nowMs: number): void {
    const { fs } = this.#deps;
    const position = this.#size;
    // Reopening an evicted file can fail (EMFILE) before anything is written: nothing to undo then.
    this.#file.use((fd) => {
      try {
        const written = fs.writeSync(fd, batch.bytes, 0, batch.bytes.length, position);
        if (written !== batch.bytes.length) throw Object.assign(new Error(`short write: ${written} of ${batch.bytes.length} bytes`), { code: 'EIO' });
      } catch (err) {
        try {
          fs.ftruncateSync(fd, position);
        } catch {
          // The write already failed; the truncation is best effort and the tail check at start-up covers it.
        }
        throw err;
      }
    });
    this.#rollClockStart ??= nowMs;
    if (this.#verifiedUpTo === position) this.#verifiedUpTo += batch.bytes.length;
    this.#size += batch.bytes.length;
    this.#setDirty(true);
    this.#track({ position, size: batch.bytes.length, baseOffset: batch.baseOffset, lastOffset: batch.lastOffset, maxTimestamp: batch.maxTimestamp });
  }

  /**
   * Byte position of the first batch containing an offset ≥ `offset`, or null when the segment has none.
   * Starts at the sparse index entry at or below the offset and reads batch headers from there.
   */
  positionOf(offset: bigint): number | null {
    if (offset >= this.#nextOffset) return null;
    const rel = offset <= this.baseOffset ? 0 : Number(offset - this.baseOffset);
    let position = this.#index.positionFor(rel);
    const header = Buffer.allocUnsafe(BATCH_HEADER_SIZE);
    while (position < this.#size) {
      this.#readAt(header, BATCH_HEADER_SIZE, position);
      // A damaged header cannot lead to the next batch: stop on it, and `read` reports it as corrupt.
      if (this.#unreadableHeader(header, position) !== undefined) return position;
      const last = this.#corrupt.get(position)?.lastOffset ?? lastOffsetIn(header, 0);
      if (last >= offset) return position;
      position += LOG_OVERHEAD + header.readInt32BE(BatchOffsets.batchLength);
    }
    return null;
  }

  /**
   * Why the header at `position` (at `at` in `buf`) cannot start a batch, or null. The length and magic
   * are outside the CRC: rot in them must be caught here, or a walk over headers would stand still or
   * go backwards (a length of −12 loops forever) and a read would serve bytes that are no batch.
   */
  #unreadableHeader(buf: Buffer, position: number, at = 0): string | undefined {
    const size = LOG_OVERHEAD + buf.readInt32BE(at + BatchOffsets.batchLength);
    const magic = buf.readInt8(at + BatchOffsets.magic);
    if (size < BATCH_HEADER_SIZE || position + size > this.#size || !isStoredEntryMagic(magic)) {
      return `unreadable batch header (length ${size - LOG_OVERHEAD}, magic ${magic})`;
    }
    return undefined;
  }

  /**
   * Reads whole batches from `position`, up to `maxBytes`; with `minOneBatch` the first batch is
   * returned whole even when it is larger (KIP-74). Every batch's CRC is checked before it is served:
   * the read stops before a batch that fails, and reports it when it is the first one.
   */
  read(position: number, maxBytes: number, minOneBatch: boolean): SegmentRead {
    const available = this.#size - position;
    if (available <= 0) return { records: EMPTY, corrupt: null };
    let length = Math.min(maxBytes, available);
    if (minOneBatch && length < available) {
      const prefix = Buffer.allocUnsafe(LOG_OVERHEAD);
      this.#readAt(prefix, LOG_OVERHEAD, position);
      // At least a header, so that a damaged length is reported rather than read as "too big to send".
      length = Math.min(available, Math.max(length, BATCH_HEADER_SIZE, LOG_OVERHEAD + prefix.readInt32BE(BatchOffsets.batchLength)));
    }
    if (length < BATCH_HEADER_SIZE) return { records: EMPTY, corrupt: null };
    const buf = this.#deps.allocate?.(length) ?? Buffer.allocUnsafe(length);
    const read = this.#readAt(buf, length, position);
    let at = 0;
    while (at + BATCH_HEADER_SIZE <= read) {
      const unreadable = this.#unreadableHeader(buf, position + at, at);
      const size = LOG_OVERHEAD + buf.readInt32BE(at + BatchOffsets.batchLength);
      if (unreadable === undefined && at + size > read) break;
      const knownBad = this.#corrupt.get(position + at)?.reason ?? unreadable;
      const verified = position + at + size <= this.#verifiedUpTo;
      const crcBad =
        knownBad === undefined && !verified && (crc32c(buf.subarray(at + CRC_START, at + size)) >>> 0) !== buf.readUInt32BE(at + BatchOffsets.crc);
      if (!crcBad && knownBad === undefined && position + at === this.#verifiedUpTo) this.#verifiedUpTo += size;
      if (knownBad !== undefined || crcBad) {
        const reason = knownBad ?? 'CRC-32C mismatch on read';
        if (crcBad) this.#corrupt.set(position + at, { reason, lastOffset: lastOffsetIn(buf, at) });
        return { records: buf.subarray(0, at), corrupt: at === 0 ? { position: position + at, reason } : null };
      }
      at += size;
    }
    return { records: buf.subarray(0, at), corrupt: null };
  }

  /** Position of the first batch whose max timestamp is ≥ `timestamp`, or null. */
  positionOfTimestamp(timestamp: number): number | null {
    if (this.#maxTimestamp < timestamp) return null;
    const startRel = this.#index.relOffsetForTimestamp(timestamp);
    let position = this.positionOf(this.baseOffset + BigInt(startRel)) ?? this.#size;
    const header = Buffer.allocUnsafe(BATCH_HEADER_SIZE);
    while (position < this.#size) {
      this.#readAt(header, BATCH_HEADER_SIZE, position);
      if (this.#unreadableHeader(header, position) !== undefined) return position;
      if (Number(header.readBigInt64BE(BatchOffsets.maxTimestamp)) >= timestamp) return position;
      position += LOG_OVERHEAD + header.readInt32BE(BatchOffsets.batchLength);
    }
    return null;
  }

  /** fdatasync of the log file: acks=all is answered only after this resolves. */
  async flush(): Promise<void> {
    if (this.#closed) return;
    if (!this.#dirty) {
      await this.#inflight;
      return;
    }
    this.#dirty = false;
    // Unsynced, the file cannot have been evicted: this takes the open descriptor, pinned until the fsync ends.
    const sync = this.#file
      .syncWith((fd) => this.#deps.fs.fdatasync(fd))
      .then(
        () => {
          if (!this.#dirty) this.#file.unsynced = false;
        },
        (err: unknown) => {
          this.#dirty = true;
          throw err;
        },
      );
    // Kept rejecting: a concurrent flush (the group commit while a roll's flush runs) must not report
    // success for data whose fsync failed. Once it has failed, `#dirty` makes the next flush sync again.
    this.#inflight = sync;
    await sync;
  }

  /** Writes the index files (after the log itself is durable: an index never points past synced data). */
  writeIndexes(): void {
    const { fs } = this.#deps;
    fs.writeFileDurably(this.#paths.index, this.#index.encodeOffsetIndex());
    fs.writeFileDurably(this.#paths.timeIndex, this.#index.encodeTimeIndex());
  }

  /** Closes the file once no fsync is using it (closing under a queued fsync could hit a reused descriptor). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Marked closed at once, so that nothing reopens the file by its path (the directory may have been
    // renamed for deletion and a new topic created at the old path); the descriptor itself closes when
    // the fsync in flight, which pins it, ends. Its failure was reported to the flush that started it.
    this.#file.close();
    await this.#inflight.catch(() => undefined);
  }

  /** Closes and removes the segment's files, its aborted-transaction index with them (retention). */
  async delete(): Promise<void> {
    await this.close();
    const { fs } = this.#deps;
    for (const path of [this.#paths.log, this.#paths.index, this.#paths.timeIndex, this.#paths.txnIndex]) {
      if (fs.existsSync(path)) fs.unlinkSync(path);
    }
  }
}

const EMPTY = Buffer.alloc(0);

function lastOffsetIn(buf: Buffer, at: number): bigint {
  return buf.readBigInt64BE(at + BatchOffsets.baseOffset) + BigInt(buf.readInt32BE(at + BatchOffsets.lastOffsetDelta));
}
