import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BATCH_HEADER_SIZE,
  BatchAttributes,
  BatchOffsets,
  buildBatchSync,
  buildTransactionMarker,
  controlRecordType,
  readRecordsSync,
  readTransactionMarker,
  validateBatch,
  writeBatchCrc,
} from '../../../src/records/index.js';
import { throwsFault } from './helpers.js';

describe('transaction marker control batches (KIP-98)', () => {
  const marker = (commit: boolean) => buildTransactionMarker({ producerId: 4242n, producerEpoch: 7, commit, coordinatorEpoch: 3, timestamp: 1_700_000_000_123 });

  it('are v2 batches with the transactional and control attributes, the producer, no sequence, one record', () => {
    const batch = marker(true);
    // validateBatch checks the length and the CRC-32C, and takes a control batch's sequence of −1.
    const h = validateBatch(batch);
    assert.equal(h.attributes, BatchAttributes.transactional | BatchAttributes.control);
    assert.equal(h.producerId, 4242n);
    assert.equal(h.producerEpoch, 7);
    assert.equal(h.baseSequence, -1);
    assert.equal(h.recordCount, 1);
    assert.equal(h.lastOffsetDelta, 0);
    assert.equal(h.baseTimestamp, 1_700_000_000_123n);
    assert.equal(h.maxTimestamp, 1_700_000_000_123n);
  });

  it('hold the key (version 0, type) and value (version 0, coordinator epoch) as Kafka lays them out', () => {
    const fields = (commit: boolean) => readRecordsSync(marker(commit)).map((r) => [r.key, r.value]);
    assert.deepEqual(fields(true), [[Buffer.from([0, 0, 0, 1]), Buffer.from([0, 0, 0, 0, 0, 3])]]);
    assert.deepEqual(fields(false), [[Buffer.from([0, 0, 0, 0]), Buffer.from([0, 0, 0, 0, 0, 3])]]);
  });

  it('are read back as what they say; a data batch is no marker', () => {
    assert.deepEqual(readTransactionMarker(marker(true)), { commit: true, coordinatorEpoch: 3 });
    assert.deepEqual(readTransactionMarker(marker(false)), { commit: false, coordinatorEpoch: 3 });
    assert.equal(controlRecordType(marker(true)), 1);
    assert.equal(controlRecordType(marker(false)), 0);
    const data = buildBatchSync({ records: [{ key: 'k', value: 'v' }], producerId: 1n, producerEpoch: 0, baseSequence: 0, transactional: true });
    assert.equal(controlRecordType(data), null);
    assert.equal(readTransactionMarker(data), null);
  });

  it('set the LogAppendTime attribute when asked (a LogAppendTime topic)', () => {
    const batch = buildTransactionMarker({ producerId: 1n, producerEpoch: 0, commit: true, coordinatorEpoch: 0, timestamp: 5, logAppendTime: true });
    assert.ok((validateBatch(batch).attributes & BatchAttributes.logAppendTime) !== 0);
  });

  it('refuse a control batch that is no well-formed marker rather than guess whether a transaction committed', () => {
    // Type 2 (Kafka's LEADER_CHANGE) is a control record but no transaction marker.
    const other = buildBatchSync({ records: [{ key: Buffer.from([0, 0, 0, 2]), value: Buffer.alloc(6) }], control: true, transactional: true, producerId: 1n, producerEpoch: 0 });
    assert.equal(controlRecordType(other), 2);
    throwsFault(() => readTransactionMarker(other), 'CORRUPT_RECORDS', 'invalid-record', /no transaction marker/);
    const shortKey = buildBatchSync({ records: [{ key: Buffer.from([0, 1]), value: Buffer.alloc(6) }], control: true, producerId: 1n, producerEpoch: 0 });
    throwsFault(() => controlRecordType(shortKey), 'CORRUPT_RECORDS', 'invalid-record', /key holds a version and a type/);
    const twoRecords = buildBatchSync({ records: [{ key: Buffer.alloc(4) }, { key: Buffer.alloc(4) }], control: true, producerId: 1n, producerEpoch: 0 });
    throwsFault(() => controlRecordType(twoRecords), 'CORRUPT_RECORDS', 'invalid-record', /one uncompressed record/);
    const shortValue = buildBatchSync({ records: [{ key: Buffer.from([0, 0, 0, 1]), value: Buffer.alloc(2) }], control: true, producerId: 1n, producerEpoch: 0 });
    throwsFault(() => readTransactionMarker(shortValue), 'CORRUPT_RECORDS', 'invalid-record', /coordinator epoch/);
  });

  it('are checked against their CRC before they are believed', () => {
    const batch = marker(false);
    // Flip the type byte of the key (0 → 1, abort → commit) without fixing the CRC.
    const at = batch.indexOf(Buffer.from([0, 0, 0, 0]), BATCH_HEADER_SIZE);
    batch[at + 3] = 1;
    throwsFault(() => readTransactionMarker(batch), 'CORRUPT_RECORDS', 'corrupt', /CRC/);
    writeBatchCrc(batch);
    assert.equal(readTransactionMarker(batch)?.commit, true);
    assert.equal(batch.readInt32BE(BatchOffsets.baseSequence), -1);
  });
});
