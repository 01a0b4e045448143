import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { MaskingRegistry } from '../../src/governance/masking/registry.js';
import { MASKED_HEADER } from '../../src/governance/masking/batch-rewriter.js';
import type { KafkaConnection } from '../../src/client/kafka-connection.js';
import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../../src/protocol/acl.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { Fetch } from '../../src/protocol/messages/fetch.js';
import { Produce } from '../../src/protocol/messages/produce.js';
import { BATCH_HEADER_SIZE, splitBatches, validateBatch } from '../../src/records/batch.js';
import { CompressionCodec, type CompressionCodecId } from '../../src/records/compression.js';
import { buildBatch, readRecords, type BatchRecord } from '../../src/records/record.js';
import { jsonSchemaFormat } from '../../src/schemas/formats/json-schema.js';
import type { CompiledSchema, SchemaLookup } from '../../src/schemas/types.js';
import { writeWireFormat } from '../../src/schemas/wire-format.js';
import { recordMasking, type MaskingReport } from '../../src/server/stages/record-masking.js';
import { MetadataStore } from '../../src/storage/metadata-store.js';
import { connect, createTopic } from '../helpers/client.js';
import { startSecureBroker, type SecureBroker } from '../helpers/secure-broker.js';

/**
 * The record-masking stage in a real broker (docs/governance/masking.md): alice is under the policy,
 * bob is exempt (through a group), both read the same stored records over SASL_SSL.
 */

const TOPIC = 'payments';
const CARD = '4111111111111234';

const readGrant = (user: string, operation: AclOperation) => ({
  resourceType: ResourceType.TOPIC,
  resourceName: '*',
  patternType: PatternType.LITERAL,
  principal: `User:${user}`,
  host: '*',
  operation,
  permission: AclPermissionType.ALLOW,
});

/** A schema registry of one JSON schema (id 1), compiled by the real JSON Schema format. */
function lookupOf(schema: object): SchemaLookup {
  const parsed = jsonSchemaFormat.parse(JSON.stringify(schema), new Map());
  if ('error' in parsed) assert.fail(parsed.error);
  const compiled: CompiledSchema = jsonSchemaFormat.compile(1, parsed);
  return { schemaById: () => undefined, subjectHasId: (_s, id) => id === 1, compiled: (id) => (id === 1 ? compiled : { error: 'unknown' }) };
}

interface Setup {
  readonly broker: SecureBroker;
  readonly registry: MaskingRegistry;
  readonly reports: MaskingReport[];
  readonly alice: KafkaConnection;
  readonly bob: KafkaConnection;
  readonly admin: KafkaConnection;
}

async function setup(t: TestContext, maxBatchBytes?: number): Promise<Setup> {
  const storeDir = mkdtempSync(join(tmpdir(), 'parapet-masking-store-'));
  const store = new MetadataStore(storeDir);
  t.after(() => {
    store.close();
    rmSync(storeDir, { recursive: true, force: true });
  });
  const registry = new MaskingRegistry({
    config: {
      principalGroups: { auditors: ['User:bob'] },
      policies: [{ name: 'cards', topics: ['pay*'], exempt: ['Group:auditors'], fields: [{ path: 'card.number', rule: 'keep-last 4' }, { path: 'email', rule: 'hash' }] }],
    },
    store: store.masking,
    secret: store.brokerSecret('masking', () => Buffer.alloc(32, 9)),
  });
  const reports: MaskingReport[] = [];
  const lookup = lookupOf({ type: 'object', properties: { card: { type: 'object' }, email: { type: 'string' } } });
  const broker = await startSecureBroker(t, {
    users: { alice: 'alice-password-1', bob: 'bob-password-1' },
    acls: ['alice', 'bob'].flatMap((u) => [readGrant(u, AclOperation.READ), readGrant(u, AclOperation.DESCRIBE)]),
    deps: { stages: [recordMasking({ policies: () => registry.current(), lookup, onMasked: (r) => reports.push(r), ...(maxBatchBytes === undefined ? {} : { maxBatchBytes }) })] },
  });
  await createTopic(broker.adminProperties, [TOPIC, 'other']);
  const open = async (properties: string) => {
    const c = await connect(properties);
    t.after(() => {
      c.close();
    });
    return c;
  };
  return {
    broker,
    registry,
    reports,
    admin: await open(broker.adminProperties),
    alice: await open(broker.clientConfig('alice', 'alice-password-1')),
    bob: await open(broker.clientConfig('bob', 'bob-password-1')),
  };
}

async function produce(c: KafkaConnection, topic: string, batch: Buffer): Promise<bigint> {
  const body = await c.request(Produce, { transactionalId: null, acks: -1, timeoutMs: 10_000, topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }] }, 8);
  const p = body.responses[0]?.partitionResponses[0];
  assert.equal(p?.errorCode, 0);
  return p.baseOffset;
}

async function fetchPartition(c: KafkaConnection, topic: string, offset = 0n): Promise<{ errorCode: number; records: Buffer | null }> {
  const body = await c.request(
    Fetch,
    {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1024 * 1024,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic, partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes: 1024 * 1024 }] }],
      forgottenTopicsData: [],
      rackId: '',
    },
    12,
  );
  const p = body.responses[0]?.partitions[0];
  assert.ok(p !== undefined);
  return { errorCode: p.errorCode, records: p.records };
}

/**
 * Every record fetched, from offset 0 until a fetch brings nothing, as a consumer reads: a masked
 * fetch may bring fewer batches than were read (never more bytes). Each batch is checked as a client
 * checks it (CRC included).
 */
async function fetchRecords(c: KafkaConnection, topic: string): Promise<BatchRecord[]> {
  const out: BatchRecord[] = [];
  for (let offset = 0n; ; ) {
    const { errorCode, records } = await fetchPartition(c, topic, offset);
    assert.equal(errorCode, 0);
    const batches = splitBatches(records ?? Buffer.alloc(0));
    if (batches.length === 0) return out;
    for (const b of batches) {
      const header = validateBatch(b, { verifyCrc: true });
      out.push(...(await readRecords(b)));
      offset = header.baseOffset + BigInt(header.lastOffsetDelta) + 1n;
    }
  }
}

const doc = (r: BatchRecord | undefined): unknown => JSON.parse(r?.value?.toString('utf8') ?? 'null');

describe('record masking in a broker', () => {
  it('alice sees ****1234 and a hash, bob (exempt through his group) the clear values; every codec; offsets kept', async (t) => {
    const s = await setup(t);
    const codecs: CompressionCodecId[] = [CompressionCodec.none, CompressionCodec.gzip, CompressionCodec.snappy, CompressionCodec.lz4, CompressionCodec.zstd];
    for (const codec of codecs) {
      await produce(s.admin, TOPIC, await buildBatch({ compression: codec, records: [{ key: `k${codec}`, value: JSON.stringify({ card: { number: CARD }, email: 'ann@example.com', codec }) }] }));
    }
    const alice = await fetchRecords(s.alice, TOPIC);
    const bob = await fetchRecords(s.bob, TOPIC);
    assert.equal(alice.length, codecs.length);
    const hash = (doc(alice[0]) as { email: string }).email;
    assert.match(hash, /^[0-9a-f]{64}$/);
    alice.forEach((r, i) => {
      assert.deepEqual(doc(r), { card: { number: '************1234' }, email: hash, codec: codecs[i] }, 'the same email hashes the same in every record');
      assert.equal(r.offset, BigInt(i));
      assert.equal(r.key?.toString(), `k${codecs[i] ?? ''}`);
    });
    bob.forEach((r, i) => {
      assert.deepEqual(doc(r), { card: { number: CARD }, email: 'ann@example.com', codec: codecs[i] });
    });
    const { records } = await fetchPartition(s.alice, TOPIC);
    const first = splitBatches(records ?? Buffer.alloc(0));
    // The hashes make the batches larger than they were read: within the allowance (twice, at least 1 MiB
    // more), one fetch still brings every batch.
    assert.equal(first.length, codecs.length);
    assert.deepEqual(first.map((b) => validateBatch(b).compression), codecs, 'each batch keeps its codec');
    assert.ok(s.reports.every((r) => r.principal === 'User:alice' && r.topic === TOPIC && r.failedClosed === 0));
    assert.equal(s.reports.reduce((n, r) => n + r.masked, 0) >= codecs.length, true);
  });

  it('a topic under no policy is served as stored; a wire-format record is masked through its schema; a non-JSON one whole', async (t) => {
    const s = await setup(t);
    const plain = await buildBatch({ records: [{ value: JSON.stringify({ card: { number: CARD } }) }] });
    await produce(s.admin, 'other', plain);
    const other = await fetchPartition(s.alice, 'other');
    assert.equal(other.records?.subarray(BATCH_HEADER_SIZE).toString(), plain.subarray(BATCH_HEADER_SIZE).toString());
    await produce(s.admin, TOPIC, await buildBatch({ records: [{ value: writeWireFormat(1, Buffer.from(JSON.stringify({ card: { number: CARD } }))) }, { value: `card ${CARD}` }] }));
    const [framed, raw] = await fetchRecords(s.alice, TOPIC);
    assert.ok(framed?.value != null && raw !== undefined);
    assert.equal(framed.value.readInt32BE(1), 1, 'the wire-format header and schema id are kept');
    assert.deepEqual(JSON.parse(framed.value.subarray(5).toString()), { card: { number: '************1234' } });
    assert.deepEqual(raw.value, Buffer.alloc(0));
    assert.equal(raw.headers.find((h) => h.key === MASKED_HEADER)?.value?.toString(), 'not-json');
    assert.ok(!(await fetchRecords(s.alice, TOPIC)).some((r) => r.value?.toString().includes(CARD)), 'the number never reaches alice');
  });

  it('a policy added or removed applies from the next fetch', async (t) => {
    const s = await setup(t);
    await produce(s.admin, 'other', await buildBatch({ records: [{ value: JSON.stringify({ ssn: '123-45-6789' }) }] }));
    assert.deepEqual(doc((await fetchRecords(s.alice, 'other'))[0]), { ssn: '123-45-6789' });
    const added = s.registry.add({ name: 'ssn', topics: ['other'], principals: ['User:alice'], fields: [{ path: 'ssn', rule: 'redact' }] }, 'User:admin');
    assert.equal(added.kind, 'added');
    assert.deepEqual(doc((await fetchRecords(s.alice, 'other'))[0]), {});
    assert.deepEqual(doc((await fetchRecords(s.bob, 'other'))[0]), { ssn: '123-45-6789' }, 'the policy names alice only');
    assert.equal(s.registry.remove('ssn').kind, 'removed');
    assert.deepEqual(doc((await fetchRecords(s.alice, 'other'))[0]), { ssn: '123-45-6789' });
  });

  it('a batch that inflates past the bound answers CORRUPT_MESSAGE to alice, never its bytes', async (t) => {
    const s = await setup(t, 10_000);
    await produce(s.admin, TOPIC, await buildBatch({ compression: CompressionCodec.gzip, records: [{ value: JSON.stringify({ card: { number: CARD }, pad: 'x'.repeat(50_000) }) }] }));
    const refused = await fetchPartition(s.alice, TOPIC);
    assert.equal(refused.errorCode, ErrorCode.CORRUPT_MESSAGE);
    assert.equal(refused.records, null);
    assert.equal((await fetchPartition(s.bob, TOPIC)).errorCode, 0, 'bob, exempt, gets the batch as stored');
    assert.equal(s.reports.at(-1)?.refusedPartitions, 1);
  });
});
