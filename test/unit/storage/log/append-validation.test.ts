import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchOffsets, writeBatchCrc } from '../../../../src/records/batch.js';
import { CompressionCodec } from '../../../../src/records/compression.js';
import { buildBatchSync } from '../../../../src/records/record.js';
import { validateAppend } from '../../../../src/storage/log/append-validation.js';
import { makeBatch } from './helpers.js';

const MAX = 1024 * 1024;

function kindOf(records: Buffer | null, maxMessageBytes = MAX, produceVersion?: number): string {
  return validateAppend(records, maxMessageBytes, produceVersion === undefined ? {} : { produceVersion }).kind;
}

describe('validateAppend', () => {
  it('takes one valid batch and returns it with its header, changing nothing', () => {
    const { bytes } = makeBatch(3);
    const before = Buffer.from(bytes);
    const valid = validateAppend(bytes, MAX, {});
    assert.equal(valid.kind, 'valid');
    assert.equal(valid.batch.length, bytes.length);
    assert.equal(valid.header.recordCount, 3);
    assert.deepEqual(bytes, before);
  });

  it('refuses anything but exactly one batch as invalid-record', () => {
    const one = makeBatch(1).bytes;
    assert.equal(kindOf(null), 'invalid-record');
    assert.equal(kindOf(Buffer.alloc(0)), 'invalid-record');
    assert.equal(kindOf(Buffer.concat([one, makeBatch(1).bytes])), 'invalid-record');
  });

  it('refuses a batch above max.message.bytes as too-large, before looking inside it', () => {
    const { bytes } = makeBatch(1);
    assert.equal(kindOf(bytes, bytes.length), 'valid');
    assert.equal(kindOf(bytes, bytes.length - 1), 'too-large');
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
    assert.equal(kindOf(bytes, bytes.length - 1), 'too-large', 'too large and corrupt: too-large, as before');
    assert.equal(kindOf(bytes), 'corrupt');
  });

  it('passes on the records layer’s refusals (CRC, magic, zstd before Produce v7)', () => {
    const legacy = makeBatch(1).bytes;
    legacy.writeInt8(1, BatchOffsets.magic);
    assert.equal(kindOf(legacy), 'unsupported-format');
    const zstd = buildBatchSync({ records: [{ value: 'v' }] });
    zstd.writeInt16BE(CompressionCodec.zstd, BatchOffsets.attributes);
    writeBatchCrc(zstd);
    assert.equal(kindOf(zstd, MAX, 6), 'unsupported-compression');
  });

  it('refuses control batches and batches whose offset range does not match their count as invalid-record', () => {
    assert.equal(kindOf(buildBatchSync({ records: [{ value: 'v' }], control: true })), 'invalid-record');
    const gzip = buildBatchSync({ records: [{ value: 'a' }, { value: 'b' }], compression: CompressionCodec.gzip });
    gzip.writeInt32BE(5, BatchOffsets.lastOffsetDelta);
    writeBatchCrc(gzip);
    assert.equal(kindOf(gzip), 'invalid-record');
  });

  it('takes transactional batches (the commit step checks the transaction), but not without a producer id', () => {
    const batch = buildBatchSync({ records: [{ value: 'v' }], transactional: true, producerId: 7n, producerEpoch: 0, baseSequence: 0 });
    const valid = validateAppend(batch, MAX, {});
    assert.ok(valid.kind === 'valid');
    assert.ok(valid.header.isTransactional);
    const anonymous = buildBatchSync({ records: [{ value: 'v' }], transactional: true });
    const refused = validateAppend(anonymous, MAX, {});
    assert.equal(refused.kind, 'invalid-record');
    assert.match(refused.message, /must carry a producer id/);
  });
});
