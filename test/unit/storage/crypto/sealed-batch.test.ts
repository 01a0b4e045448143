import assert from 'node:assert/strict';
import { createSecretKey, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { crc32c } from '@node-rs/crc32';
import { assignOffsets, BatchOffsets, CRC_START } from '../../../../src/records/batch.js';
import { buildBatchSync } from '../../../../src/records/record.js';
import { isSealed, sealBatch, SEALED_MAGIC, SEALING_OVERHEAD, SealedOffsets, unsealBatch } from '../../../../src/storage/crypto/sealed-batch.js';

const key = createSecretKey(randomBytes(32));
const place = { topicId: 'b3c1f0e2-1111-4222-8333-444455556666', partition: 3 };

function batchAt(baseOffset: bigint, values: string[] = ['hello', 'world']): Buffer {
  const batch = buildBatchSync({ records: values.map((value, i) => ({ key: `k${i}`, value, timestamp: 1_700_000_000_000 + i })), producerId: 77n, producerEpoch: 2, baseSequence: 5 });
  assignOffsets(batch, baseOffset, 0);
  return batch;
}

describe('sealed batches', () => {
  it('keeps offsets, length, last offset delta, max timestamp and a valid CRC in clear, and hides everything else', () => {
    const batch = batchAt(42n);
    const sealed = sealBatch(batch, place, 7, key);
    assert.ok(isSealed(sealed));
    assert.equal(sealed.readInt8(BatchOffsets.magic), SEALED_MAGIC);
    assert.equal(sealed.length, batch.length + SEALING_OVERHEAD);
    assert.equal(sealed.readBigInt64BE(0), 42n);
    assert.equal(sealed.readInt32BE(BatchOffsets.batchLength), sealed.length - 12);
    assert.equal(sealed.readInt32BE(SealedOffsets.lastOffsetDelta), batch.readInt32BE(BatchOffsets.lastOffsetDelta));
    assert.equal(sealed.readBigInt64BE(SealedOffsets.maxTimestamp), batch.readBigInt64BE(BatchOffsets.maxTimestamp));
    assert.equal(sealed.readUInt32BE(SealedOffsets.dekId), 7);
    assert.equal(crc32c(sealed.subarray(CRC_START)) >>> 0, sealed.readUInt32BE(BatchOffsets.crc));
    assert.equal(sealed.includes('hello'), false);
    // The producer id 77 (int64 big-endian) is not in clear either.
    assert.equal(sealed.includes(batch.subarray(BatchOffsets.producerId, BatchOffsets.records)), false);
  });

  it('gives back the original batch byte for byte, whatever its records', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 300 }), { minLength: 1, maxLength: 20 }), fc.bigInt({ min: 0n, max: 2n ** 62n }), (values, base) => {
        const batch = batchAt(base, values);
        const opened = unsealBatch(sealBatch(batch, place, 1, key), place, key);
        assert.ok(Buffer.isBuffer(opened));
        assert.deepEqual(opened, batch);
      }),
      { numRuns: 50 },
    );
  });

  it('refuses a flipped bit anywhere after the clear prefix (the key id included), another place, another offset, another key', () => {
    const batch = batchAt(10n);
    const sealed = sealBatch(batch, place, 1, key);
    for (let at = SealedOffsets.version; at < sealed.length; at += 7) {
      const flipped = Buffer.from(sealed);
      flipped[at] = (flipped[at] as number) ^ 0x10;
      const opened = unsealBatch(flipped, place, key);
      assert.ok(!Buffer.isBuffer(opened), `a flip at byte ${at} was not detected`);
    }
    const moved = Buffer.from(sealed);
    moved.writeBigInt64BE(11n, 0);
    assert.ok(!Buffer.isBuffer(unsealBatch(moved, place, key)), 'another offset');
    assert.ok(!Buffer.isBuffer(unsealBatch(sealed, { ...place, partition: 4 }, key)), 'another partition');
    assert.ok(!Buffer.isBuffer(unsealBatch(sealed, { ...place, topicId: 'another' }, key)), 'another topic');
    assert.ok(!Buffer.isBuffer(unsealBatch(sealed, place, createSecretKey(randomBytes(32)))), 'another key');
  });

  it('uses a fresh nonce for every batch: the same batch seals differently each time', () => {
    const batch = batchAt(0n);
    const a = sealBatch(batch, place, 1, key);
    const b = sealBatch(batch, place, 1, key);
    assert.notDeepEqual(a.subarray(SealedOffsets.nonce, SealedOffsets.ciphertext), b.subarray(SealedOffsets.nonce, SealedOffsets.ciphertext));
    assert.notDeepEqual(a.subarray(SealedOffsets.ciphertext), b.subarray(SealedOffsets.ciphertext));
  });
});
