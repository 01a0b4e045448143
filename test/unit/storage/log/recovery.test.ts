import assert from 'node:assert/strict';
import { appendFileSync, closeSync, existsSync, openSync, readFileSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { BATCH_HEADER_SIZE, BatchOffsets, LOG_OVERHEAD } from '../../../../src/records/batch.js';
import { buildBatchSync } from '../../../../src/records/record.js';
import { segmentFileName } from '../../../../src/storage/log/format.js';
import { nodeLogFs, type LogFs } from '../../../../src/storage/log/log-fs.js';
import type { PartitionLog } from '../../../../src/storage/log/partition-log.js';
import { scanSegment, type ScannedBatch } from '../../../../src/storage/log/scan.js';
import { assertSameBatch, baseOffsetsOf, harness, makeBatch, recordsOf, tempDir, type LogHarness } from './helpers.js';

function flipByte(path: string, position: number): void {
  const data = readFileSync(path);
  data[position] = (data[position] ?? 0) ^ 0xff;
  writeFileSync(path, data);
}

/** Appends batches of the given record counts and closes the log; returns their originals, positions and sizes. */
async function writeLog(h: LogHarness, counts: readonly number[], valueBytes = 30): Promise<{ original: Buffer; base: bigint; size: number }[]> {
  const log = h.open();
  const out: { original: Buffer; base: bigint; size: number }[] = [];
  counts.forEach((n, i) => {
    const b = makeBatch(n, { valueBytes, tag: `w${i}-` });
    out.push({ original: b.original, base: log.append(b), size: b.bytes.length });
  });
  await log.close();
  return out;
}

const activeLog = (h: LogHarness, base = 0n): string => join(h.dir, segmentFileName(base, '.log'));

describe('recovery of the active segment', () => {
  it('truncates a torn last batch, warns, and continues offsets after the last whole batch', async (t) => {
    const h = harness(t);
    const written = await writeLog(h, [2, 3, 4]);
    const whole = (written[0]?.size ?? 0) + (written[1]?.size ?? 0);
    truncateSync(activeLog(h), whole + Math.floor((written[2]?.size ?? 0) / 2));

    const log = h.open();
    const warns = h.logger.at('warn');
    assert.equal(warns.length, 1);
    assert.match(warns[0]?.msg ?? '', /torn/);
    assert.equal(statSync(activeLog(h)).size, whole);
    assert.equal(log.logEndOffset, 5n);
    assert.equal(log.sizeBytes, whole);
    // Index files written at close describe the longer log: they are dropped.
    assert.ok(!existsSync(join(h.dir, segmentFileName(0n, '.index'))));

    const next = makeBatch(1);
    assert.equal(log.append(next), 5n);
    const batches = recordsOf(log.read(0n, 1 << 20, true));
    assert.equal(batches.length, 3);
    assertSameBatch(batches[0], written[0]?.original ?? Buffer.alloc(0), 0n);
    assertSameBatch(batches[1], written[1]?.original ?? Buffer.alloc(0), 2n);
    assertSameBatch(batches[2], next.original, 5n);
  });

  it('truncates a tail shorter than a batch header', async (t) => {
    const h = harness(t);
    const written = await writeLog(h, [1, 1]);
    truncateSync(activeLog(h), (written[0]?.size ?? 0) + BATCH_HEADER_SIZE - 1);
    const log = h.open();
    assert.equal(log.logEndOffset, 1n);
    assert.match(h.logger.at('warn')[0]?.msg ?? '', /torn/);
    assert.equal(log.append(makeBatch(1)), 1n);
  });

  it('truncates a zero-filled tail (file extended, data never written)', async (t) => {
    const h = harness(t);
    const written = await writeLog(h, [2, 2]);
    appendFileSync(activeLog(h), Buffer.alloc(4096));
    const log = h.open();
    assert.equal(log.logEndOffset, 4n);
    assert.equal(statSync(activeLog(h)).size, (written[0]?.size ?? 0) + (written[1]?.size ?? 0));
    assert.equal(h.logger.at('warn').length, 1);
  });

  it('treats a last batch that fails its CRC as torn', async (t) => {
    const h = harness(t);
    const written = await writeLog(h, [2, 2]);
    flipByte(activeLog(h), (written[0]?.size ?? 0) + BATCH_HEADER_SIZE + 3);
    const log = h.open();
    assert.equal(log.logEndOffset, 2n);
    assert.match(h.logger.at('warn')[0]?.msg ?? '', /torn/);
    assert.equal(h.logger.at('error').length, 0);
  });

  it('keeps a corrupt batch in the middle, logs it, refuses to serve it and serves the batches after it', async (t) => {
    const h = harness(t);
    const written = await writeLog(h, [2, 3, 4]);
    flipByte(activeLog(h), (written[0]?.size ?? 0) + BATCH_HEADER_SIZE + 5);

    const log = h.open();
    const errors = h.logger.at('error');
    assert.equal(errors.length, 1);
    assert.match(errors[0]?.msg ?? '', /corrupt/);
    assert.equal(h.logger.at('warn').length, 0, 'acknowledged batches after the corrupt one are not truncated');
    assert.equal(log.logEndOffset, 9n);

    const corrupt = log.read(2n, 1 << 20, true);
    assert.equal(corrupt.kind, 'corrupt');
    assert.equal(log.read(4n, 1 << 20, true).kind, 'corrupt', 'any offset inside the corrupt batch');
    assert.match(h.logger.at('error').at(-1)?.msg ?? '', /corrupt/);
    // A read from before stops in front of it; a read after it is served.
    assert.deepEqual(baseOffsetsOf(log.read(0n, 1 << 20, true)), [0n]);
    const after = recordsOf(log.read(5n, 1 << 20, true));
    assert.equal(after.length, 1);
    assertSameBatch(after[0], written[2]?.original ?? Buffer.alloc(0), 5n);
    assert.equal(log.append(makeBatch(1)), 9n);
  });
});

describe('corruption in rolled segments', () => {
  it('detects a flipped byte at rest by the CRC on read, after reopen from index files', async (t) => {
    const h = harness(t);
    const first = makeBatch(2, { valueBytes: 40 });
    const sizes: number[] = [];
    {
      const log = h.open();
      for (let i = 0; i < 3; i++) {
        const b = i === 0 ? first : makeBatch(2, { valueBytes: 40 });
        sizes.push(b.bytes.length);
        log.append(b);
      }
      log.roll();
      log.append(makeBatch(1));
      await log.close();
    }
    flipByte(activeLog(h, 0n), (sizes[0] ?? 0) + BATCH_HEADER_SIZE + 1);
    const log = h.open();
    // Older segments load their indexes without a scan: nothing is noticed until the batch is read.
    assert.equal(h.logger.at('error').length, 0);
    assert.deepEqual(log.read(2n, 1 << 20, true).kind, 'corrupt');
    assert.equal(h.logger.at('error').length, 1);
    assert.deepEqual(log.read(3n, 1 << 20, false).kind, 'corrupt', 'still refused on a second read');
    const before = recordsOf(log.read(0n, 1 << 20, true));
    assert.equal(before.length, 1);
    assertSameBatch(before[0], first.original, 0n);
    assert.deepEqual(baseOffsetsOf(log.read(4n, 1 << 20, true)), [4n]);
    assert.deepEqual(baseOffsetsOf(log.read(6n, 1 << 20, true)), [6n]);
  });

  it('checks each batch once per process: appended batches are trusted, unverified ones are checked on first read', async (t) => {
    const h = harness(t);
    const a = makeBatch(1);
    {
      const log = h.open();
      log.append(a);
      log.append(makeBatch(1));
      log.roll();
      log.append(makeBatch(1));
      // Appended batches passed their CRC on the produce path: a flip under the running log is not
      // re-checked (the page cache still holds what was verified)...
      flipByte(activeLog(h, 0n), a.bytes.length + BATCH_HEADER_SIZE + 1);
      assert.deepEqual(baseOffsetsOf(log.read(0n, 1 << 20, true)), [0n, 1n]);
      await log.close();
    }
    // ...but after a restart the rolled segment is unverified again, and the damage is refused.
    const log = h.open();
    assert.deepEqual(baseOffsetsOf(log.read(0n, 1 << 20, true)), [0n]);
    assert.equal(log.read(1n, 1 << 20, true).kind, 'corrupt');
    assert.deepEqual(baseOffsetsOf(log.read(2n, 1 << 20, true)), [2n]);
  });

  it('skips the gap left by a torn tail in a rolled segment that had no index yet', async (t) => {
    const h = harness(t);
    const written = await writeLog(h, [1, 1, 1]);
    {
      const log = h.open();
      log.roll();
      log.append(makeBatch(1, { tag: 'after' }));
      await log.close();
    }
    for (const suffix of ['.index', '.timeindex'] as const) unlinkSync(join(h.dir, segmentFileName(0n, suffix)));
    truncateSync(activeLog(h, 0n), (written[0]?.size ?? 0) + (written[1]?.size ?? 0) + 10);
    const log = h.open();
    assert.match(h.logger.at('warn')[0]?.msg ?? '', /torn/);
    assert.equal(log.logEndOffset, 4n, 'the active segment keeps the log-end offset');
    // Offset 2 is gone: a fetch there continues with the next batch that exists.
    assert.deepEqual(baseOffsetsOf(log.read(2n, 1 << 20, true)), [3n]);
    assert.deepEqual(baseOffsetsOf(log.read(0n, 1 << 20, true)), [0n, 1n]);
  });
});

/** A closed log with a rolled segment of many batches (several index entries) and an active one. */
async function rolledLog(h: LogHarness): Promise<{ originals: Buffer[]; positions: number[] }> {
  const log = h.open();
  const originals: Buffer[] = [];
  const positions: number[] = [];
  let position = 0;
  for (let i = 0; i < 40; i++) {
    const b = makeBatch(1, { valueBytes: 400, tag: `i${i}-`, timestamps: [1_000_000 + i] });
    originals.push(b.original);
    positions.push(position);
    position += b.bytes.length;
    log.append(b);
  }
  log.roll();
  log.append(makeBatch(1));
  await log.close();
  return { originals, positions };
}

describe('index files of rolled segments', () => {
  async function assertReads(h: LogHarness, originals: readonly Buffer[]): Promise<void> {
    const log = h.open();
    assert.equal(log.logEndOffset, 41n);
    for (let i = 0; i < originals.length; i++) {
      const got = recordsOf(log.read(BigInt(i), 1, true));
      assertSameBatch(got[0], originals[i] ?? Buffer.alloc(0), BigInt(i));
    }
    assert.deepEqual(await log.offsetForTimestamp(1_000_020), { offset: 20n, timestamp: 1_000_020n });
    await log.close();
  }

  const indexPath = (h: LogHarness): string => join(h.dir, segmentFileName(0n, '.index'));
  const timeIndexPath = (h: LogHarness): string => join(h.dir, segmentFileName(0n, '.timeindex'));
  const rebuilt = (h: LogHarness): boolean =>
    h.logger.entries.some((e) => e.msg === 'segment recovered' && /index/.test(String((e.obj as { why?: unknown }).why)));

  it('writes offset index entries about every 4 KiB', async (t) => {
    const h = harness(t);
    const { positions } = await rolledLog(h);
    const index = readFileSync(indexPath(h));
    assert.ok(index.length / 8 >= 3, `entries: ${index.length / 8}`);
    for (let at = 0; at < index.length; at += 8) {
      const rel = index.readInt32BE(at);
      assert.equal(index.readInt32BE(at + 4), positions[rel], `entry ${at / 8}`);
    }
    assert.equal(readFileSync(timeIndexPath(h)).length, 40 * 12, 'one time entry per batch whose timestamp grew');
  });

  it('rebuilds deleted index files', async (t) => {
    const h = harness(t);
    const { originals } = await rolledLog(h);
    const index = readFileSync(indexPath(h));
    const timeIndex = readFileSync(timeIndexPath(h));
    unlinkSync(indexPath(h));
    unlinkSync(timeIndexPath(h));
    await assertReads(h, originals);
    assert.ok(rebuilt(h));
    // Close writes them again, identical to the originals.
    assert.deepEqual(readFileSync(indexPath(h)), index);
    assert.deepEqual(readFileSync(timeIndexPath(h)), timeIndex);
  });

  it('rebuilds a torn index file', async (t) => {
    const h = harness(t);
    const { originals } = await rolledLog(h);
    truncateSync(indexPath(h), 13);
    await assertReads(h, originals);
    assert.ok(rebuilt(h));
  });

  it('rebuilds a garbled time index', async (t) => {
    const h = harness(t);
    const { originals } = await rolledLog(h);
    const garbage = Buffer.alloc(24);
    garbage.writeBigInt64BE(500n, 0);
    garbage.writeBigInt64BE(400n, 12); // decreasing timestamps
    writeFileSync(timeIndexPath(h), garbage);
    await assertReads(h, originals);
    assert.ok(rebuilt(h));
  });

  it('rebuilds an index whose last entry names the wrong batch', async (t) => {
    const h = harness(t);
    const { originals, positions } = await rolledLog(h);
    // Well-formed (increasing, inside the file) but the last entry says offset 5 is where batch 30 is:
    // trusted, it would make reads of offsets 5..29 skip ahead to 30.
    const bad = Buffer.alloc(16);
    bad.writeInt32BE(0, 0);
    bad.writeInt32BE(0, 4);
    bad.writeInt32BE(5, 8);
    bad.writeInt32BE(positions[30] ?? 0, 12);
    writeFileSync(indexPath(h), bad);
    await assertReads(h, originals);
    assert.ok(rebuilt(h));
  });

  it('rebuilds an index whose last entry points inside a batch', async (t) => {
    const h = harness(t);
    const { originals, positions } = await rolledLog(h);
    const bad = Buffer.alloc(16);
    bad.writeInt32BE(0, 0);
    bad.writeInt32BE(0, 4);
    bad.writeInt32BE(30, 8);
    bad.writeInt32BE((positions[30] ?? 0) + BatchOffsets.magic, 12);
    writeFileSync(indexPath(h), bad);
    await assertReads(h, originals);
    assert.ok(rebuilt(h));
  });
});

describe('scanSegment', () => {
  it('reports batches out of offset order as corrupt and keeps scanning', (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'seg.log');
    const batch = (baseOffset: bigint, n: number): Buffer =>
      buildBatchSync({ baseOffset, records: Array.from({ length: n }, (_, i) => ({ value: `x${i}`, timestamp: 1000 + i })) });
    writeFileSync(path, Buffer.concat([batch(10n, 3), batch(11n, 1), batch(13n, 2)]));
    const fd = openSync(path, 'r');
    t.after(() => {
      closeSync(fd);
    });
    const seen: ScannedBatch[] = [];
    const result = scanSegment(nodeLogFs, fd, statSync(path).size, 10n, {
      verifyCrc: true,
      onBatch: (b) => {
        seen.push(b);
      },
    });
    assert.deepEqual(
      seen.map((b) => [b.baseOffset, b.lastOffset, b.maxTimestamp]),
      [
        [10n, 12n, 1002],
        [13n, 14n, 1001],
      ],
    );
    assert.equal(result.tornTail, null);
    assert.equal(result.validBytes, statSync(path).size);
    assert.equal(result.corrupt.length, 1);
    const [bad] = result.corrupt;
    assert.ok(bad !== undefined);
    assert.match(bad.reason, /do not follow/);
    // Its offsets are the gap before the next good batch, whatever its own header says.
    assert.deepEqual([bad.firstOffset, bad.lastOffset], [13n, 12n]);
  });

  it('stops at an unreadable magic byte and reports the rest as torn', (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'seg.log');
    const good = buildBatchSync({ records: [{ value: 'a', timestamp: 1 }] });
    const bad = buildBatchSync({ records: [{ value: 'b', timestamp: 1 }] });
    bad.writeInt8(1, BatchOffsets.magic);
    writeFileSync(path, Buffer.concat([good, bad, good]));
    const fd = openSync(path, 'r');
    t.after(() => {
      closeSync(fd);
    });
    const result = scanSegment(nodeLogFs, fd, statSync(path).size, 0n, { verifyCrc: true, onBatch: () => undefined });
    assert.equal(result.validBytes, good.length);
    assert.match(result.tornTail ?? '', /magic 1/);
  });
});

describe('damaged batch headers in rolled segments', () => {
  /** nodeLogFs that fails a runaway header walk instead of hanging the test (the walk is synchronous). */
  function boundedFs(): LogFs {
    let reads = 0;
    return {
      ...nodeLogFs,
      readSync: (fd, buffer, offset, length, position) => {
        if (++reads > 100_000) throw new Error('runaway walk over batch headers');
        return nodeLogFs.readSync(fd, buffer, offset, length, position);
      },
    };
  }

  /** A log whose rolled segment has batch 1's header damaged by `damage`, reopened from its index files. */
  async function damaged(t: TestContext, damage: (data: Buffer, at: number, size: number) => void): Promise<{ log: PartitionLog; h: LogHarness; originals: Buffer[] }> {
    const h = harness(t, { fs: boundedFs() });
    const { originals, positions } = await rolledLog(h);
    const path = join(h.dir, segmentFileName(0n, '.log'));
    const data = readFileSync(path);
    const at = positions[1] ?? 0;
    damage(data, at, (positions[2] ?? 0) - at);
    writeFileSync(path, data);
    const log = h.open();
    assert.ok(!h.logger.entries.some((e) => e.msg === 'segment recovered' && (e.obj as { why?: string }).why !== 'active segment'), 'loaded from its index');
    return { log, h, originals };
  }

  const cases: [string, (data: Buffer, at: number, size: number) => void][] = [
    ['a length of -12 (a walk would stand still)', (d, at) => d.writeInt32BE(-12, at + BatchOffsets.batchLength)],
    ['a negative length (a walk would go backwards)', (d, at) => d.writeInt32BE(-200, at + BatchOffsets.batchLength)],
    ['a zero length', (d, at) => d.writeInt32BE(0, at + BatchOffsets.batchLength)],
    ['a length past the end of the segment', (d, at) => d.writeInt32BE(1 << 30, at + BatchOffsets.batchLength)],
    ['a length cutting into the next batch', (d, at, size) => d.writeInt32BE(size - LOG_OVERHEAD + 100, at + BatchOffsets.batchLength)],
    ['a wrong magic byte (outside the CRC)', (d, at) => d.writeInt8(1, at + BatchOffsets.magic)],
    ['a zeroed batch', (d, at, size) => d.fill(0, at, at + size)],
  ];
  for (const [name, damage] of cases) {
    it(`reports ${name} as corrupt instead of serving, looping or throwing`, async (t) => {
      const { log, originals } = await damaged(t, damage);
      assertSameBatch(recordsOf(log.read(0n, 1 << 20, true))[0], originals[0] ?? Buffer.alloc(0), 0n);
      assert.equal(recordsOf(log.read(0n, 1 << 20, true)).length, 1, 'a read from before stops in front of it');
      assert.equal(log.read(1n, 1 << 20, true).kind, 'corrupt');
      assert.equal(log.read(1n, 1 << 20, false).kind, 'corrupt');
      // Batches after it can only be located through an index entry past it.
      assert.equal(log.read(2n, 1 << 20, true).kind, 'corrupt');
      assertSameBatch(recordsOf(log.read(39n, 1 << 20, true))[0], originals[39] ?? Buffer.alloc(0), 39n);
      // Lands on the damaged batch: must answer (null or an offset), not loop or throw.
      assert.notEqual(await log.offsetForTimestamp(1_000_002), undefined);
      assert.deepEqual(await log.offsetForTimestamp(1_000_039), { offset: 39n, timestamp: 1_000_039n });
    });
  }
});
