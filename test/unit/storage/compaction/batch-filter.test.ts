import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  BatchOffsets,
  CompressionCodec,
  TimestampType,
  applyLogAppendTime,
  buildBatch,
  readBatchHeader,
  readRecords,
  validateBatch,
  type BatchRecord,
  type CompressionCodecId,
  type RecordInput,
} from '../../../../src/records/index.js';
import { filterBatch, forEachRecord, type FilteredBatch, type KeyedRecord } from '../../../../src/storage/compaction/batch-filter.js';
import { edited, rejectsFault } from '../../records/helpers.js';

const CODECS = Object.entries(CompressionCodec) as [string, CompressionCodecId][];
const MAX_BYTES = 16 * 1024 * 1024;
const BASE_OFFSET = 1000n;

/** Six records: repeated keys, a tombstone, a null key, headers, and timestamps on both sides of the base. */
const INPUTS: RecordInput[] = [
  { key: 'a', value: 'a1', timestamp: 5000, headers: [{ key: 'h1', value: 'v1' }] },
  { key: 'b', value: 'b1', timestamp: 5003 },
  { key: 'a', value: 'a2', timestamp: 4999, headers: [{ key: 'h2', value: null }, { key: 'h3', value: 'x' }] },
  { key: 'c', value: null, timestamp: 5010 },
  { key: null, value: 'no key', timestamp: 5001 },
  { key: 'b', value: 'b2'.repeat(200), timestamp: 5002 },
];

function sample(compression: CompressionCodecId, extra: { logAppendTime?: boolean; records?: RecordInput[] } = {}): Promise<Buffer> {
  return buildBatch({
    records: extra.records ?? INPUTS,
    compression,
    baseOffset: BASE_OFFSET,
    partitionLeaderEpoch: 7,
    baseTimestamp: 4990,
    producerId: 4242n,
    producerEpoch: 3,
    baseSequence: 17,
    logAppendTime: extra.logAppendTime ?? false,
  });
}

/** What a consumer compares: offsets, timestamps, keys, values and headers. */
function comparable(records: readonly BatchRecord[]): unknown[] {
  return records.map((r) => ({
    offset: r.offset,
    timestamp: r.timestamp,
    key: r.key?.toString('hex') ?? null,
    value: r.value?.toString('hex') ?? null,
    headers: r.headers.map((h) => ({ key: h.key, value: h.value?.toString('hex') ?? null })),
  }));
}

function rewritten(result: FilteredBatch): { bytes: Buffer; records: number } {
  assert.equal(result.kind, 'rewritten');
  return result;
}

/** Every header field but batchLength, crc and recordCount must be the original's. */
function assertSameHeader(original: Buffer, filtered: Buffer, records: number): void {
  const a = readBatchHeader(original);
  const b = validateBatch(filtered, { verifyCrc: true, allowCleaned: true });
  assert.equal(b.recordCount, records);
  assert.equal(b.batchLength, filtered.length - 12);
  for (const field of [
    'baseOffset',
    'partitionLeaderEpoch',
    'magic',
    'attributes',
    'lastOffsetDelta',
    'baseTimestamp',
    'maxTimestamp',
    'producerId',
    'producerEpoch',
    'baseSequence',
  ] as const) {
    assert.equal(b[field], a[field], field);
  }
}

describe('forEachRecord', () => {
  for (const [name, codec] of CODECS) {
    it(`gives every record's offset, key, tombstone flag and timestamp (${name})`, async () => {
      const seen: { offset: bigint; key: string | null; tombstone: boolean; timestamp: bigint }[] = [];
      await forEachRecord(await sample(codec), MAX_BYTES, (r) => seen.push({ offset: r.offset, key: r.key?.toString() ?? null, tombstone: r.tombstone, timestamp: r.timestamp }));
      assert.deepEqual(seen, [
        { offset: 1000n, key: 'a', tombstone: false, timestamp: 5000n },
        { offset: 1001n, key: 'b', tombstone: false, timestamp: 5003n },
        { offset: 1002n, key: 'a', tombstone: false, timestamp: 4999n },
        { offset: 1003n, key: 'c', tombstone: true, timestamp: 5010n },
        { offset: 1004n, key: null, tombstone: false, timestamp: 5001n },
        { offset: 1005n, key: 'b', tombstone: false, timestamp: 5002n },
      ]);
    });
  }

  it('gives the batch maxTimestamp for every record under LogAppendTime', async () => {
    const batch = await sample(CompressionCodec.lz4, { logAppendTime: true });
    applyLogAppendTime(batch, 777_000);
    const times: bigint[] = [];
    await forEachRecord(batch, MAX_BYTES, (r) => times.push(r.timestamp));
    assert.deepEqual(times, Array<bigint>(INPUTS.length).fill(777_000n));
  });
});

describe('filterBatch', () => {
  for (const [name, codec] of CODECS) {
    it(`keeps a subset with the same header, the codec and a valid CRC (${name})`, async () => {
      const batch = await sample(codec);
      const all = await readRecords(batch);
      const keepOffsets = new Set([1001n, 1002n, 1003n]); // newest a, the tombstone c, and an older b
      const out = rewritten(await filterBatch(batch, MAX_BYTES, (r) => keepOffsets.has(r.offset), false));
      assert.equal(out.records, 3);
      assertSameHeader(batch, out.bytes, 3);
      assert.equal(readBatchHeader(out.bytes).compression, codec);
      const got = await readRecords(out.bytes, { allowCleaned: true });
      assert.deepEqual(comparable(got), comparable(all.filter((r) => keepOffsets.has(r.offset))));
      // A cleaned batch is read back and cleaned again.
      const again = rewritten(await filterBatch(out.bytes, MAX_BYTES, (r) => r.offset === 1003n, false));
      assert.deepEqual(comparable(await readRecords(again.bytes, { allowCleaned: true })), comparable(all.filter((r) => r.offset === 1003n)));
      assertSameHeader(batch, again.bytes, 1);
    });

    it(`unchanged when every record is kept, dropped when none is (${name})`, async () => {
      const batch = await sample(codec);
      assert.deepEqual(await filterBatch(batch, MAX_BYTES, () => true, false), { kind: 'unchanged' });
      assert.deepEqual(await filterBatch(batch, MAX_BYTES, () => true, true), { kind: 'unchanged' });
      assert.deepEqual(await filterBatch(batch, MAX_BYTES, () => false, false), { kind: 'dropped' });
    });

    it(`retainEmpty leaves a header-only batch that decodes to no records and keeps the producer fields (${name})`, async () => {
      const batch = await sample(codec);
      const out = rewritten(await filterBatch(batch, MAX_BYTES, () => false, true));
      assert.equal(out.records, 0);
      assertSameHeader(batch, out.bytes, 0);
      const h = readBatchHeader(out.bytes);
      assert.equal(h.producerId, 4242n);
      assert.equal(h.producerEpoch, 3);
      assert.equal(h.baseSequence, 17);
      assert.equal(h.lastOffsetDelta, 5);
      if (codec === CompressionCodec.none) assert.equal(out.bytes.length, 61);
      assert.deepEqual(await readRecords(out.bytes, { allowCleaned: true }), []);
      // Filtering it again: kept as it is while it is still needed, dropped once it is not.
      assert.deepEqual(await filterBatch(out.bytes, MAX_BYTES, () => false, true), { kind: 'unchanged' });
      assert.deepEqual(await filterBatch(out.bytes, MAX_BYTES, () => false, false), { kind: 'dropped' });
    });
  }

  it('keeps LogAppendTime timestamps (attribute and maxTimestamp) for the records kept', async () => {
    const batch = await sample(CompressionCodec.gzip, { logAppendTime: true });
    applyLogAppendTime(batch, 888_000);
    const out = rewritten(await filterBatch(batch, MAX_BYTES, (r) => r.key?.toString() === 'b', false));
    const h = readBatchHeader(out.bytes);
    assert.equal(h.timestampType, TimestampType.logAppendTime);
    assert.equal(h.maxTimestamp, 888_000n);
    const got = await readRecords(out.bytes, { allowCleaned: true });
    assert.deepEqual(
      got.map((r) => [r.offset, r.timestamp]),
      [
        [1001n, 888_000n],
        [1005n, 888_000n],
      ],
    );
  });

  it('keeps the transactional attribute', async () => {
    const batch = await buildBatch({ records: INPUTS, transactional: true, producerId: 9n, producerEpoch: 1, baseSequence: 0, baseTimestamp: 1 });
    const out = rewritten(await filterBatch(batch, MAX_BYTES, (r) => r.offset === 0n, false));
    assert.equal(readBatchHeader(out.bytes).isTransactional, true);
    assertSameHeader(batch, out.bytes, 1);
  });

  it('refuses control batches: the cleaner keeps them whole', async () => {
    const marker = await buildBatch({ records: [{ key: Buffer.from([0, 0, 0, 1]), value: Buffer.from([0, 0, 0, 0, 0, 0]) }], control: true, producerId: 1n, baseSequence: 0, baseTimestamp: 1 });
    await assert.rejects(() => filterBatch(marker, MAX_BYTES, () => false, false), (err: unknown) => err instanceof RangeError && /control batches/.test(err.message));
  });

  it('fails with the records layer’s faults on a batch it cannot read, never dropping records', async () => {
    const batch = await sample(CompressionCodec.none);
    const badCrc = Buffer.from(batch);
    badCrc.writeUInt8(badCrc.readUInt8(BatchOffsets.records + 3) ^ 0xff, BatchOffsets.records + 3);
    await rejectsFault(() => filterBatch(badCrc, MAX_BYTES, () => false, false), 'CORRUPT_RECORDS', 'corrupt', /CRC/);
    // A key length past its record, with a valid CRC.
    const badKey = edited(batch, (b) => (b[BatchOffsets.records + 4] = 0x7e));
    await rejectsFault(() => filterBatch(badKey, MAX_BYTES, () => true, false), 'CORRUPT_RECORDS', 'invalid-record');
    await rejectsFault(() => forEachRecord(badKey, MAX_BYTES, () => undefined), 'CORRUPT_RECORDS', 'invalid-record');
    // More records than the offset range holds.
    const overfull = edited(batch, (b) => b.writeInt32BE(2, BatchOffsets.lastOffsetDelta));
    await rejectsFault(() => filterBatch(overfull, MAX_BYTES, () => true, false), 'CORRUPT_RECORDS', 'invalid-record', /exceeds/);
    const zstd = await sample(CompressionCodec.zstd);
    await rejectsFault(() => filterBatch(zstd, 64, () => true, false), 'COMPRESSION_ERROR', 'too-large');
    await rejectsFault(() => filterBatch(batch, 64, () => true, false), 'COMPRESSION_ERROR', 'too-large');
  });

  it('passes on what keep throws', async () => {
    const mine = new Error('keep failed');
    const batch = await sample(CompressionCodec.snappy);
    await assert.rejects(
      () =>
        filterBatch(batch, MAX_BYTES, () => {
          throw mine;
        }, false),
      (err: unknown) => err === mine,
    );
  });

  it('decodes to exactly the kept subset, in order, for random records and keep-sets', async () => {
    const record = fc.record({
      key: fc.option(fc.uint8Array({ maxLength: 12 }).map((a) => Buffer.from(a)), { nil: null }),
      value: fc.option(fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)), { nil: null }),
      timestamp: fc.integer({ min: 1_000_000, max: 1_100_000 }),
      headers: fc.array(fc.record({ key: fc.string({ maxLength: 5 }), value: fc.option(fc.uint8Array({ maxLength: 5 }).map((a) => Buffer.from(a)), { nil: null }) }), { maxLength: 2 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(record, fc.boolean()), { minLength: 1, maxLength: 40 }),
        fc.constantFrom(...CODECS.map(([, c]) => c)),
        fc.boolean(),
        async (rows, codec, retainEmpty) => {
          const batch = await buildBatch({ records: rows.map(([r]) => r), compression: codec, baseOffset: 50n, producerId: 3n, producerEpoch: 0, baseSequence: 9 });
          const all = await readRecords(batch);
          const keepSet = new Set(rows.flatMap(([, keep], i) => (keep ? [50n + BigInt(i)] : [])));
          const visited: KeyedRecord['offset'][] = [];
          const result = await filterBatch(batch, MAX_BYTES, (r) => {
            visited.push(r.offset);
            return keepSet.has(r.offset);
          }, retainEmpty);
          assert.deepEqual(visited, all.map((r) => r.offset));
          const expected = all.filter((r) => keepSet.has(r.offset));
          if (expected.length === all.length) assert.equal(result.kind, 'unchanged');
          else if (expected.length === 0 && !retainEmpty) assert.equal(result.kind, 'dropped');
          else {
            const out = rewritten(result);
            assert.equal(out.records, expected.length);
            assertSameHeader(batch, out.bytes, expected.length);
            assert.deepEqual(comparable(await readRecords(out.bytes, { allowCleaned: true })), comparable(expected));
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
