import type { KeyObject } from 'node:crypto';
import type { Logger } from '../../logger.js';
import { BatchAttributes, BatchOffsets } from '../../records/batch.js';
import { RecordFault } from '../../records/faults.js';
import { KeyFault } from '../crypto/kek-provider.js';
import { isSealed, sealBatch, sealedDekId, unsealBatch } from '../crypto/sealed-batch.js';
import type { CompactionConfig } from '../log/log-config.js';
import type { LogFs } from '../log/log-fs.js';
import { TxnIndexDamage, type AbortedTxn } from '../log/txn-index.js';
import { filterBatch, forEachRecord, type KeyedRecord } from './batch-filter.js';
import { addPass, firstReadAt, readCheckpoint, writeCheckpoint, type CleanerCheckpoint } from './cleaner-checkpoint.js';
import { CleanedSegmentWriter } from './cleaned-segment-writer.js';
import { planCleaning, type CleaningReason } from './cleaning-plan.js';
import { CLEANED_SUFFIX, type CompactableLog, type RolledSegment } from './compactable-log.js';
import type { OffsetMap } from './offset-map.js';
import { segmentEntries, UncleanableSegment, type StoredEntry } from './segment-entries.js';

export interface PartitionCleanerDeps {
  readonly fs: LogFs;
  readonly logger: Logger;
  readonly clock: () => number;
  /** The broker's one offset map: its size is the cleaner's memory budget, whatever the number of keys. */
  readonly map: OffsetMap;
  /** Most bytes one batch may decompress to (a bomb is refused, and the partition left uncleaned). */
  readonly maxBatchBytes: number;
  /** Waits as long as the I/O rate limit asks after `bytes` were read or written; also yields the event loop. */
  readonly throttle: (bytes: number) => Promise<void>;
  /** True once the broker is stopping: the cleaning stops at the next batch, the originals untouched. */
  readonly stopping: () => boolean;
}

export interface CleaningStats {
  readonly reason: CleaningReason;
  readonly segments: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  readonly recordsRemoved: number;
  readonly keylessRemoved: number;
  readonly tombstonesRemoved: number;
  /** Records of aborted transactions (KIP-98): no read_committed consumer ever sees them. */
  readonly abortedRemoved: number;
  /** Where the next cleaning's dirty part starts: below the cleanable end when the offset map filled up. */
  readonly cleanedTo: bigint;
  readonly keys: number;
}

export type CleaningOutcome =
  | { readonly kind: 'idle' }
  | { readonly kind: 'cleaned'; readonly stats: CleaningStats }
  /** Stopped with nothing lost (the broker stops, retention deleted a segment meanwhile): tried again later. */
  | { readonly kind: 'interrupted'; readonly reason: string }
  /** The partition cannot be cleaned (a corrupt batch, a key that cannot be had): left as it is, and said. */
  | { readonly kind: 'refused'; readonly reason: string };

/** A sealed entry's batch, opened; or the batch itself. */
type Opened = { readonly batch: Buffer; readonly sealed: boolean };

/**
 * One cleaning of one partition, as Kafka's cleaner does it: read the dirty part into the offset map
 * (each key's newest offset), then rewrite every cleanable segment from the log start keeping, of each
 * key, only the newest record, and tombstones until delete.retention.ms after a cleaning first read them.
 * Each rewritten segment replaces its original only once its copy is durable (see
 * PartitionLog.replaceSegment); offsets, batch boundaries and the last batch of each producer (kept,
 * empty if need be, for idempotence) stay. Records without a key (written before the topic was
 * compacted) are removed, as Kafka's cleaner does.
 *
 * Transactions (KIP-98), as Kafka's cleaner treats them: only what lies below the last stable offset
 * is cleanable; records of aborted transactions neither enter the offset map (a newer aborted value
 * would otherwise make the cleaner drop the older committed one, which read_committed consumers must
 * still read) nor survive the cleaning; transaction markers are kept whole, and with them each
 * segment's aborted-transaction index, whose offsets do not move.
 */
export async function cleanPartition(log: CompactableLog, config: CompactionConfig, deps: PartitionCleanerDeps): Promise<CleaningOutcome> {
  const now = deps.clock();
  const checkpoint = readCheckpoint(deps.fs, log.dir, deps.logger);
  const plan = planCleaning(log.rolledSegments(), checkpoint, config, now, log.lastStableOffset);
  if (plan.kind === 'idle') return { kind: 'idle' };
  const opener = new EntryOpener(log);
  try {
    const mapEnd = await buildOffsetMap(log, plan.segments, plan.firstDirtyOffset, plan.cleanableEnd, opener, deps);
    if (mapEnd === null) return { kind: 'interrupted', reason: 'the broker is stopping' };
    const pass = new CleaningPass(log, config, checkpoint, plan.firstDirtyOffset, mapEnd, now, opener, deps);
    for (const segment of plan.segments) {
      if (segment.baseOffset >= mapEnd) break;
      const done = await pass.clean(segment);
      if (done !== null) return { kind: 'interrupted', reason: done };
    }
    writeCheckpoint(deps.fs, log.dir, {
      firstDirtyOffset: mapEnd,
      passes: addPass(checkpoint.passes, mapEnd, now, config.deleteRetentionMs),
      tombstonesExpireAt: pass.tombstonesExpireAt,
    });
    return { kind: 'cleaned', stats: { reason: plan.reason, ...pass.stats, cleanedTo: mapEnd, keys: deps.map.size } };
  } catch (err) {
    if (err instanceof UncleanableSegment || err instanceof KeyFault || err instanceof RecordFault) return { kind: 'refused', reason: err.message };
    if (err instanceof TxnIndexDamage) return { kind: 'refused', reason: `an aborted-transaction index is damaged: ${err.message}` };
    throw err;
  } finally {
    deps.map.clear();
  }
}

/**
 * Reads the dirty part into the offset map, from `firstDirty` up to `end`, and returns where the map
 * stops: `end`, or the first record whose key did not fit (the next cleaning starts there). Null when
 * the broker is stopping.
 */
async function buildOffsetMap(
  log: CompactableLog,
  segments: readonly RolledSegment[],
  firstDirty: bigint,
  end: bigint,
  opener: EntryOpener,
  deps: PartitionCleanerDeps,
): Promise<bigint | null> {
  deps.map.clear();
  // Set in the record callback: where the map filled up.
  const full: { at: bigint | null } = { at: null };
  for (const segment of segments) {
    if (segment.nextOffset <= firstDirty) continue;
    const aborted = abortedIn(log, segment);
    for (const entry of segmentEntries(deps.fs, segment.path, segment.size)) {
      if (deps.stopping()) return null;
      if (entry.lastOffset < firstDirty) continue;
      const { batch } = await opener.open(entry);
      if (isControl(batch) || isAborted(aborted, batch, entry.baseOffset)) continue;
      await forEachRecord(batch, deps.maxBatchBytes, (record) => {
        if (full.at !== null || record.offset < firstDirty || record.key === null) return;
        if (!deps.map.put(record.key, record.offset)) full.at = record.offset;
      });
      await deps.throttle(entry.bytes.length);
      if (full.at !== null) return full.at;
    }
  }
  return end;
}

/** The rewriting of the cleanable segments with one offset map. */
class CleaningPass {
  readonly #log: CompactableLog;
  readonly #config: CompactionConfig;
  readonly #checkpoint: CleanerCheckpoint;
  readonly #firstDirty: bigint;
  readonly #mapEnd: bigint;
  readonly #now: number;
  readonly #opener: EntryOpener;
  readonly #deps: PartitionCleanerDeps;
  tombstonesExpireAt: number | null = null;
  stats = { segments: 0, bytesBefore: 0, bytesAfter: 0, recordsRemoved: 0, keylessRemoved: 0, tombstonesRemoved: 0, abortedRemoved: 0 };

  constructor(log: CompactableLog, config: CompactionConfig, checkpoint: CleanerCheckpoint, firstDirty: bigint, mapEnd: bigint, now: number, opener: EntryOpener, deps: PartitionCleanerDeps) {
    this.#log = log;
    this.#config = config;
    this.#checkpoint = checkpoint;
    this.#firstDirty = firstDirty;
    this.#mapEnd = mapEnd;
    this.#now = now;
    this.#opener = opener;
    this.#deps = deps;
  }

  /** Rewrites one segment and swaps it in; returns why it stopped, or null when done. */
  async clean(segment: RolledSegment): Promise<string | null> {
    const aborted = abortedIn(this.#log, segment);
    const writer = new CleanedSegmentWriter(this.#deps.fs, `${segment.path}${CLEANED_SUFFIX}`, segment.baseOffset);
    try {
      for (const entry of segmentEntries(this.#deps.fs, segment.path, segment.size)) {
        if (this.#deps.stopping()) {
          writer.abort();
          return 'the broker is stopping';
        }
        const kept = await this.#keep(entry, aborted);
        if (kept !== null) writer.append(entry, kept);
        await this.#deps.throttle(entry.bytes.length + (kept?.length ?? 0));
      }
      const cleaned = await writer.finish();
      if (!this.#log.replaceSegment(segment, cleaned)) {
        this.#deps.fs.unlinkSync(cleaned.path);
        return 'the segment changed while it was cleaned (retention deleted it, or the partition closed)';
      }
      this.stats.segments++;
      this.stats.bytesBefore += segment.size;
      this.stats.bytesAfter += cleaned.size;
      return null;
    } catch (err) {
      writer.abort();
      throw err;
    }
  }

  /** The bytes to write for one stored entry: itself, a rewritten batch (sealed again if it was), or nothing. */
  async #keep(entry: StoredEntry, aborted: AbortedRanges): Promise<Buffer | null> {
    if (entry.baseOffset >= this.#mapEnd) return entry.bytes;
    const { batch, sealed } = await this.#opener.open(entry);
    // Transaction markers stay (they belong to no key): consumers need them, and the aborted-transaction
    // indexes point at them. Kafka removes them once delete.retention.ms has passed; keeping them is safe.
    if (isControl(batch)) return entry.bytes;
    const producerId = batch.readBigInt64BE(BatchOffsets.producerId);
    const lastOfProducer = producerId >= 0n && this.#log.producerLastOffset(producerId) === entry.lastOffset;
    const keep = isAborted(aborted, batch, entry.baseOffset) ? (record: KeyedRecord) => this.#dropAborted(record) : (record: KeyedRecord) => this.#keepRecord(record);
    const filtered = await filterBatch(batch, this.#deps.maxBatchBytes, keep, lastOfProducer);
    if (filtered.kind === 'unchanged') return entry.bytes;
    if (filtered.kind === 'dropped') return null;
    return sealed ? this.#opener.seal(filtered.bytes) : filtered.bytes;
  }

  #dropAborted(record: KeyedRecord): boolean {
    if (record.offset >= this.#mapEnd) return true;
    this.stats.recordsRemoved++;
    this.stats.abortedRemoved++;
    return false;
  }

  #keepRecord(record: KeyedRecord): boolean {
    if (record.offset >= this.#mapEnd) return true;
    if (record.key === null) {
      this.stats.recordsRemoved++;
      this.stats.keylessRemoved++;
      return false;
    }
    if (this.#deps.map.get(record.key) > record.offset) {
      this.stats.recordsRemoved++;
      return false;
    }
    if (!record.tombstone) return true;
    // A tombstone stays delete.retention.ms after the first cleaning that read it (this one when it is dirty),
    // so that a consumer reading the log meanwhile sees the key deleted.
    const readAt = record.offset >= this.#firstDirty ? this.#now : firstReadAt(this.#checkpoint.passes, record.offset);
    if (readAt !== this.#now && (readAt === null || this.#now - readAt >= this.#config.deleteRetentionMs)) {
      this.stats.recordsRemoved++;
      this.stats.tombstonesRemoved++;
      return false;
    }
    const expires = readAt + this.#config.deleteRetentionMs;
    this.tombstonesExpireAt = Math.min(this.tombstonesExpireAt ?? Infinity, expires);
    return true;
  }
}

/** Opens sealed entries with the partition's data keys, and seals rewritten batches with its current one. */
class EntryOpener {
  readonly #log: CompactableLog;
  readonly #keys = new Map<number, KeyObject>();

  constructor(log: CompactableLog) {
    this.#log = log;
  }

  async open(entry: StoredEntry): Promise<Opened> {
    if (!isSealed(entry.bytes)) return { batch: entry.bytes, sealed: false };
    const keys = this.#log.keys;
    if (keys === undefined) throw new KeyFault('unavailable', 'the broker has no key provider: sealed batches cannot be cleaned');
    const id = sealedDekId(entry.bytes);
    let key = this.#keys.get(id);
    if (key === undefined) {
      key = await keys.openingKey(id);
      this.#keys.set(id, key);
    }
    const opened = unsealBatch(entry.bytes, this.#log.place, key);
    if (!Buffer.isBuffer(opened)) throw new UncleanableSegment(`the sealed batch at offset ${entry.baseOffset} cannot be opened: ${opened.reason}`);
    return { batch: opened, sealed: true };
  }

  async seal(batch: Buffer): Promise<Buffer> {
    const keys = this.#log.keys;
    if (keys === undefined) throw new KeyFault('unavailable', 'the broker has no key provider');
    const current = await keys.sealingKey();
    current.batches++;
    current.bytes += batch.length;
    return sealBatch(batch, this.#log.place, current.id, current.key);
  }
}

function isControl(batch: Buffer): boolean {
  return (batch.readInt16BE(BatchOffsets.attributes) & BatchAttributes.control) !== 0;
}

/** The aborted transactions with records in one segment, by producer id. */
type AbortedRanges = ReadonlyMap<bigint, readonly AbortedTxn[]>;

function abortedIn(log: CompactableLog, segment: RolledSegment): AbortedRanges {
  const ranges = new Map<bigint, AbortedTxn[]>();
  for (const txn of log.abortedTxnsBetween(segment.baseOffset, segment.nextOffset)) {
    const list = ranges.get(txn.producerId) ?? [];
    list.push(txn);
    ranges.set(txn.producerId, list);
  }
  return ranges;
}

/**
 * Whether a (data) batch belongs to an aborted transaction: a transactional batch of a producer with
 * a transaction aborted by a marker after it and started at or before it (a producer has one
 * transaction at a time, so its aborted ones never overlap). Kafka's cleaner keeps the same account
 * (CleanedTransactionMetadata).
 */
function isAborted(ranges: AbortedRanges, batch: Buffer, baseOffset: bigint): boolean {
  if (ranges.size === 0 || (batch.readInt16BE(BatchOffsets.attributes) & BatchAttributes.transactional) === 0) return false;
  const txns = ranges.get(batch.readBigInt64BE(BatchOffsets.producerId));
  return txns?.some((t) => t.firstOffset <= baseOffset && baseOffset < t.lastOffset) ?? false;
}

