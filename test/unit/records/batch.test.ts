import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32c } from '@node-rs/crc32';
import {
  BatchOffsets,
  TimestampType,
  applyLogAppendTime,
  assignOffsets,
  buildBatchSync,
  computeBatchCrc,
  readBatchHeader,
  readRecordsSync,
  splitBatches,
  validateBatch,
} from '../../../src/records/index.js';
import { edited, notesVector, throwsFault } from './helpers.js';


describe('the 78-byte vector from the protocol notes', () => {
  it('CRC-32C check value: crc32c("123456789") = 0xE3069283', () => {
    assert.equal(crc32c('123456789') >>> 0, 0xe3069283);
  });

  it('reads its header and flags', () => {
    const batch = notesVector();
    assert.equal(batch.length, 78);
    const h = validateBatch(batch);
    assert.equal(h.crc, 0xc622acfa);
    assert.equal(computeBatchCrc(batch), 0xc622acfa);
    assert.equal(h.baseOffset, 0n);
    assert.equal(h.batchLength, 66);
    assert.equal(h.partitionLeaderEpoch, 0);
    assert.equal(h.magic, 2);
    assert.equal(h.attributes, 0);
    assert.equal(h.compression, 0);
    assert.equal(h.timestampType, TimestampType.createTime);
    assert.equal(h.isTransactional, false);
    assert.equal(h.isControl, false);
    assert.equal(h.lastOffsetDelta, 0);
    assert.equal(h.baseTimestamp, 1700000000000n);
    assert.equal(h.maxTimestamp, 1700000000000n);
    assert.equal(h.producerId, -1n);
    assert.equal(h.producerEpoch, -1);
    assert.equal(h.baseSequence, -1);
    assert.equal(h.recordCount, 1);
  });

  it('reads its record: key "k", value "hello", header h=v, timestamp 1700000000000', () => {
    const [record, ...rest] = readRecordsSync(notesVector());
    assert.equal(rest.length, 0);
    assert.ok(record);
    assert.equal(record.offset, 0n);
    assert.equal(record.timestamp, 1700000000000n);
    assert.equal(record.key?.toString(), 'k');
    assert.equal(record.value?.toString(), 'hello');
    assert.deepEqual(record.headers.map((h) => [h.key, h.value?.toString()]), [['h', 'v']]);
  });

  it('buildBatch reproduces it byte for byte', () => {
    const built = buildBatchSync({
      records: [{ key: 'k', value: 'hello', headers: [{ key: 'h', value: 'v' }], timestamp: 1700000000000 }],
      partitionLeaderEpoch: 0,
    });
    assert.deepEqual(built, notesVector());
  });

  it('assignOffsets rewrites baseOffset and epoch and leaves the CRC valid and unchanged', () => {
    const batch = notesVector();
    const next = assignOffsets(batch, 41n, 7);
    assert.equal(next, 42n);
    assert.equal(batch.readUInt32BE(BatchOffsets.crc), 0xc622acfa);
    const h = validateBatch(batch);
    assert.equal(h.baseOffset, 41n);
    assert.equal(h.partitionLeaderEpoch, 7);
    assert.equal(readRecordsSync(batch)[0]?.offset, 41n);
  });

  it('applyLogAppendTime sets the flag and maxTimestamp and recomputes the CRC', () => {
    const batch = notesVector();
    applyLogAppendTime(batch, 1800000000000);
    const h = validateBatch(batch);
    assert.notEqual(h.crc, 0xc622acfa);
    assert.equal(h.crc, computeBatchCrc(batch));
    assert.equal(h.timestampType, TimestampType.logAppendTime);
    assert.equal(h.maxTimestamp, 1800000000000n);
    assert.equal(h.baseTimestamp, 1700000000000n);
    // Consumers use maxTimestamp for every record of a LogAppendTime batch.
    assert.equal(readRecordsSync(batch)[0]?.timestamp, 1800000000000n);
  });
});

describe('splitBatches', () => {
  const a = notesVector();
  const b = buildBatchSync({ records: [{ value: 'x' }, { value: 'y' }], baseTimestamp: 5 });

  it('returns views of each batch without copying', () => {
    const records = Buffer.concat([a, b, a]);
    const batches = splitBatches(records);
    assert.equal(batches.length, 3);
    assert.deepEqual(batches[0], a);
    assert.deepEqual(batches[1], b);
    assert.equal(batches[1].buffer, records.buffer);
    assert.equal(batches[1].byteOffset, records.byteOffset + a.length);
    for (const batch of batches) validateBatch(batch);
    assert.deepEqual(splitBatches(Buffer.alloc(0)), []);
  });

  it('refuses a trailing partial batch, or drops it when asked (fetch responses)', () => {
    const records = Buffer.concat([a, b.subarray(0, 40)]);
    throwsFault(() => splitBatches(records), 'CORRUPT_RECORDS', 'corrupt', /exceeds/);
    assert.equal(splitBatches(records, { allowPartialTail: true }).length, 1);
    const tiny = Buffer.concat([a, Buffer.alloc(5)]);
    throwsFault(() => splitBatches(tiny), 'CORRUPT_RECORDS', 'corrupt', /trailing/);
    assert.equal(splitBatches(tiny, { allowPartialTail: true }).length, 1);
  });

  it('refuses a negative or tiny batch length', () => {
    const neg = Buffer.from(a);
    neg.writeInt32BE(-1, BatchOffsets.batchLength);
    throwsFault(() => splitBatches(neg), 'CORRUPT_RECORDS', 'corrupt', /below the minimum/);
    const huge = Buffer.from(a);
    huge.writeInt32BE(0x7fffffff, BatchOffsets.batchLength);
    throwsFault(() => splitBatches(huge), 'CORRUPT_RECORDS', 'corrupt');
  });
});

describe('validateBatch refuses', () => {
  it('a flipped byte under the CRC as corrupt', () => {
    for (const at of [BatchOffsets.attributes + 1, BatchOffsets.baseTimestamp + 3, 62, 77]) {
      const batch = notesVector();
      batch[at] = (batch[at] ?? 0) ^ 0x01;
      throwsFault(() => validateBatch(batch), 'CORRUPT_RECORDS', 'corrupt', /CRC mismatch/);
    }
    // ... but not when it was told the CRC was checked already.
    const batch = notesVector();
    batch[77] = 0x77;
    validateBatch(batch, { verifyCrc: false });
  });

  it('magic 0 and 1 as unsupported-format', () => {
    for (const magic of [0, 1]) {
      const batch = notesVector();
      batch[BatchOffsets.magic] = magic;
      throwsFault(() => validateBatch(batch), 'CORRUPT_RECORDS', 'unsupported-format', /magic/);
    }
    // A real v1 message set (offset, size, crc, magic 1, attrs, timestamp, key −1, value "v") is split,
    // then refused for its format, not as garbage.
    const v1 = Buffer.from('0000000000000000 00000017 00000000 01 00 0000018bcfe56800 ffffffff 00000001 76'.replaceAll(' ', ''), 'hex');
    const [message] = splitBatches(v1);
    assert.ok(message);
    throwsFault(() => validateBatch(message), 'CORRUPT_RECORDS', 'unsupported-format');
  });

  it('an unknown magic as corrupt', () => {
    const batch = notesVector();
    batch[BatchOffsets.magic] = 3;
    throwsFault(() => validateBatch(batch), 'CORRUPT_RECORDS', 'corrupt', /unknown record batch magic/);
  });

  it('a truncated batch or an inconsistent length field as corrupt', () => {
    const batch = notesVector();
    throwsFault(() => validateBatch(batch.subarray(0, 70)), 'CORRUPT_RECORDS', 'corrupt', /does not match/);
    throwsFault(() => validateBatch(batch.subarray(0, 40)), 'CORRUPT_RECORDS', 'corrupt', /shorter than/);
    throwsFault(() => validateBatch(batch.subarray(0, 10)), 'CORRUPT_RECORDS', 'corrupt', /too short/);
    throwsFault(() => readBatchHeader(batch.subarray(0, 60)), 'CORRUPT_RECORDS', 'corrupt');
  });

  it('a lastOffsetDelta that does not match the count as invalid-record', () => {
    const batch = edited(notesVector(), (b) => b.writeInt32BE(3, BatchOffsets.lastOffsetDelta));
    throwsFault(() => validateBatch(batch), 'CORRUPT_RECORDS', 'invalid-record', /lastOffsetDelta/);
  });

  it('allowCleaned takes fewer records than offsets (a batch compaction cleaned), never more', () => {
    const two = buildBatchSync({ records: [{ value: 'a' }, { value: 'b' }], baseTimestamp: 1 });
    // One record left of the two offsets 0..1, as the log cleaner leaves it.
    const cleaned = edited(two, (b) => b.writeInt32BE(1, BatchOffsets.recordCount));
    throwsFault(() => validateBatch(cleaned), 'CORRUPT_RECORDS', 'invalid-record', /lastOffsetDelta/);
    assert.equal(validateBatch(cleaned, { allowCleaned: true }).recordCount, 1);
    const overfull = edited(two, (b) => b.writeInt32BE(3, BatchOffsets.recordCount));
    throwsFault(() => validateBatch(overfull, { allowCleaned: true }), 'CORRUPT_RECORDS', 'invalid-record', /exceeds the 2 offsets/);
  });

  it('a negative record count as invalid-record', () => {
    const batch = edited(notesVector(), (b) => b.writeInt32BE(-5, BatchOffsets.recordCount));
    throwsFault(() => validateBatch(batch), 'CORRUPT_RECORDS', 'invalid-record', /negative record count/);
  });

  it('a producer id without a base sequence as invalid-record', () => {
    const batch = edited(notesVector(), (b) => b.writeBigInt64BE(12n, BatchOffsets.producerId));
    throwsFault(() => validateBatch(batch), 'CORRUPT_RECORDS', 'invalid-record', /sequence/);
    validateBatch(buildBatchSync({ records: [{ value: 'a' }], producerId: 12n, producerEpoch: 0, baseSequence: 0 }));
  });

  it('codecs 5, 6 and 7 as unsupported-compression', () => {
    for (const codec of [5, 6, 7]) {
      const batch = edited(notesVector(), (b) => b.writeInt16BE(codec, BatchOffsets.attributes));
      throwsFault(() => validateBatch(batch), 'COMPRESSION_ERROR', 'unsupported-compression', /unknown compression codec/);
      throwsFault(() => readRecordsSync(batch), 'COMPRESSION_ERROR', 'unsupported-compression');
    }
  });

  it('zstd before Produce v7 as unsupported-compression', () => {
    const batch = edited(notesVector(), (b) => b.writeInt16BE(4, BatchOffsets.attributes));
    throwsFault(() => validateBatch(batch, { produceVersion: 6 }), 'COMPRESSION_ERROR', 'unsupported-compression', /v7/);
    validateBatch(batch, { produceVersion: 7 });
  });
});
