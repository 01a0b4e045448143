import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { CaptureRegistry, CaptureErrorCodes, isCaptureError, newCaptureId, isCaptureId, STAGING_DIR, stagingDirOf } from '../../../src/backup/capture/index.js';
import { nodeLogFs, type LogFs } from '../../../src/storage/log/log-fs.js';
import { PRODUCER_IDS_FILE, ProducerIdStore } from '../../../src/storage/producer-ids.js';
import { errnoError } from '../storage/log/helpers.js';
import { batchesOf, captureFixture, capturedOffsets } from './capture-fixture.js';

describe('backup capture of open logs', () => {
  it('stages a consistent cut: segments end at batch boundaries at the captured end offset; store, producer ids and partition files copied', async (t) => {
    const f = captureFixture(t);
    f.config.segmentBytes = 2048;
    f.topic('orders', 2);
    f.topic('empty', 1);
    await f.produce('orders', 0, 20);
    await f.produce('orders', 1, 2);
    const ids = ProducerIdStore.open(f.dataDir);
    ids.next();
    const { capture, leaseExpiresAtMs } = await f.registry.take();
    assert.ok(isCaptureId(capture.id), capture.id);
    assert.equal(leaseExpiresAtMs, f.clock.now + 3_600_000);
    const staging = stagingDirOf(f.dataDir, capture.id);
    assert.equal(statSync(staging).mode & 0o777, 0o700);
    assert.equal(statSync(join(f.dataDir, STAGING_DIR)).mode & 0o777, 0o700);

    // Appended after the capture (no roll): in the hard-linked active segment, but past the captured length.
    f.config.segmentBytes = 1024 * 1024;
    await f.produce('orders', 0, 3);
    const byPartition = new Map(capture.partitions.map((p) => [`${p.topic}-${p.partition}`, p]));
    assert.deepEqual(byPartition.get('orders-0'), { topic: 'orders', partition: 0, topicId: 'orders-id', logStartOffset: '0', endOffset: '60' });
    assert.equal(byPartition.get('orders-1')?.endOffset, '6');
    assert.equal(byPartition.get('empty-0')?.endOffset, '0');
    assert.deepEqual(capturedOffsets(capture.files, 'orders', 0), { first: 0n, end: 60n });
    assert.deepEqual(capturedOffsets(capture.files, 'orders', 1), { first: 0n, end: 6n });
    const segments = capture.files.filter((file) => file.path.startsWith('logs/orders-0/') && file.kind === 'segment');
    assert.ok(segments.length > 1, 'orders-0 rolled: several segments captured');
    // The last captured segment is the active one: its file has grown, its length has not.
    const active = segments.at(-1);
    assert.ok(active !== undefined);
    assert.ok(statSync(active.source).size > active.length);
    for (const file of capture.files) {
      assert.ok(file.source.startsWith(`${staging}/`), file.source);
      assert.equal(file.source, join(staging, file.path));
    }
    const kinds = new Set(capture.files.map((file) => `${file.kind} ${file.path}`));
    for (const expected of ['metadata metadata.db', `producer-ids ${PRODUCER_IDS_FILE}`, 'partition-meta logs/orders-0/partition.json', 'segment logs/empty-0/00000000000000000000.log']) {
      assert.ok(kinds.has(expected), `${expected} in ${[...kinds].join(', ')}`);
    }
    // A roll wrote a producer state snapshot at or below the end: copied.
    assert.ok(capture.files.some((file) => file.kind === 'snapshot' && file.path.startsWith('logs/orders-0/')));
    assert.deepEqual(readFileSync(join(staging, PRODUCER_IDS_FILE)), readFileSync(join(f.dataDir, PRODUCER_IDS_FILE)));
    const copy = new Database(join(staging, 'metadata.db'), { readonly: true });
    try {
      const topics = copy.prepare('SELECT name FROM topics ORDER BY name').all() as { name: string }[];
      assert.deepEqual(topics.map((r) => r.name), ['empty', 'orders']);
    } finally {
      copy.close();
    }
    assert.equal(statSync(join(staging, 'metadata.db')).mode & 0o777, 0o600);
  });

  it('a segment retention deletes while the capture is held stays readable in the staging directory', async (t) => {
    const f = captureFixture(t);
    f.config.segmentBytes = 1024;
    f.topic('old', 1);
    await f.produce('old', 0, 12);
    const { capture } = await f.registry.take();
    const first = capture.files.find((file) => file.path === 'logs/old-0/00000000000000000000.log');
    assert.ok(first !== undefined);
    const before = readFileSync(first.source).subarray(0, first.length);
    f.config.retentionBytes = 1;
    const log = f.logs.get('old', 0);
    assert.ok(log !== undefined);
    assert.ok((await log.enforceRetention()) > 0);
    assert.ok(log.logStartOffset > 0n);
    assert.equal(existsSync(join(f.dataDir, 'logs', 'old-0', '00000000000000000000.log')), false, 'retention deleted the original');
    assert.deepEqual(readFileSync(first.source).subarray(0, first.length), before);
    assert.equal(batchesOf(first)[0]?.baseOffset, 0n);
  });

  it('holds at most two captures: a third is refused naming them; release removes the staging directory', async (t) => {
    const f = captureFixture(t);
    f.topic('t', 1);
    await f.produce('t', 0, 1);
    const a = await f.registry.take();
    const b = await f.registry.take();
    assert.notEqual(a.capture.id, b.capture.id);
    await assert.rejects(f.registry.take(), (err: unknown) => {
      assert.ok(isCaptureError(err, CaptureErrorCodes.TOO_MANY));
      assert.match(err.message, new RegExp(`2 backup captures are held already \\(${a.capture.id}, ${b.capture.id}\\)`));
      return true;
    });
    f.registry.release(a.capture.id);
    assert.equal(existsSync(stagingDirOf(f.dataDir, a.capture.id)), false);
    assert.ok(existsSync(stagingDirOf(f.dataDir, b.capture.id)));
    assert.deepEqual(f.released, [{ id: a.capture.id, reason: 'released' }]);
    assert.throws(
      () => {
        f.registry.release(a.capture.id);
      },
      (err: unknown) => isCaptureError(err, CaptureErrorCodes.UNKNOWN),
    );
    const c = await f.registry.take();
    f.registry.release(b.capture.id);
    f.registry.release(c.capture.id);
    assert.equal(existsSync(join(f.dataDir, STAGING_DIR)), false, 'nothing held: the staging directory is gone');
  });

  it('a lease expires unless renewed: its staging directory is removed (injected clock)', async (t) => {
    const f = captureFixture(t, { leaseMs: 60_000 });
    f.topic('t', 1);
    await f.produce('t', 0, 1);
    const kept = await f.registry.take();
    const lapsed = await f.registry.take();
    f.clock.now += 50_000;
    assert.equal(f.registry.renew(kept.capture.id), f.clock.now + 60_000);
    f.clock.now += 20_000;
    assert.deepEqual(f.registry.sweep(), [lapsed.capture.id]);
    assert.equal(existsSync(stagingDirOf(f.dataDir, lapsed.capture.id)), false);
    assert.ok(existsSync(stagingDirOf(f.dataDir, kept.capture.id)));
    assert.deepEqual(f.released, [{ id: lapsed.capture.id, reason: 'expired' }]);
    assert.ok(f.logger.at('warn').some((e) => e.msg.includes('lease expired')));
    assert.throws(() => f.registry.renew(lapsed.capture.id), (err: unknown) => isCaptureError(err, CaptureErrorCodes.UNKNOWN));
    f.clock.now += 60_000;
    // Taking another sweeps first: the expired one no longer counts against the bound.
    await f.registry.take();
    assert.deepEqual(f.released.map((r) => r.reason), ['expired', 'expired']);
  });

  it('refuses an offline partition, naming it, and leaves no staging directory', async (t) => {
    let failSync = false;
    const fs: LogFs = { ...nodeLogFs, fdatasync: (fd) => (failSync ? Promise.reject(errnoError('EIO', 'injected')) : nodeLogFs.fdatasync(fd)) };
    const f = captureFixture(t, { fs });
    f.topic('good', 1);
    f.topic('bad', 1);
    await f.produce('good', 0, 1);
    await f.produce('bad', 0, 1);
    failSync = true;
    await assert.rejects(f.logs.sync());
    failSync = false;
    await assert.rejects(f.registry.take(), (err: unknown) => {
      assert.ok(isCaptureError(err, CaptureErrorCodes.FAILED));
      assert.match(err.message, /partition (bad|good)-0 cannot be captured: partition \w+-0 is offline: fsync failed \(EIO\)/);
      return true;
    });
    assert.deepEqual(f.registry.held(), []);
    assert.equal(existsSync(join(f.dataDir, STAGING_DIR)) ? readdirCount(join(f.dataDir, STAGING_DIR)) : 0, 0);
  });

  it('removes a leftover staging directory at start, and says a backup was cut short', (t) => {
    const f = captureFixture(t);
    mkdirSync(join(f.dataDir, STAGING_DIR, '20260101T000000Z-abcd'), { recursive: true });
    writeFileSync(join(f.dataDir, STAGING_DIR, '20260101T000000Z-abcd', 'metadata.db'), 'x');
    assert.equal(CaptureRegistry.clearLeftovers(f.dataDir, f.logger), true);
    assert.equal(existsSync(join(f.dataDir, STAGING_DIR)), false);
    assert.ok(f.logger.at('warn').some((e) => e.msg.includes('cut short')));
    assert.equal(CaptureRegistry.clearLeftovers(f.dataDir, f.logger), false);
  });

  it('capture ids sort by UTC time and end in 4 hex digits', () => {
    assert.equal(newCaptureId(Date.UTC(2026, 11, 7, 17, 15, 0, 999), () => Buffer.from([0x3f, 0x9a])), '20261207T171500Z-3f9a');
    assert.equal(isCaptureId('20261207T171500Z-3f9a'), true);
    for (const bad of ['20261207T171500Z-3F9A', '../etc', '20261207T171500Z-3f9a/..', 42]) assert.equal(isCaptureId(bad), false, String(bad));
  });
});

function readdirCount(dir: string): number {
  return readdirSyncSafe(dir).length;
}

function readdirSyncSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
