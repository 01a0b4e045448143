import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BATCH_HEADER_SIZE, validateBatch, writeBatchCrc } from '../../../../src/records/batch.js';
import { CompressionCodec, codecName, compress } from '../../../../src/records/compression.js';
import { buildBatch, buildBatchSync, readRecords } from '../../../../src/records/record.js';
import { applyTopicRules, decompressedLimit } from '../../../../src/storage/log/append-rules.js';
import { recordTimestampRange } from '../../../../src/storage/log/record-timestamps.js';
import { validateAppend, type AppendValidation } from '../../../../src/storage/log/append-validation.js';
import type { LogConfig } from '../../../../src/storage/log/log-config.js';

const NOW = 1_800_000_000_000;
const HOUR = 3_600_000;
const base: LogConfig = { segmentBytes: 1 << 30, segmentMs: 1e9, retentionMs: -1, retentionBytes: -1, maxMessageBytes: 1_048_588, logAppendTime: false };
const kafka40: LogConfig = { ...base, timestampBounds: { beforeMs: Infinity, afterMs: HOUR } };

const valid = (batch: Buffer): AppendValidation => validateAppend(batch, 10 * 1024 * 1024, {});
const rules = async (batch: Buffer, config: LogConfig) => applyTopicRules(valid(batch), config, NOW);
const messageOf = (out: AppendValidation): string => ('message' in out ? out.message : '');

describe('the topic rules of an append (compression.type, timestamp bounds)', () => {
  it('refuses a batch holding one record past message.timestamp.after.max.ms, checking every record, not the header', async () => {
    const ok = buildBatchSync({ records: [{ value: 'a', timestamp: NOW - 10 * 365 * 24 * HOUR }, { value: 'b', timestamp: NOW + HOUR }] });
    assert.equal((await rules(ok, kafka40)).kind, 'valid');
    const late = await rules(buildBatchSync({ records: [{ value: 'a', timestamp: NOW }, { value: 'b', timestamp: NOW + HOUR + 1 }] }), kafka40);
    assert.equal(late.kind, 'invalid-timestamp');
    assert.match(messageOf(late), new RegExp(`timestamp ${NOW + HOUR + 1} is out of range.*message\\.timestamp\\.after\\.max\\.ms=3600000`));
    // A compressed batch is read too: the record in the future is the second of a gzip batch.
    const gz = await buildBatch({ compression: CompressionCodec.gzip, records: [{ value: 'a', timestamp: NOW }, { value: 'b', timestamp: NOW + 2 * HOUR }] });
    assert.equal((await rules(gz, kafka40)).kind, 'invalid-timestamp');
    // A lying header: maxTimestamp says NOW, a record says later. Records decide.
    const lying = buildBatchSync({ records: [{ value: 'a', timestamp: NOW }, { value: 'b', timestamp: NOW + 2 * HOUR }] });
    lying.writeBigInt64BE(BigInt(NOW), 35);
    const relaid = Buffer.from(lying);
    writeBatchCrc(relaid);
    assert.equal((await rules(relaid, kafka40)).kind, 'invalid-timestamp');
  });

  it('applies message.timestamp.before.max.ms, and neither bound to LogAppendTime topics or records without a timestamp', async () => {
    const bounded: LogConfig = { ...base, timestampBounds: { beforeMs: HOUR, afterMs: HOUR } };
    const old = buildBatchSync({ records: [{ value: 'a', timestamp: NOW - HOUR - 1 }] });
    assert.equal((await rules(old, bounded)).kind, 'invalid-timestamp');
    assert.equal((await rules(buildBatchSync({ records: [{ value: 'a', timestamp: NOW - HOUR }] }), bounded)).kind, 'valid');
    assert.equal((await rules(old, { ...bounded, logAppendTime: true })).kind, 'valid');
    assert.equal((await rules(buildBatchSync({ baseTimestamp: -1, records: [{ value: 'a', timestamp: -1 }] }), bounded)).kind, 'valid');
    // A record without a timestamp does not hide an old one beside it.
    const mixed = buildBatchSync({ baseTimestamp: -1, records: [{ value: 'a', timestamp: -1 }, { value: 'b', timestamp: 5 }] });
    assert.equal((await rules(mixed, bounded)).kind, 'invalid-timestamp');
  });

  it('leaves a batch untouched, synchronously, when no rule needs its records', () => {
    const batch = buildBatchSync({ records: [{ value: 'a', timestamp: NOW + 100 * HOUR }] });
    const v = valid(batch);
    const out = applyTopicRules(v, base, NOW);
    assert.equal(out, v);
    // Uncompressed with bounds: answered without an await (no tick before the commit).
    assert.ok(!(applyTopicRules(v, kafka40, NOW) instanceof Promise));
  });

  it('recompresses to the topic codec: only the codec bits, length and CRC change; producer fields, deltas and timestamps stay', async () => {
    const records = Array.from({ length: 50 }, (_, i) => ({ key: `k${i % 5}`, value: `${'v'.repeat(200)}${i}`, timestamp: NOW + i, headers: [{ key: 'h', value: String(i) }] }));
    const gz = await buildBatch({ compression: CompressionCodec.gzip, records, producerId: 42n, producerEpoch: 3, baseSequence: 17 });
    const before = validateBatch(gz);
    for (const codec of [CompressionCodec.zstd, CompressionCodec.lz4, CompressionCodec.snappy, CompressionCodec.none]) {
      const out = await rules(gz, { ...base, compression: codec });
      if (out.kind !== 'valid') assert.fail(`${codecName(codec)}: ${out.message}`);
      const after = validateBatch(out.batch);
      assert.equal(after.compression, codec);
      assert.deepEqual(
        [after.producerId, after.producerEpoch, after.baseSequence, after.lastOffsetDelta, after.recordCount, after.baseTimestamp, after.maxTimestamp, after.attributes & ~7],
        [before.producerId, before.producerEpoch, before.baseSequence, before.lastOffsetDelta, before.recordCount, before.baseTimestamp, before.maxTimestamp, before.attributes & ~7],
      );
      assert.deepEqual(out.header, after);
      const read = await readRecords(out.batch);
      assert.deepEqual(read.map((r) => [r.key?.toString(), r.value?.toString(), r.timestamp, r.offsetDelta, r.headers[0]?.value?.toString()]), records.map((r, i) => [r.key, r.value, BigInt(r.timestamp), i, String(i)]));
    }
    // Already in the topic's codec: stored as sent.
    const same = await rules(gz, { ...base, compression: CompressionCodec.gzip });
    assert.deepEqual(same.kind === 'valid' ? same.batch : null, gz);
  });

  it('refuses a batch that no longer fits max.message.bytes once recompressed, and one that inflates past the bound', async () => {
    const big = await buildBatch({ compression: CompressionCodec.zstd, records: [{ value: Buffer.alloc(200_000), timestamp: NOW }] });
    const out = await rules(big, { ...base, maxMessageBytes: 100_000, compression: CompressionCodec.none });
    assert.equal(out.kind, 'too-large');
    assert.match(messageOf(out), /once recompressed to the topic's none \(compression\.type\) is larger than max\.message\.bytes \(100000\)/);
    assert.equal(decompressedLimit(1_048_588), 32 * 1_048_588);
    assert.equal(decompressedLimit(1000), 32 * 1024 * 1024);
    assert.equal(decompressedLimit(100 * 1024 * 1024), 256 * 1024 * 1024);
    // A zstd bomb: 40 MiB of zeros in a small batch, over 32 × max.message.bytes.
    const bombPayload = await compress(CompressionCodec.zstd, Buffer.alloc(40 * 1024 * 1024));
    const bomb = await buildBatch({ compression: CompressionCodec.zstd, records: [{ value: 'x', timestamp: NOW }] });
    const forged = Buffer.concat([bomb.subarray(0, BATCH_HEADER_SIZE), bombPayload]);
    forged.writeInt32BE(forged.length - 12, 8);
    writeBatchCrc(forged);
    const refused = await rules(forged, { ...base, compression: CompressionCodec.gzip });
    assert.equal(refused.kind, 'too-large');
    assert.match(messageOf(refused), /over the limit of 33554816/);
    // The default timestamp bound reads the records too: a bomb sent to a default topic is refused on produce.
    assert.equal((await rules(forged, kafka40)).kind, 'too-large');
  });

  it('refuses records that do not fill the payload as declared (invalid-record), never throwing', async () => {
    const batch = buildBatchSync({ records: [{ value: 'a', timestamp: NOW }] });
    const cut = Buffer.from(batch);
    cut.writeInt32BE(2, 57); // recordCount 2, lastOffsetDelta 0: validateAppend refuses first
    writeBatchCrc(cut);
    assert.equal(valid(cut).kind, 'invalid-record');
    const garbage = Buffer.concat([batch.subarray(0, BATCH_HEADER_SIZE), Buffer.from([0x7f, 1, 2])]);
    garbage.writeInt32BE(garbage.length - 12, 8);
    writeBatchCrc(garbage);
    assert.equal((await rules(garbage, kafka40)).kind, 'invalid-record');
  });

  it('reads each record timestamp exactly, small or large deltas, before or after the first record', () => {
    const big = 2n ** 60n;
    const batch = buildBatchSync({ baseTimestamp: 1000n, records: [{ value: 'a', timestamp: 1000n }, { value: 'b', timestamp: 1000n + big }, { value: 'c', timestamp: 10n }, { value: 'd', timestamp: 1001n }] });
    assert.deepEqual(recordTimestampRange(batch.subarray(BATCH_HEADER_SIZE), 4, 1000n), { min: 10n, max: 1000n + big });
    const none = buildBatchSync({ baseTimestamp: -1n, records: [{ value: 'a', timestamp: -1n }] });
    assert.equal(recordTimestampRange(none.subarray(BATCH_HEADER_SIZE), 1, -1n), null);
  });
});
