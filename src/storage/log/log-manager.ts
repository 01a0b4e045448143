import { join } from 'node:path';
import type { Logger } from '../../logger.js';
import { applyLogAppendTime, type BatchHeader, type ValidateOptions } from '../../records/batch.js';
import type { AppendOutcome, ManagedLogStore, MarkerOutcome, PartitionLookup, PartitionView, TopicLogs, TransactionMarker } from '../log-store.js';
import type { LogFailure } from '../outcomes.js';
import { validateAppend } from './append-validation.js';
import { applyTopicRules } from './append-rules.js';
import { GroupCommit } from './group-commit.js';
import { IoFaultLog, ioErrorCode } from './io-faults.js';
import type { LogConfig, TopicConfigSource } from './log-config.js';
import { nodeLogFs, type LogFs } from './log-fs.js';
import { timedSyncFs, type LogObserver } from './log-observer.js';
import { OneAtATime } from '../../one-at-a-time.js';
import { descriptorYieldingFs, OpenFiles } from './open-files.js';
import { PartitionLog } from './partition-log.js';
import type { PreparedBatch, RecordTransform } from './record-transform.js';
import { KeyFault } from '../crypto/kek-provider.js';
import { PartitionKeys, type KeyServices, type SealingKey } from '../crypto/partition-keys.js';
import type { UnsealPool } from '../crypto/unseal-pool.js';
import { DEFAULT_CLEANER_SETTINGS, LogCleaner, type CleanerSettings, type CompactedPartition, type LogCleanerOptions } from '../compaction/log-cleaner.js';

export interface LogManagerOptions {
  readonly dataDir: string;
  readonly logger: Logger;
  /** The effective log configs of each topic, read at each use. */
  readonly configs: TopicConfigSource;
  /** The preparation step of every append (see record-transform.ts); none by default. */
  readonly transform?: RecordTransform;
  /**
   * Encryption at rest: the KEK provider, the cache of data keys and their limits. Without it, a
   * topic configured encrypted refuses every append (never falls back to clear text) and sealed
   * batches cannot be read.
   */
  readonly keys?: KeyServices;
  readonly fs?: LogFs;
  readonly clock?: () => number;
  /** Buffers for reads sent to consumers, e.g. from a pool the connections give them back to. */
  readonly allocate?: (size: number) => Buffer;
  /** Gives back a buffer from `allocate` that nothing refers to any more (a sealed read that serves nothing). */
  readonly release?: (buffer: Buffer) => void;
  /** Where large sealed reads are opened (worker threads); without it, on the event loop. */
  readonly unsealPool?: UnsealPool;
  /** Most segment files open at once (the LRU of open-files.ts); default: no bound. */
  readonly maxOpenFiles?: number;
  /**
   * Most partition logs opened (each holds indexes and producer state in memory, and a directory);
   * default: no bound. Only topics recorded beyond the broker's partition limits (by an older
   * version) can reach it: their other partitions are then refused, not opened.
   */
  readonly maxOpenPartitions?: number;
  /** Told of appends, fsyncs, file system errors and deleted topics (metrics); none by default. */
  readonly observer?: LogObserver;
  /** The compaction cleaner's memory, rate and interval; {@link DEFAULT_CLEANER_SETTINGS} by default. */
  readonly cleaner?: CleanerSettings;
  /** Told of every cleaning of a compacted partition (metrics, tests). */
  readonly onCleaning?: LogCleanerOptions['onCleaning'];
  /**
   * The transaction coordinator's check of a transactional batch (KIP-890 server-side defence: is the
   * partition part of the producer's ongoing transaction, at this epoch?). Called in the synchronous
   * commit step of every append of a transactional batch, right before the producer state check, so
   * that nothing comes between it and the write; a non-null answer (`invalid-txn-state` or `fenced`)
   * refuses the batch. Without one, every transactional batch is refused (`invalid-txn-state`): a
   * transaction no coordinator will ever end would hold the last stable offset back for good.
   */
  readonly transactionGuard?: TransactionGuard;
}

/** See {@link LogManagerOptions.transactionGuard}. */
export type TransactionGuard = (topic: string, partition: number, producerId: bigint, producerEpoch: number) => LogFailure | null;

/** The code of the error of a partition refused because {@link LogManagerOptions.maxOpenPartitions} are open. */
export const TOO_MANY_PARTITIONS = 'ETOOMANYPARTITIONS';

/** What a handler gets for a partition: its log, or why there is none. */
export type LogLookup = PartitionLookup<PartitionLog>;

// Defined with the store interfaces; re-exported where callers found them before.
export type { AppendOutcome, TopicLogs };

/** Suffix of a partition directory renamed for deletion; leftovers are removed at start-up. */
const DELETED_SUFFIX = '.deleted';

interface TopicEntry {
  readonly id: string;
  partitions: number;
  /** The partitions opened so far, by index. */
  readonly logs: Map<number, PartitionLog>;
}

/**
 * All partition logs of the broker under `<dataDir>/logs/<topic>-<partition>/`, with one group commit
 * shared by every partition (acks=all producers on different partitions share fsync rounds) and a
 * notification when data arrives (for long-polling fetches).
 *
 * A partition's log is opened on its first use, not when its topic is added: a topic's partition count
 * costs nothing on disk until data arrives, and a broker whose metadata names more partitions than it
 * can hold (an older version accepted a million) still starts. Open logs keep no file descriptor while
 * idle: their segment files live in one bounded LRU ({@link OpenFiles}).
 */
export class LogManager implements ManagedLogStore {
  readonly #o: LogManagerOptions;
  readonly #fs: LogFs;
  readonly #clock: () => number;
  readonly #dir: string;
  readonly #topics = new Map<string, TopicEntry>();
  readonly #groupCommit = new GroupCommit();
  /** Who waits for appends to each partition (long-polling fetches); a log is here only while watched. */
  readonly #watchers = new Map<PartitionView, Set<() => void>>();
  readonly #files: OpenFiles;
  /** Searches by timestamp decompress one batch at a time for all partitions (a bounded amount of memory). */
  readonly #timestampSearches = new OneAtATime();
  readonly #faults: IoFaultLog;
  /** When each kind of key fault was last logged: once per 10 s per kind, as I/O faults are. */
  readonly #keyFaultLoggedAt = new Map<string, number>();
  /** Partition logs opened, all topics together. */
  #opened = 0;
  readonly #cleaner: LogCleaner;

  constructor(options: LogManagerOptions) {
    this.#o = options;
    this.#clock = options.clock ?? Date.now;
    this.#dir = join(options.dataDir, 'logs');
    const observer = options.observer;
    this.#faults = new IoFaultLog(options.logger, {
      clock: this.#clock,
      ...(observer === undefined ? {} : { onFault: (code: string, operation: string) => { observer.storageError(operation, code); } }),
    });
    const fs = observer === undefined ? (options.fs ?? nodeLogFs) : timedSyncFs(options.fs ?? nodeLogFs, observer);
    this.#files = new OpenFiles({
      fs,
      maxOpen: options.maxOpenFiles ?? Infinity,
      clock: this.#clock,
      onPressure: () => {
        this.#relievePressure();
      },
    });
    this.#fs = descriptorYieldingFs(fs, this.#files);
    if (!this.#fs.existsSync(this.#dir)) {
      this.#fs.mkdirSync(this.#dir);
      this.#fs.fsyncDir(options.dataDir);
    }
    for (const name of this.#fs.readdirSync(this.#dir)) {
      if (name.endsWith(DELETED_SUFFIX)) this.#fs.rmSync(join(this.#dir, name));
    }
    this.#cleaner = new LogCleaner({
      fs: this.#fs,
      logger: options.logger,
      clock: this.#clock,
      settings: options.cleaner ?? DEFAULT_CLEANER_SETTINGS,
      partitions: () => this.#compactedPartitions(),
      onCleaning: (partition, outcome, ms) => {
        if (outcome.kind !== 'idle') {
          const stats = outcome.kind === 'cleaned' ? outcome.stats : { bytesBefore: 0, bytesAfter: 0, recordsRemoved: 0 };
          observer?.cleaning?.(outcome.kind, stats.bytesBefore, stats.bytesAfter, stats.recordsRemoved);
        }
        options.onCleaning?.(partition, outcome, ms);
      },
    });
  }

  /** The open partitions whose topic's cleanup.policy holds `compact`, with its configs now. */
  *#compactedPartitions(): IterableIterator<CompactedPartition> {
    for (const [name, entry] of this.#topics) {
      const compaction = this.#o.configs.configFor(name).compaction;
      if (compaction === undefined) continue;
      for (const log of entry.logs.values()) yield { log, config: compaction };
    }
  }

  /** Starts the background cleaner of compacted topics (the broker does at its start). */
  startCleaner(): void {
    this.#cleaner.start();
  }

  /** Cleans every compacted partition that is due now; resolves to how many were cleaned (tests, and the timer). */
  cleanCompactedLogs(): Promise<number> {
    return this.#cleaner.runOnce();
  }

  /** The cleaner's offset map, in bytes (0 until a compacted partition was cleaned). */
  get cleanerMemoryBytes(): number {
    return this.#cleaner.memoryBytes;
  }

  /** The cache of open segment files (its counts are what the fd bound is checked against). */
  get files(): OpenFiles {
    return this.#files;
  }

  /** Adds a topic, or raises its partition count; nothing is opened or written until a partition is used. */
  addTopic(topic: TopicLogs): void {
    const entry = this.#topics.get(topic.name);
    if (entry === undefined) this.#topics.set(topic.name, { id: topic.id, partitions: topic.partitions, logs: new Map() });
    else entry.partitions = Math.max(entry.partitions, topic.partitions);
  }

  /** Adds `topic` and opens (creating where missing) the logs of all its partitions now; returns them. */
  openTopic(topic: TopicLogs): readonly PartitionLog[] {
    this.addTopic(topic);
    const logs: PartitionLog[] = [];
    for (let partition = 0; partition < topic.partitions; partition++) {
      const log = this.get(topic.name, partition);
      if (log !== undefined) logs.push(log);
    }
    return logs;
  }

  /**
   * Opens, at start-up, the partitions of the added topics that have a directory (data written before),
   * so that crash recovery runs before clients connect, at most `limit` of them (in topic order). The
   * others open on first use. Returns how many were opened and how many directories were left closed.
   */
  openExisting(limit: number): { opened: number; deferred: number } {
    let opened = 0;
    let deferred = 0;
    const names = this.#fs.readdirSync(this.#dir);
    const byTopic = new Map<string, number[]>();
    for (const name of names) {
      const at = name.lastIndexOf('-');
      const partition = Number(name.slice(at + 1));
      // Topic names may hold '-' and digits, the partition number never a '-': the last one splits them.
      if (at <= 0 || !/^\d+$/.test(name.slice(at + 1)) || !Number.isSafeInteger(partition)) continue;
      const topic = name.slice(0, at);
      const list = byTopic.get(topic) ?? [];
      list.push(partition);
      byTopic.set(topic, list);
    }
    for (const [name, entry] of this.#topics) {
      for (const partition of (byTopic.get(name) ?? []).sort((a, b) => a - b)) {
        if (partition >= entry.partitions || entry.logs.has(partition)) continue;
        if (opened >= limit) {
          deferred++;
          continue;
        }
        // A partition that fails to open now (EMFILE, a damaged directory) is reported and tried again on use.
        if (this.lookup(name, partition).kind === 'log') opened++;
      }
    }
    return { opened, deferred };
  }

  /** The log of a partition, opened on first use; undefined for an unknown one. Throws when it cannot be opened. */
  get(topic: string, partition: number): PartitionLog | undefined {
    const entry = this.#topics.get(topic);
    if (entry === undefined || !Number.isInteger(partition) || partition < 0 || partition >= entry.partitions) return undefined;
    const open = entry.logs.get(partition);
    if (open !== undefined) return open;
    const max = this.#o.maxOpenPartitions ?? Infinity;
    if (this.#opened >= max) {
      throw Object.assign(
        new Error(
          `partition ${topic}-${partition} cannot be opened: ${max} partitions are open, the broker's maxPartitions; ` +
            'topics recorded beyond the partition limits (by an older version) must be deleted, or maxPartitions raised',
        ),
        { code: TOO_MANY_PARTITIONS },
      );
    }
    const dir = join(this.#dir, `${topic}-${partition}`);
    const keys = this.#o.keys === undefined ? undefined : new PartitionKeys(this.#fs, dir, { topicId: entry.id, partition }, this.#o.keys, this.#clock);
    const log = PartitionLog.open(
      {
        fs: this.#fs,
        logger: this.#o.logger,
        clock: this.#clock,
        files: this.#files,
        timestampSearches: this.#timestampSearches,
        onIoError: (err, operation, label) => {
          this.#faults.report(err, operation, label);
        },
        ...(this.#o.allocate === undefined ? {} : { allocate: this.#o.allocate }),
        ...(this.#o.release === undefined ? {} : { release: this.#o.release }),
        ...(this.#o.unsealPool === undefined ? {} : { unsealPool: this.#o.unsealPool }),
        ...(keys === undefined ? {} : { keys }),
      },
      dir,
      { topic, partition, topicId: entry.id },
      () => this.#o.configs.configFor(topic),
    );
    entry.logs.set(partition, log);
    this.#opened++;
    return log;
  }

  /** As {@link get}, for handlers: a log that cannot be opened is reported (rate-limited) and answered as unavailable. */
  lookup(topic: string, partition: number): LogLookup {
    try {
      const log = this.get(topic, partition);
      return log === undefined ? { kind: 'unknown-partition' } : { kind: 'log', log };
    } catch (err) {
      this.#faults.report(err, 'open', `${topic}-${partition}`);
      const code = ioErrorCode(err);
      return { kind: 'unavailable', reason: `${code === undefined ? '' : `${code}: `}${err instanceof Error ? err.message : String(err)}` };
    }
  }

  /**
   * Appends one client batch to a partition in three steps: {@link validateAppend} (pure), the
   * preparation (the record transform, when there is one: the only step that may wait), and the
   * commit, where the producer-state check and the write are one synchronous step so that idempotence
   * holds with any number of appends in flight. The data is readable once this resolves and durable
   * after {@link sync}.
   *
   * `records` is what a producer sent for the partition: exactly one v2 batch, which is written in
   * place (offsets, the append time) and not kept after the call. Without a transform nothing is
   * awaited: the batch is committed within this call, as a produce request's batches always were.
   * Fails (rejects) only on what is no storage outcome, a bug; the file system's errors are
   * `unavailable` outcomes.
   */
  async append(topic: string, partition: number, records: Buffer | null, format: ValidateOptions = {}): Promise<AppendOutcome> {
    const found = this.lookup(topic, partition);
    if (found.kind === 'unknown-partition') return { kind: 'unknown-partition', message: `unknown topic or partition ${topic}-${partition}` };
    // Its log could not be opened (out of descriptors): retriable, and only this partition fails.
    if (found.kind === 'unavailable') return { kind: 'unavailable', message: `the partition's log cannot be opened now (${found.reason})` };
    const config = this.#o.configs.configFor(topic);
    const ruled = applyTopicRules(validateAppend(records, config.maxMessageBytes, format), config, this.#clock());
    const valid = ruled instanceof Promise ? await ruled : ruled;
    if (valid.kind !== 'valid') return valid;
    let bytes = valid.batch;
    if (this.#o.transform !== undefined) {
      const prepared = await this.#prepare(this.#o.transform, found.log, bytes, valid.header);
      if (prepared.kind !== 'prepared') return prepared;
      bytes = prepared.bytes;
    }
    let sealWith: SealingKey | undefined;
    if (config.encrypted === true || found.log.producerStateDeferred) {
      const keys = await this.#keysFor(found.log, config.encrypted === true);
      if (keys.kind !== 'ready') return keys;
      sealWith = keys.sealWith;
    }
    return this.#commit(found.log, bytes, valid.header, config, sealWith);
  }

  /**
   * The key step of an append to an encrypted partition: the data key to seal with, and the producer
   * state when it lies in sealed data. A key that cannot be had refuses the append: the batch is never
   * written in clear instead.
   */
  async #keysFor(log: PartitionLog, seal: boolean): Promise<{ kind: 'ready'; sealWith?: SealingKey } | LogFailure> {
    const { topic, partition } = log.id;
    const keys = log.keys;
    try {
      await log.loadDeferredProducerState();
      if (!seal) return { kind: 'ready' };
      if (keys === undefined) throw new KeyFault('unavailable', 'the broker has no key provider');
      const sealWith = await keys.sealingKey();
      if (this.#topics.get(topic)?.logs.get(partition) !== log) return { kind: 'unknown-partition', message: `unknown topic or partition ${topic}-${partition}` };
      return { kind: 'ready', sealWith };
    } catch (err) {
      if (!(err instanceof KeyFault)) throw err;
      this.#reportKeyFault(err, `${topic}-${partition}`);
      const refusal = `topic ${topic} is encrypted at rest and its key cannot be used (${err.message}): the batch was not written`;
      return { kind: err.kind === 'destroyed' ? 'key-destroyed' : 'key-unavailable', message: refusal };
    }
  }

  /** The preparation step: the record transform rewrites the batch, or refuses it. */
  async #prepare(transform: RecordTransform, log: PartitionLog, bytes: Buffer, header: BatchHeader): Promise<Extract<PreparedBatch, { kind: 'prepared' }> | LogFailure> {
    const { topic, partition } = log.id;
    const prepared = await transform.prepare({ topic, partition, bytes, header });
    if (prepared.kind === 'refused') return { kind: 'transform-refused', message: prepared.reason };
    // The topic may have been deleted (or re-created) while the transform ran.
    if (this.#topics.get(topic)?.logs.get(partition) !== log) return { kind: 'unknown-partition', message: `unknown topic or partition ${topic}-${partition}` };
    return prepared;
  }

  /**
   * The commit step, synchronous from start to end: the producer-state check holds until the append
   * right after it, whatever else is in flight.
   */
  #commit(log: PartitionLog, bytes: Buffer, header: BatchHeader, config: LogConfig, sealWith: SealingKey | undefined): AppendOutcome {
    const label = `${log.id.topic}-${log.id.partition}`;
    // Before the producer check: a duplicate's original may not be durable on an offline partition,
    // so nothing is acknowledged there.
    const offline = log.offline;
    if (offline !== null) return { kind: 'offline', message: offline };
    if (header.isTransactional) {
      const guard = this.#o.transactionGuard;
      const refusal =
        guard === undefined
          ? { kind: 'invalid-txn-state' as const, message: 'this broker has no transaction coordinator: transactional batches are refused' }
          : guard(log.id.topic, log.id.partition, header.producerId, header.producerEpoch);
      if (refusal !== null) return refusal;
    }
    if (header.producerId >= 0n) {
      const check = log.checkProducer(header);
      if (check.kind === 'duplicate') {
        this.#o.logger.debug(
          { partition: label, producerId: String(header.producerId), baseSequence: header.baseSequence, baseOffset: String(check.original.baseOffset) },
          'duplicate batch answered with the offset it was appended at',
        );
        const { baseOffset, timestamp } = check.original;
        return { kind: 'duplicate', baseOffset, logStartOffset: log.logStartOffset, appendTime: config.logAppendTime ? timestamp : null };
      }
      if (check.kind !== 'append') return check;
    }
    const now = this.#clock();
    if (config.logAppendTime) applyLogAppendTime(bytes, now);
    const maxTimestamp = config.logAppendTime ? now : Number(header.maxTimestamp);
    let baseOffset: bigint;
    try {
      baseOffset = log.append({ bytes, lastOffsetDelta: header.lastOffsetDelta, maxTimestamp, ...(sealWith === undefined ? {} : { sealWith }) });
    } catch (err) {
      // A file system error (ENOSPC, EIO, EMFILE): nothing was appended, other partitions go on. It is
      // logged once per interval (io-faults.ts); anything else is no storage outcome and is thrown.
      const code = ioErrorCode(err);
      if (code === undefined) throw err;
      this.#faults.report(err, 'append', label);
      return { kind: 'unavailable', message: `the broker could not write the batch (${code})` };
    }
    this.#groupCommit.markDirty(log);
    this.#o.observer?.appended(log.id.topic, bytes.length);
    this.#notify(log);
    return { kind: 'appended', baseOffset, logStartOffset: log.logStartOffset, appendTime: config.logAppendTime ? now : null };
  }

  /**
   * Writes a transaction marker (the transaction coordinator's, at EndTxn) into a partition: see
   * {@link PartitionLog.appendMarker}. Like an append: an encrypted partition's producer state is loaded
   * first (the marker itself is never sealed), the write is synchronous from the producer check on, a
   * file system error is an `unavailable` outcome with nothing written, and the partition is marked for
   * the next group commit (the coordinator calls {@link sync} before it answers EndTxn) and its waiting
   * fetches are woken (a marker moves the last stable offset that read_committed fetches wait for).
   */
  async appendMarker(topic: string, partition: number, marker: TransactionMarker): Promise<MarkerOutcome> {
    const found = this.lookup(topic, partition);
    if (found.kind === 'unknown-partition') return { kind: 'unknown-partition', message: `unknown topic or partition ${topic}-${partition}` };
    if (found.kind === 'unavailable') return { kind: 'unavailable', message: `the partition's log cannot be opened now (${found.reason})` };
    const log = found.log;
    if (log.producerStateDeferred) {
      const keys = await this.#keysFor(log, false);
      if (keys.kind !== 'ready') return keys;
      // The topic may have been deleted (or re-created) while the keys were fetched.
      if (this.#topics.get(topic)?.logs.get(partition) !== log) return { kind: 'unknown-partition', message: `unknown topic or partition ${topic}-${partition}` };
    }
    const offline = log.offline;
    if (offline !== null) return { kind: 'offline', message: offline };
    let written: ReturnType<PartitionLog['appendMarker']>;
    try {
      written = log.appendMarker(marker, this.#o.configs.configFor(topic).logAppendTime);
    } catch (err) {
      const code = ioErrorCode(err);
      if (code === undefined) throw err;
      this.#faults.report(err, 'append', `${topic}-${partition}`);
      return { kind: 'unavailable', message: `the broker could not write the transaction marker (${code})` };
    }
    if (written.kind !== 'appended') return written;
    this.#groupCommit.markDirty(log);
    this.#notify(log);
    return written;
  }

  #reportKeyFault(err: KeyFault, partition: string): void {
    const now = this.#clock();
    if (now - (this.#keyFaultLoggedAt.get(err.kind) ?? -Infinity) < 10_000) return;
    this.#keyFaultLoggedAt.set(err.kind, now);
    this.#o.logger.error({ kind: err.kind, partition, err: err.message }, 'an append to an encrypted partition was refused: its key cannot be used');
  }

  /** Reports a file system error met by a caller (rate-limited: see io-faults.ts). */
  reportIoError(err: unknown, operation: string, partition?: string): void {
    this.#faults.report(err, operation, partition);
  }

  /** Resolves when everything appended before the call is on disk (fsync), sharing rounds with other callers. */
  sync(): Promise<void> {
    return this.#groupCommit.sync();
  }

  /**
   * Calls `listener` after every append to `log`, and once when the log is deleted; returns the
   * function that stops it. An append calls only the watchers of its own partition, so its cost is
   * that of the fetches waiting on that partition, whatever waits elsewhere.
   */
  watch(log: PartitionView, listener: () => void): () => void {
    let listeners = this.#watchers.get(log);
    if (listeners === undefined) {
      listeners = new Set();
      this.#watchers.set(log, listeners);
    }
    listeners.add(listener);
    return () => {
      const current = this.#watchers.get(log);
      if (current === undefined) return;
      current.delete(listener);
      if (current.size === 0) this.#watchers.delete(log);
    };
  }

  /** Listeners watching appends, over every partition (diagnostics and tests). */
  get watcherCount(): number {
    let count = 0;
    for (const listeners of this.#watchers.values()) count += listeners.size;
    return count;
  }

  #notify(log: PartitionLog): void {
    const listeners = this.#watchers.get(log);
    if (listeners === undefined) return;
    // A copy: a listener may stop watching (or stop others) while this runs.
    for (const listener of [...listeners]) listener();
  }

  /**
   * Unsynced files fill the open-file cache (they may not be closed): a group commit makes them
   * closable. Its failure is the acks=all producers' to report; here it only ends the round.
   */
  #relievePressure(): void {
    // After the current step: the append that raised the pressure is marked dirty only once it returns.
    queueMicrotask(() => {
      this.sync()
        .catch(() => undefined)
        .finally(() => {
          this.#files.relieved();
        });
    });
  }

  /** Closes the descriptors of segment files unused for `idleMs` (see {@link OpenFiles.closeIdle}). */
  closeIdleFiles(idleMs: number): number {
    return this.#files.closeIdle(idleMs);
  }

  /**
   * Removes a topic's logs: the directories are renamed at once (so a topic re-created with the same
   * name starts empty) and deleted after their files are closed. Directories of partitions never opened
   * since the start are found by name.
   */
  async deleteTopic(name: string): Promise<void> {
    const entry = this.#topics.get(name);
    this.#topics.delete(name);
    const logs = [...(entry?.logs.values() ?? [])];
    this.#opened -= logs.length;
    // Fetches waiting on these partitions answer now (UNKNOWN_TOPIC_OR_PARTITION) instead of at max_wait.
    for (const log of logs) this.#notify(log);
    const stamp = `${this.#clock()}-${Math.random().toString(36).slice(2, 8)}`;
    const doomed = (dir: string) => `${dir}.${stamp}${DELETED_SUFFIX}`;
    const opened = new Set(logs.map((log) => log.dir));
    const unopened: string[] = [];
    for (const dirName of this.#fs.readdirSync(this.#dir)) {
      const at = dirName.lastIndexOf('-');
      if (at <= 0 || dirName.slice(0, at) !== name || !/^\d+$/.test(dirName.slice(at + 1))) continue;
      const dir = join(this.#dir, dirName);
      if (opened.has(dir)) continue;
      this.#fs.renameSync(dir, doomed(dir));
      unopened.push(doomed(dir));
    }
    const renamed = logs.map((log) => {
      const to = doomed(log.dir);
      this.#fs.renameSync(log.dir, to);
      return { log, to };
    });
    // Removes the renamed directories, never `log.dir`: the topic may be re-created there while the files close.
    await Promise.all(renamed.map(({ log, to }) => log.delete(to)));
    for (const dir of unopened) this.#fs.rmSync(dir);
    this.#fs.fsyncDir(this.#dir);
    this.#o.observer?.topicDeleted(name);
  }

  /** The partition logs open now, all topics (what metrics read at a scrape; bounded by maxOpenPartitions). */
  *openLogs(): IterableIterator<PartitionLog> {
    for (const entry of this.#topics.values()) yield* entry.logs.values();
  }

  /** The log of a partition if it is open now; never opens one (a scrape must not open files). */
  openLog(topic: string, partition: number): PartitionLog | undefined {
    return this.#topics.get(topic)?.logs.get(partition);
  }

  /**
   * Applies retention to every open partition; returns the number of segments deleted. A partition
   * whose retention fails (out of descriptors) is reported and tried again at the next check.
   */
  async enforceRetention(): Promise<number> {
    let deleted = 0;
    for (const entry of [...this.#topics.values()]) {
      for (const log of [...entry.logs.values()]) {
        try {
          deleted += await log.enforceRetention();
        } catch (err) {
          if (ioErrorCode(err) === undefined) throw err;
          this.#faults.report(err, 'retention', `${log.id.topic}-${log.id.partition}`);
        }
      }
    }
    return deleted;
  }

  /** Flushes and closes every log (graceful shutdown). */
  async close(): Promise<void> {
    // The cleaning in progress stops at its next batch, its copy removed: the originals stay.
    await this.#cleaner.stop();
    const all = [...this.#topics.values()].flatMap((entry) => [...entry.logs.values()]);
    this.#topics.clear();
    this.#opened = 0;
    await Promise.all(all.map((log) => log.close()));
  }
}
