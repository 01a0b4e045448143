import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkPartition, MAX_RECORD_ERRORS, type PartitionVerdict } from '../../../../src/governance/validation/partition-check.js';
import { topicValidation, type TopicValidation } from '../../../../src/governance/validation/settings.js';
import { BatchOffsets } from '../../../../src/records/batch.js';
import { CompressionCodec, type CompressionCodecId } from '../../../../src/records/compression.js';
import { buildTransactionMarker } from '../../../../src/records/control-records.js';
import { buildBatch, type RecordInput } from '../../../../src/records/record.js';
import { writeWireFormat } from '../../../../src/schemas/wire-format.js';
import { ErrorCode } from '../../../../src/protocol/error-codes.js';
import { MemoryLookup } from './memory-lookup.js';

const ORDER = { type: 'object', title: 'com.example.Order', properties: { id: { type: 'integer' } }, required: ['id'] };
const CUSTOMER = { type: 'object', title: 'com.example.Customer', properties: { name: { type: 'string' } }, required: ['name'] };
const KEY = { type: 'string' };

function registry(): MemoryLookup {
  return new MemoryLookup()
    .register('orders-value', 1, ORDER)
    .register('other-value', 2, ORDER)
    .register('orders-key', 3, KEY)
    // RecordNameStrategy and TopicRecordNameStrategy subjects.
    .register('com.example.Customer', 4, CUSTOMER)
    .register('orders-com.example.Order', 5, ORDER);
}

const framed = (id: number, value: unknown) => writeWireFormat(id, Buffer.from(JSON.stringify(value), 'utf8'));

const VALUE_ID: TopicValidation = must(topicValidation({ 'confluent.value.schema.validation': 'true' }));
const VALUE_PAYLOAD: TopicValidation = must(topicValidation({ 'confluent.value.schema.validation': 'true', 'schema.validation': 'payload' }));

function must<T>(x: T | null): T {
  assert.ok(x !== null);
  return x;
}

async function batch(records: readonly RecordInput[], compression: CompressionCodecId = CompressionCodec.none): Promise<Buffer> {
  return buildBatch({ records, compression, baseTimestamp: 1_700_000_000_000 });
}

async function check(records: Buffer, validation: TopicValidation = VALUE_ID, lookup = registry(), topic = 'orders'): Promise<PartitionVerdict> {
  return checkPartition(records, topic, validation, lookup);
}

function refused(v: PartitionVerdict): Extract<PartitionVerdict, { kind: 'refused' }> {
  if (v.kind !== 'refused') assert.fail(`expected a refusal, got ${JSON.stringify(v)}`);
  return v;
}

describe('validation on produce: the records of one partition (TopicNameStrategy, schema.validation=id)', () => {
  it('accepts values framed with an id registered under <topic>-value', async () => {
    const v = await check(await batch([{ value: framed(1, { id: 1 }) }, { value: framed(1, { id: 2 }) }]));
    assert.deepEqual(v, { kind: 'accepted', records: 2 });
  });

  it('refuses an id that is not registered at all', async () => {
    const v = refused(await check(await batch([{ value: framed(99, { id: 1 }) }])));
    assert.equal(v.errorCode, ErrorCode.INVALID_RECORD);
    assert.deepEqual(v.reasons, { 'unknown-id': 1 });
    assert.match(v.recordErrors[0]?.batchIndexErrorMessage ?? '', /^record 0: value names schema id 99, which is not registered/);
  });

  it('refuses an id registered under another subject only', async () => {
    const v = refused(await check(await batch([{ value: framed(2, { id: 1 }) }])));
    assert.deepEqual(v.reasons, { 'wrong-subject': 1 });
    assert.match(v.errorMessage, /schema id 2, which is not a live version of subject orders-value/);
  });

  it('refuses an id soft-deleted from the subject', async () => {
    const lookup = registry();
    lookup.softDelete('orders-value', 1);
    const v = refused(await check(await batch([{ value: framed(1, { id: 1 }) }]), VALUE_ID, lookup));
    assert.deepEqual(v.reasons, { 'wrong-subject': 1 });
  });

  it('refuses a value without the header, and one too short for it, naming neither payload', async () => {
    const v = refused(await check(await batch([{ value: '{"id":1,"secret":"hunter2"}' }, { value: Buffer.from([0, 0, 1]) }, { value: Buffer.alloc(0) }])));
    assert.deepEqual(v.reasons, { 'no-header': 3 });
    assert.deepEqual(v.recordErrors.map((e) => e.batchIndex), [0, 1, 2]);
    assert.match(v.recordErrors[0]?.batchIndexErrorMessage ?? '', /magic byte 123 where the wire format has 0/);
    assert.match(v.recordErrors[1]?.batchIndexErrorMessage ?? '', /3 bytes: too short/);
    assert.doesNotMatch(JSON.stringify(v), /hunter2/);
  });

  it('does not decode the payload under schema.validation=id', async () => {
    const lookup = registry();
    const v = await check(await batch([{ value: framed(1, { id: 'not a number' }) }]), VALUE_ID, lookup);
    assert.equal(v.kind, 'accepted');
    assert.equal(lookup.compiledCalls, 0);
  });

  it('lets a tombstone (null value) and a null key through', async () => {
    const v = await check(await batch([{ key: null, value: null }, { key: 'k', value: null }]));
    assert.deepEqual(v, { kind: 'accepted', records: 2 });
  });

  it('leaves keys alone when only values are validated', async () => {
    const v = await check(await batch([{ key: 'plain key', value: framed(1, { id: 1 }) }]));
    assert.equal(v.kind, 'accepted');
  });
});

describe('validation on produce: schema.validation=payload', () => {
  it('accepts a payload its schema decodes', async () => {
    assert.equal((await check(await batch([{ value: framed(1, { id: 7 }) }]), VALUE_PAYLOAD)).kind, 'accepted');
  });

  it('refuses a payload that does not match, with the format message and not the payload', async () => {
    const v = refused(await check(await batch([{ value: framed(1, { id: 'card-4111111111111111' }) }]), VALUE_PAYLOAD));
    assert.deepEqual(v.reasons, { 'bad-payload': 1 });
    assert.match(v.recordErrors[0]?.batchIndexErrorMessage ?? '', /value does not match schema id 1 \(subject orders-value\): \/id must be integer/);
    assert.doesNotMatch(JSON.stringify(v), /4111/);
  });

  it('refuses a payload that is not JSON', async () => {
    const v = refused(await check(await batch([{ value: writeWireFormat(1, Buffer.from('{nope')) }]), VALUE_PAYLOAD));
    assert.match(v.errorMessage, /the payload is not JSON/);
  });
});

describe('validation on produce: keys and strategies', () => {
  const KEYS = must(topicValidation({ 'confluent.key.schema.validation': 'true', 'schema.validation': 'payload' }));

  it('checks keys under <topic>-key', async () => {
    assert.equal((await check(await batch([{ key: framed(3, 'k1'), value: 'anything' }]), KEYS)).kind, 'accepted');
    const v = refused(await check(await batch([{ key: framed(1, { id: 1 }), value: 'x' }, { key: 'raw', value: 'x' }]), KEYS));
    assert.deepEqual(v.reasons, { 'wrong-subject': 1, 'no-header': 1 });
    assert.match(v.recordErrors[0]?.batchIndexErrorMessage ?? '', /key names schema id 1, which is not a live version of subject orders-key/);
    assert.match(v.recordErrors[1]?.batchIndexErrorMessage ?? '', /^record 1: key has no schema registry wire-format header/);
  });

  it('RecordNameStrategy: the subject is the record name, whatever the topic', async () => {
    const v = must(topicValidation({ 'confluent.value.schema.validation': 'true', 'confluent.value.subject.name.strategy': 'io.confluent.kafka.serializers.subject.RecordNameStrategy' }));
    assert.equal((await check(await batch([{ value: framed(4, { name: 'Ann' }) }]), v, registry(), 'any-topic')).kind, 'accepted');
    // Schema 1 is com.example.Order, registered under orders-value but not under the subject com.example.Order.
    const r = refused(await check(await batch([{ value: framed(1, { id: 1 }) }]), v));
    assert.match(r.errorMessage, /not a live version of subject com\.example\.Order/);
  });

  it('TopicRecordNameStrategy: the subject is <topic>-<record name>', async () => {
    const v = must(topicValidation({ 'confluent.value.schema.validation': 'true', 'confluent.value.subject.name.strategy': 'TopicRecordNameStrategy' }));
    assert.equal((await check(await batch([{ value: framed(5, { id: 1 }) }]), v)).kind, 'accepted');
    const r = refused(await check(await batch([{ value: framed(5, { id: 1 }) }]), v, registry(), 'invoices'));
    assert.match(r.errorMessage, /subject invoices-com\.example\.Order/);
    // A schema without a title has no record name.
    const lookup = registry().register('x', 6, { type: 'object' });
    assert.deepEqual(refused(await check(await batch([{ value: framed(6, {}) }]), v, lookup)).reasons, { 'no-record-name': 1 });
    assert.deepEqual(refused(await check(await batch([{ value: framed(42, {}) }]), v, lookup)).reasons, { 'unknown-id': 1 });
  });
});

describe('validation on produce: batches', () => {
  for (const codec of [CompressionCodec.gzip, CompressionCodec.zstd, CompressionCodec.lz4, CompressionCodec.snappy]) {
    it(`reads ${String(codec)}-compressed batches (codec ${codec})`, async () => {
      const good = await batch([{ value: framed(1, { id: 1 }) }, { value: framed(1, { id: 2 }) }], codec);
      assert.deepEqual(await check(good, VALUE_PAYLOAD), { kind: 'accepted', records: 2 });
      const bad = await batch([{ value: framed(1, { id: 1 }) }, { value: framed(1, { id: 'x' }) }], codec);
      assert.deepEqual(refused(await check(bad, VALUE_PAYLOAD)).recordErrors.map((e) => e.batchIndex), [1]);
    });
  }

  it('is synchronous for every codec but zstd', async () => {
    const gz = await batch([{ value: framed(1, { id: 1 }) }], CompressionCodec.gzip);
    assert.ok(!(checkPartition(gz, 'orders', VALUE_ID, registry()) instanceof Promise));
    const zs = await batch([{ value: framed(1, { id: 1 }) }], CompressionCodec.zstd);
    assert.ok(checkPartition(zs, 'orders', VALUE_ID, registry()) instanceof Promise);
  });

  it('walks several batches, giving each bad record its index in its own batch', async () => {
    const records = Buffer.concat([
      await batch([{ value: framed(1, { id: 1 }) }, { value: framed(1, { id: 2 }) }]),
      await batch([{ value: framed(1, { id: 3 }) }, { value: 'raw' }, { value: framed(1, { id: 5 }) }], CompressionCodec.gzip),
    ]);
    const v = refused(await check(records));
    assert.equal(v.records, 5);
    assert.deepEqual(v.recordErrors.map((e) => e.batchIndex), [1]);
    assert.match(v.recordErrors[0]?.batchIndexErrorMessage ?? '', /^record 1 of batch 1: value has no/);
    assert.match(v.errorMessage, /^1 of 5 records refused by schema validation of topic orders/);
  });

  it(`lists at most ${MAX_RECORD_ERRORS} record errors and counts them all`, async () => {
    const v = refused(await check(await batch(Array.from({ length: 25 }, (_, i) => ({ value: i % 2 === 0 ? 'raw' : framed(1, { id: i }) })))));
    assert.equal(v.recordErrors.length, MAX_RECORD_ERRORS);
    assert.deepEqual(v.recordErrors.map((e) => e.batchIndex), [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    assert.deepEqual(v.reasons, { 'no-header': 13 });
  });

  it('skips control batches', async () => {
    const marker = buildTransactionMarker({ commit: true, coordinatorEpoch: 0, producerId: 5n, producerEpoch: 0, timestamp: 1 });
    assert.deepEqual(await check(marker), { kind: 'accepted', records: 0 });
  });

  it('passes what the log checks itself (a bad CRC, a cut batch) on to the log', async () => {
    const b = await batch([{ value: 'raw' }]);
    const flipped = Buffer.from(b);
    flipped.writeUInt32BE((flipped.readUInt32BE(BatchOffsets.crc) ^ 1) >>> 0, BatchOffsets.crc);
    assert.equal((await check(flipped)).kind, 'pass');
    assert.equal((await check(b.subarray(0, b.length - 3))).kind, 'pass');
    assert.deepEqual(await check(Buffer.alloc(0)), { kind: 'accepted', records: 0 });
  });

  it('refuses a batch that inflates past the bound without holding more (MESSAGE_TOO_LARGE)', async () => {
    const b = await batch([{ value: writeWireFormat(1, Buffer.alloc(64 * 1024, 0x20)) }], CompressionCodec.gzip);
    const small: TopicValidation = { ...VALUE_ID, maxBatchBytes: 16 * 1024 };
    const v = refused(await check(b, small));
    assert.equal(v.errorCode, ErrorCode.MESSAGE_TOO_LARGE);
    assert.deepEqual(v.reasons, { unreadable: 1 });
    assert.match(v.errorMessage, /cannot be read for schema validation/);
  });
});
