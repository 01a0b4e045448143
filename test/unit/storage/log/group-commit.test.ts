import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GroupCommit, type Flushable } from '../../../../src/storage/log/group-commit.js';
import { nodeLogFs, type LogFs } from '../../../../src/storage/log/log-fs.js';
import { LogManager } from '../../../../src/storage/log/log-manager.js';
import { appendTo, configSource, defaultConfig, defer, deferred, type Deferred, errnoError, harness, makeBatch, recordingLogger, recordsOf, settle, tempDir } from './helpers.js';

/** A flushable whose flushes the test finishes one by one. */
function gatedFlushable(): Flushable & { calls: number; finish: (err?: Error) => void } {
  const pending: Deferred[] = [];
  return {
    calls: 0,
    flush() {
      this.calls++;
      const d = deferred();
      pending.push(d);
      return d.promise;
    },
    finish(err?: Error) {
      const d = pending.shift();
      assert.ok(d !== undefined, 'no flush in progress');
      if (err === undefined) d.resolve();
      else d.reject(err);
    },
  };
}

/** Tracks which of a set of promises have settled, without awaiting them. */
function track(promises: Promise<void>[]): { settled: () => number; errors: unknown[] } {
  let settled = 0;
  const errors: unknown[] = [];
  for (const p of promises) {
    p.then(
      () => {
        settled++;
      },
      (err: unknown) => {
        settled++;
        errors.push(err);
      },
    );
  }
  return { settled: () => settled, errors };
}

describe('GroupCommit', () => {
  it('resolves a sync with nothing dirty', async () => {
    await new GroupCommit().sync();
  });

  it('runs one flush round for every caller that arrived while the previous round ran', async () => {
    const gc = new GroupCommit();
    const target = gatedFlushable();
    gc.markDirty(target);
    const first = track([gc.sync()]);
    assert.equal(target.calls, 1, 'the first round starts at once');
    const waiting: Promise<void>[] = [];
    for (let i = 0; i < 5; i++) {
      gc.markDirty(target);
      waiting.push(gc.sync());
    }
    const later = track(waiting);
    await settle();
    assert.equal(target.calls, 1, 'callers during a round wait for the next one');
    target.finish();
    await settle();
    assert.equal(first.settled(), 1);
    assert.equal(later.settled(), 0, 'a round that started before their writes does not cover them');
    assert.equal(target.calls, 2, 'one more round for all five');
    target.finish();
    await Promise.all(waiting);
    assert.equal(target.calls, 2);
  });

  it('flushes every dirty target once per round', async () => {
    const gc = new GroupCommit();
    const targets = [gatedFlushable(), gatedFlushable(), gatedFlushable()];
    for (const t of targets) gc.markDirty(t);
    gc.markDirty(targets[0] as Flushable);
    const done = gc.sync();
    assert.deepEqual(targets.map((t) => t.calls), [1, 1, 1]);
    for (const t of targets) t.finish();
    await done;
  });

  it('rejects every waiter of a failed round and retries the same targets on the next sync', async () => {
    const gc = new GroupCommit();
    const ok = gatedFlushable();
    const failing = gatedFlushable();
    gc.markDirty(ok);
    const round0 = gc.sync();
    // Two callers arrive while round 0 runs: they share round 1.
    gc.markDirty(ok);
    gc.markDirty(failing);
    const round1 = [gc.sync(), gc.sync()];
    const r = track(round1);
    ok.finish();
    await round0;
    await settle();
    assert.deepEqual([ok.calls, failing.calls], [2, 1]);
    // Arrives during round 1: waits for round 2.
    const next = gc.sync();
    ok.finish();
    failing.finish(errnoError('EIO', 'fdatasync'));
    await settle();
    assert.equal(r.settled(), 2);
    assert.equal(r.errors.length, 2, 'nobody in a failed round is told the data is durable');
    assert.match(String(r.errors[0]), /EIO/);
    // Round 2 flushes the failed round's targets again although nothing marked them dirty since.
    assert.deepEqual([ok.calls, failing.calls], [3, 2]);
    failing.finish();
    ok.finish();
    await next;
    await gc.sync();
    assert.deepEqual([ok.calls, failing.calls], [3, 2], 'nothing dirty after a successful round');
  });
});

/** nodeLogFs with fdatasync counted per file descriptor and held open until the test releases it. */
function countingFs(options: { gate?: boolean } = {}): LogFs & {
  syncs: Map<number, number>;
  total: () => number;
  release: (err?: Error) => void;
  pending: () => number;
  failNext: Error | null;
} {
  const syncs = new Map<number, number>();
  const gates: { fd: number; d: Deferred }[] = [];
  const fs = {
    ...nodeLogFs,
    syncs,
    failNext: null as Error | null,
    total: () => [...syncs.values()].reduce((a, b) => a + b, 0),
    pending: () => gates.length,
    release(err?: Error) {
      const g = gates.shift();
      assert.ok(g !== undefined, 'no fdatasync waiting');
      if (err === undefined) g.d.resolve();
      else g.d.reject(err);
    },
    async fdatasync(fd: number): Promise<void> {
      syncs.set(fd, (syncs.get(fd) ?? 0) + 1);
      if (fs.failNext !== null) {
        const err = fs.failNext;
        fs.failNext = null;
        throw err;
      }
      if (options.gate === true) {
        const d = deferred();
        gates.push({ fd, d });
        await d.promise;
      } else {
        // A slow disk: long enough for concurrent callers to pile up behind the round in progress.
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await nodeLogFs.fdatasync(fd);
    },
  };
  return fs;
}

function manager(t: Parameters<typeof tempDir>[0], fs: LogFs): LogManager {
  const m = new LogManager({ dataDir: tempDir(t), logger: recordingLogger(), configs: configSource(), fs, clock: () => 1_000 });
  defer(t, () => m.close());
  return m;
}

describe('LogManager group commit', () => {
  it('pays one fdatasync per append when syncs do not overlap (the baseline)', async (t) => {
    const fs = countingFs();
    const m = manager(t, fs);
    const [log] = m.openTopic({ name: 't', id: 'id', partitions: 1 });
    assert.ok(log !== undefined);
    for (let i = 0; i < 3; i++) {
      await appendTo(m, log, makeBatch(1));
      await m.sync();
    }
    assert.equal(fs.total(), 3);
    await m.sync();
    assert.equal(fs.total(), 3, 'nothing new to sync');
  });

  it('shares fsync rounds between concurrent appends on one partition and across partitions', async (t) => {
    const fs = countingFs();
    const m = manager(t, fs);
    const logs = m.openTopic({ name: 't', id: 'id', partitions: 10 });
    const syncs: Promise<void>[] = [];
    for (let round = 0; round < 10; round++) {
      for (const log of logs) {
        await appendTo(m, log, makeBatch(1));
        syncs.push(m.sync());
      }
    }
    await Promise.all(syncs);
    // 100 acks=all appends, 10 per partition: the first round syncs what was there, the second the rest.
    assert.ok(fs.total() <= 20, `fdatasync calls: ${fs.total()}`);
    for (const [fd, n] of fs.syncs) assert.ok(n <= 2, `fd ${fd}: ${n} fdatasync calls`);
    for (const log of logs) assert.equal(log.logEndOffset, 10n);
  });

  it('rejects the waiters of a failed fdatasync and takes the partition offline until it is reopened', async (t) => {
    const fs = countingFs();
    const dataDir = tempDir(t);
    const open = (withFs: LogFs) => new LogManager({ dataDir, logger: recordingLogger(), configs: configSource(), fs: withFs, clock: () => 1_000 });
    const m = open(fs);
    const [log] = m.openTopic({ name: 't', id: 'id', partitions: 1 });
    assert.ok(log !== undefined);
    await appendTo(m, log, makeBatch(2));
    fs.failNext = errnoError('EIO', 'fdatasync failed');
    await assert.rejects(m.sync(), /EIO/);
    assert.equal(fs.total(), 1);
    // Neither served nor appended to: the page cache may show data the disk does not have.
    assert.equal(log.read(0n, 1 << 20, true).kind, 'offline');
    const refused = await m.append('t', 0, makeBatch(1).bytes);
    assert.equal(refused.kind, 'offline');
    assert.match(refused.message, /partition t-0 is offline: fsync failed \(EIO\)/);
    assert.equal(log.logEndOffset, 2n, 'nothing appended');
    await m.close();
    const again = open(countingFs());
    defer(t, () => again.close());
    const reopened = again.openTopic({ name: 't', id: 'id', partitions: 1 })[0];
    assert.ok(reopened !== undefined);
    assert.equal(recordsOf(reopened.read(0n, 1 << 20, true)).length, 1, 'a restart recovers what reached the file');
  });
});

describe('PartitionLog flush', () => {
  it('fails a flush that waited on an fdatasync in progress when that fdatasync fails', async (t) => {
    const fs = countingFs({ gate: true });
    const h = harness(t, { fs });
    const log = h.open();
    log.append(makeBatch(1));
    const first = log.flush();
    const second = log.flush();
    await settle();
    assert.equal(fs.pending(), 1, 'the second flush found nothing new and shares the first fdatasync');
    fs.release(errnoError('EIO'));
    // Neither caller may believe the data is durable.
    await assert.rejects(first, /EIO/);
    await assert.rejects(second, /EIO/);
    // A later flush retries.
    const third = log.flush();
    await settle();
    fs.release();
    await third;
    assert.equal(fs.total(), 2);
  });

  it('does not acknowledge a sync whose data was in a rolled segment whose fdatasync failed', async (t) => {
    const fs = countingFs({ gate: true });
    const dataDir = tempDir(t);
    const logger = recordingLogger();
    const sample = makeBatch(1);
    const m = new LogManager({ dataDir, logger, configs: configSource(() => defaultConfig({ segmentBytes: sample.bytes.length })), fs, clock: () => 1_000 });
    const [log] = m.openTopic({ name: 't', id: 'id', partitions: 1 });
    assert.ok(log !== undefined);
    await appendTo(m, log, makeBatch(1));
    // Rolls: the roll syncs the full segment in the background.
    await appendTo(m, log, makeBatch(1));
    assert.equal(log.segmentCount, 2);
    const acked = m.sync();
    await settle();
    assert.equal(fs.pending(), 2, 'the rolled segment (by the roll) and the active one (by the sync)');
    fs.release(errnoError('EIO')); // the rolled segment's fdatasync
    fs.release();
    await assert.rejects(acked, /EIO/, 'offset 0 is not known to be durable');
    await settle();
    assert.ok(logger.at('error').some((e) => /rolled segment/.test(e.msg)));
    // The next sync retries the rolled segment and succeeds.
    const retry = m.sync();
    await settle();
    while (fs.pending() > 0) {
      fs.release();
      await settle();
    }
    await retry;
    const closing = m.close();
    await settle();
    while (fs.pending() > 0) {
      fs.release();
      await settle();
    }
    await closing;
  });
});
