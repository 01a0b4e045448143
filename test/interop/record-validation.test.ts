import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { Broker, DEFAULT_BROKER_CONFIG, type BrokerConfig } from '../../src/broker/broker.js';
import { Fetch } from '../../src/protocol/messages/fetch.js';
import { splitBatches } from '../../src/records/batch.js';
import { readRecords } from '../../src/records/record.js';
import { readWireFormat } from '../../src/schemas/wire-format.js';
import { INSECURE_DEV_SECURITY } from '../../src/security/config.js';
import type { ValidationRefusal } from '../../src/server/stages/record-validation.js';
import { TEST_ADMIN_ENDPOINT } from '../helpers/admin-endpoint.js';
import { recordingLogger } from '../helpers/broker.js';
import { withConnection } from '../helpers/client.js';
import { TEST_AUDIT, TEST_ENCRYPTION_AT_REST } from '../helpers/test-keys.js';
import { kcat } from './security-support.js';
import { python } from './support.js';

/**
 * Validation on produce seen by real producers (docs/governance/validation.md): librdkafka through
 * confluent-kafka (Python) and kcat produce to topics with value validation on. Each bad record goes
 * in a batch of its own (one flush each), so each is refused alone; the good ones must be delivered.
 * The topics are created by the clients themselves (confluent-kafka's AdminClient) with Confluent's
 * config names; a topic policy that requires validation on `pii` topics refuses one without it.
 *
 * The registry here is an in-memory one built from the real JSON Schema format; the broker's wiring
 * puts the schema registry in its place.
 */

const ORDER = { type: 'object', properties: { id: { type: 'integer' } }, required: ['id'] };
const POLICY = { name: 'pii-validated', topics: '*', tags: ['pii'], requireValidation: true } as const;

interface Setup {
  readonly bootstrap: string;
  readonly port: number;
  readonly refusals: ValidationRefusal[];
}

async function setup(t: TestContext): Promise<Setup> {
  const refusals: ValidationRefusal[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'parapet-validation-interop-'));
  const config: BrokerConfig = {
    ...DEFAULT_BROKER_CONFIG,
    listener: { host: '127.0.0.1', port: 0, protocol: 'PLAINTEXT' },
    security: INSECURE_DEV_SECURITY,
    encryptionAtRest: TEST_ENCRYPTION_AT_REST,
    audit: TEST_AUDIT,
    dataDir,
    adminEndpoint: TEST_ADMIN_ENDPOINT,
    topicPolicies: [POLICY],
  };
  const broker = new Broker(config, recordingLogger(), {
    events: { emit: () => undefined },
    onValidationRefused: (r) => refusals.push(r),
  });
  const { port } = await broker.start();
  // Ids 1 and 2, in the broker's own registry, as the serializers' registrations would make them.
  for (const subject of ['orders-value', 'elsewhere-value']) {
    const registered = broker.schemaRegistry?.register(subject, { schemaType: 'JSON', schema: JSON.stringify({ ...ORDER, title: subject }), references: [] });
    assert.ok(registered !== undefined && 'ok' in registered);
  }
  t.after(async () => {
    await broker.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return { bootstrap: `127.0.0.1:${port}`, port, refusals };
}

const CREATE = String.raw`
import json, sys
from confluent_kafka.admin import AdminClient, NewTopic
job = json.load(sys.stdin)
admin = AdminClient({'bootstrap.servers': job['bootstrap']})
out = {}
for name, configs in job['topics'].items():
    f = admin.create_topics([NewTopic(name, 1, 1, config=configs)], operation_timeout=10)[name]
    try:
        f.result(timeout=15)
        out[name] = 'created'
    except Exception as e:
        err = e.args[0]
        out[name] = {'name': err.name(), 'str': err.str()}
print(json.dumps(out))
`;

/** One record per flush, so that each is a batch of its own; the delivery report of each. */
const PRODUCE = String.raw`
import json, sys
from confluent_kafka import Producer
job = json.load(sys.stdin)
p = Producer({'bootstrap.servers': job['bootstrap'], 'linger.ms': 0, 'retries': 0, 'compression.type': job['codec']})
reports = []
def report(err, msg):
    reports.append(None if err is None else {'name': err.name(), 'code': err.code(), 'str': err.str(), 'retriable': err.retriable()})
for value in job['values']:
    p.produce(job['topic'], value=bytes.fromhex(value), partition=0, on_delivery=report)
    p.flush(15)
print(json.dumps(reports))
`;

const framed = (id: number, value: unknown) => Buffer.concat([Buffer.from([0, 0, 0, 0, id]), Buffer.from(JSON.stringify(value), 'utf8')]);

const payloadOf = (value: Buffer): unknown => {
  const w = readWireFormat(value);
  return w.kind === 'framed' ? (JSON.parse(w.payload.toString('utf8')) as unknown) : null;
};

/** The values stored in partition 0 of `topic`, as read back with the project's client. */
async function storedValues(port: number, topic: string): Promise<Buffer[]> {
  return withConnection(port, async (c) => {
    const body = await c.request(
      Fetch,
      { maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }], forgottenTopicsData: [], rackId: '' },
      12,
    );
    const out: Buffer[] = [];
    for (const b of splitBatches(body.responses[0]?.partitions[0]?.records ?? Buffer.alloc(0))) for (const r of await readRecords(b)) if (r.value !== null) out.push(r.value);
    return out;
  });
}

describe('validation on produce seen by real producers', () => {
  it('confluent-kafka creates the topics; the pii policy refuses one without validation', async (t) => {
    const { bootstrap } = await setup(t);
    const out = JSON.parse(
      await python(CREATE, {
        input: JSON.stringify({
          bootstrap,
          topics: {
            orders: { 'confluent.value.schema.validation': 'true', 'schema.validation': 'payload' },
            customers: { tags: 'pii' },
            'customers-validated': { tags: 'pii', 'confluent.value.schema.validation': 'true', 'confluent.value.subject.name.strategy': 'io.confluent.kafka.serializers.subject.TopicNameStrategy' },
          },
        }),
      }),
    ) as Record<string, unknown>;
    assert.equal(out.orders, 'created');
    assert.equal(out['customers-validated'], 'created');
    assert.deepEqual(out.customers, {
      name: 'POLICY_VIOLATION',
      str: 'topic policy "pii-validated": confluent.value.schema.validation=true is required for topics tagged pii: the topic\'s values must be validated against the schema registry',
    });
  });

  for (const codec of ['none', 'zstd']) {
    it(`confluent-kafka (${codec}): records without a header, with an unknown id, or a body that does not match are refused with INVALID_RECORD; good ones delivered`, async (t) => {
      const { bootstrap, port, refusals } = await setup(t);
      await python(CREATE, { input: JSON.stringify({ bootstrap, topics: { orders: { 'confluent.value.schema.validation': 'true', 'schema.validation': 'payload' } } }) });
      const values = [framed(1, { id: 1 }), Buffer.from('{"id":2}'), framed(9, { id: 3 }), framed(2, { id: 4 }), framed(1, { id: 'five' }), framed(1, { id: 6 })];
      const reports = JSON.parse(await python(PRODUCE, { input: JSON.stringify({ bootstrap, topic: 'orders', codec, values: values.map((v) => v.toString('hex')) }) })) as ({ name: string; str: string; retriable: boolean } | null)[];
      assert.equal(reports.length, values.length);
      assert.equal(reports[0], null);
      assert.equal(reports[5], null);
      // librdkafka 2.0 names code 87 "Broker failed to validate record" and does not retry it. It
      // produces with Produce v7 (its debug log says ApiVersion 7), so record_errors and error_message
      // (v8+) never reach it: the delivery report carries the code only.
      for (const r of reports.slice(1, 5)) assert.deepEqual(r, { name: 'INVALID_RECORD', code: 87, str: 'Broker: Broker failed to validate record', retriable: false });
      const stored = await storedValues(port, 'orders');
      assert.deepEqual(stored.map(payloadOf), [{ id: 1 }, { id: 6 }]);
      assert.deepEqual(refusals.map((r) => Object.keys(r.reasons)[0]), ['no-header', 'unknown-id', 'wrong-subject', 'bad-payload']);
    });
  }

  it('kcat: a line without a header is refused, a framed one delivered', async (t) => {
    const { bootstrap, port } = await setup(t);
    await python(CREATE, { input: JSON.stringify({ bootstrap, topics: { orders: { 'confluent.value.schema.validation': 'true', 'schema.validation': 'payload' } } }) });
    const good = await kcat(['-b', bootstrap, '-P', '-t', 'orders', '-p', '0'], { input: Buffer.concat([framed(1, { id: 7 }), Buffer.from('\n')]) });
    assert.equal(good.code, 0, good.stderr);
    const bad = await kcat(['-b', bootstrap, '-P', '-t', 'orders', '-p', '0'], { input: Buffer.from('{"id":8}\n') });
    // kcat reports the delivery failure and exits non-zero (librdkafka's name of code 87).
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Delivery failed for message: Broker: Broker failed to validate record/);
    const stored = await storedValues(port, 'orders');
    assert.deepEqual(stored, [framed(1, { id: 7 })]);
  });
});
