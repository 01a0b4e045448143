import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_READ_LIMITS } from '../../../src/bytes/reader.js';
import { BATCH_HEADER_SIZE, BatchOffsets, validateBatch, writeBatchCrc } from '../../../src/records/batch.js';
import { CompressionCodec } from '../../../src/records/compression.js';
import { buildBatch, buildBatchSync, walkRecords } from '../../../src/records/record.js';
import { firstRecordAtOrAfter } from '../../../src/records/record-search.js';
import { edited, withPayload } from './helpers.js';

const MiB = 1024 * 1024;

describe('firstRecordAtOrAfter (ListOffsets by timestamp within one batch)', () => {
  const records = [10, 30, 20, 40].map((timestamp, i) => ({ value: `v${i}`, key: 'k', headers: [{ key: 'h', value: 'x' }], timestamp }));

  for (const [name, compression] of Object.entries(CompressionCodec)) {
    it(`finds the first record at or after the time, by position, not by the smallest later time (${name})`, async () => {
      const batch = await buildBatch({ records, compression, baseOffset: 100n });
      assert.deepEqual(await firstRecordAtOrAfter(batch, 25n, MiB), { offset: 101n, timestamp: 30n });
      assert.deepEqual(await firstRecordAtOrAfter(batch, 10n, MiB), { offset: 100n, timestamp: 10n });
      assert.deepEqual(await firstRecordAtOrAfter(batch, 35n, MiB), { offset: 103n, timestamp: 40n });
      assert.equal(await firstRecordAtOrAfter(batch, 41n, MiB), 'none');
    });
  }

  it('reads a batch log compaction cleaned (fewer records than offsets)', async () => {
    const batch = buildBatchSync({ records, baseOffset: 100n });
    const payload = batch.subarray(BATCH_HEADER_SIZE);
    const kept: Buffer[] = [];
    walkRecords(validateBatch(batch), payload, DEFAULT_READ_LIMITS, (span) => {
      if (span.offsetDelta % 2 === 1) kept.push(payload.subarray(span.start, span.end));
    });
    // Records 101 (t=30) and 103 (t=40) left, offsets 100..103 still spanned, as the cleaner leaves them.
    const cleaned = edited(withPayload(batch, Buffer.concat(kept), CompressionCodec.none), (b) => b.writeInt32BE(2, BatchOffsets.recordCount));
    assert.deepEqual(await firstRecordAtOrAfter(cleaned, 5n, MiB), { offset: 101n, timestamp: 30n });
    assert.deepEqual(await firstRecordAtOrAfter(cleaned, 35n, MiB), { offset: 103n, timestamp: 40n });
  });

  it('answers every record with the batch time when the log appended it (LogAppendTime)', async () => {
    const batch = buildBatchSync({ records, logAppendTime: true, baseTimestamp: 10, baseOffset: 5n });
    // The largest timestamp in the header is what every record carries.
    assert.deepEqual(await firstRecordAtOrAfter(batch, 35n, MiB), { offset: 5n, timestamp: 40n });
  });

  it('stops inflating at maxBytes: a compression bomb answers too-large', async () => {
    const bomb = buildBatchSync({ records: [{ value: Buffer.alloc(20 * MiB), timestamp: 1 }, { value: 'x', timestamp: 2 }], compression: CompressionCodec.gzip });
    assert.ok(bomb.length < 100 * 1024);
    assert.equal(await firstRecordAtOrAfter(bomb, 2n, 8 * MiB), 'too-large');
    assert.deepEqual(await firstRecordAtOrAfter(bomb, 2n, 32 * MiB), { offset: 1n, timestamp: 2n });
  });

  it('walks 200,000 tiny records without stalling the event loop for the whole walk', async () => {
    const many = buildBatchSync({ records: Array.from({ length: 200_000 }, (_, i) => ({ value: null, timestamp: i })), baseTimestamp: 0 });
    let turns = 0;
    const ticker = setInterval(() => {
      turns++;
    }, 0);
    const found = await firstRecordAtOrAfter(many, 199_999n, 16 * MiB);
    clearInterval(ticker);
    assert.deepEqual(found, { offset: 199_999n, timestamp: 199_999n });
    assert.ok(turns >= 1, 'other work ran while the batch was walked');
  });

  it('refuses a record whose declared length runs past the payload', async () => {
    const batch = buildBatchSync({ records: [{ value: 'abc', timestamp: 1 }] });
    // The first record's length varint sits right after the 61-byte header: claim 60 bytes (zigzag 120).
    const forged = Buffer.from(batch);
    forged[61] = 120;
    writeBatchCrc(forged);
    await assert.rejects(firstRecordAtOrAfter(forged, 5n, MiB), /declares 60 bytes/);
  });
});
