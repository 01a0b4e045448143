import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compressSync as snappyRaw } from 'snappy';
import { DEFAULT_READ_LIMITS } from '../../../src/bytes/reader.js';
import {
  BATCH_HEADER_SIZE,
  BatchOffsets,
  CompressionCodec,
  buildBatch,
  buildBatchSync,
  readRecords,
  readRecordsSync,
  splitBatches,
  validateBatch,
  walkRecords,
  type BatchRecord,
  type CompressionCodecId,
  type RecordInput,
} from '../../../src/records/index.js';
import { edited, notesVector, rejectsFault, throwsFault, withPayload } from './helpers.js';

const CODECS = Object.entries(CompressionCodec) as [string, CompressionCodecId][];

/** Many records mixing null keys, empty and null values, headers (null values, UTF-8 keys), big values. */
function sampleRecords(n: number): RecordInput[] {
  const records: RecordInput[] = [];
  for (let i = 0; i < n; i++) {
    records.push({
      key: i % 3 === 0 ? null : `key-${i}`,
      value: i % 5 === 0 ? '' : i % 7 === 0 ? null : i % 11 === 0 ? Buffer.alloc(3000 + i, i & 0xff) : `value ${i} `.repeat(i % 13),
      headers:
        i % 4 === 0
          ? []
          : [
              { key: 'trace', value: `t${i}` },
              { key: 'nul', value: null },
              { key: 'ключ', value: Buffer.from([i & 0xff]) },
            ],
      timestamp: 1_700_000_000_000 + i * 3,
    });
  }
  return records;
}

function asText(b: Buffer | null): string | null {
  return b === null ? null : b.toString('utf8');
}

function assertMatches(records: readonly BatchRecord[], inputs: readonly RecordInput[], baseOffset: bigint): void {
  assert.equal(records.length, inputs.length);
  records.forEach((rec, i) => {
    const input = inputs[i];
    assert.ok(input);
    const bytes = (v: Buffer | string | null | undefined) => (v === undefined || v === null ? null : typeof v === 'string' ? v : v.toString('utf8'));
    assert.equal(rec.offset, baseOffset + BigInt(i));
    assert.equal(rec.offsetDelta, i);
    assert.equal(rec.timestamp, BigInt(input.timestamp ?? 0));
    assert.equal(asText(rec.key), bytes(input.key));
    assert.equal(asText(rec.value), bytes(input.value));
    assert.deepEqual(
      rec.headers.map((h) => [h.key, asText(h.value)]),
      (input.headers ?? []).map((h) => [h.key, bytes(h.value)]),
    );
  });
}

describe('buildBatch → readRecords round trip', () => {
  const inputs = sampleRecords(300);
  for (const [name, codec] of CODECS) {
    it(`${name}: nulls, empties, headers, big values, many records`, async () => {
      const batch = await buildBatch({ records: inputs, compression: codec, baseOffset: 1000n, producerId: 9n, producerEpoch: 2, baseSequence: 40 });
      const h = validateBatch(batch);
      assert.equal(h.compression, codec);
      assert.equal(h.recordCount, inputs.length);
      assert.equal(h.lastOffsetDelta, inputs.length - 1);
      assert.equal(h.baseTimestamp, 1_700_000_000_000n);
      assert.equal(h.maxTimestamp, 1_700_000_000_000n + 299n * 3n);
      assert.equal(h.producerId, 9n);
      assert.equal(h.baseSequence, 40);
      if (codec !== CompressionCodec.none) assert.ok(batch.length < buildBatchSync({ records: inputs }).length, 'compressed');
      assertMatches(await readRecords(batch), inputs, 1000n);
      if (codec !== CompressionCodec.zstd) assertMatches(readRecordsSync(batch), inputs, 1000n);

      // Batches read as views from the middle of a larger buffer (a Produce records field).
      const [, middle] = splitBatches(Buffer.concat([notesVector(), batch, notesVector()]));
      assert.ok(middle);
      assertMatches(await readRecords(middle), inputs, 1000n);
    });
  }

  it('zstd has no synchronous form', () => {
    throwsFault(() => buildBatchSync({ records: [{ value: 'a' }], compression: CompressionCodec.zstd }), 'COMPRESSION_ERROR', undefined, /async/);
  });

  it('an empty batch, timestamps before the base and the injected clock', async () => {
    const empty = buildBatchSync({ records: [], now: () => 42 });
    const h = validateBatch(empty);
    assert.equal(h.recordCount, 0);
    assert.equal(h.lastOffsetDelta, -1);
    assert.equal(h.baseTimestamp, 42n);
    assert.deepEqual(await readRecords(empty), []);

    const batch = buildBatchSync({ records: [{ value: 'a', timestamp: 90 }, { value: 'b' }], baseTimestamp: 100 });
    const [a, b] = readRecordsSync(batch);
    assert.ok(a && b);
    assert.equal(a.timestampDelta, -10n);
    assert.equal(a.timestamp, 90n);
    assert.equal(b.timestamp, 100n);
    assert.equal(b.key, null);
  });

  it('control and transactional flags are written and read back', () => {
    const h = validateBatch(buildBatchSync({ records: [{ value: 'a' }], transactional: true, control: true, producerId: 1n, producerEpoch: 0, baseSequence: 0 }));
    assert.equal(h.isTransactional, true);
    assert.equal(h.isControl, true);
  });
});

describe('walkRecords', () => {
  it('gives each record’s byte range (tiling the payload), deltas, key and value', () => {
    const batch = buildBatchSync({
      records: [{ key: 'a', value: 'x', headers: [{ key: 'h', value: 'v' }] }, { key: null, value: null, timestamp: 107 }, { key: 'c', value: '' }],
      baseTimestamp: 100,
    });
    const header = validateBatch(batch);
    const payload = batch.subarray(BATCH_HEADER_SIZE);
    const spans: { start: number; end: number; key: string | null; value: string | null; offsetDelta: number; timestampDelta: bigint }[] = [];
    walkRecords(header, payload, DEFAULT_READ_LIMITS, (s) => {
      spans.push({ start: s.start, end: s.end, key: s.key?.toString() ?? null, value: s.value?.toString() ?? null, offsetDelta: s.offsetDelta, timestampDelta: s.timestampDelta });
    });
    assert.deepEqual(
      spans.map(({ key, value, offsetDelta, timestampDelta }) => ({ key, value, offsetDelta, timestampDelta })),
      [
        { key: 'a', value: 'x', offsetDelta: 0, timestampDelta: 0n },
        { key: null, value: null, offsetDelta: 1, timestampDelta: 7n },
        { key: 'c', value: '', offsetDelta: 2, timestampDelta: 0n },
      ],
    );
    let next = 0;
    for (const span of spans) {
      assert.equal(span.start, next);
      next = span.end;
    }
    assert.equal(next, payload.length);
  });

  it('fails as decodeRecords does, and passes on what the visitor throws untouched', () => {
    const batch = edited(notesVector(), (b) => (b[73] = 0x7e)); // 63 headers in 4 bytes
    const walk = (): void => {
      walkRecords(validateBatch(batch), batch.subarray(BATCH_HEADER_SIZE), DEFAULT_READ_LIMITS, () => {
        assert.fail('no record of this batch parses');
      });
    };
    throwsFault(walk, 'CORRUPT_RECORDS', 'invalid-record', /header count/);
    const good = notesVector();
    const mine = new Error('visitor');
    assert.throws(
      () => {
        walkRecords(validateBatch(good), good.subarray(BATCH_HEADER_SIZE), DEFAULT_READ_LIMITS, () => {
          throw mine;
        });
      },
      (err) => err === mine,
    );
  });
});

describe('snappy as Java writes it (xerial framing)', () => {
  it('decodes a payload framed as several raw snappy blocks', async () => {
    const inputs = sampleRecords(120);
    const plain = buildBatchSync({ records: inputs, baseOffset: 7n });
    const records = plain.subarray(BATCH_HEADER_SIZE);
    const parts: Buffer[] = [Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]), Buffer.from('0000000100000001', 'hex')];
    for (let at = 0; at < records.length; at += 8192) {
      const block = snappyRaw(records.subarray(at, at + 8192));
      const len = Buffer.alloc(4);
      len.writeInt32BE(block.length);
      parts.push(len, block);
    }
    const batch = withPayload(plain, Buffer.concat(parts), CompressionCodec.snappy);
    assert.ok(parts.length > 4, 'several blocks');
    assertMatches(readRecordsSync(batch), inputs, 7n);
    assertMatches(await readRecords(batch), inputs, 7n);
  });

  it('refuses a block length that runs past the payload', () => {
    const plain = notesVector();
    const framed = Buffer.concat([Buffer.from('82534e415050590000000001000000010000ffff', 'hex'), Buffer.alloc(10)]);
    throwsFault(() => readRecordsSync(withPayload(plain, framed, CompressionCodec.snappy)), 'COMPRESSION_ERROR', 'corrupt');
  });
});

describe('record structure faults are invalid-record', () => {
  // The notes vector's single record starts at byte 61: length varint 0x20 (16 bytes follow).
  it('a record length longer than what remains', () => {
    const batch = edited(notesVector(), (b) => (b[BatchOffsets.records] = 0x22));
    throwsFault(() => readRecordsSync(batch), 'CORRUPT_RECORDS', 'invalid-record', /record length 17 exceeds/);
  });

  it('a record length shorter than its fields', () => {
    const batch = edited(notesVector(), (b) => (b[BatchOffsets.records] = 0x1e));
    throwsFault(() => readRecordsSync(batch), 'CORRUPT_RECORDS', 'invalid-record');
  });

  it('a record length that leaves bytes its fields do not use', () => {
    // Append one byte to the record (length 17) and the batch: the fields still take 16.
    const grown = Buffer.concat([notesVector(), Buffer.from([0])]);
    grown.writeInt32BE(grown.length - 12, BatchOffsets.batchLength);
    const batch = edited(grown, (b) => (b[BatchOffsets.records] = 0x22));
    throwsFault(() => readRecordsSync(batch), 'CORRUPT_RECORDS', 'invalid-record', /declares 17 bytes but its fields take 16/);
  });

  it('a key length past the record', () => {
    const batch = edited(notesVector(), (b) => (b[65] = 0x40));
    throwsFault(() => readRecordsSync(batch), 'CORRUPT_RECORDS', 'invalid-record', /record key length 32 exceeds/);
  });

  it('a negative value length other than −1', () => {
    const batch = edited(notesVector(), (b) => (b[67] = 0x03)); // zigzag 3 = −2
    throwsFault(() => readRecordsSync(batch), 'CORRUPT_RECORDS', 'invalid-record', /negative record value length/);
  });

  it('a header count that cannot fit', () => {
    const batch = edited(notesVector(), (b) => (b[73] = 0x7e)); // 63 headers in 4 bytes
    throwsFault(() => readRecordsSync(batch), 'CORRUPT_RECORDS', 'invalid-record', /header count/);
  });

  it('a record count larger than the records present', () => {
    const batch = edited(notesVector(), (b) => {
      b.writeInt32BE(3, BatchOffsets.recordCount);
      b.writeInt32BE(2, BatchOffsets.lastOffsetDelta);
    });
    validateBatch(batch);
    throwsFault(() => readRecordsSync(batch), 'CORRUPT_RECORDS', 'invalid-record', /record count/);
  });

  it('bytes left after the declared records', () => {
    const two = buildBatchSync({ records: [{ value: 'a' }, { value: 'b' }], baseTimestamp: 1 });
    const batch = edited(two, (b) => {
      b.writeInt32BE(1, BatchOffsets.recordCount);
      b.writeInt32BE(0, BatchOffsets.lastOffsetDelta);
    });
    throwsFault(() => readRecordsSync(batch), 'CORRUPT_RECORDS', 'invalid-record', /remain after/);
  });

  it('in a compressed batch too', async () => {
    const compressed = await buildBatch({ records: [{ value: 'a' }, { value: 'b' }], compression: CompressionCodec.gzip, baseTimestamp: 1 });
    const batch = edited(compressed, (b) => b.writeInt32BE(5, BatchOffsets.recordCount));
    await rejectsFault(() => readRecords(batch), 'CORRUPT_RECORDS', 'invalid-record');
  });
});
