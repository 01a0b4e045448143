import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { Logger } from '../../../../src/logger.js';
import { silentLogger } from '../../../../src/logger.js';
import { BatchOffsets, readBatchHeader, splitBatches } from '../../../../src/records/batch.js';
import { buildBatchSync, type RecordInput } from '../../../../src/records/record.js';
import type { LogConfig, TopicConfigSource } from '../../../../src/storage/log/log-config.js';
import { nodeLogFs, type LogFs } from '../../../../src/storage/log/log-fs.js';
import type { LogManager } from '../../../../src/storage/log/log-manager.js';
import { LEADER_EPOCH, PartitionLog, type BatchToAppend, type LogRead } from '../../../../src/storage/log/partition-log.js';

const cleanups = new WeakMap<TestContext, (() => unknown)[]>();

/**
 * Runs `fn` when the test ends, in reverse order of registration (node:test runs `after` hooks in
 * order), so that logs are closed before their temp directory is removed.
 */
export function defer(t: TestContext, fn: () => unknown): void {
  let stack = cleanups.get(t);
  if (stack === undefined) {
    const fns: (() => unknown)[] = [];
    stack = fns;
    cleanups.set(t, fns);
    t.after(async () => {
      // Every cleanup runs even when one fails (a failed test may leave a log that cannot close).
      const errors: unknown[] = [];
      for (let f = fns.pop(); f !== undefined; f = fns.pop()) {
        try {
          await f();
        } catch (err) {
          errors.push(err);
        }
      }
      if (errors.length > 0) throw errors[0];
    });
  }
  stack.push(fn);
}

/** A fresh directory under the OS temp dir, removed when the test ends. */
export function tempDir(t: TestContext, prefix = 'parapet-log-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  defer(t, () => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

export interface LogEntry {
  readonly level: 'info' | 'warn' | 'error' | 'debug';
  readonly obj: object;
  readonly msg: string;
}

/**
 * Same shape as test/helpers/broker.ts's recordingLogger, kept here so that storage unit tests do not
 * load the whole broker (whose modules change independently of the log).
 */
export function recordingLogger(): Logger & { entries: LogEntry[]; at: (level: LogEntry['level']) => LogEntry[] } {
  const entries: LogEntry[] = [];
  const rec = (level: LogEntry['level']) => (obj: object, msg: string) => {
    entries.push({ level, obj, msg });
  };
  return {
    entries,
    at: (level) => entries.filter((e) => e.level === level),
    info: rec('info'),
    warn: rec('warn'),
    error: rec('error'),
    debug: rec('debug'),
  };
}

/** A mutable fake clock: tests move `now` forward to drive segment.ms and retention.ms. */
export interface FakeClock {
  now: number;
}

export const T0 = 1_700_000_000_000;

export function defaultConfig(overrides: Partial<LogConfig> = {}): { -readonly [K in keyof LogConfig]: LogConfig[K] } {
  return { segmentBytes: 1024 * 1024, segmentMs: 7 * 24 * 3600_000, retentionMs: -1, retentionBytes: -1, maxMessageBytes: 1024 * 1024, logAppendTime: false, ...overrides };
}

/** A log manager's topic configs: `config` for every topic, or what `configFor` says of each. */
export function configSource(configFor: (topic: string) => LogConfig = () => defaultConfig()): TopicConfigSource {
  return { configFor };
}

/**
 * Appends `batch` to `log`'s partition through the log manager, as a produce does; its base offset,
 * or the test fails. Nothing is awaited before the commit: the batch is in the log once this returns
 * its promise.
 */
export async function appendTo(m: LogManager, log: PartitionLog, batch: BatchToAppend): Promise<bigint> {
  const outcome = await m.append(log.id.topic, log.id.partition, batch.bytes);
  if (outcome.kind !== 'appended') assert.fail(`expected an append, got ${JSON.stringify(outcome, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`);
  return outcome.baseOffset;
}

export interface LogHarness {
  readonly dir: string;
  readonly clock: FakeClock;
  readonly config: ReturnType<typeof defaultConfig>;
  readonly logger: ReturnType<typeof recordingLogger>;
  fs: LogFs;
  /** Opens the partition (again) with the harness's fs, clock, logger and config. */
  open(): PartitionLog;
}

/** A partition directory plus the injected dependencies; every log opened through it is closed at the end. */
export function harness(t: TestContext, options: { fs?: LogFs; config?: Partial<LogConfig>; clock?: FakeClock } = {}): LogHarness {
  const dir = join(tempDir(t), 'topic-0');
  const opened: PartitionLog[] = [];
  defer(t, async () => {
    for (const log of opened) await log.close();
  });
  const h: LogHarness = {
    dir,
    clock: options.clock ?? { now: T0 },
    config: defaultConfig(options.config),
    logger: recordingLogger(),
    fs: options.fs ?? nodeLogFs,
    open() {
      const log = PartitionLog.open({ fs: h.fs, logger: h.logger, clock: () => h.clock.now }, dir, { topic: 'topic', partition: 0, topicId: 'id-1' }, () => h.config);
      opened.push(log);
      return log;
    },
  };
  return h;
}

/**
 * A valid v2 batch of `count` records (values `v<i>`, optionally padded), with the given per-record
 * timestamps. `original` is an untouched copy: append assigns offsets into `bytes` in place.
 */
export function makeBatch(
  count: number,
  options: { timestamps?: readonly number[]; valueBytes?: number; tag?: string } = {},
): BatchToAppend & { original: Buffer } {
  const records: RecordInput[] = [];
  for (let i = 0; i < count; i++) {
    const ts = options.timestamps?.[i] ?? T0;
    const base = `${options.tag ?? 'v'}${i}`;
    records.push({ key: `k${i}`, value: base.padEnd(options.valueBytes ?? 0, 'x'), timestamp: ts });
  }
  const bytes = buildBatchSync({ records });
  const header = readBatchHeader(bytes);
  return { bytes, lastOffsetDelta: header.lastOffsetDelta, maxTimestamp: Number(header.maxTimestamp), original: Buffer.from(bytes) };
}

/** The batches of a successful read. */
export function recordsOf(read: LogRead): Buffer[] {
  if (read.kind !== 'records') assert.fail(`expected records, got ${JSON.stringify(read)}`);
  return splitBatches(read.records);
}

/** Base offsets of the batches of a successful read. */
export function baseOffsetsOf(read: LogRead): bigint[] {
  return recordsOf(read).map((b) => readBatchHeader(b).baseOffset);
}

/**
 * Asserts that `stored` is `original` with only the fields the leader rewrites on append changed: the
 * base offset (to `baseOffset`) and the partition leader epoch (to the single broker's epoch, 0).
 */
export function assertSameBatch(stored: Buffer | undefined, original: Buffer, baseOffset: bigint): void {
  assert.ok(stored !== undefined, 'batch missing');
  assert.equal(stored.length, original.length, 'batch length');
  assert.equal(stored.readBigInt64BE(BatchOffsets.baseOffset), baseOffset, 'base offset');
  assert.equal(stored.readInt32BE(BatchOffsets.partitionLeaderEpoch), LEADER_EPOCH, 'leader epoch');
  assert.deepEqual(stored.subarray(BatchOffsets.batchLength, BatchOffsets.partitionLeaderEpoch), original.subarray(BatchOffsets.batchLength, BatchOffsets.partitionLeaderEpoch));
  assert.deepEqual(stored.subarray(BatchOffsets.magic), original.subarray(BatchOffsets.magic), 'bytes after the leader epoch');
}

/** A promise with its resolve/reject exposed, to hold an fsync open until the test lets it finish. */
export interface Deferred<T = void> {
  readonly promise: Promise<T>;
  readonly resolve: (v: T) => void;
  readonly reject: (e: unknown) => void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export function errnoError(code: string, message = code): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

/** Lets queued promise callbacks and libuv completions run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export { silentLogger };
