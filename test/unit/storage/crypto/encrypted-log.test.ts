import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { crc32c } from '@node-rs/crc32';
import { BatchOffsets, CRC_START, readBatchHeader } from '../../../../src/records/batch.js';
import { buildBatchSync } from '../../../../src/records/record.js';
import { DataKeyCache } from '../../../../src/storage/crypto/data-key-cache.js';
import { topicKeyName } from '../../../../src/storage/crypto/kek-provider.js';
import { LocalKekProvider } from '../../../../src/storage/crypto/local-provider.js';
import { DATA_KEYS_FILE, DEFAULT_DATA_KEY_LIMITS, type DataKeyLimits, type KeyServices } from '../../../../src/storage/crypto/partition-keys.js';
import { SEALED_MAGIC, SealedOffsets } from '../../../../src/storage/crypto/sealed-batch.js';
import { LOG_FORMAT_VERSION, PARTITION_META_FILE, SEALED_FORMAT_VERSION } from '../../../../src/storage/log/format.js';
import { LogManager } from '../../../../src/storage/log/log-manager.js';
import { filesUnder, segmentFiles, storedEntries } from '../../../helpers/sealed-storage.js';
import { T0, assertSameBatch, defaultConfig, defer, makeBatch, recordingLogger, recordsOf, tempDir } from '../log/helpers.js';

const MASTER = randomBytes(32);
const TOPIC = { name: 't', id: 'topic-id-1', partitions: 2 };

function keysOn(dataDir: string, limits: DataKeyLimits = DEFAULT_DATA_KEY_LIMITS): KeyServices & { provider: LocalKekProvider } {
  const provider = LocalKekProvider.open(join(dataDir, 'keyring.json'), { kind: 'key', key: MASTER }, { create: true });
  return { provider, cache: new DataKeyCache(16), limits };
}

/** A log manager on `dataDir` whose topic `t` is encrypted (or not, by `encrypted`), with keys from `keys`. */
function open(t: TestContext, dataDir: string, options: { keys?: KeyServices; encrypted?: boolean; clock?: () => number } = {}) {
  const logger = recordingLogger();
  const config = { ...defaultConfig(), encrypted: options.encrypted ?? true };
  const m = new LogManager({
    dataDir,
    logger,
    clock: options.clock ?? (() => T0),
    configs: { configFor: () => config },
    ...(options.keys === undefined ? {} : { keys: options.keys }),
  });
  m.addTopic(TOPIC);
  defer(t, () => m.close());
  return { m, logger, config };
}

async function append(m: LogManager, bytes: Buffer, partition = 0) {
  return m.append(TOPIC.name, partition, Buffer.from(bytes));
}

async function readAll(m: LogManager, partition = 0) {
  const found = m.lookup(TOPIC.name, partition);
  if (found.kind !== 'log') return assert.fail(`expected a log, got ${found.kind}`);
  return found.log.readRecords(0n, 1 << 20, true);
}

/** The one segment file of a partition of `t` (these tests never roll). */
function segmentFile(dataDir: string, partition = 0): string {
  const [log] = segmentFiles(dataDir, TOPIC.name, partition);
  assert.ok(log !== undefined);
  return log;
}

function metaVersion(dataDir: string): number {
  return (JSON.parse(readFileSync(join(dataDir, 'logs', 't-0', PARTITION_META_FILE), 'utf8')) as { formatVersion: number }).formatVersion;
}

/** Every file under `dir`, recursively, with its contents. */
function allFiles(dir: string): { path: string; data: Buffer }[] {
  return filesUnder(dir).map((name) => ({ path: join(dir, name), data: readFileSync(join(dir, name)) }));
}

describe('encryption at rest in the log', () => {
  it('stores batches sealed, with no record byte in any file, and reads them back as produced, across a restart', async (t) => {
    const dataDir = tempDir(t);
    const first = open(t, dataDir, { keys: keysOn(dataDir) });
    const batch = makeBatch(3, { valueBytes: 64, tag: 'SECRET-MARKER-' });
    const outcome = await append(first.m, batch.bytes);
    assert.equal(outcome.kind, 'appended');
    assertSameBatch(recordsOf(await readAll(first.m))[0], batch.original, 0n);
    await first.m.close();
    for (const file of allFiles(dataDir)) {
      assert.equal(file.data.includes('SECRET-MARKER'), false, `${file.path} holds the marker`);
      assert.equal(file.data.includes(batch.original.subarray(BatchOffsets.records)), false, `${file.path} holds the records`);
    }
    const stored = readFileSync(segmentFile(dataDir));
    assert.equal(stored.readInt8(BatchOffsets.magic), SEALED_MAGIC);
    // Format version 2 before the first sealed batch: an older build refuses the partition rather than
    // truncate it at a magic byte it does not know.
    assert.equal(metaVersion(dataDir), SEALED_FORMAT_VERSION);
    const again = open(t, dataDir, { keys: keysOn(dataDir) });
    assertSameBatch(recordsOf(await readAll(again.m))[0], batch.original, 0n);
  });

  it('refuses to write an encrypted topic without keys, and never falls back to clear text', async (t) => {
    const dataDir = tempDir(t);
    const { m } = open(t, dataDir);
    const outcome = await append(m, makeBatch(1).bytes);
    assert.equal(outcome.kind, 'key-unavailable');
    assert.match('message' in outcome ? outcome.message : '', /encrypted at rest.*not written/);
    assert.equal(m.lookup(TOPIC.name, 0).kind === 'log' && (m.get(TOPIC.name, 0)?.logEndOffset ?? -1n), 0n);
  });

  it('writes a clear partition encrypted from the next batch on, and reads the mixed log', async (t) => {
    const dataDir = tempDir(t);
    const clear = open(t, dataDir, { keys: keysOn(dataDir), encrypted: false });
    const before = makeBatch(2, { tag: 'clear-' });
    await append(clear.m, before.bytes);
    assert.equal(metaVersion(dataDir), LOG_FORMAT_VERSION, 'a clear partition stays readable by older builds');
    clear.config.encrypted = true;
    const after = makeBatch(2, { tag: 'sealed-' });
    await append(clear.m, after.bytes);
    const read = recordsOf(await readAll(clear.m));
    assertSameBatch(read[0], before.original, 0n);
    assertSameBatch(read[1], after.original, 2n);
    const file = readFileSync(segmentFile(dataDir));
    assert.ok(file.includes('clear-'), 'the older batch stays as it was');
    assert.equal(metaVersion(dataDir), SEALED_FORMAT_VERSION, 'raised at the first sealed batch');
    assert.equal(file.includes('sealed-'), false);
  });

  it('rolls data keys over after their batch limit, keeps every key wrapped beside the data, and reads all of them', async (t) => {
    const dataDir = tempDir(t);
    const keys = keysOn(dataDir, { ...DEFAULT_DATA_KEY_LIMITS, maxBatches: 2 });
    const { m } = open(t, dataDir, { keys });
    const batches = Array.from({ length: 5 }, (_, i) => makeBatch(1, { tag: `b${i}-` }));
    for (const b of batches) assert.equal((await append(m, b.bytes)).kind, 'appended');
    const stored = JSON.parse(readFileSync(join(dataDir, 'logs', 't-0', DATA_KEYS_FILE), 'utf8')) as { keys: { id: number; wrapped: string }[] };
    assert.deepEqual(
      stored.keys.map((k) => k.id),
      [1, 2, 3],
    );
    const segment = readFileSync(segmentFile(dataDir));
    const ids = storedEntries(segmentFile(dataDir)).map((e) => segment.readUInt32BE(e.position + SealedOffsets.dekId));
    assert.deepEqual(ids, [1, 1, 2, 2, 3]);
    keys.cache.dropPartition(`${TOPIC.id}\u00000`);
    const read = recordsOf(await readAll(m));
    for (const [i, b] of batches.entries()) assertSameBatch(read[i], b.original, BigInt(i));
  });

  it('rolls data keys over after their age limit', async (t) => {
    const dataDir = tempDir(t);
    let now = T0;
    const keys = keysOn(dataDir, { ...DEFAULT_DATA_KEY_LIMITS, maxAgeMs: 1000 });
    const { m } = open(t, dataDir, { keys, clock: () => now });
    await append(m, makeBatch(1).bytes);
    now += 999;
    await append(m, makeBatch(1).bytes);
    now += 2;
    await append(m, makeBatch(1).bytes);
    const stored = JSON.parse(readFileSync(join(dataDir, 'logs', 't-0', DATA_KEYS_FILE), 'utf8')) as { keys: { createdMs: number }[] };
    assert.deepEqual(
      stored.keys.map((k) => k.createdMs),
      [T0, T0 + 1001],
    );
  });

  it('refuses a batch whose ciphertext has a flipped bit (CRC made right again): authentication fails, nothing is served', async (t) => {
    const dataDir = tempDir(t);
    const first = open(t, dataDir, { keys: keysOn(dataDir) });
    await append(first.m, makeBatch(2, { valueBytes: 100 }).bytes);
    await first.m.close();
    const path = segmentFile(dataDir);
    const file = readFileSync(path);
    const at = SealedOffsets.ciphertext + 40;
    file[at] = (file[at] as number) ^ 0x01;
    // An attacker who knows the format rewrites the clear CRC too: only the GCM tag can tell.
    file.writeUInt32BE(crc32c(file.subarray(CRC_START)) >>> 0, BatchOffsets.crc);
    writeFileSync(path, file);
    const again = open(t, dataDir, { keys: keysOn(dataDir) });
    const read = await readAll(again.m);
    assert.equal(read.kind, 'corrupt');
    assert.match('reason' in read ? read.reason : '', /failed authentication/);
    assert.ok(again.logger.entries.some((e) => e.msg === 'refused to serve a sealed record batch'));
  });

  it('refuses a sealed batch copied to another partition, or to another offset', async (t) => {
    const dataDir = tempDir(t);
    const keys = keysOn(dataDir);
    const first = open(t, dataDir, { keys });
    await append(first.m, makeBatch(1, { tag: 'p0-' }).bytes, 0);
    await append(first.m, makeBatch(1, { tag: 'p1-' }).bytes, 1);
    await append(first.m, makeBatch(1, { tag: 'p1b-' }).bytes, 1);
    await first.m.close();
    const p0 = readFileSync(segmentFile(dataDir, 0));
    const p1 = readFileSync(segmentFile(dataDir, 1));
    // Partition 1's first batch replaced by partition 0's (same offset 0, same key id 1).
    const firstOfP1 = 12 + p1.readInt32BE(8);
    writeFileSync(segmentFile(dataDir, 1), Buffer.concat([p0, p1.subarray(firstOfP1)]));
    // Partition 0's batch moved to offset 1 of partition 0 (its base offset rewritten, outside the CRC).
    const moved = Buffer.from(p0);
    moved.writeBigInt64BE(1n, 0);
    writeFileSync(segmentFile(dataDir, 0), Buffer.concat([p0, moved]));
    const again = open(t, dataDir, { keys: keysOn(dataDir) });
    const copied = await readAll(again.m, 1);
    assert.equal(copied.kind, 'corrupt', 'a batch from partition 0 is refused in partition 1');
    const found = again.m.get(TOPIC.name, 0);
    const second = await found?.readRecords(1n, 1 << 20, true);
    assert.equal(second?.kind, 'corrupt', 'a batch moved to offset 1 is refused');
    assert.equal(recordsOf((await found?.readRecords(0n, 1 << 20, true)) ?? { kind: 'out-of-range' }).length, 1, 'the original still reads');
  });

  it('answers key-unavailable when the KEK is missing and key-destroyed after crypto-shredding; other topics go on', async (t) => {
    const dataDir = tempDir(t);
    const keys = keysOn(dataDir);
    const first = open(t, dataDir, { keys });
    first.m.addTopic({ name: 'other', id: 'other-id', partitions: 1 });
    await append(first.m, makeBatch(1).bytes);
    assert.equal((await first.m.append('other', 0, makeBatch(1).bytes)).kind, 'appended');
    await first.m.close();
    // A keyring that never held the topic's KEK (the right one lost and not restored).
    const lost = open(t, dataDir, { keys: keysOn(tempDir(t)) });
    const unreadable = await readAll(lost.m);
    assert.equal(unreadable.kind, 'key-unavailable');
    assert.match('reason' in unreadable ? unreadable.reason : '', /no key topic:topic-id-1 version 1/);
    const notWritten = await append(lost.m, makeBatch(1).bytes);
    assert.equal(notWritten.kind, 'key-unavailable', 'no new KEK is made for a topic whose keys are missing');
    await lost.m.close();
    await keys.provider.destroy(topicKeyName(TOPIC.id));
    const shredded = open(t, dataDir, { keys });
    shredded.m.addTopic({ name: 'other', id: 'other-id', partitions: 1 });
    assert.equal((await readAll(shredded.m)).kind, 'key-destroyed');
    const refused = await append(shredded.m, makeBatch(1).bytes);
    assert.equal(refused.kind, 'key-destroyed');
    assert.match('message' in refused ? refused.message : '', /destroyed/);
    const other = shredded.m.get('other', 0);
    assert.equal(recordsOf((await other?.readRecords(0n, 1 << 20, true)) ?? { kind: 'out-of-range' }).length, 1, 'the other topic is served');
    assert.equal((await shredded.m.append('other', 0, makeBatch(1).bytes)).kind, 'appended');
  });

  it('loads the producer state from sealed data after a crash: a retried idempotent batch is still a duplicate', async (t) => {
    const dataDir = tempDir(t);
    const first = open(t, dataDir, { keys: keysOn(dataDir) });
    const idem = (seq: number) => buildBatchSync({ records: [{ value: `v${seq}`, timestamp: T0 }], producerId: 9n, producerEpoch: 0, baseSequence: seq });
    assert.equal((await append(first.m, idem(0))).kind, 'appended');
    assert.equal((await append(first.m, idem(1))).kind, 'appended');
    await first.m.sync();
    // A crash: no close, so no snapshot; the producer fields are only in the sealed batches.
    const again = open(t, dataDir, { keys: keysOn(dataDir) });
    const log = again.m.get(TOPIC.name, 0);
    assert.equal(log?.producerStateDeferred, true, 'the producer state waits for the keys');
    const retry = await append(again.m, idem(1));
    assert.deepEqual({ kind: retry.kind, base: 'baseOffset' in retry ? retry.baseOffset : -1n }, { kind: 'duplicate', base: 1n });
    assert.equal((await append(again.m, idem(3))).kind, 'out-of-sequence');
  });

  it('seals producer state snapshots: no producer id in clear, and a clean restart reads them with the keys', async (t) => {
    const dataDir = tempDir(t);
    const first = open(t, dataDir, { keys: keysOn(dataDir) });
    const idem = (seq: number) => buildBatchSync({ records: [{ value: `v${seq}`, timestamp: T0 }], producerId: 123456789n, producerEpoch: 0, baseSequence: seq });
    await append(first.m, idem(0));
    await first.m.close();
    const snapshots = allFiles(dataDir).filter((f) => f.path.endsWith('.snapshot'));
    assert.equal(snapshots.length, 1);
    const [snapshot] = snapshots;
    assert.ok(snapshot !== undefined);
    assert.equal(snapshot.data.includes('123456789'), false, 'no producer id in clear');
    assert.ok(snapshot.data.subarray(0, 40).toString().startsWith('parapet-sealed-snapshot v1'));
    const again = open(t, dataDir, { keys: keysOn(dataDir) });
    const retry = await append(again.m, idem(0));
    assert.equal(retry.kind, 'duplicate');
  });

  it('reads the batch by timestamp inside a sealed batch', async (t) => {
    const dataDir = tempDir(t);
    const { m } = open(t, dataDir, { keys: keysOn(dataDir) });
    await append(m, makeBatch(3, { timestamps: [T0, T0 + 10, T0 + 20] }).bytes);
    const log = m.get(TOPIC.name, 0);
    assert.deepEqual(await log?.offsetForTimestamp(T0 + 5), { offset: 1n, timestamp: BigInt(T0 + 10) });
    assert.equal(readBatchHeader(recordsOf((await log?.readRecords(0n, 1 << 20, true)) ?? { kind: 'out-of-range' })[0] ?? Buffer.alloc(0)).recordCount, 3);
  });
});
