import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { BatchOffsets, readBatchHeader, splitBatches } from '../../../../src/records/batch.js';
import { CompressionCodec } from '../../../../src/records/compression.js';
import { buildBatchSync, type RecordInput } from '../../../../src/records/record.js';
import { CLEANER_CHECKPOINT_FILE } from '../../../../src/storage/compaction/cleaner-checkpoint.js';
import type { CleaningOutcome } from '../../../../src/storage/compaction/partition-cleaner.js';
import { DataKeyCache } from '../../../../src/storage/crypto/data-key-cache.js';
import { LocalKekProvider } from '../../../../src/storage/crypto/local-provider.js';
import { DEFAULT_DATA_KEY_LIMITS, type KeyServices } from '../../../../src/storage/crypto/partition-keys.js';
import { COMPACTED_FORMAT_VERSION, PARTITION_META_FILE } from '../../../../src/storage/log/format.js';
import type { LogConfig } from '../../../../src/storage/log/log-config.js';
import { LogManager } from '../../../../src/storage/log/log-manager.js';
import { appendRecords, assertCompacted, fillPartition, readPartition } from '../../../helpers/compaction-setup.js';
import { T0, defaultConfig, defer, recordingLogger, tempDir } from '../log/helpers.js';

const TOPIC = { name: 'changelog', id: 'topic-id-c', partitions: 1 };
const DAY = 86_400_000;

interface Opened {
  readonly m: LogManager;
  readonly config: { -readonly [K in keyof LogConfig]: LogConfig[K] };
  readonly outcomes: CleaningOutcome[];
  readonly logger: ReturnType<typeof recordingLogger>;
  /** What the log observer (metrics) was told of each cleaning: outcome, bytes before and after, records removed. */
  readonly observed: [string, number, number, number][];
}

/** A log manager whose one topic is compacted, with small segments so that most of the log is cleanable. */
function open(t: TestContext, dataDir: string, clock: { now: number }, options: { keys?: KeyServices; memoryBytes?: number; config?: Partial<LogConfig> } = {}): Opened {
  const logger = recordingLogger();
  const outcomes: CleaningOutcome[] = [];
  const observed: [string, number, number, number][] = [];
  const config = defaultConfig({
    segmentBytes: 4096,
    deleteRetention: false,
    compaction: { minCleanableDirtyRatio: 0, minCompactionLagMs: 0, maxCompactionLagMs: Number.MAX_SAFE_INTEGER, deleteRetentionMs: DAY },
    ...(options.keys === undefined ? {} : { encrypted: true }),
    ...options.config,
  });
  const m = new LogManager({
    dataDir,
    logger,
    clock: () => clock.now,
    configs: { configFor: () => config },
    cleaner: { memoryBytes: options.memoryBytes ?? 1024 * 1024, ioBytesPerSecond: 0, intervalMs: 60_000 },
    onCleaning: (_partition, outcome) => outcomes.push(outcome),
    observer: {
      appended: () => undefined,
      fsync: () => undefined,
      storageError: () => undefined,
      topicDeleted: () => undefined,
      cleaning: (...args) => observed.push(args),
    },
    ...(options.keys === undefined ? {} : { keys: options.keys }),
  });
  m.addTopic(TOPIC);
  defer(t, () => m.close());
  return { m, config, outcomes, logger, observed };
}

function append(m: LogManager, records: RecordInput[], producer?: { id: bigint; sequence: number }): Promise<bigint> {
  return appendRecords(m, TOPIC.name, records, producer);
}

/** Syncs what was appended (as acks=all producers would), so the rolled segments are durable and cleanable, then cleans. */
async function clean(m: LogManager): Promise<number> {
  await m.sync();
  return m.cleanCompactedLogs();
}

function readAll(m: LogManager) {
  return readPartition(m, TOPIC.name);
}

function fill(m: LogManager, rounds: number, keys: number, tag = 'v') {
  return fillPartition(m, TOPIC.name, { rounds, keys, tag });
}

function cleanedTo(outcomes: readonly CleaningOutcome[]): bigint {
  const last = outcomes.filter((o) => o.kind === 'cleaned').at(-1);
  if (last?.kind !== 'cleaned') return assert.fail(`no cleaning: ${JSON.stringify(outcomes.map((o) => o.kind))}`);
  return last.stats.cleanedTo;
}

function partitionDir(dataDir: string): string {
  return join(dataDir, 'logs', `${TOPIC.name}-0`);
}

function keysOn(dataDir: string): KeyServices {
  const provider = LocalKekProvider.open(join(dataDir, 'keyring.json'), { kind: 'key', key: randomBytes(32) }, { create: true });
  return { provider, cache: new DataKeyCache(16), limits: DEFAULT_DATA_KEY_LIMITS };
}

describe('log compaction', () => {
  it('keeps the newest record of each key at its original offset, across restarts and rebuilt indexes', async (t) => {
    const dataDir = tempDir(t);
    const clock = { now: T0 };
    const first = open(t, dataDir, clock);
    const written = await fill(first.m, 300, 25);
    const before = (await readAll(first.m)).records.length;
    assert.equal(await clean(first.m), 1);
    const to = cleanedTo(first.outcomes);
    const after = await readAll(first.m);
    assertCompacted(after.records, written, to);
    assert.ok(after.records.length < before / 5, `${after.records.length} of ${before} records left`);
    const [observed] = first.observed;
    assert.ok(observed !== undefined && observed[0] === 'cleaned' && observed[2] < observed[1] / 5 && observed[3] > before / 2, `metrics told: ${JSON.stringify(observed)}`);
    const meta = JSON.parse(readFileSync(join(partitionDir(dataDir), PARTITION_META_FILE), 'utf8')) as { formatVersion: number };
    assert.equal(meta.formatVersion, COMPACTED_FORMAT_VERSION);
    // Nothing more to do until more is written.
    assert.equal(await clean(first.m), 0);
    await first.m.close();

    const again = open(t, dataDir, clock);
    assert.deepEqual((await readAll(again.m)).records, after.records);
    await again.m.close();
    // Without index files, every segment is scanned: the gaps the cleaner left are no corruption.
    for (const name of readdirSync(partitionDir(dataDir))) if (name.endsWith('.index') || name.endsWith('.timeindex')) unlinkSync(join(partitionDir(dataDir), name));
    const rebuilt = open(t, dataDir, clock);
    assert.deepEqual((await readAll(rebuilt.m)).records, after.records);
    assert.deepEqual(rebuilt.logger.at('error'), []);
    // More values for the same keys: the next cleaning reads only those, and the result holds again.
    for (const [offset, r] of await fill(rebuilt.m, 100, 25, 'w')) written.set(offset, r);
    assert.equal(await clean(rebuilt.m), 1);
    assertCompacted((await readAll(rebuilt.m)).records, written, cleanedTo(rebuilt.outcomes));
  });

  it('keeps a tombstone delete.retention.ms after the cleaning that first read it, then removes it', async (t) => {
    const clock = { now: T0 };
    const { m, outcomes } = open(t, tempDir(t), clock);
    await append(m, [{ key: 'gone', value: 'first' }, { key: 'stays', value: 'kept' }]);
    await append(m, [{ key: 'gone', value: null }]);
    await fill(m, 60, 5);
    await clean(m);
    const kept = (await readAll(m)).records.filter((r) => r.key === 'gone' || r.key === 'stays');
    assert.deepEqual(kept, [
      { offset: 1n, key: 'stays', value: 'kept' },
      { offset: 2n, key: 'gone', value: null },
    ]);
    clock.now += DAY - 1;
    assert.equal(await clean(m), 0, 'not yet');
    clock.now += 1;
    assert.equal(await clean(m), 1);
    const last = outcomes.at(-1);
    assert.equal(last?.kind === 'cleaned' ? last.stats.reason : last?.kind, 'tombstones-expired');
    assert.deepEqual((await readAll(m)).records.filter((r) => r.key === 'gone' || r.key === 'stays'), [{ offset: 1n, key: 'stays', value: 'kept' }]);
  });

  it('cleans sealed batches: opened to read their keys, sealed again, never written in clear', async (t) => {
    const dataDir = tempDir(t);
    const clock = { now: T0 };
    const { m, outcomes, logger } = open(t, dataDir, clock, { keys: keysOn(dataDir) });
    const written = await fill(m, 200, 20, 'secret-value-');
    await clean(m);
    const after = await readAll(m);
    assertCompacted(after.records, written, cleanedTo(outcomes));
    for (const name of readdirSync(partitionDir(dataDir))) {
      assert.ok(!readFileSync(join(partitionDir(dataDir), name)).includes('secret-value-'), `${name} holds no record in clear`);
    }
    assert.deepEqual(logger.at('error'), []);
  });

  it("keeps each producer's last batch, empty when all its records were superseded, so idempotence survives", async (t) => {
    const dataDir = tempDir(t);
    const clock = { now: T0 };
    const first = open(t, dataDir, clock);
    const producer = { id: 42n, sequence: 0 };
    await append(first.m, [{ key: 'a', value: 'p0' }, { key: 'b', value: 'p1' }], producer);
    const last = await append(first.m, [{ key: 'a', value: 'p2' }], { id: 42n, sequence: 2 });
    // A segment's worth of other keys (replaced later too): the producer's batches are alone in the first segment.
    await fill(first.m, 12, 5);
    await append(first.m, [{ key: 'a', value: 'other' }, { key: 'b', value: 'other' }]);
    await fill(first.m, 60, 5);
    await clean(first.m);
    const { batches, records } = await readAll(first.m);
    assert.ok(!records.some((r) => r.value?.startsWith('p') === true), 'every record of the producer was superseded');
    const kept = batches.filter((b) => b.readBigInt64BE(BatchOffsets.producerId) === 42n);
    assert.equal(kept.length, 1, 'only the last batch of the producer stays');
    const header = readBatchHeader(kept[0] as Buffer);
    assert.deepEqual([header.baseOffset, header.recordCount, header.baseSequence, header.lastOffsetDelta], [last, 0, 2, 0]);
    // One fetch at the empty batch goes on past the end of its (small, cleaned) segment: a response of
    // only batches without records makes KafkaJS skip the partition to its end.
    const found = first.m.lookup(TOPIC.name, 0);
    assert.ok(found.kind === 'log');
    const fetched = await found.log.readRecords(last, 1 << 20, true);
    assert.ok(fetched.kind === 'records');
    assert.ok(splitBatches(fetched.records).some((b) => readBatchHeader(b).recordCount > 0), 'the fetch at the empty batch carries records too');
    await first.m.close();
    // Rebuilt from the log alone (no snapshot), the producer state still knows sequence 2.
    for (const name of readdirSync(partitionDir(dataDir))) if (name.endsWith('.snapshot')) unlinkSync(join(partitionDir(dataDir), name));
    const again = open(t, dataDir, clock);
    const retry = await again.m.append(TOPIC.name, 0, buildBatchSync({ records: [{ key: 'a', value: 'p2' }], producerId: 42n, producerEpoch: 0, baseSequence: 2 }));
    assert.equal(retry.kind, 'duplicate');
    const gap = await again.m.append(TOPIC.name, 0, buildBatchSync({ records: [{ key: 'a', value: 'p9' }], producerId: 42n, producerEpoch: 0, baseSequence: 9 }));
    assert.equal(gap.kind, 'out-of-sequence');
  });

  it('refuses records without a key, as Kafka does on a compacted topic', async (t) => {
    const { m } = open(t, tempDir(t), { now: T0 });
    const outcome = await m.append(TOPIC.name, 0, buildBatchSync({ records: [{ key: 'k', value: '1' }, { value: 'no key' }] }));
    assert.equal(outcome.kind, 'invalid-record');
    assert.match('message' in outcome ? outcome.message : '', /cannot accept a record without a key \(record 1 of the batch\)/);
    // Compressed (gzip decompresses on the libuv pool): the same rule, read from the one decompression.
    const gzipped = await m.append(TOPIC.name, 0, buildBatchSync({ compression: CompressionCodec.gzip, records: [{ value: 'no key' }, { key: 'k', value: '2' }] }));
    assert.equal(gzipped.kind, 'invalid-record');
    assert.match('message' in gzipped ? gzipped.message : '', /without a key \(record 0 of the batch\)/);
    assert.equal((await m.append(TOPIC.name, 0, buildBatchSync({ compression: CompressionCodec.gzip, records: [{ key: 'k', value: '3' }] }))).kind, 'appended');
  });

  it('cleans in several passes when the offset map holds fewer keys than the log has', async (t) => {
    const clock = { now: T0 };
    // 40 slots: 36 keys a pass, for 300 keys.
    const { m, outcomes } = open(t, tempDir(t), clock, { memoryBytes: 40 * 24 });
    const written = await fill(m, 120, 300);
    let passes = 0;
    while ((await clean(m)) > 0) passes++;
    assert.ok(passes >= 8, `${passes} passes`);
    const full = outcomes.filter((o) => o.kind === 'cleaned').map((o) => o.stats.keys);
    assert.ok(Math.max(...full) <= 36, `at most 36 keys a pass, got ${Math.max(...full)}`);
    assertCompacted((await readAll(m)).records, written, cleanedTo(outcomes));
  });

  it('refuses to clean around a corrupt batch, changing nothing, and says so', async (t) => {
    const dataDir = tempDir(t);
    const clock = { now: T0 };
    const first = open(t, dataDir, clock);
    await fill(first.m, 100, 10);
    await first.m.close();
    const dir = partitionDir(dataDir);
    const firstSegment = join(dir, readdirSync(dir).filter((n) => n.endsWith('.log')).sort()[0] as string);
    const damaged = readFileSync(firstSegment);
    damaged[200] = (damaged[200] as number) ^ 0xff;
    writeFileSync(firstSegment, damaged);
    const again = open(t, dataDir, clock);
    again.m.openExisting(10);
    // The index files still match: the damage is found when the batch is read, by the cleaner first.
    assert.equal(await clean(again.m), 0);
    assert.equal(again.outcomes[0]?.kind, 'refused');
    assert.deepEqual(readFileSync(firstSegment), damaged, 'the segment is untouched');
    assert.ok(!readdirSync(dir).includes(CLEANER_CHECKPOINT_FILE));
    assert.ok(again.logger.at('error').some((e) => /refused to compact a partition/.test(e.msg)));
    assert.ok(!readdirSync(dir).some((n) => n.endsWith('.cleaned')), 'no copy left behind');
  });
});
