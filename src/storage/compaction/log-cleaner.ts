import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../logger.js';
import { TokenBucket } from '../../token-bucket.js';
import type { CompactionConfig } from '../log/log-config.js';
import type { LogFs } from '../log/log-fs.js';
import { MAX_CLEANABLE_BATCH_BYTES, type CompactableLog } from './compactable-log.js';
import { OffsetMap } from './offset-map.js';
import { cleanPartition, type CleaningOutcome } from './partition-cleaner.js';

/** The broker settings of the cleaner (docs/topics.md#compaction, docs/configuration.md). */
export interface CleanerSettings {
  /** The offset map's memory: the cleaner's budget for keys, whatever their number (Kafka's log.cleaner.dedupe.buffer.size). */
  readonly memoryBytes: number;
  /**
   * Bytes read and written a second, all partitions together; 0 for no limit (Kafka's
   * log.cleaner.io.max.bytes.per.second). 16 MiB/s by default: the cleaner shares the event loop with
   * the requests, and at that rate producers kept 0.90 of their throughput (docs/performance.md).
   */
  readonly ioBytesPerSecond: number;
  /** How often the cleaner looks for partitions to clean (Kafka's log.cleaner.backoff.ms). */
  readonly intervalMs: number;
}

export const DEFAULT_CLEANER_SETTINGS: CleanerSettings = { memoryBytes: 32 * 1024 * 1024, ioBytesPerSecond: 16 * 1024 * 1024, intervalMs: 15_000 };

/** A partition whose cleaning was refused is left alone this long before it is tried again. */
export const REFUSED_BACKOFF_MS = 10 * 60_000;
/** The cleaner gives the event loop back at least this often, whatever the rate limit. */
const SLICE_MS = 5;

/** A compacted partition as the cleaner finds it: its log and its topic's compaction configs now. */
export interface CompactedPartition {
  readonly log: CompactableLog;
  readonly config: CompactionConfig;
}

export interface LogCleanerOptions {
  readonly fs: LogFs;
  readonly logger: Logger;
  readonly clock?: () => number;
  readonly settings: CleanerSettings;
  /** The open partitions of compacted topics, read at each round. */
  readonly partitions: () => Iterable<CompactedPartition>;
  /** Told of every cleaning (metrics, tests). */
  readonly onCleaning?: (partition: string, outcome: CleaningOutcome, ms: number) => void;
}

/**
 * The background cleaner: one partition at a time, in the background of the event loop (it yields every
 * few milliseconds and keeps under its I/O rate), with one offset map of fixed size for all. Its memory
 * is the map plus one batch; its files are the segment it reads and the copy it writes.
 */
export class LogCleaner {
  readonly #o: LogCleanerOptions;
  readonly #clock: () => number;
  /** Allocated at the first compacted partition: a broker without one spends nothing on it. */
  #map: OffsetMap | null = null;
  readonly #bucket: TokenBucket | null;
  readonly #refusedUntil = new Map<string, number>();
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<number> | null = null;
  #stopping = false;
  #sliceStart = performance.now();

  constructor(options: LogCleanerOptions) {
    this.#o = options;
    this.#clock = options.clock ?? Date.now;
    const rate = options.settings.ioBytesPerSecond;
    // A second's worth of burst: a small batch never waits, a large segment runs at the rate.
    this.#bucket = rate > 0 ? new TokenBucket(rate, rate, Date.now()) : null;
  }

  /** The offset map's memory: the budget, allocated once at the first compacted partition (0 before). */
  get memoryBytes(): number {
    return this.#map?.memoryBytes ?? 0;
  }

  start(): void {
    if (this.#timer !== null) return;
    this.#timer = setInterval(() => {
      void this.runOnce();
    }, this.#o.settings.intervalMs);
    this.#timer.unref();
  }

  /** Cleans every partition that is due, one after another; resolves to how many were cleaned. A round already running is shared. */
  runOnce(): Promise<number> {
    this.#running ??= this.#round().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #round(): Promise<number> {
    let cleaned = 0;
    for (const { log, config } of [...this.#o.partitions()]) {
      if (this.#stopping) break;
      const label = `${log.id.topic}-${log.id.partition}`;
      if ((this.#refusedUntil.get(label) ?? -Infinity) > this.#clock()) continue;
      if (log.offline !== null) continue;
      const started = performance.now();
      this.#map ??= new OffsetMap(this.#o.settings.memoryBytes);
      let outcome: CleaningOutcome;
      try {
        outcome = await cleanPartition(log, config, {
          fs: this.#o.fs,
          logger: this.#o.logger,
          clock: this.#clock,
          map: this.#map,
          maxBatchBytes: MAX_CLEANABLE_BATCH_BYTES,
          throttle: (bytes) => this.#throttle(bytes),
          stopping: () => this.#stopping,
        });
      } catch (err) {
        // A file system error (ENOSPC writing the copy, EIO): the originals are untouched; tried again next round.
        outcome = { kind: 'interrupted', reason: err instanceof Error ? err.message : String(err) };
        this.#o.logger.warn({ partition: label, err: String(err) }, 'cleaning a compacted partition failed: it is tried again at the next round');
      }
      const ms = Math.round(performance.now() - started);
      this.#report(label, outcome, ms);
      if (outcome.kind === 'cleaned') cleaned++;
    }
    return cleaned;
  }

  #report(label: string, outcome: CleaningOutcome, ms: number): void {
    this.#o.onCleaning?.(label, outcome, ms);
    if (outcome.kind === 'cleaned') {
      const s = outcome.stats;
      this.#o.logger.info(
        { partition: label, reason: s.reason, segments: s.segments, bytesBefore: s.bytesBefore, bytesAfter: s.bytesAfter, recordsRemoved: s.recordsRemoved, tombstonesRemoved: s.tombstonesRemoved, abortedRemoved: s.abortedRemoved, cleanedTo: s.cleanedTo.toString(), ms },
        'compacted a partition',
      );
      if (s.keylessRemoved > 0) this.#o.logger.warn({ partition: label, records: s.keylessRemoved }, 'compaction removed records without a key (written before the topic was compacted)');
    } else if (outcome.kind === 'refused') {
      this.#refusedUntil.set(label, this.#clock() + REFUSED_BACKOFF_MS);
      this.#o.logger.error({ partition: label, reason: outcome.reason, retryInMs: REFUSED_BACKOFF_MS }, 'refused to compact a partition: nothing of it was changed');
    }
  }

  /** The I/O rate runs on the real clock (the injected one drives configs such as the compaction lags). */
  async #throttle(bytes: number): Promise<void> {
    const now = Date.now();
    if (this.#bucket !== null) {
      this.#bucket.take(bytes, now);
      const wait = this.#bucket.debtMs(now);
      if (wait > 0) {
        await sleep(wait);
        this.#sliceStart = performance.now();
        return;
      }
    }
    if (performance.now() - this.#sliceStart >= SLICE_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.#sliceStart = performance.now();
    }
  }

  /** Stops the timer and the cleaning in progress at its next batch (the originals stay); resolves once it has. */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running?.catch(() => undefined);
  }
}
