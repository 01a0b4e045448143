import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OFFSET_INDEX_ENTRY, TIME_INDEX_ENTRY } from '../../../../src/storage/log/format.js';
import { SparseIndex } from '../../../../src/storage/log/sparse-index.js';

function offsetIndex(entries: readonly (readonly [number, number])[]): Buffer {
  const buf = Buffer.alloc(entries.length * OFFSET_INDEX_ENTRY);
  entries.forEach(([rel, pos], i) => {
    buf.writeInt32BE(rel, i * OFFSET_INDEX_ENTRY);
    buf.writeInt32BE(pos, i * OFFSET_INDEX_ENTRY + 4);
  });
  return buf;
}

function timeIndex(entries: readonly (readonly [number, number])[]): Buffer {
  const buf = Buffer.alloc(entries.length * TIME_INDEX_ENTRY);
  entries.forEach(([ts, rel], i) => {
    buf.writeBigInt64BE(BigInt(ts), i * TIME_INDEX_ENTRY);
    buf.writeInt32BE(rel, i * TIME_INDEX_ENTRY + 8);
  });
  return buf;
}

const SIZE = 10_000;
const MAX_REL = 1000;
const goodOffsets = offsetIndex([
  [0, 0],
  [10, 4100],
  [25, 8300],
]);
const goodTimes = timeIndex([
  [100, 0],
  [150, 7],
  [400, 30],
]);

describe('SparseIndex', () => {
  it('round-trips through its file encoding', () => {
    const index = new SparseIndex();
    index.addOffset(0, 0);
    index.addOffset(10, 4100);
    index.addTime(100, 0);
    index.addTime(150, 7);
    const decoded = SparseIndex.decode(index.encodeOffsetIndex(), index.encodeTimeIndex(), SIZE, MAX_REL);
    assert.ok(decoded !== null);
    assert.deepEqual(decoded.relOffsets, [0, 10]);
    assert.deepEqual(decoded.positions, [0, 4100]);
    assert.deepEqual(decoded.timestamps, [100, 150]);
    assert.deepEqual(decoded.timeRelOffsets, [0, 7]);
    assert.deepEqual(index.encodeOffsetIndex(), offsetIndex([[0, 0], [10, 4100]]));
  });

  it('keeps timestamps above 2^32 exactly', () => {
    const ts = 1_700_000_000_123;
    const decoded = SparseIndex.decode(Buffer.alloc(0), timeIndex([[ts, 3]]), SIZE, MAX_REL);
    assert.deepEqual(decoded?.timestamps, [ts]);
  });

  it('adds a time entry only when the max timestamp grows', () => {
    const index = new SparseIndex();
    index.addTime(100, 0);
    index.addTime(100, 1);
    index.addTime(90, 2);
    index.addTime(101, 3);
    assert.deepEqual(index.timestamps, [100, 101]);
    assert.deepEqual(index.timeRelOffsets, [0, 3]);
  });

  it('finds the scan start for an offset: the last entry at or below it', () => {
    const index = SparseIndex.decode(goodOffsets, goodTimes, SIZE, MAX_REL);
    assert.ok(index !== null);
    assert.equal(index.positionFor(0), 0);
    assert.equal(index.positionFor(9), 0);
    assert.equal(index.positionFor(10), 4100);
    assert.equal(index.positionFor(24), 4100);
    assert.equal(index.positionFor(25), 8300);
    assert.equal(index.positionFor(999), 8300);
    assert.equal(new SparseIndex().positionFor(5), 0);
  });

  it('finds the scan start for a timestamp: after every entry whose max is below it', () => {
    const index = SparseIndex.decode(goodOffsets, goodTimes, SIZE, MAX_REL);
    assert.ok(index !== null);
    assert.equal(index.relOffsetForTimestamp(50), 0);
    assert.equal(index.relOffsetForTimestamp(100), 0);
    assert.equal(index.relOffsetForTimestamp(101), 0);
    assert.equal(index.relOffsetForTimestamp(150), 0);
    assert.equal(index.relOffsetForTimestamp(151), 7);
    assert.equal(index.relOffsetForTimestamp(400), 7);
    assert.equal(index.relOffsetForTimestamp(401), 30);
  });

  it('truncates entries at or after a position', () => {
    const index = SparseIndex.decode(goodOffsets, goodTimes, SIZE, MAX_REL);
    assert.ok(index !== null);
    index.truncateTo(4100, 10);
    assert.deepEqual(index.positions, [0]);
    assert.deepEqual(index.timeRelOffsets, [0, 7]);
  });

  it('accepts empty files', () => {
    const index = SparseIndex.decode(Buffer.alloc(0), Buffer.alloc(0), SIZE, MAX_REL);
    assert.ok(index !== null);
    assert.deepEqual(index.positions, []);
    assert.deepEqual(index.timestamps, []);
  });

  describe('decode rejects malformed files', () => {
    const cases: [string, Buffer, Buffer, number?][] = [
      ['offset index size not a multiple of 8', Buffer.concat([goodOffsets, Buffer.alloc(3)]), goodTimes],
      ['time index size not a multiple of 12', goodOffsets, Buffer.concat([goodTimes, Buffer.alloc(5)])],
      ['repeated relative offset', offsetIndex([[0, 0], [0, 100]]), goodTimes],
      ['decreasing relative offset', offsetIndex([[5, 0], [3, 100]]), goodTimes],
      ['repeated position', offsetIndex([[0, 0], [5, 0]]), goodTimes],
      ['decreasing position', offsetIndex([[0, 200], [5, 100]]), goodTimes],
      ['negative relative offset', offsetIndex([[-1, 0]]), goodTimes],
      ['negative position', offsetIndex([[0, -8]]), goodTimes],
      ['position at the segment size', offsetIndex([[0, 0], [5, SIZE]]), goodTimes],
      ['position past the segment size', offsetIndex([[0, 0], [5, SIZE + 4096]]), goodTimes],
      ['relative offset past the maximum', offsetIndex([[0, 0], [MAX_REL + 1, 100]]), goodTimes],
      ['repeated timestamp', goodOffsets, timeIndex([[100, 0], [100, 5]])],
      ['decreasing timestamp', goodOffsets, timeIndex([[100, 0], [90, 5]])],
      ['decreasing time relative offset', goodOffsets, timeIndex([[100, 5], [200, 4]])],
      ['negative time relative offset', goodOffsets, timeIndex([[100, -1]])],
      ['time relative offset past the maximum', goodOffsets, timeIndex([[100, MAX_REL + 1]])],
      ['any position in an empty segment', offsetIndex([[0, 0]]), Buffer.alloc(0), 0],
    ];
    for (const [name, offsets, times, size] of cases) {
      it(name, () => {
        assert.equal(SparseIndex.decode(offsets, times, size ?? SIZE, MAX_REL), null);
      });
    }
  });
});
