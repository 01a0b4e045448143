import assert from 'node:assert/strict';
import { readdirSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { segmentFileName } from '../../../../src/storage/log/format.js';
import { nodeLogFs, type LogFs } from '../../../../src/storage/log/log-fs.js';
import { assertSameBatch, errnoError, harness, makeBatch, recordsOf, type LogHarness } from './helpers.js';

type WriteFault = 'enospc' | 'partial-then-enospc' | 'short';

/** nodeLogFs whose writes fail the chosen way while `fault` is set. */
function fullDiskFs(): LogFs & { fault: WriteFault | null; failTruncate: boolean; failCreate: boolean; failIndexWrite: boolean } {
  const fs = {
    ...nodeLogFs,
    fault: null as WriteFault | null,
    failTruncate: false,
    failCreate: false,
    failIndexWrite: false,
    writeSync(fd: number, buffer: Buffer, offset: number, length: number, position: number): number {
      switch (fs.fault) {
        case null:
          return nodeLogFs.writeSync(fd, buffer, offset, length, position);
        case 'enospc':
          throw errnoError('ENOSPC', 'no space left on device, write');
        case 'partial-then-enospc':
          // The kernel took part of the batch before the disk filled up.
          writeSync(fd, buffer, offset, Math.floor(length / 2), position);
          throw errnoError('ENOSPC', 'no space left on device, write');
        case 'short':
          return writeSync(fd, buffer, offset, Math.floor(length / 3), position);
      }
    },
    ftruncateSync(fd: number, length: number): void {
      if (fs.failTruncate) throw errnoError('EIO', 'ftruncate');
      nodeLogFs.ftruncateSync(fd, length);
    },
    openSync(path: string, flags: string, mode?: number): number {
      if (fs.failCreate && flags.startsWith('w')) throw errnoError('ENOSPC', `no space left on device, open '${path}'`);
      return nodeLogFs.openSync(path, flags, mode);
    },
    writeFileDurably(path: string, data: Buffer): void {
      if (fs.failIndexWrite) throw errnoError('ENOSPC', `no space left on device, write '${path}'`);
      nodeLogFs.writeFileDurably(path, data);
    },
  };
  return fs;
}

const segmentPath = (h: LogHarness, base = 0n): string => join(h.dir, segmentFileName(base, '.log'));

describe('a full disk (ENOSPC)', () => {
  for (const fault of ['enospc', 'partial-then-enospc', 'short'] as const) {
    it(`fails the append with nothing appended (${fault}) and recovers when space returns`, async (t) => {
      const fs = fullDiskFs();
      const h = harness(t, { fs });
      const log = h.open();
      const first = makeBatch(2, { valueBytes: 100 });
      log.append(first);
      const size = statSync(segmentPath(h)).size;

      fs.fault = fault;
      assert.throws(
        () => log.append(makeBatch(3, { valueBytes: 100 })),
        (err: NodeJS.ErrnoException) => err.code === (fault === 'short' ? 'EIO' : 'ENOSPC'),
      );
      assert.equal(statSync(segmentPath(h)).size, size, 'no partial batch left in the file');
      assert.equal(log.logEndOffset, 2n);
      assert.equal(log.sizeBytes, size);
      assert.equal(recordsOf(log.read(0n, 1 << 20, true)).length, 1);
      assert.deepEqual(recordsOf(log.read(2n, 1 << 20, true)), []);

      fs.fault = null;
      const second = makeBatch(1, { valueBytes: 10 });
      assert.equal(log.append(second), 2n);
      const batches = recordsOf(log.read(0n, 1 << 20, true));
      assert.equal(batches.length, 2);
      assertSameBatch(batches[0], first.original, 0n);
      assertSameBatch(batches[1], second.original, 2n);
      await log.flush();
      await log.close();

      const again = h.open();
      assert.equal(again.logEndOffset, 3n);
      assert.equal(recordsOf(again.read(0n, 1 << 20, true)).length, 2);
      assert.equal(h.logger.at('warn').length, 0, 'the file held no torn tail');
    });
  }

  it('keeps the log consistent when even the truncation after a failed write fails', async (t) => {
    const fs = fullDiskFs();
    const h = harness(t, { fs });
    const log = h.open();
    log.append(makeBatch(1));
    const size = log.sizeBytes;
    fs.fault = 'partial-then-enospc';
    fs.failTruncate = true;
    assert.throws(() => log.append(makeBatch(4, { valueBytes: 300 })), (err: NodeJS.ErrnoException) => err.code === 'ENOSPC');
    assert.equal(log.logEndOffset, 1n);
    assert.deepEqual(recordsOf(log.read(1n, 1 << 20, true)), [], 'the partial bytes are never served');
    fs.fault = null;
    fs.failTruncate = false;
    await log.close();
    // The half-written batch is still in the file: the start-up check cuts it.
    assert.ok(statSync(segmentPath(h)).size > size);
    const again = h.open();
    assert.match(h.logger.at('warn')[0]?.msg ?? '', /torn/);
    assert.equal(again.logEndOffset, 1n);
    assert.equal(statSync(segmentPath(h)).size, size);
    assert.equal(again.append(makeBatch(1)), 1n);
  });

  it('fails an append whose roll cannot create the new segment, then rolls once it can', (t) => {
    const fs = fullDiskFs();
    const sample = makeBatch(1);
    const h = harness(t, { fs, config: { segmentBytes: sample.bytes.length } });
    const log = h.open();
    log.append(makeBatch(1));
    fs.failCreate = true;
    assert.throws(() => log.append(makeBatch(1)), (err: NodeJS.ErrnoException) => err.code === 'ENOSPC');
    assert.equal(log.segmentCount, 1);
    assert.equal(log.logEndOffset, 1n);
    fs.failCreate = false;
    assert.equal(log.append(makeBatch(1)), 1n);
    assert.equal(log.segmentCount, 2);
    assert.deepEqual(
      readdirSync(h.dir).filter((f) => f.endsWith('.log')).sort(),
      [segmentFileName(0n, '.log'), segmentFileName(1n, '.log')],
    );
  });

  it('acknowledges durable data even when the index files cannot be written, and rebuilds them later', async (t) => {
    const fs = fullDiskFs();
    const sample = makeBatch(1);
    const h = harness(t, { fs, config: { segmentBytes: sample.bytes.length } });
    const log = h.open();
    for (let i = 0; i < 3; i++) log.append(makeBatch(1));
    assert.equal(log.segmentCount, 3);
    fs.failIndexWrite = true;
    // The data is on disk: a missing index only costs a scan at the next start.
    await log.flush();
    assert.ok(h.logger.at('warn').some((e) => /index/.test(e.msg)));
    await log.close();
    fs.failIndexWrite = false;
    assert.ok(!readdirSync(h.dir).some((f) => f.endsWith('.index')));

    const again = h.open();
    assert.equal(again.logEndOffset, 3n);
    for (let o = 0n; o < 3n; o++) assert.equal(recordsOf(again.read(o, 1 << 20, true)).length, 1);
  });
});
