import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { createTopic } from '../helpers/client.js';
import {
  EARLIEST,
  kcatRead,
  LATEST,
  openBroker,
  BatchClient,
  records,
  segmentBases,
  segmentPath,
  segmentSize,
  tempDataDir,
  waitFor,
} from '../helpers/durability.js';

/** A fixed start for the fake clock, so record timestamps and retention.ms are exact. */
const T0 = 1_700_000_000_000;

/** 2 records of 100 bytes: ~280 bytes a batch, so 7 batches fill a 2000-byte segment. */
const batchOf = (prefix: string) => records(prefix, 2, 100);

/** How many of the oldest segments retention.bytes should delete (Kafka's rule), from the files on disk. */
function expectedBySize(sizes: readonly number[], retentionBytes: number): number {
  let total = sizes.reduce((a, b) => a + b, 0);
  let count = 0;
  for (const size of sizes.slice(0, -1)) {
    if (total - size < retentionBytes) break;
    total -= size;
    count++;
  }
  return count;
}

/** Segments of a few batches, so that retention has many to delete: below the default minimum, allowed down to Kafka's. */
const SMALL_SEGMENTS = { minSegmentBytes: 1000 };

describe('retention', () => {
  it('retention.bytes deletes whole old segments, never the active one; earliest moves to a segment base', async (t) => {
    const dataDir = tempDataDir(t);
    const topic = 'ret-bytes';
    const { broker, port, logger } = await openBroker(t, dataDir, {}, SMALL_SEGMENTS);
    const bootstrap = `127.0.0.1:${port}`;
    const c = await BatchClient.open(t, port);
    await createTopic(port, topic, 1, { 'segment.bytes': '2000', 'retention.bytes': '6000' });
    for (let b = 0; b < 40; b++) assert.equal((await c.produce(topic, 0, batchOf(`m${b}`))).errorCode, ErrorCode.NONE);

    const before = segmentBases(dataDir, topic, 0);
    assert.ok(before.length >= 5, `expected many segments, got ${before.length}`);
    const sizes = before.map((base) => segmentSize(dataDir, topic, 0, base));
    assert.ok(sizes.every((s) => s <= 2000));
    const expected = expectedBySize(sizes, 6000);
    assert.ok(expected >= 1);

    assert.equal(await broker.enforceRetention(), expected);
    const after = segmentBases(dataDir, topic, 0);
    assert.deepEqual(after, before.slice(expected));
    assert.equal(after.at(-1), before.at(-1), 'the active segment remains');
    for (const base of before.slice(0, expected)) {
      for (const suffix of ['.log', '.index', '.timeindex']) assert.ok(!existsSync(segmentPath(dataDir, topic, 0, base, suffix)), `${base}${suffix} deleted`);
    }
    const kept = sizes.slice(expected).reduce((a, b) => a + b, 0);
    assert.ok(kept >= 6000, `kept ${kept} bytes`);
    assert.ok(kept - (sizes[expected] as number) < 6000, 'one segment fewer would be under retention.bytes');
    assert.ok(logger.entries.some((e) => e.msg === 'retention deleted old segments'));
    // A second check finds nothing more to delete.
    assert.equal(await broker.enforceRetention(), 0);

    const start = after[0] as bigint;
    assert.ok(start > 0n);
    assert.deepEqual(await c.listOffset(topic, 0, EARLIEST), { errorCode: 0, offset: start });
    assert.deepEqual(await c.listOffset(topic, 0, LATEST), { errorCode: 0, offset: 80n });
    for (const below of [0n, start - 1n]) {
      const r = await c.fetch(topic, 0, below);
      assert.equal(r.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE, `fetch at ${below}`);
      assert.equal(r.logStartOffset, start);
    }
    const first = await c.fetch(topic, 0, start);
    assert.deepEqual([first.errorCode, first.batches[0]], [ErrorCode.NONE, start]);

    // A consumer starting from 'earliest' reads everything retained, in order.
    const consumed = await kcatRead(bootstrap, topic, 0);
    assert.deepEqual(
      consumed.map((r) => r.offset),
      Array.from({ length: Number(80n - start) }, (_, i) => start + BigInt(i)),
    );
    assert.equal(consumed[0]?.value.replace(/\.+$/, ''), `m${Number(start) / 2}-0`);
  });

  it('retention.ms deletes segments whose newest record is older (broker clock, LogAppendTime); restart keeps offsets', async (t) => {
    const dataDir = tempDataDir(t);
    const topic = 'ret-time';
    let now = T0;
    const clock = () => now;
    const first = await openBroker(t, dataDir, { clock }, SMALL_SEGMENTS);
    const c = await BatchClient.open(t, first.port);
    await createTopic(first.port, topic, 1, { 'segment.bytes': '2000', 'retention.ms': '1000', 'message.timestamp.type': 'LogAppendTime' });

    // Old records stamped T0, newer ones T0 + 800.
    for (let b = 0; b < 12; b++) {
      const r = await c.produce(topic, 0, batchOf(`old${b}`));
      assert.deepEqual([r.errorCode, r.logAppendTimeMs], [ErrorCode.NONE, BigInt(T0)]);
    }
    const oldEnd = 24n;
    now = T0 + 800;
    for (let b = 0; b < 12; b++) assert.equal((await c.produce(topic, 0, batchOf(`new${b}`))).errorCode, ErrorCode.NONE);
    const end = 48n;

    const bases = segmentBases(dataDir, topic, 0);
    assert.ok(bases.length >= 4, `expected several segments, got ${bases.length}`);
    // Segments holding only old records: those whose successor starts at or before oldEnd.
    const oldOnly = bases.slice(0, -1).filter((_, i) => (bases[i + 1] as bigint) <= oldEnd).length;
    assert.ok(oldOnly >= 1 && oldOnly < bases.length - 1);

    now = T0 + 1000; // exactly retention.ms old: kept (Kafka deletes when older than retention.ms)
    assert.equal(await first.broker.enforceRetention(), 0);
    now = T0 + 1001;
    assert.equal(await first.broker.enforceRetention(), oldOnly);
    assert.deepEqual(segmentBases(dataDir, topic, 0), bases.slice(oldOnly));
    assert.deepEqual(await c.listOffset(topic, 0, EARLIEST), { errorCode: 0, offset: bases[oldOnly] });
    assert.equal((await c.fetch(topic, 0, 0n)).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);

    // Everything older than retention.ms, the active segment included: all but the active one go.
    now = T0 + 800 + 1001;
    assert.equal(await first.broker.enforceRetention(), bases.length - 1 - oldOnly);
    const active = bases.at(-1) as bigint;
    assert.deepEqual(segmentBases(dataDir, topic, 0), [active]);
    assert.deepEqual(await c.listOffset(topic, 0, EARLIEST), { errorCode: 0, offset: active });
    assert.deepEqual(await c.listOffset(topic, 0, LATEST), { errorCode: 0, offset: end });
    assert.deepEqual(
      (await kcatRead(`127.0.0.1:${first.port}`, topic, 0)).map((r) => r.offset),
      Array.from({ length: Number(end - active) }, (_, i) => active + BigInt(i)),
    );
    c.close();
    await first.close();

    // Reopened with only the active segment left: the same offsets, and new data continues after them.
    const second = await openBroker(t, dataDir, { clock }, SMALL_SEGMENTS);
    const c2 = await BatchClient.open(t, second.port);
    assert.deepEqual(await c2.listOffset(topic, 0, EARLIEST), { errorCode: 0, offset: active });
    assert.deepEqual(await c2.listOffset(topic, 0, LATEST), { errorCode: 0, offset: end });
    assert.equal(await second.broker.enforceRetention(), 0, 'the active segment is never deleted');
    const next = await c2.produce(topic, 0, batchOf('restarted'));
    assert.deepEqual([next.errorCode, next.baseOffset], [ErrorCode.NONE, end]);
    const read = await c2.fetchAll(topic, 0, active);
    assert.deepEqual(
      read.map((r) => r.offset),
      Array.from({ length: Number(end + 2n - active) }, (_, i) => active + BigInt(i)),
    );
    assert.equal(read.at(-1)?.value.replace(/\.+$/, ''), 'restarted-1');
  });

  it('runs by itself every retentionCheckIntervalMs', async (t) => {
    const dataDir = tempDataDir(t);
    const topic = 'ret-timer';
    const { port } = await openBroker(t, dataDir, {}, { retentionCheckIntervalMs: 20, ...SMALL_SEGMENTS });
    const c = await BatchClient.open(t, port);
    await createTopic(port, topic, 1, { 'segment.bytes': '2000', 'retention.bytes': '1' });
    for (let b = 0; b < 20; b++) assert.equal((await c.produce(topic, 0, batchOf(`m${b}`))).errorCode, ErrorCode.NONE);
    const active = segmentBases(dataDir, topic, 0).at(-1) as bigint;
    await waitFor(() => segmentBases(dataDir, topic, 0).length === 1, 'the retention timer to delete old segments', 5000);
    assert.deepEqual(segmentBases(dataDir, topic, 0), [active]);
    assert.deepEqual(await c.listOffset(topic, 0, EARLIEST), { errorCode: 0, offset: active });
  });
});
