import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ParapetError } from '../../../../src/errors.js';
import { readBatchHeader } from '../../../../src/records/batch.js';
import { segmentFileName } from '../../../../src/storage/log/format.js';
import type { PartitionLog } from '../../../../src/storage/log/partition-log.js';
import { T0, assertSameBatch, baseOffsetsOf, harness, makeBatch, recordsOf } from './helpers.js';

/** Reads the whole log the way a consumer does: from `from`, each fetch continuing after the last batch. */
function readAll(log: PartitionLog, from = log.logStartOffset, maxBytes = 1 << 20): Buffer[] {
  const out: Buffer[] = [];
  let offset = from;
  while (offset < log.logEndOffset) {
    const batches = recordsOf(log.read(offset, maxBytes, true));
    assert.ok(batches.length > 0, `no progress at offset ${offset}`);
    for (const b of batches) {
      out.push(Buffer.from(b));
      const h = readBatchHeader(b);
      offset = h.baseOffset + BigInt(h.lastOffsetDelta) + 1n;
    }
  }
  return out;
}

function logFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /^\d{20}\.(log|index|timeindex)$/.test(f))
    .sort();
}

describe('PartitionLog append and read', () => {
  it('starts empty: offsets 0, one segment, reads at 0 are empty', (t) => {
    const log = harness(t).open();
    assert.equal(log.logStartOffset, 0n);
    assert.equal(log.logEndOffset, 0n);
    assert.equal(log.segmentCount, 1);
    assert.equal(log.sizeBytes, 0);
    assert.deepEqual(recordsOf(log.read(0n, 1000, true)), []);
    assert.deepEqual(log.read(1n, 1000, true), { kind: 'out-of-range' });
  });

  it('assigns contiguous offsets and returns the batches byte for byte', (t) => {
    const log = harness(t).open();
    const batches = [makeBatch(3), makeBatch(1), makeBatch(5)];
    const bases = batches.map((b) => log.append(b));
    assert.deepEqual(bases, [0n, 3n, 4n]);
    assert.equal(log.logEndOffset, 9n);
    assert.equal(log.sizeBytes, batches.reduce((s, b) => s + b.bytes.length, 0));

    const all = recordsOf(log.read(0n, 1 << 20, false));
    assert.equal(all.length, 3);
    batches.forEach((b, i) => {
      assertSameBatch(all[i], b.original, bases[i] ?? -1n);
    });
  });

  it('starts a read at the batch that contains the offset', (t) => {
    const log = harness(t).open();
    for (const n of [3, 1, 5]) log.append(makeBatch(n));
    const expectations: [bigint, bigint[]][] = [
      [0n, [0n, 3n, 4n]],
      [1n, [0n, 3n, 4n]],
      [2n, [0n, 3n, 4n]],
      [3n, [3n, 4n]],
      [4n, [4n]],
      [8n, [4n]],
    ];
    for (const [offset, bases] of expectations) assert.deepEqual(baseOffsetsOf(log.read(offset, 1 << 20, true)), bases, `offset ${offset}`);
  });

  it('reads empty at the log-end offset and out of range beyond it or below the start', (t) => {
    const log = harness(t).open();
    log.append(makeBatch(2));
    assert.deepEqual(recordsOf(log.read(2n, 1 << 20, true)), []);
    assert.deepEqual(log.read(3n, 1 << 20, true), { kind: 'out-of-range' });
    assert.deepEqual(log.read(-1n, 1 << 20, true), { kind: 'out-of-range' });
  });

  it('KIP-74: a first batch larger than maxBytes comes whole with minOneBatch, not at all without', (t) => {
    const log = harness(t).open();
    const first = makeBatch(4, { valueBytes: 200 });
    log.append(first);
    log.append(makeBatch(1));
    const one = recordsOf(log.read(0n, 10, true));
    assert.equal(one.length, 1);
    assertSameBatch(one[0], first.original, 0n);
    assert.deepEqual(recordsOf(log.read(0n, 10, false)), []);
    assert.deepEqual(recordsOf(log.read(0n, 0, false)), []);
    assert.equal(recordsOf(log.read(0n, 0, true)).length, 1);
  });

  it('KIP-74: maxBytes ending inside the second batch returns only whole batches', (t) => {
    const log = harness(t).open();
    const a = makeBatch(2, { valueBytes: 50 });
    const b = makeBatch(2, { valueBytes: 50 });
    const c = makeBatch(2, { valueBytes: 50 });
    for (const x of [a, b, c]) log.append(x);
    const sizeA = a.bytes.length;
    const sizeB = b.bytes.length;
    for (const minOne of [true, false]) {
      const cut = recordsOf(log.read(0n, sizeA + Math.floor(sizeB / 2), minOne));
      assert.equal(cut.length, 1, `minOneBatch=${minOne}`);
      assertSameBatch(cut[0], a.original, 0n);
      const exact = recordsOf(log.read(0n, sizeA + sizeB, minOne));
      assert.equal(exact.length, 2);
      assertSameBatch(exact[1], b.original, 2n);
      assert.equal(recordsOf(log.read(0n, sizeA + sizeB - 1, minOne)).length, 1);
    }
  });

  it('refuses appends after close', async (t) => {
    const log = harness(t).open();
    log.append(makeBatch(1));
    await log.close();
    assert.throws(
      () => log.append(makeBatch(1)),
      (err: unknown) => err instanceof ParapetError && err.code === 'STORAGE_ERROR',
    );
  });

  it('refuses appends once close has begun, so nothing lands after the final flush', async (t) => {
    const log = harness(t).open();
    log.append(makeBatch(1));
    const closing = log.close();
    assert.throws(
      () => log.append(makeBatch(1)),
      (err: unknown) => err instanceof ParapetError && err.code === 'STORAGE_ERROR',
    );
    await closing;
    assert.equal(log.logEndOffset, 1n);
  });

  it('makes a second close wait for the first, so the files are closed and indexed when it resolves', async (t) => {
    const h = harness(t);
    const log = h.open();
    log.append(makeBatch(1));
    const first = log.close();
    await log.close();
    assert.ok(existsSync(join(h.dir, segmentFileName(0n, '.index'))));
    await first;
  });
});

describe('PartitionLog segments', () => {
  it('rolls by size into segments named by their 20-digit base offset', async (t) => {
    const h = harness(t);
    const sample = makeBatch(2, { valueBytes: 100 });
    // Three batches fit, a fourth does not.
    h.config.segmentBytes = sample.bytes.length * 3 + 10;
    const log = h.open();
    const originals: Buffer[] = [];
    for (let i = 0; i < 10; i++) {
      const b = makeBatch(2, { valueBytes: 100, tag: `b${i}-` });
      assert.equal(b.bytes.length, sample.bytes.length);
      originals.push(b.original);
      assert.equal(log.append(b), BigInt(i * 2));
    }
    assert.equal(log.segmentCount, 4);
    assert.equal(log.logEndOffset, 20n);
    const logs = readdirSync(h.dir).filter((f) => f.endsWith('.log')).sort();
    assert.deepEqual(logs, [0n, 6n, 12n, 18n].map((b) => segmentFileName(b, '.log')));
    assert.equal(segmentFileName(6n, '.log'), '00000000000000000006.log');
    for (const [name, batches] of [['00000000000000000000.log', 3], ['00000000000000000018.log', 1]] as const) {
      assert.equal(statSync(join(h.dir, name)).size, batches * sample.bytes.length);
    }

    await log.flush();
    // Rolled segments get their index files once their data is durable; the active one at close.
    for (const base of [0n, 6n, 12n]) {
      assert.ok(existsSync(join(h.dir, segmentFileName(base, '.index'))), `index of ${base}`);
      assert.ok(existsSync(join(h.dir, segmentFileName(base, '.timeindex'))), `timeindex of ${base}`);
    }
    assert.ok(!existsSync(join(h.dir, segmentFileName(18n, '.index'))));

    // Every offset reads from the right segment, and a consumer walks across all of them.
    for (let offset = 0n; offset < 20n; offset++) {
      const bases = baseOffsetsOf(log.read(offset, 1 << 20, true));
      assert.equal(bases[0], offset - (offset % 2n), `offset ${offset}`);
    }
    const all = readAll(log);
    assert.equal(all.length, 10);
    all.forEach((b, i) => {
      assertSameBatch(b, originals[i] ?? Buffer.alloc(0), BigInt(i * 2));
    });
  });

  it('puts a batch larger than segment.bytes alone in its own segment', (t) => {
    const h = harness(t, { config: { segmentBytes: 200 } });
    const log = h.open();
    log.append(makeBatch(1));
    const big = makeBatch(3, { valueBytes: 300 });
    assert.ok(big.bytes.length > 200);
    assert.equal(log.append(big), 1n);
    assert.equal(log.segmentCount, 2);
    log.append(makeBatch(1));
    assert.equal(log.segmentCount, 3);
    assertSameBatch(recordsOf(log.read(2n, 1, true))[0], big.original, 1n);
  });

  it('rolls by age (segment.ms) on the injected clock', (t) => {
    const h = harness(t, { config: { segmentMs: 1000 } });
    const log = h.open();
    log.append(makeBatch(1));
    h.clock.now += 999;
    log.append(makeBatch(1));
    assert.equal(log.segmentCount, 1);
    h.clock.now += 1;
    assert.equal(log.append(makeBatch(1)), 2n);
    assert.equal(log.segmentCount, 2);
    assert.ok(existsSync(join(h.dir, segmentFileName(2n, '.log'))));
    // The new segment's clock starts at its first append.
    h.clock.now += 999;
    log.append(makeBatch(1));
    assert.equal(log.segmentCount, 2);
    h.clock.now += 1;
    log.append(makeBatch(1));
    assert.equal(log.segmentCount, 3);
    assert.deepEqual(baseOffsetsOf(log.read(0n, 1 << 20, true)), [0n, 1n]);
    assert.deepEqual(baseOffsetsOf(log.read(2n, 1 << 20, true)), [2n, 3n]);
    assert.deepEqual(baseOffsetsOf(log.read(4n, 1 << 20, true)), [4n]);
  });

  it('never rolls an empty active segment, however old', (t) => {
    const h = harness(t, { config: { segmentMs: 1000 } });
    const log = h.open();
    log.append(makeBatch(1));
    log.roll();
    assert.equal(log.segmentCount, 2);
    h.clock.now += 1_000_000;
    assert.equal(log.append(makeBatch(1)), 1n);
    assert.equal(log.segmentCount, 2);
  });

  it('reads every offset through the sparse index of large segments, before and after reopen', async (t) => {
    const h = harness(t, { config: { segmentBytes: 64 * 1024 } });
    let log = h.open();
    const originals: Buffer[] = [];
    for (let i = 0; i < 400; i++) {
      const b = makeBatch(1 + (i % 3), { valueBytes: 150, tag: `r${i}-` });
      originals.push(b.original);
      log.append(b);
    }
    assert.ok(log.segmentCount >= 2, `segments: ${log.segmentCount}`);
    const check = (l: PartitionLog): void => {
      const all = readAll(l);
      assert.equal(all.length, 400);
      let expected = 0n;
      all.forEach((b, i) => {
        assertSameBatch(b, originals[i] ?? Buffer.alloc(0), expected);
        expected += BigInt(readBatchHeader(b).lastOffsetDelta) + 1n;
      });
      // Starting in the middle of any batch finds that batch.
      for (let offset = 0n; offset < l.logEndOffset; offset += 7n) {
        const first = recordsOf(l.read(offset, 1, true))[0];
        assert.ok(first !== undefined);
        const hd = readBatchHeader(first);
        assert.ok(hd.baseOffset <= offset && offset <= hd.baseOffset + BigInt(hd.lastOffsetDelta), `offset ${offset}`);
      }
    };
    check(log);
    const leo = log.logEndOffset;
    await log.close();
    log = h.open();
    assert.equal(log.logEndOffset, leo);
    check(log);
  });
});

describe('PartitionLog reopen', () => {
  it('keeps offsets, segments and bytes across close and reopen, and continues the offsets', async (t) => {
    const h = harness(t, { config: { segmentBytes: 400 } });
    const log = h.open();
    for (let i = 0; i < 12; i++) log.append(makeBatch(1 + (i % 2), { valueBytes: 40 }));
    const before = { leo: log.logEndOffset, start: log.logStartOffset, segments: log.segmentCount, size: log.sizeBytes, data: readAll(log) };
    assert.ok(before.segments > 2);
    await log.close();
    // Every non-empty segment, the active one too, leaves index files for a fast reopen.
    const names = logFiles(h.dir);
    assert.equal(names.filter((n) => n.endsWith('.index')).length, before.segments);

    const again = h.open();
    assert.equal(again.logEndOffset, before.leo);
    assert.equal(again.logStartOffset, before.start);
    assert.equal(again.segmentCount, before.segments);
    assert.equal(again.sizeBytes, before.size);
    assert.deepEqual(readAll(again), before.data);
    assert.equal(again.append(makeBatch(2)), before.leo);
    assert.equal(again.logEndOffset, before.leo + 2n);
    await again.close();

    const third = h.open();
    assert.equal(third.logEndOffset, before.leo + 2n);
    assert.deepEqual(baseOffsetsOf(third.read(before.leo, 1 << 20, true)), [before.leo]);
    assert.equal(h.logger.at('warn').length + h.logger.at('error').length, 0, JSON.stringify(h.logger.entries));
  });

  it('reopens an empty log and one whose active segment is empty after a roll', async (t) => {
    const h = harness(t);
    let log = h.open();
    await log.close();
    log = h.open();
    assert.equal(log.logEndOffset, 0n);
    log.append(makeBatch(3));
    log.roll();
    await log.close();
    log = h.open();
    assert.equal(log.segmentCount, 2);
    assert.equal(log.logEndOffset, 3n);
    assert.deepEqual(recordsOf(log.read(3n, 100, true)), []);
    assert.equal(log.append(makeBatch(1)), 3n);
  });
});

describe('PartitionLog timestamps', () => {
  it('finds the first record at or after a timestamp, across segments and unordered batches', async (t) => {
    const h = harness(t);
    const log = h.open();
    log.append(makeBatch(2, { timestamps: [T0, T0 + 10] })); // offsets 0, 1
    log.append(makeBatch(3, { timestamps: [T0 + 20, T0 + 5, T0 + 30] })); // offsets 2, 3, 4
    log.roll();
    log.append(makeBatch(1, { timestamps: [T0 + 100] })); // offset 5
    log.append(makeBatch(1, { timestamps: [T0 + 50] })); // offset 6: older than the max before it
    const cases: [number, bigint | null, number | null][] = [
      [0, 0n, T0],
      [T0, 0n, T0],
      [T0 + 1, 1n, T0 + 10],
      [T0 + 11, 2n, T0 + 20],
      [T0 + 21, 4n, T0 + 30], // not offset 3, whose T0+5 is older
      [T0 + 31, 5n, T0 + 100],
      [T0 + 60, 5n, T0 + 100],
      [T0 + 100, 5n, T0 + 100],
      [T0 + 101, null, null],
    ];
    for (const [ts, offset, found] of cases) {
      const r = await log.offsetForTimestamp(ts);
      if (offset === null) assert.equal(r, null, `ts ${ts}`);
      else assert.deepEqual(r, { offset, timestamp: BigInt(found ?? 0) }, `ts ${ts}`);
    }
    assert.deepEqual(await log.offsetOfMaxTimestamp(), { offset: 5n, timestamp: BigInt(T0 + 100) });
  });

  it('has no max timestamp when empty', async (t) => {
    const log = harness(t).open();
    assert.equal(await log.offsetOfMaxTimestamp(), null);
    assert.equal(await log.offsetForTimestamp(0), null);
  });

  it('answers timestamp lookups through the time index, also after reopen from index files', async (t) => {
    const h = harness(t, { config: { segmentBytes: 32 * 1024 } });
    let log = h.open();
    // One record per batch, 10 ms apart, big enough for several index entries per segment.
    for (let i = 0; i < 300; i++) log.append(makeBatch(1, { timestamps: [T0 + i * 10], valueBytes: 200 }));
    assert.ok(log.segmentCount >= 2);
    const check = async (l: PartitionLog): Promise<void> => {
      for (let i = 0; i < 300; i += 13) {
        assert.deepEqual(await l.offsetForTimestamp(T0 + i * 10), { offset: BigInt(i), timestamp: BigInt(T0 + i * 10) });
        assert.deepEqual(await l.offsetForTimestamp(T0 + i * 10 - 3), { offset: BigInt(i), timestamp: BigInt(T0 + i * 10) });
      }
      assert.equal(await l.offsetForTimestamp(T0 + 3000), null);
      assert.deepEqual(await l.offsetOfMaxTimestamp(), { offset: 299n, timestamp: BigInt(T0 + 2990) });
    };
    await check(log);
    await log.close();
    log = h.open();
    await check(log);
  });
});
