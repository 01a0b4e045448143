import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { ParapetError } from '../../../../src/errors.js';
import { LOG_FORMAT_VERSION, PARTITION_META_FILE, segmentFileName } from '../../../../src/storage/log/format.js';
import { LogManager } from '../../../../src/storage/log/log-manager.js';
import { T0, appendTo, baseOffsetsOf, configSource, defaultConfig, defer, makeBatch, recordingLogger, recordsOf, tempDir } from './helpers.js';

function newManager(t: TestContext, dataDir = tempDir(t)): { m: LogManager; dataDir: string; logs: string } {
  const m = new LogManager({ dataDir, logger: recordingLogger(), configs: configSource(), clock: () => T0 });
  defer(t, () => m.close());
  return { m, dataDir, logs: join(dataDir, 'logs') };
}

function isStorageError(err: unknown): boolean {
  return err instanceof ParapetError && err.code === 'STORAGE_ERROR';
}

describe('LogManager', () => {
  it('creates logs/<topic>-<partition> directories with partition.json', (t) => {
    const { m, logs } = newManager(t);
    const opened = m.openTopic({ name: 'orders', id: 'topic-id-1', partitions: 3 });
    assert.equal(opened.length, 3);
    assert.deepEqual(readdirSync(logs).sort(), ['orders-0', 'orders-1', 'orders-2']);
    for (let p = 0; p < 3; p++) {
      const meta = JSON.parse(readFileSync(join(logs, `orders-${p}`, PARTITION_META_FILE), 'utf8')) as Record<string, unknown>;
      assert.deepEqual(meta, { formatVersion: LOG_FORMAT_VERSION, topic: 'orders', partition: p, topicId: 'topic-id-1' });
      assert.equal(LOG_FORMAT_VERSION, 1);
      assert.ok(existsSync(join(logs, `orders-${p}`, segmentFileName(0n, '.log'))));
      assert.equal(m.get('orders', p), opened[p]);
    }
    assert.equal(m.get('orders', 3), undefined);
    assert.equal(m.get('other', 0), undefined);
  });

  it('adds partitions without touching the existing ones', async (t) => {
    const { m, logs } = newManager(t);
    const [p0] = m.openTopic({ name: 't', id: 'id', partitions: 1 });
    assert.ok(p0 !== undefined);
    await appendTo(m, p0, makeBatch(2));
    const more = m.openTopic({ name: 't', id: 'id', partitions: 3 });
    assert.equal(more.length, 3);
    assert.equal(more[0], p0);
    assert.equal(p0.logEndOffset, 2n);
    assert.deepEqual(readdirSync(logs).sort(), ['t-0', 't-1', 't-2']);
  });

  it('notifies the watchers of a partition of its appends only, until they stop, and when it is deleted', async (t) => {
    const { m } = newManager(t);
    const [p0, p1] = m.openTopic({ name: 't', id: 'id', partitions: 2 });
    assert.ok(p0 !== undefined && p1 !== undefined);
    const seen: string[] = [];
    const stop0 = m.watch(p0, () => seen.push('a on p0'));
    const stopOther = m.watch(p0, () => seen.push('b on p0'));
    m.watch(p1, () => seen.push('c on p1'));
    assert.equal(m.watcherCount, 3);
    assert.equal(await appendTo(m, p0, makeBatch(1)), 0n);
    assert.deepEqual(seen.splice(0), ['a on p0', 'b on p0'], 'an append to p0 calls no watcher of p1');
    stop0();
    stop0();
    await appendTo(m, p0, makeBatch(1));
    assert.deepEqual(seen.splice(0), ['b on p0']);
    stopOther();
    assert.equal(m.watcherCount, 1, 'stopped watchers are gone, not merely silent');
    await appendTo(m, p0, makeBatch(1));
    assert.deepEqual(seen.splice(0), []);
    await m.deleteTopic('t');
    assert.deepEqual(seen.splice(0), ['c on p1'], 'a deleted partition wakes its watchers');
  });

  it('deletes a topic’s directories; re-created with the same name it starts at offset 0', async (t) => {
    const { m, logs } = newManager(t);
    const old = m.openTopic({ name: 't', id: 'id-1', partitions: 2 });
    for (const log of old) await appendTo(m, log, makeBatch(5));
    m.openTopic({ name: 'keep', id: 'id-k', partitions: 1 });
    await m.deleteTopic('t');
    assert.deepEqual(readdirSync(logs), ['keep-0']);
    assert.equal(m.get('t', 0), undefined);
    assert.throws(() => old[0]?.append(makeBatch(1)), isStorageError);

    const [fresh] = m.openTopic({ name: 't', id: 'id-2', partitions: 1 });
    assert.ok(fresh !== undefined);
    assert.equal(fresh.logEndOffset, 0n);
    assert.equal(fresh.logStartOffset, 0n);
    assert.equal(await appendTo(m, fresh, makeBatch(1)), 0n);
    const meta = JSON.parse(readFileSync(join(logs, 't-0', PARTITION_META_FILE), 'utf8')) as { topicId: string };
    assert.equal(meta.topicId, 'id-2');
  });

  it('does not remove the directory of a topic re-created while the deletion was finishing', async (t) => {
    const { m, logs } = newManager(t);
    const [old] = m.openTopic({ name: 't', id: 'id-1', partitions: 1 });
    assert.ok(old !== undefined);
    await appendTo(m, old, makeBatch(5));
    old.roll();
    await appendTo(m, old, makeBatch(1));
    const deleting = m.deleteTopic('t');
    // A CreateTopics from another connection lands before the old files are closed.
    const [fresh] = m.openTopic({ name: 't', id: 'id-2', partitions: 1 });
    assert.ok(fresh !== undefined);
    const batch = makeBatch(2);
    assert.equal(await appendTo(m, fresh, batch), 0n);
    await deleting;
    await m.sync();
    assert.ok(existsSync(join(logs, 't-0', segmentFileName(0n, '.log'))), 'the new topic’s segment survives');
    assert.ok(!existsSync(join(logs, 't-0', segmentFileName(0n, '.index'))), 'no stale index of the old topic written into it');
    assert.deepEqual(baseOffsetsOf(fresh.read(0n, 1 << 20, true)), [0n]);
    assert.deepEqual(readdirSync(logs), ['t-0']);
    await m.close();

    const { m: again } = newManager(t, join(logs, '..'));
    const [reopened] = again.openTopic({ name: 't', id: 'id-2', partitions: 1 });
    assert.ok(reopened !== undefined);
    assert.equal(reopened.logEndOffset, 2n);
    assert.equal(recordsOf(reopened.read(0n, 1 << 20, true)).length, 1);
  });

  it('removes directories left half-deleted by a crash at start-up', (t) => {
    const dataDir = tempDir(t);
    const logs = join(dataDir, 'logs');
    mkdirSync(join(logs, 't-0.1700000000000-abc123.deleted'), { recursive: true });
    writeFileSync(join(logs, 't-0.1700000000000-abc123.deleted', segmentFileName(0n, '.log')), 'x');
    mkdirSync(join(logs, 'other-0'));
    newManager(t, dataDir);
    assert.deepEqual(readdirSync(logs), ['other-0']);
  });

  it('refuses a partition directory of an unknown format version', (t) => {
    const { m, logs } = newManager(t);
    mkdirSync(join(logs, 'future-0'));
    writeFileSync(join(logs, 'future-0', PARTITION_META_FILE), JSON.stringify({ formatVersion: 99, topic: 'future', partition: 0 }));
    assert.throws(
      () => m.openTopic({ name: 'future', id: 'id', partitions: 1 }),
      (err: unknown) => isStorageError(err) && /99/.test((err as Error).message),
    );
    // Nothing was written next to the unknown format.
    assert.deepEqual(readdirSync(join(logs, 'future-0')), [PARTITION_META_FILE]);
  });

  it('refuses a partition.json that is not JSON', (t) => {
    const { m, logs } = newManager(t);
    mkdirSync(join(logs, 'bad-0'));
    writeFileSync(join(logs, 'bad-0', PARTITION_META_FILE), '{"formatVersion":');
    assert.throws(() => m.openTopic({ name: 'bad', id: 'id', partitions: 1 }), isStorageError);
  });

  it('applies retention to every partition', async (t) => {
    const dataDir = tempDir(t);
    let now = T0;
    const sample = makeBatch(1);
    const m = new LogManager({
      dataDir,
      logger: recordingLogger(),
      configs: configSource((topic) => defaultConfig({ segmentBytes: sample.bytes.length, retentionMs: topic === 'short' ? 1000 : -1 })),
      clock: () => now,
    });
    defer(t, () => m.close());
    const logs = [...m.openTopic({ name: 'short', id: 'a', partitions: 2 }), ...m.openTopic({ name: 'long', id: 'b', partitions: 1 })];
    for (const log of logs) for (let i = 0; i < 3; i++) await appendTo(m, log, makeBatch(1, { timestamps: [T0] }));
    now = T0 + 5000;
    assert.equal(await m.enforceRetention(), 4);
    assert.deepEqual(
      logs.map((l) => l.logStartOffset),
      [2n, 2n, 0n],
    );
  });
});

// LogManager.append's outcomes (offsets, unknown partitions, validation, idempotence, LogAppendTime)
// and restarts are tested over every log store permutation in ../log-store.suite.test.ts.
