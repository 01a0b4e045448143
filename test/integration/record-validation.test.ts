import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { Broker, DEFAULT_BROKER_CONFIG } from '../../src/broker/broker.js';
import type { KafkaConnection } from '../../src/client/kafka-connection.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { Fetch } from '../../src/protocol/messages/fetch.js';
import { Produce, type ProduceRequest, type ProduceResponse } from '../../src/protocol/messages/produce.js';
import { CompressionCodec, type CompressionCodecId } from '../../src/records/compression.js';
import { buildBatch } from '../../src/records/record.js';
import { writeWireFormat } from '../../src/schemas/wire-format.js';
import { INSECURE_DEV_SECURITY } from '../../src/security/config.js';
import type { ValidationRefusal } from '../../src/server/stages/record-validation.js';
import { TEST_ADMIN_ENDPOINT } from '../helpers/admin-endpoint.js';
import { connect, createTopic } from '../helpers/client.js';
import { startSecureBroker } from '../helpers/secure-broker.js';
import { recordingLogger } from '../helpers/broker.js';
import { RawConnection } from '../helpers/raw-client.js';
import { TEST_AUDIT, TEST_ENCRYPTION_AT_REST } from '../helpers/test-keys.js';

/**
 * The record-validation stage in a real broker (docs/governance/validation.md): a produce to a topic
 * with value validation on, next to one without, answered per partition as Kafka answers an
 * INVALID_RECORD (KIP-467: record_errors and error_message from Produce v8).
 */

const CONFIGS: Record<string, Record<string, string>> = {
  orders: { 'confluent.value.schema.validation': 'true', 'schema.validation': 'payload' },
  plain: {},
};

const ORDER = { type: 'object', properties: { id: { type: 'integer' } }, required: ['id'] };
const framed = (value: unknown) => writeWireFormat(1, Buffer.from(JSON.stringify(value), 'utf8'));

/** ORDER as id 1 under orders-value, in the broker's own registry (what a serializer's registration does). */
function registerOrder(broker: Broker): void {
  const registered = broker.schemaRegistry?.register('orders-value', { schemaType: 'JSON', schema: JSON.stringify(ORDER), references: [] });
  assert.ok(registered !== undefined && 'ok' in registered && registered.ok.id === 1);
}

interface Setup {
  readonly c: KafkaConnection;
  readonly port: number;
  readonly refusals: ValidationRefusal[];
}

async function setup(t: TestContext): Promise<Setup> {
  const refusals: ValidationRefusal[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'parapet-validation-'));
  const broker = new Broker(
    { ...DEFAULT_BROKER_CONFIG, listener: { host: '127.0.0.1', port: 0, protocol: 'PLAINTEXT' }, security: INSECURE_DEV_SECURITY, encryptionAtRest: TEST_ENCRYPTION_AT_REST, audit: TEST_AUDIT, dataDir, adminEndpoint: TEST_ADMIN_ENDPOINT },
    recordingLogger(),
    {
      events: { emit: () => undefined },
      onValidationRefused: (r) => refusals.push(r),
    },
  );
  const { port } = await broker.start();
  registerOrder(broker);
  t.after(async () => {
    await broker.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const bootstrap = port;
  // The configs are the broker's own topic configs too: CreateTopics accepts them.
  await createTopic(bootstrap, 'orders', 2, CONFIGS.orders);
  await createTopic(bootstrap, 'plain', 1);
  const c = await connect(bootstrap);
  t.after(() => {
    c.close();
  });
  return { c, port, refusals };
}

async function batch(values: readonly (Buffer | string | null)[], compression: CompressionCodecId = CompressionCodec.none): Promise<Buffer> {
  return buildBatch({ records: values.map((value) => ({ value })), compression, baseTimestamp: Date.now() });
}

function request(topicData: ProduceRequest['topicData'], acks = -1): ProduceRequest {
  return { transactionalId: null, acks, timeoutMs: 10_000, topicData };
}

async function highWatermark(c: KafkaConnection, topic: string, partition: number): Promise<bigint> {
  const body = await c.request(
    Fetch,
    {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1024 * 1024,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic, partitions: [{ partition, fetchOffset: 0n, partitionMaxBytes: 1024 * 1024 }] }],
      forgottenTopicsData: [],
      rackId: '',
    },
    12,
  );
  const p = body.responses[0]?.partitions[0];
  assert.equal(p?.errorCode, 0);
  return p.highWatermark;
}

/** [topic, partition, code] of every partition answered, in response order. */
const codes = (r: ProduceResponse) => r.responses.flatMap((t) => t.partitionResponses.map((p) => [t.name, p.index, p.errorCode]));

describe('validation on produce in a broker', () => {
  it('v9: refuses the bad partition with INVALID_RECORD, record_errors and error_message; appends the others of the same request', async (t) => {
    const { c, refusals } = await setup(t);
    const response = await c.request(
      Produce,
      request([
        {
          name: 'orders',
          partitionData: [
            { index: 0, records: await batch([framed({ id: 1 }), framed({ id: 'x' }), 'no header']) },
            { index: 1, records: await batch([framed({ id: 2 })]) },
          ],
        },
        { name: 'plain', partitionData: [{ index: 0, records: await batch(['anything']) }] },
      ]),
      9,
    );
    assert.deepEqual(codes(response), [
      ['orders', 0, ErrorCode.INVALID_RECORD],
      ['orders', 1, 0],
      ['plain', 0, 0],
    ]);
    const refused = response.responses[0]?.partitionResponses[0];
    assert.ok(refused !== undefined);
    const errors = refused.recordErrors ?? [];
    assert.deepEqual(errors.map((e) => e.batchIndex), [1, 2]);
    assert.match(errors[0]?.batchIndexErrorMessage ?? '', /^record 1: value does not match schema id 1 \(subject orders-value\): \/id must be integer/);
    assert.match(errors[1]?.batchIndexErrorMessage ?? '', /^record 2: value has no schema registry wire-format header/);
    assert.match(refused.errorMessage ?? '', /^2 of 3 records refused by schema validation of topic orders/);
    assert.equal(refused.baseOffset, -1n);
    assert.equal(await highWatermark(c, 'orders', 0), 0n, 'nothing of the refused partition was appended');
    assert.equal(await highWatermark(c, 'orders', 1), 1n);
    assert.equal(await highWatermark(c, 'plain', 0), 1n);
    assert.deepEqual(refusals, [{ principal: 'User:ANONYMOUS', topic: 'orders', partition: 0, errorCode: ErrorCode.INVALID_RECORD, records: 3, reasons: { 'bad-payload': 1, 'no-header': 1 }, unanswered: false }]);
  });

  it('a request whose every partition is refused is answered without reaching the log', async (t) => {
    const { c } = await setup(t);
    const response = await c.request(Produce, request([{ name: 'orders', partitionData: [{ index: 1, records: await batch(['a']) }, { index: 0, records: await batch(['b']) }] }]), 9);
    assert.deepEqual(codes(response), [
      ['orders', 1, ErrorCode.INVALID_RECORD],
      ['orders', 0, ErrorCode.INVALID_RECORD],
    ]);
    assert.equal(await highWatermark(c, 'orders', 0), 0n);
  });

  it('a topic refused whole between two others keeps its place in the response', async (t) => {
    const { c } = await setup(t);
    const response = await c.request(
      Produce,
      request([
        { name: 'plain', partitionData: [{ index: 0, records: await batch(['first']) }] },
        { name: 'orders', partitionData: [{ index: 0, records: await batch(['bad']) }] },
        { name: 'plain', partitionData: [{ index: 0, records: await batch(['second']) }] },
      ]),
      9,
    );
    assert.deepEqual(codes(response), [
      ['plain', 0, 0],
      ['orders', 0, ErrorCode.INVALID_RECORD],
      ['plain', 0, 0],
    ]);
    assert.equal(await highWatermark(c, 'plain', 0), 2n);
  });

  for (const version of [3, 7]) {
    it(`v${version}: the code only (record_errors and error_message are v8+)`, async (t) => {
      const { c } = await setup(t);
      const response = await c.request(Produce, request([{ name: 'orders', partitionData: [{ index: 0, records: await batch(['raw']) }] }]), version);
      const p = response.responses[0]?.partitionResponses[0];
      assert.ok(p !== undefined);
      assert.equal(p.errorCode, ErrorCode.INVALID_RECORD);
      assert.deepEqual(p.recordErrors, []);
      assert.equal(p.errorMessage, null);
    });
  }

  it('zstd batches are checked too (asynchronously), good ones appended', async (t) => {
    const { c } = await setup(t);
    const response = await c.request(
      Produce,
      request([{ name: 'orders', partitionData: [{ index: 0, records: await batch([framed({ id: 1 })], CompressionCodec.zstd) }, { index: 1, records: await batch([framed({ id: 'x' })], CompressionCodec.zstd) }] }]),
      9,
    );
    assert.deepEqual(codes(response), [
      ['orders', 0, 0],
      ['orders', 1, ErrorCode.INVALID_RECORD],
    ]);
    assert.deepEqual(response.responses[0]?.partitionResponses[1]?.recordErrors?.map((e) => e.batchIndex), [0]);
  });

  it('acks=0: the refused partition is dropped and counted, the rest appended, and the connection closed (as Kafka does)', async (t) => {
    const { c, port, refusals } = await setup(t);
    const raw = await RawConnection.connect(port);
    t.after(() => raw.socket.destroy());
    raw.send(
      Produce,
      9,
      request(
        [
          { name: 'orders', partitionData: [{ index: 0, records: await batch(['raw']) }] },
          { name: 'plain', partitionData: [{ index: 0, records: await batch(['kept']) }] },
        ],
        0,
      ),
    );
    await raw.closed;
    assert.equal(raw.frames.length, 0, 'acks=0 is never answered');
    assert.equal(await highWatermark(c, 'plain', 0), 1n);
    assert.equal(await highWatermark(c, 'orders', 0), 0n);
    assert.equal(refusals[0]?.unanswered, true);
  });

  it('runs after authorization: a principal without WRITE is refused for that, and its records are never read', async (t) => {
    const refusals: ValidationRefusal[] = [];
    const b = await startSecureBroker(t, {
      users: { mallory: 'mallory-password-1' },
      deps: { onValidationRefused: (r) => refusals.push(r) },
    });
    registerOrder(b.broker);
    await createTopic(b.adminProperties, 'orders', 1, CONFIGS.orders);
    const mallory = await connect(b.clientConfig('mallory', 'mallory-password-1'));
    t.after(() => {
      mallory.close();
    });
    const response = await mallory.request(Produce, request([{ name: 'orders', partitionData: [{ index: 0, records: await batch(['raw']) }] }]), 9);
    assert.deepEqual(codes(response), [['orders', 0, ErrorCode.TOPIC_AUTHORIZATION_FAILED]]);
    assert.deepEqual(refusals, [], 'its records were never checked');
  });
});
