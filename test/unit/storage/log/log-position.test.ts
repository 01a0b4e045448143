import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { nodeLogFs } from '../../../../src/storage/log/log-fs.js';
import { PartitionLog, type LogPosition } from '../../../../src/storage/log/partition-log.js';
import { T0, defaultConfig, defer, harness, makeBatch, recordingLogger, recordsOf, tempDir } from './helpers.js';

function position(located: ReturnType<PartitionLog['locate']>): LogPosition {
  if (typeof located === 'string') assert.fail(`expected a position, got ${located}`);
  return located;
}

describe('PartitionLog.locate and bytesAfter (what a waiting fetch measures without reading)', () => {
  it('locates the log-end offset at the end of the active segment, and counts what is appended after it', (t) => {
    const log = harness(t).open();
    const end = position(log.locate(0n));
    assert.deepEqual(end, { segmentBase: 0n, position: 0 });
    assert.equal(log.bytesAfter(end, 1 << 20), 0);
    const a = makeBatch(2, { valueBytes: 100 });
    const b = makeBatch(3, { valueBytes: 100 });
    log.append(a);
    assert.equal(log.bytesAfter(end, 1 << 20), a.bytes.length);
    log.append(b);
    assert.equal(log.bytesAfter(end, 1 << 20), a.bytes.length + b.bytes.length);
    assert.equal(log.bytesAfter(end, 50), 50, 'counted up to atMost');
    assert.equal(log.bytesAfter(end, 0), 0);
    assert.equal(log.bytesAfter(end, -1), 0, 'a negative partition_max_bytes counts nothing');
  });

  it('locates an offset inside a batch at that batch, so the bytes counted are the ones a read would return', (t) => {
    const log = harness(t).open();
    const a = makeBatch(2, { valueBytes: 100 });
    const b = makeBatch(3, { valueBytes: 100 });
    log.append(a);
    log.append(b);
    const inB = position(log.locate(3n));
    assert.deepEqual(inB, { segmentBase: 0n, position: a.bytes.length });
    assert.equal(log.bytesAfter(inB, 1 << 20), b.bytes.length);
    const read = recordsOf(log.read(3n, 1 << 20, true));
    assert.equal(Buffer.concat(read).length, log.bytesAfter(inB, 1 << 20));
    assert.deepEqual(position(log.locate(5n)), { segmentBase: 0n, position: a.bytes.length + b.bytes.length }, 'the log-end offset');
  });

  it('counts appends that went to a newer segment after a roll', (t) => {
    const h = harness(t, { config: { segmentBytes: 400 } });
    const log = h.open();
    const a = makeBatch(1, { valueBytes: 300 });
    log.append(a);
    const end = position(log.locate(1n));
    const b = makeBatch(1, { valueBytes: 300 });
    const c = makeBatch(1, { valueBytes: 300 });
    log.append(b);
    log.append(c);
    assert.equal(log.segmentCount, 3, 'each batch rolled a segment');
    assert.deepEqual(end, { segmentBase: 0n, position: a.bytes.length });
    assert.equal(log.bytesAfter(end, 1 << 20), b.bytes.length + c.bytes.length);
    assert.equal(log.bytesAfter(end, b.bytes.length), b.bytes.length, 'stops counting at atMost');
  });

  it('answers out-of-range as a read does, and counts a position retention deleted as enough to answer', async (t) => {
    const h = harness(t, { config: { segmentBytes: 400, retentionBytes: 1 } });
    const log = h.open();
    log.append(makeBatch(1, { valueBytes: 300 }));
    const first = position(log.locate(0n));
    log.append(makeBatch(1, { valueBytes: 300 }));
    log.append(makeBatch(1, { valueBytes: 300 }));
    assert.equal(log.locate(-1n), 'out-of-range');
    assert.equal(log.locate(4n), 'out-of-range');
    assert.ok((await log.enforceRetention()) > 0);
    assert.ok(log.logStartOffset > 0n);
    assert.equal(log.bytesAfter(first, 1234), 1234, 'gone: the fetch must answer (OFFSET_OUT_OF_RANGE) rather than wait');
    assert.equal(log.locate(0n), 'out-of-range');
  });
});

describe('PartitionLog reads are sized by what the log holds', () => {
  it('allocates the bytes between the offset and the end of the segment, capped by maxBytes, except a first batch (KIP-74)', (t) => {
    const dir = join(tempDir(t), 'topic-0');
    const sizes: number[] = [];
    const log = PartitionLog.open(
      { fs: nodeLogFs, logger: recordingLogger(), clock: () => T0, allocate: (size) => (sizes.push(size), Buffer.allocUnsafe(size)) },
      dir,
      { topic: 'topic', partition: 0, topicId: 'id-1' },
      () => defaultConfig(),
    );
    defer(t, () => log.close());
    const a = makeBatch(2, { valueBytes: 100 });
    const b = makeBatch(2, { valueBytes: 100 });
    log.append(a);
    log.append(b);
    const total = a.bytes.length + b.bytes.length;

    assert.equal(Buffer.concat(recordsOf(log.read(0n, 55 * 1024 * 1024, true))).length, total);
    assert.deepEqual(sizes.splice(0), [total], 'a 55 MiB limit reads the bytes there are, not 55 MiB');
    recordsOf(log.read(2n, 1 << 20, true));
    assert.deepEqual(sizes.splice(0), [b.bytes.length], 'from the batch holding the offset');
    assert.equal(recordsOf(log.read(0n, a.bytes.length + 10, false)).length, 1);
    assert.deepEqual(sizes.splice(0), [a.bytes.length + 10], 'capped by maxBytes');
    assert.equal(recordsOf(log.read(0n, 10, true)).length, 1);
    assert.deepEqual(sizes.splice(0), [a.bytes.length], 'the first batch whole, no more');
    assert.deepEqual(recordsOf(log.read(4n, 1 << 20, true)), []);
    assert.deepEqual(recordsOf(log.read(0n, 0, false)), []);
    assert.deepEqual(sizes, [], 'nothing allocated for an empty read');
  });
});
