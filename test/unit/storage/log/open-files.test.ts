import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { derivedMaxOpenLogFiles, processOpenFileLimit } from '../../../../src/storage/log/fd-limit.js';
import { IoFaultLog } from '../../../../src/storage/log/io-faults.js';
import { nodeLogFs, type LogFs } from '../../../../src/storage/log/log-fs.js';
import { LogManager } from '../../../../src/storage/log/log-manager.js';
import { LOG_FILES_BUSY, OpenFiles } from '../../../../src/storage/log/open-files.js';
import { T0, appendTo, configSource, defaultConfig, defer, errnoError, makeBatch, recordingLogger, recordsOf, tempDir } from './helpers.js';

/**
 * nodeLogFs that counts the descriptors the log holds (opened through openSync, not yet closed) and can
 * play a process whose descriptor table is full: openSync throws EMFILE while `processFull` says so, or
 * once `limit` descriptors are open.
 */
function fdCountingFs(): LogFs & { open: Set<number>; limit: number; processFull: boolean; failPath: string | null; opens: number } {
  const fs = {
    ...nodeLogFs,
    open: new Set<number>(),
    limit: Infinity,
    processFull: false,
    failPath: null as string | null,
    opens: 0,
    openSync(path: string, flags: string, mode?: number): number {
      if (fs.processFull || fs.open.size >= fs.limit || path === fs.failPath) throw errnoError('EMFILE', `too many open files, open '${path}'`);
      const fd = nodeLogFs.openSync(path, flags, mode);
      fs.open.add(fd);
      fs.opens++;
      return fd;
    },
    closeSync(fd: number): void {
      fs.open.delete(fd);
      nodeLogFs.closeSync(fd);
    },
  };
  return fs;
}

function manager(t: TestContext, options: { fs: LogFs; maxOpenFiles: number; clock?: { now: number }; dataDir?: string }) {
  const logger = recordingLogger();
  const clock = options.clock ?? { now: T0 };
  const dataDir = options.dataDir ?? tempDir(t);
  const m = new LogManager({ dataDir, logger, configs: configSource(), fs: options.fs, clock: () => clock.now, maxOpenFiles: options.maxOpenFiles });
  defer(t, () => m.close());
  return { m, logger, clock, dataDir };
}

describe('the open-file LRU', () => {
  it('keeps at most maxOpenFiles segment files open across many partitions, and every partition still reads back', async (t) => {
    const fs = fdCountingFs();
    const { m } = manager(t, { fs, maxOpenFiles: 4 });
    m.addTopic({ name: 't', id: 'id', partitions: 20 });
    for (let p = 0; p < 20; p++) {
      const log = m.get('t', p);
      assert.ok(log !== undefined);
      await appendTo(m, log, makeBatch(1, { tag: `p${p}-` }));
      // Synced, a file may be closed: the next partition's open evicts the least recently used one.
      await m.sync();
      assert.ok(fs.open.size <= 4, `${fs.open.size} descriptors open after partition ${p}`);
    }
    assert.equal(m.files.openCount, fs.open.size);
    assert.ok(m.files.stats.evictions >= 16, `evictions: ${m.files.stats.evictions}`);
    for (let p = 0; p < 20; p++) {
      const batches = recordsOf(m.get('t', p)?.read(0n, 1 << 20, true) ?? { kind: 'out-of-range' });
      assert.equal(batches.length, 1, `partition ${p}`);
      assert.ok(fs.open.size <= 4);
    }
    assert.ok(m.files.stats.reopens >= 16, 'reads reopened evicted files');
  });

  it('never closes a file with unsynced writes: when only those are left it refuses more, asks for a group commit, then has room', async (t) => {
    const fs = fdCountingFs();
    const { m } = manager(t, { fs, maxOpenFiles: 2 });
    m.addTopic({ name: 't', id: 'id', partitions: 3 });
    for (const p of [0, 1]) await appendTo(m, m.get('t', p) as NonNullable<ReturnType<typeof m.get>>, makeBatch(1));
    assert.equal(m.files.unsyncedCount, 2);
    // The third partition's segment cannot be opened without closing an unsynced one: refused, retriably.
    const refused = m.lookup('t', 2);
    assert.equal(refused.kind, 'unavailable');
    assert.match(refused.reason, new RegExp(`${LOG_FILES_BUSY}.*maxOpenLogFiles`));
    assert.equal(fs.open.size, 2, 'nothing beyond the bound was opened');
    // The refusal asked for a group commit; once it has run, the files are closable and there is room.
    await m.sync();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(m.files.unsyncedCount, 0);
    const third = m.lookup('t', 2);
    assert.equal(third.kind, 'log');
    assert.equal(await appendTo(m, third.log, makeBatch(2)), 0n);
    assert.ok(m.files.openCount <= 2);
    // The unsynced data of the first two partitions was synced, not lost.
    for (const p of [0, 1]) assert.equal(recordsOf(m.get('t', p)?.read(0n, 1 << 20, true) ?? { kind: 'out-of-range' }).length, 1);
  });

  it('starts a group commit before unsynced files fill the cache', async (t) => {
    const fs = fdCountingFs();
    let syncs = 0;
    const countingSyncFs: LogFs = {
      ...fs,
      fdatasync: (fd) => {
        syncs++;
        return nodeLogFs.fdatasync(fd);
      },
    };
    const { m } = manager(t, { fs: countingSyncFs, maxOpenFiles: 8 });
    m.addTopic({ name: 't', id: 'id', partitions: 8 });
    for (let p = 0; p < 6; p++) await appendTo(m, m.get('t', p) as NonNullable<ReturnType<typeof m.get>>, makeBatch(1));
    // 6 of 8 unsynced (75 %): a group commit was started without anyone asking for acks=all.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(syncs, 6);
    assert.equal(m.files.unsyncedCount, 0);
  });

  it('closes idle synced files after logFileIdleMs; an idle unsynced one is synced first, then closed', async (t) => {
    const fs = fdCountingFs();
    const clock = { now: T0 };
    const { m } = manager(t, { fs, maxOpenFiles: 100, clock });
    m.addTopic({ name: 't', id: 'id', partitions: 2 });
    const [a, b] = [m.get('t', 0), m.get('t', 1)];
    assert.ok(a !== undefined && b !== undefined);
    await appendTo(m, a, makeBatch(1));
    await m.sync();
    await appendTo(m, b, makeBatch(1));
    assert.equal(fs.open.size, 2);
    clock.now += 60_000;
    assert.equal(m.closeIdleFiles(60_000), 1, 'the synced file closes, the unsynced one stays open');
    assert.equal(fs.open.size, 1);
    // The sweep asked for a group commit: b is synced, and the next sweep closes it.
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(m.closeIdleFiles(60_000), 1);
    assert.equal(fs.open.size, 0, 'idle partitions hold no descriptor');
    assert.equal(recordsOf(b.read(0n, 1 << 20, true)).length, 1);
  });

  it('gives back one of its own files when the process is out of descriptors (EMFILE), then retries', async (t) => {
    const fs = fdCountingFs();
    const { m } = manager(t, { fs, maxOpenFiles: 100 });
    m.addTopic({ name: 't', id: 'id', partitions: 3 });
    for (const p of [0, 1]) {
      await appendTo(m, m.get('t', p) as NonNullable<ReturnType<typeof m.get>>, makeBatch(1));
    }
    await m.sync();
    // The process (sockets included) is at its limit: two descriptors, both ours.
    fs.limit = 2;
    const third = m.lookup('t', 2);
    assert.equal(third.kind, 'log', 'opened after closing the least recently used log file');
    assert.equal(fs.open.size, 2);
  });
});

describe('running out of file descriptors (EMFILE)', () => {
  it('fails only the operation that hit it, with a retriable error; the partition stays online and works once descriptors are back', async (t) => {
    const fs = fdCountingFs();
    const { m, logger } = manager(t, { fs, maxOpenFiles: 10 });
    m.addTopic({ name: 't', id: 'id', partitions: 2 });
    const a = m.get('t', 0);
    const b = m.get('t', 1);
    assert.ok(a !== undefined && b !== undefined);
    await appendTo(m, a, makeBatch(1));
    await m.sync();
    await appendTo(m, b, makeBatch(1));
    // a is idle and synced: its file is closed. b has unsynced writes: its file stays open.
    assert.equal(m.closeIdleFiles(0), 1);
    // Reopening a's file meets a full descriptor table, with nothing of ours that may be given back.
    fs.processFull = true;
    const read = a.read(0n, 1 << 20, true);
    assert.equal(read.kind, 'unavailable');
    assert.match(read.reason, /EMFILE/);
    const refused = await m.append('t', 0, makeBatch(1).bytes);
    assert.equal(refused.kind, 'unavailable');
    assert.match(refused.message, /EMFILE/);
    assert.equal(a.logEndOffset, 1n, 'nothing appended');
    // b's file is open: b goes on serving.
    assert.equal(recordsOf(b.read(0n, 1 << 20, true)).length, 1);

    fs.processFull = false;
    assert.equal(recordsOf(a.read(0n, 1 << 20, true)).length, 1, 'not offline: the next read works');
    assert.equal(await appendTo(m, a, makeBatch(1)), 1n);
    await m.sync();
    // Logged once for the burst (read and append both hit EMFILE within the interval).
    const emfile = logger.at('error').filter((e) => (e.obj as { code?: string }).code === 'EMFILE');
    assert.equal(emfile.length, 1, JSON.stringify(logger.entries));
    assert.match(emfile[0]?.msg ?? '', /out of file descriptors.*stays online/);
  });

  it('leaves no descriptor behind when opening a partition fails half-way', async (t) => {
    const fs = fdCountingFs();
    const dataDir = tempDir(t);
    const clock = { now: T0 };
    {
      // A partition with three segments.
      const first = new LogManager({ dataDir, logger: recordingLogger(), configs: configSource(() => defaultConfig({ segmentBytes: makeBatch(1).bytes.length })), clock: () => clock.now });
      const [log] = first.openTopic({ name: 't', id: 'id', partitions: 1 });
      assert.ok(log !== undefined);
      for (let i = 0; i < 3; i++) await appendTo(first, log, makeBatch(1));
      await first.close();
    }
    const { m } = manager(t, { fs, maxOpenFiles: 100, dataDir });
    m.addTopic({ name: 't', id: 'id', partitions: 1 });
    const segments = readdirSync(join(dataDir, 'logs', 't-0')).filter((f) => f.endsWith('.log')).sort();
    assert.equal(segments.length, 3);
    // The third segment's open fails, after the first two were opened.
    fs.failPath = join(dataDir, 'logs', 't-0', segments[2] ?? '');
    assert.equal(m.lookup('t', 0).kind, 'unavailable');
    assert.equal(fs.opens, 2);
    assert.equal(fs.open.size, 0, 'the segments opened before the failure were closed');
    fs.failPath = null;
    const found = m.lookup('t', 0);
    assert.equal(found.kind, 'log', 'opened whole on the next use');
    assert.equal(found.log.logEndOffset, 3n);
  });
});

describe('partitions open on first use', () => {
  it('adding a topic writes nothing; a partition’s directory appears when it is used', (t) => {
    const { m, dataDir } = manager(t, { fs: nodeLogFs, maxOpenFiles: 10 });
    m.addTopic({ name: 'huge', id: 'id', partitions: 1_000_000 });
    assert.deepEqual(readdirSync(join(dataDir, 'logs')), []);
    assert.equal(m.lookup('huge', 1_000_000).kind, 'unknown-partition');
    assert.equal(m.lookup('huge', -1).kind, 'unknown-partition');
    const log = m.get('huge', 999_999);
    assert.ok(log !== undefined);
    assert.deepEqual(readdirSync(join(dataDir, 'logs')), ['huge-999999']);
  });

  it('opens at most maxOpenPartitions partition logs: a topic recorded beyond the limits cannot fill the disk with directories', async (t) => {
    const dataDir = tempDir(t);
    const m = new LogManager({ dataDir, logger: recordingLogger(), configs: configSource(), clock: () => T0, maxOpenPartitions: 2 });
    defer(t, () => m.close());
    m.addTopic({ name: 'legacy', id: 'x', partitions: 1_000_000 });
    m.addTopic({ name: 'other', id: 'y', partitions: 1 });
    assert.equal(m.lookup('legacy', 0).kind, 'log');
    assert.equal(m.lookup('legacy', 1).kind, 'log');
    const refused = m.lookup('legacy', 2);
    assert.equal(refused.kind, 'unavailable');
    assert.match(refused.reason, /ETOOMANYPARTITIONS: partition legacy-2 cannot be opened: 2 partitions are open, the broker's maxPartitions/);
    assert.equal(m.lookup('other', 0).kind, 'unavailable');
    assert.deepEqual(readdirSync(join(dataDir, 'logs')).sort(), ['legacy-0', 'legacy-1']);
    await m.deleteTopic('legacy');
    assert.equal(m.lookup('other', 0).kind, 'log', 'room again once the topic is deleted');
  });

  it('at start, opens only the partitions that have a directory, at most `limit` of them; deletion removes unopened ones too', async (t) => {
    const dataDir = tempDir(t);
    {
      const first = new LogManager({ dataDir, logger: recordingLogger(), configs: configSource(), clock: () => T0 });
      first.addTopic({ name: 'a-1', id: 'x', partitions: 4 });
      first.addTopic({ name: 'a', id: 'y', partitions: 2 });
      for (const [topic, p] of [['a-1', 0], ['a-1', 3], ['a', 1]] as const) {
        const log = first.get(topic, p);
        assert.ok(log !== undefined);
        await appendTo(first, log, makeBatch(1));
      }
      await first.close();
    }
    const { m } = manager(t, { fs: nodeLogFs, maxOpenFiles: 10, dataDir });
    m.addTopic({ name: 'a-1', id: 'x', partitions: 4 });
    m.addTopic({ name: 'a', id: 'y', partitions: 2 });
    assert.deepEqual(m.openExisting(2), { opened: 2, deferred: 1 });
    await m.deleteTopic('a-1');
    // Topic "a" is another topic, even though "a-1-0" starts with "a-".
    assert.deepEqual(readdirSync(join(dataDir, 'logs')), ['a-1']);
    assert.ok(!existsSync(join(dataDir, 'logs', 'a-1-3')));
    assert.equal(m.get('a', 1)?.logEndOffset, 1n);
  });
});

describe('the open-file limit', () => {
  it('is read from /proc/self/limits (soft limit) and halved for log files, within 32–10,000', () => {
    const limits = (soft: string) => `Limit                     Soft Limit           Hard Limit           Units\nMax open files            ${soft}                 524288               files\n`;
    assert.equal(processOpenFileLimit(() => limits('1024')), 1024);
    assert.equal(processOpenFileLimit(() => limits('unlimited')), undefined);
    assert.equal(
      processOpenFileLimit(() => {
        throw errnoError('ENOENT');
      }),
      undefined,
    );
    assert.equal(derivedMaxOpenLogFiles(1024), 512);
    assert.equal(derivedMaxOpenLogFiles(256), 128);
    assert.equal(derivedMaxOpenLogFiles(20), 32);
    assert.equal(derivedMaxOpenLogFiles(1_048_576), 10_000);
    assert.equal(derivedMaxOpenLogFiles(undefined), 512);
    // This process: Linux has /proc.
    if (process.platform === 'linux') assert.ok((processOpenFileLimit() ?? 0) > 0);
  });

  it('refuses a cache without room for one file', () => {
    assert.throws(() => new OpenFiles({ fs: nodeLogFs, maxOpen: 0 }), RangeError);
  });
});

describe('IoFaultLog', () => {
  it('logs each error code once per interval and counts the rest into the next line', () => {
    const logger = recordingLogger();
    let now = T0;
    const faults = new IoFaultLog(logger, { clock: () => now, intervalMs: 10_000 });
    for (let i = 0; i < 100; i++) faults.report(errnoError('EMFILE'), 'append', 't-0');
    faults.report(errnoError('ENOSPC'), 'append', 't-0');
    assert.equal(logger.at('error').length, 2);
    now += 10_000;
    faults.report(errnoError('EMFILE'), 'read', 't-1');
    const lines = logger.at('error');
    assert.equal(lines.length, 3);
    assert.equal((lines[2]?.obj as { suppressedSinceLastReport?: number }).suppressedSinceLastReport, 99);
    assert.match(lines[1]?.msg ?? '', /KAFKA_STORAGE_ERROR/);
  });
});
