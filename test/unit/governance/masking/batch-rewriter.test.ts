import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultMaxOutputBytes, rewriteRecords, MASKED_HEADER, type RewriteResult } from '../../../../src/governance/masking/batch-rewriter.js';
import { hasImpreciseNumber } from '../../../../src/governance/masking/record-masker.js';
import { compilePolicy, MaskingPolicySet, type MaskingPolicy, type TopicMasking } from '../../../../src/governance/masking/policy.js';
import { BATCH_HEADER_SIZE, BatchOffsets, assignOffsets, readBatchHeader, splitBatches, validateBatch, writeBatchCrc } from '../../../../src/records/batch.js';
import { CompressionCodec, type CompressionCodecId } from '../../../../src/records/compression.js';
import { buildTransactionMarker } from '../../../../src/records/control-records.js';
import { buildBatch, readRecords, type BatchRecord, type RecordInput } from '../../../../src/records/record.js';
import { jsonSchemaFormat } from '../../../../src/schemas/formats/json-schema.js';
import type { CompiledSchema, SchemaLookup } from '../../../../src/schemas/types.js';
import { writeWireFormat } from '../../../../src/schemas/wire-format.js';

const SECRET = Buffer.alloc(32, 3);

function masking(fields: MaskingPolicy['fields'], extra: Partial<MaskingPolicy> = {}): TopicMasking {
  const set = new MaskingPolicySet([compilePolicy({ name: 'p', topics: ['t'], fields, ...extra }, 'config', {}, SECRET)]);
  const found = set.forPrincipal('User:a')?.('t');
  if (found === undefined) assert.fail('the policy should apply');
  return found;
}

const CARD = masking([{ path: 'card.number', rule: 'keep-last 4' }]);

const json = (v: unknown) => JSON.stringify(v);

async function batch(records: readonly RecordInput[], codec: CompressionCodecId = CompressionCodec.none, extra: Partial<Parameters<typeof buildBatch>[0]> = {}): Promise<Buffer> {
  return buildBatch({ records, compression: codec, baseOffset: 100n, partitionLeaderEpoch: 3, producerId: 77n, producerEpoch: 2, baseSequence: 10, baseTimestamp: 1_700_000_000_000, ...extra });
}

async function rewrite(records: Buffer, m: TopicMasking = CARD, options: Parameters<typeof rewriteRecords>[2] = {}): Promise<Extract<RewriteResult, { kind: 'records' }>> {
  const result = await rewriteRecords(records, m, options);
  assert.equal(result.kind, 'records', result.kind === 'unreadable' ? result.reason : '');
  return result;
}

/** Every record of every batch, each batch checked as a consumer's client would (CRC included). */
async function recordsOf(records: Buffer): Promise<BatchRecord[]> {
  const out: BatchRecord[] = [];
  for (const b of splitBatches(records)) out.push(...(await readRecords(b, { verifyCrc: true })));
  return out;
}

/** The header fields masking must never change. */
function invariants(b: Buffer): string {
  const h = readBatchHeader(b);
  return [h.baseOffset, h.partitionLeaderEpoch, h.magic, h.attributes, h.lastOffsetDelta, h.baseTimestamp, h.maxTimestamp, h.producerId, h.producerEpoch, h.baseSequence, h.recordCount].join('/');
}

const value = (r: BatchRecord | undefined) => (r?.value === null || r?.value === undefined ? r?.value : r.value.toString('utf8'));

describe('masking batches: every codec', () => {
  for (const [name, codec] of Object.entries(CompressionCodec)) {
    it(`${name}: masks the field, keeps offsets, timestamps, producer fields, attributes and codec, with a valid CRC`, async () => {
      const input = await batch(
        [
          { key: 'k1', value: json({ card: { number: '4111111111111234', exp: '12/30' }, name: 'Ann' }), timestamp: 1_700_000_000_000, headers: [{ key: 'trace', value: 'abc' }] },
          { key: 'k2', value: json({ card: { number: '5500000000000004' } }), timestamp: 1_700_000_000_500 },
        ],
        codec,
        { transactional: true },
      );
      const { records, counts } = await rewrite(input);
      const [out] = splitBatches(records);
      assert.ok(out !== undefined);
      const header = validateBatch(out, { verifyCrc: true });
      assert.equal(header.compression, codec, 'the same codec');
      assert.ok(header.isTransactional);
      assert.equal(invariants(out), invariants(input));
      const read = await recordsOf(records);
      assert.deepEqual(read.map((r) => JSON.parse(value(r) as string) as unknown), [
        { card: { number: '************1234', exp: '12/30' }, name: 'Ann' },
        { card: { number: '************0004' } },
      ]);
      assert.deepEqual(read.map((r) => [r.offset, r.timestamp, r.key?.toString()]), [
        [100n, 1_700_000_000_000n, 'k1'],
        [101n, 1_700_000_000_500n, 'k2'],
      ]);
      assert.deepEqual(read[0]?.headers.map((h) => [h.key, h.value?.toString()]), [['trace', 'abc']], 'headers are kept');
      assert.deepEqual({ ...counts, reasons: { ...counts.reasons } }, { records: 2, masked: 2, failedClosed: 0, reasons: {} });
    });
  }
});

describe('masking batches: what passes unchanged', () => {
  it('a batch where no field matched is the very bytes read: no copy', async () => {
    const input = await batch([{ value: json({ other: 1 }) }]);
    const { records, counts } = await rewrite(input);
    assert.equal(records.buffer, input.buffer);
    assert.equal(records.byteOffset, input.byteOffset);
    assert.equal(counts.masked, 0);
  });

  it('control batches (transaction markers) pass as they are, between masked batches', async () => {
    const data = await batch([{ value: json({ card: { number: '4111111111111234' } }) }], CompressionCodec.none, { transactional: true });
    const marker = buildTransactionMarker({ producerId: 77n, producerEpoch: 2, commit: true, coordinatorEpoch: 0, timestamp: 1 });
    assignOffsets(marker, 101n, 3);
    const { records } = await rewrite(Buffer.concat([data, marker]));
    const [first, second] = splitBatches(records);
    assert.ok(first !== undefined && second !== undefined);
    assert.deepEqual(second, marker);
    assert.notDeepEqual(first, data);
  });

  it('a tombstone stays null; a null key stays null', async () => {
    const { records } = await rewrite(await batch([{ key: 'k', value: null }, { value: json({ card: { number: '123456789' } }) }]));
    const read = await recordsOf(records);
    assert.equal(read[0]?.value, null);
    assert.equal(read[1]?.key, null);
    assert.deepEqual(JSON.parse(value(read[1]) as string), { card: { number: '*****6789' } });
  });

  it('a partial batch at the end (a read cut at max_bytes) is dropped, the whole ones kept', async () => {
    const one = await batch([{ value: json({ card: { number: '4111111111111234' } }) }]);
    const two = await batch([{ value: json({ card: { number: '4111111111115678' } }) }], CompressionCodec.none, { baseOffset: 101n });
    const { records } = await rewrite(Buffer.concat([one, two.subarray(0, two.length - 5)]));
    assert.equal(splitBatches(records).length, 1);
    assert.equal((await recordsOf(records)).length, 1);
  });

  it('records in a changed batch keep their bytes when nothing of theirs changed', async () => {
    const input = await batch([{ value: 'plain text, no policy field' }, { value: json({ card: { number: '4111111111111234' } }) }]);
    const masked = await rewrite(input, masking([{ path: 'card.number', rule: 'mask' }]));
    const read = await recordsOf(masked.records);
    assert.equal(value(read[0]), '', 'not JSON: masked whole');
    const untouched = await rewrite(await batch([{ value: json({ x: 1 }) }, { value: json({ card: { number: '1' } }) }]));
    assert.equal(value((await recordsOf(untouched.records))[0]), '{"x":1}');
  });
});

describe('masking batches: failing closed', () => {
  it('a value that is not JSON is replaced whole by an empty one with a parapet.masked header, never sent raw', async () => {
    const { records, counts } = await rewrite(await batch([{ value: 'card 4111111111111234', headers: [{ key: 'h', value: '1' }] }, { value: Buffer.from([0xff, 0xfe, 0x7b]) }]));
    const read = await recordsOf(records);
    for (const r of read) {
      assert.deepEqual(r.value, Buffer.alloc(0), 'empty, not null: null would be a tombstone');
      assert.equal(r.headers.find((h) => h.key === MASKED_HEADER)?.value?.toString(), 'not-json');
    }
    assert.deepEqual(read[0]?.headers.map((h) => h.key), ['h', MASKED_HEADER], 'its own headers are kept, the reason added');
    assert.equal(counts.failedClosed, 2);
    assert.equal(counts.reasons['not-json'], 2);
  });

  it('a number JSON would not write back as the same value fails closed rather than being changed', async () => {
    const { records } = await rewrite(await batch([{ value: '{"id": 12345678901234567890, "card": {"number": "4111111111111234"}}' }]));
    const [r] = await recordsOf(records);
    assert.equal(r?.headers.find((h) => h.key === MASKED_HEADER)?.value?.toString(), 'imprecise-number');
    // The same in Confluent's wire format, masked through a JSON schema (its encode is JSON.stringify too).
    const lookup = lookupOf({ type: 'object' });
    const framed = writeWireFormat(1, Buffer.from('{"id": 12345678901234567890, "card": {"number": "4111111111111234"}}'));
    const [w] = await recordsOf((await rewrite(await batch([{ value: framed }]), CARD, { lookup })).records);
    assert.equal(w?.headers.find((h) => h.key === MASKED_HEADER)?.value?.toString(), 'imprecise-number');
    assert.ok(hasImpreciseNumber('{"a": 1e400}'));
    assert.ok(hasImpreciseNumber('{"a": 1e-400}'));
    assert.ok(!hasImpreciseNumber('{"a": "12345678901234567890", "b": 1.5, "c": 9007199254740}'), 'long digits in a string are no reason');
  });

  it('a wire-format record without a registry, or with an unknown schema id, fails closed', async () => {
    const framed = writeWireFormat(9, Buffer.from(json({ card: { number: '4111111111111234' } })));
    const none = await recordsOf((await rewrite(await batch([{ value: framed }]))).records);
    assert.equal(none[0]?.headers.find((h) => h.key === MASKED_HEADER)?.value?.toString(), 'no-schema-registry');
    const unknown = await recordsOf((await rewrite(await batch([{ value: framed }]), CARD, { lookup: lookupOf() })).records);
    assert.equal(unknown[0]?.headers.find((h) => h.key === MASKED_HEADER)?.value?.toString(), 'unknown-schema');
  });

  it('a policy whose fields cannot be applied masks every key and value of its topics whole', async () => {
    const broken = masking([{ path: 'a[0]', rule: 'mask' }]);
    assert.ok(broken.whole);
    const read = await recordsOf((await rewrite(await batch([{ key: 'k', value: json({ a: 1 }) }]), broken)).records);
    assert.deepEqual([read[0]?.key, read[0]?.value], [Buffer.alloc(0), Buffer.alloc(0)]);
  });

  it('a batch that cannot be decompressed, or inflates past the bound, refuses the partition', async () => {
    const good = await batch([{ value: json({ card: { number: '4111111111111234' } }) }], CompressionCodec.gzip);
    const garbled = Buffer.from(good);
    garbled.fill(0x55, BATCH_HEADER_SIZE + 10);
    writeBatchCrc(garbled);
    const bad = await rewriteRecords(garbled, CARD);
    assert.equal(bad.kind, 'unreadable');
    const big = await batch([{ value: json({ card: { number: '4'.repeat(100_000) } }) }], CompressionCodec.gzip);
    const bomb = await rewriteRecords(big, CARD, { maxBatchBytes: 10_000 });
    assert.equal(bomb.kind, 'unreadable');
    assert.match((bomb as { reason: string }).reason, /over the limit of 10000/);
    const lying = Buffer.from(good);
    lying.writeInt32BE(10, BatchOffsets.batchLength);
    assert.equal((await rewriteRecords(lying, CARD)).kind, 'unreadable', 'a batch length below the minimum');
  });
});

describe('masking batches: keys, schemas, bounds', () => {
  it('masks fields of a JSON key when the policy says part: key', async () => {
    const m = masking([{ path: 'customer', rule: 'hash', part: 'key' }]);
    const read = await recordsOf((await rewrite(await batch([{ key: json({ customer: 'c-1' }), value: 'not json, not masked' }]), m)).records);
    const key = JSON.parse(read[0]?.key?.toString() ?? '{}') as { customer: string };
    assert.match(key.customer, /^[0-9a-f]{64}$/);
    assert.equal(value(read[0]), 'not json, not masked', 'no value fields: the value is not even parsed');
  });

  it('masks a wire-format JSON Schema record through its schema, keeping the header and the schema id', async () => {
    const lookup = lookupOf({ type: 'object', properties: { card: { type: 'object', properties: { number: { type: 'string' }, cvv: { type: 'integer' } } } } });
    const framed = writeWireFormat(1, Buffer.from(json({ card: { number: '4111111111111234', cvv: 123 } })));
    const out = await recordsOf((await rewrite(await batch([{ value: framed }]), CARD, { lookup })).records);
    const bytes = out[0]?.value;
    assert.ok(bytes);
    assert.equal(bytes[0], 0);
    assert.equal(bytes.readInt32BE(1), 1);
    assert.deepEqual(JSON.parse(bytes.subarray(5).toString()), { card: { number: '************1234', cvv: 123 } });
    // The masked cvv is a string, which the schema (integer) refuses: the record is masked whole.
    const cvv = masking([{ path: 'card.cvv', rule: 'mask' }]);
    const refused = await recordsOf((await rewrite(await batch([{ value: framed }]), cvv, { lookup })).records);
    assert.equal(refused[0]?.headers.find((h) => h.key === MASKED_HEADER)?.value?.toString(), 'encode-failed');
    assert.deepEqual(refused.map((r) => r.value), [Buffer.alloc(0)]);
    const undecodable = await recordsOf((await rewrite(await batch([{ value: writeWireFormat(1, Buffer.from('{"card": 5}')) }]), CARD, { lookup })).records);
    assert.equal(undecodable[0]?.headers.find((h) => h.key === MASKED_HEADER)?.value?.toString(), 'decode-failed');
  });

  it('allows twice the bytes read, at least 1 MiB more', () => {
    assert.equal(defaultMaxOutputBytes(1000), 1000 + 1024 * 1024);
    assert.equal(defaultMaxOutputBytes(8 * 1024 * 1024), 16 * 1024 * 1024);
  });

  it('never sends more than maxOutputBytes, but always the first batch whole', async () => {
    // Hashing turns each 1-character value into 64: the masked batches are far larger than the read.
    const h = masking([{ path: 'a', rule: 'hash' }]);
    const batches = await Promise.all([0, 1, 2].map((i) => batch(Array.from({ length: 20 }, () => ({ value: '{"a":"x"}' })), CompressionCodec.none, { baseOffset: BigInt(100 + i * 20) })));
    const read = Buffer.concat(batches);
    const all = await rewrite(read, h);
    assert.equal(splitBatches(all.records).length, 3, 'within the default allowance, every batch');
    const { records } = await rewrite(read, h, { maxOutputBytes: read.length });
    assert.ok(splitBatches(records).length >= 1);
    assert.ok(splitBatches(records).length < 3, 'the batches past the budget are left for the next fetch');
    assert.ok(records.length > read.length / 3, 'the first batch is whole even past the budget');
    const first = await recordsOf(records);
    assert.equal(first[0]?.offset, 100n);
  });

  it('a zstd batch goes through the serial queue', async () => {
    let turns = 0;
    const serial = async <T>(task: () => Promise<T>): Promise<T> => {
      turns++;
      return task();
    };
    const input = await batch([{ value: json({ card: { number: '4111111111111234' } }) }], CompressionCodec.zstd);
    const pending = rewriteRecords(input, CARD, { serial });
    assert.ok(pending instanceof Promise, 'zstd is asynchronous');
    assert.equal((await pending).kind, 'records');
    assert.equal(turns, 1);
    assert.ok(!(rewriteRecords(await batch([{ value: '{}' }], CompressionCodec.lz4), CARD) instanceof Promise), 'other codecs are masked synchronously');
  });
});

/** A registry of the given JSON schemas (ids from 1) compiled by the real JSON Schema format. */
function lookupOf(...schemas: object[]): SchemaLookup {
  const compiled = new Map<number, CompiledSchema>();
  schemas.forEach((s, i) => {
    const parsed = jsonSchemaFormat.parse(JSON.stringify(s), new Map());
    if ('error' in parsed) assert.fail(parsed.error);
    compiled.set(i + 1, jsonSchemaFormat.compile(i + 1, parsed));
  });
  return {
    schemaById: () => undefined,
    subjectHasId: () => false,
    compiled: (id) => compiled.get(id) ?? { error: `no schema ${id}` },
  };
}

