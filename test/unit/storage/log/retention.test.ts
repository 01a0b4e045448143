import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { segmentFileName } from '../../../../src/storage/log/format.js';
import { segmentsToDelete, type RetainedSegment } from '../../../../src/storage/log/retention.js';
import { T0, baseOffsetsOf, harness, makeBatch, recordsOf, type LogHarness } from './helpers.js';

const seg = (size: number, maxTimestamp: number): RetainedSegment => ({ size, maxTimestamp });
const NOW = 1_000_000;

describe('segmentsToDelete', () => {
  it('deletes nothing when both limits are unlimited', () => {
    assert.equal(segmentsToDelete([seg(100, 0), seg(100, 0), seg(100, 0)], { retentionMs: -1, retentionBytes: -1 }, NOW), 0);
  });

  it('deletes the oldest segments whose newest record is older than retention.ms', () => {
    const segments = [seg(10, NOW - 500), seg(10, NOW - 301), seg(10, NOW - 300), seg(10, NOW - 600), seg(10, NOW)];
    // Strictly older than 300 ms: the third segment (exactly 300) stops the prefix, even though the fourth is older.
    assert.equal(segmentsToDelete(segments, { retentionMs: 300, retentionBytes: -1 }, NOW), 2);
    assert.equal(segmentsToDelete(segments, { retentionMs: 299, retentionBytes: -1 }, NOW), 4);
    assert.equal(segmentsToDelete(segments, { retentionMs: 0, retentionBytes: -1 }, NOW), 4);
  });

  it('never deletes the last (active) segment, even when it is expired or over size', () => {
    assert.equal(segmentsToDelete([seg(100, 0)], { retentionMs: 1, retentionBytes: 0 }, NOW), 0);
    assert.equal(segmentsToDelete([seg(100, 0), seg(100, 0)], { retentionMs: 1, retentionBytes: 0 }, NOW), 1);
    assert.equal(segmentsToDelete([], { retentionMs: 1, retentionBytes: 0 }, NOW), 0);
  });

  it('does not expire by time a segment whose timestamps are unknown', () => {
    assert.equal(segmentsToDelete([seg(10, -1), seg(10, 0), seg(10, NOW)], { retentionMs: 10, retentionBytes: -1 }, NOW), 0);
  });

  it('deletes by size only while the rest still holds retention.bytes', () => {
    const segments = [seg(100, NOW), seg(100, NOW), seg(100, NOW), seg(50, NOW)]; // 350 bytes
    const bytes = (retentionBytes: number): number => segmentsToDelete(segments, { retentionMs: -1, retentionBytes }, NOW);
    assert.equal(bytes(350), 0);
    assert.equal(bytes(300), 0, '50 bytes over, but the oldest segment is 100: deleting it would go below');
    assert.equal(bytes(250), 1);
    assert.equal(bytes(200), 1);
    assert.equal(bytes(150), 2);
    assert.equal(bytes(50), 3);
    assert.equal(bytes(0), 3);
  });

  it('combines time and size: either one deletes a segment, the first that neither does stops', () => {
    const segments = [seg(100, NOW - 1000), seg(100, NOW), seg(100, NOW), seg(10, NOW)];
    // Time expires the first; the size limit then needs 310 - 100 - 100 >= 100.
    assert.equal(segmentsToDelete(segments, { retentionMs: 500, retentionBytes: 100 }, NOW), 2);
    assert.equal(segmentsToDelete(segments, { retentionMs: 500, retentionBytes: 250 }, NOW), 1);
  });
});

describe('PartitionLog.enforceRetention', () => {
  /** Three full segments of three batches plus an active one, each segment's records 1 s newer. */
  function fill(h: LogHarness): { log: ReturnType<LogHarness['open']>; segmentSize: number } {
    const sample = makeBatch(2, { valueBytes: 50 });
    h.config.segmentBytes = sample.bytes.length * 3;
    const log = h.open();
    for (let i = 0; i < 10; i++) {
      const ts = T0 + Math.floor(i / 3) * 1000;
      log.append(makeBatch(2, { valueBytes: 50, timestamps: [ts, ts] }));
    }
    assert.equal(log.segmentCount, 4);
    return { log, segmentSize: sample.bytes.length * 3 };
  }

  const logNames = (h: LogHarness): string[] => readdirSync(h.dir).filter((f) => f.endsWith('.log')).sort();

  it('deletes whole expired segments, moves the log start and refuses reads below it', async (t) => {
    const h = harness(t);
    const { log } = fill(h);
    await log.flush();
    h.config.retentionMs = 1500;
    h.clock.now = T0 + 2600; // segment 0 (T0) and 1 (T0+1000) are older than 1.5 s; segment 2 (T0+2000) is not
    assert.equal(await log.enforceRetention(), 2);
    assert.equal(log.segmentCount, 2);
    assert.equal(log.logStartOffset, 12n);
    assert.equal(log.logEndOffset, 20n);
    assert.deepEqual(logNames(h), [segmentFileName(12n, '.log'), segmentFileName(18n, '.log')]);
    for (const base of [0n, 6n]) {
      for (const suffix of ['.log', '.index', '.timeindex'] as const) assert.ok(!existsSync(join(h.dir, segmentFileName(base, suffix))), `${base}${suffix}`);
    }
    assert.deepEqual(log.read(0n, 1 << 20, true), { kind: 'out-of-range' });
    assert.deepEqual(log.read(11n, 1 << 20, true), { kind: 'out-of-range' });
    assert.deepEqual(baseOffsetsOf(log.read(12n, 1 << 20, true)), [12n, 14n, 16n]);
    assert.ok(h.logger.at('info').some((e) => /retention/.test(e.msg)));
    assert.equal(await log.enforceRetention(), 0, 'nothing more to delete');
    // Lookups by timestamp only see what is left.
    assert.deepEqual(await log.offsetForTimestamp(0), { offset: 12n, timestamp: BigInt(T0 + 2000) });
  });

  it('deletes by retention.bytes, oldest first', async (t) => {
    const h = harness(t);
    const { log, segmentSize } = fill(h);
    h.config.retentionBytes = log.sizeBytes - segmentSize;
    assert.equal(await log.enforceRetention(), 1);
    assert.equal(log.logStartOffset, 6n);
    assert.ok(log.sizeBytes >= h.config.retentionBytes);
  });

  it('never deletes the active segment, so offsets never go back, even after reopen', async (t) => {
    const h = harness(t);
    const { log } = fill(h);
    h.config.retentionMs = 0;
    h.config.retentionBytes = 0;
    h.clock.now = T0 + 1_000_000;
    assert.equal(await log.enforceRetention(), 3);
    assert.equal(log.segmentCount, 1);
    assert.equal(log.logStartOffset, 18n);
    assert.equal(log.logEndOffset, 20n);
    assert.deepEqual(baseOffsetsOf(log.read(18n, 1 << 20, true)), [18n]);
    assert.equal(await log.enforceRetention(), 0);
    await log.close();

    const again = h.open();
    assert.equal(again.logStartOffset, 18n);
    assert.equal(again.logEndOffset, 20n);
    assert.equal(again.append(makeBatch(1)), 20n);
    assert.deepEqual(again.read(17n, 100, true), { kind: 'out-of-range' });
    assert.deepEqual(recordsOf(again.read(21n, 100, true)), []);
  });

  it('keeps offsets monotonic when retention empties everything but a freshly rolled, empty active segment', async (t) => {
    const h = harness(t);
    const { log } = fill(h);
    log.roll();
    h.config.retentionMs = 0;
    h.clock.now = T0 + 1_000_000;
    assert.equal(await log.enforceRetention(), 4);
    assert.equal(log.logStartOffset, 20n);
    assert.equal(log.logEndOffset, 20n);
    assert.equal(log.sizeBytes, 0);
    await log.close();
    const again = h.open();
    assert.equal(again.logStartOffset, 20n);
    assert.equal(again.logEndOffset, 20n);
    assert.equal(again.append(makeBatch(1)), 20n);
  });

  it('does not rewrite the index files of a segment deleted while its roll flush was pending', async (t) => {
    const h = harness(t);
    const { log } = fill(h);
    h.config.retentionBytes = 0;
    // The rolls above queued index writes behind an fsync; retention runs before they land.
    const deleting = log.enforceRetention();
    await log.flush();
    assert.equal(await deleting, 3);
    for (const base of [0n, 6n, 12n]) assert.ok(!existsSync(join(h.dir, segmentFileName(base, '.index'))), `index of ${base}`);
  });
});
