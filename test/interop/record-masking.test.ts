import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it, type TestContext } from 'node:test';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { MASKED_HEADER } from '../../src/governance/masking/batch-rewriter.js';
import { MaskingPolicySet, compilePolicy } from '../../src/governance/masking/policy.js';
import { AclOperation, ResourceType } from '../../src/protocol/acl.js';
import { jsonSchemaFormat } from '../../src/schemas/formats/json-schema.js';
import type { SchemaLookup } from '../../src/schemas/types.js';
import { recordMasking } from '../../src/server/stages/record-masking.js';
import { startSecureBroker, type SecureBroker } from '../helpers/secure-broker.js';
import { allow, kcat } from './security-support.js';
import { python } from './support.js';

/**
 * Masking on fetch seen by real consumers (docs/governance/masking.md): confluent-kafka (librdkafka
 * 2.x, zstd and lz4 batches it compressed itself), kcat and KafkaJS read the same records as alice,
 * under the policy, and as bob, exempt. Each client checks the CRC of what it gets (librdkafka with
 * check.crcs=true), so a rewritten batch with a wrong CRC or length would fail here.
 */

const USERS = { alice: 'alice-masking-password-1', bob: 'bob-masking-password-1' };
const TOPIC = 'card-payments';
/** KafkaJS decodes gzip only without codec plugins: its topic gets its own gzip and plain batches. */
const KAFKAJS_TOPIC = 'card-kafkajs';
const CARD = '4111111111111234';

/** One JSON schema, id 1, for the wire-format record the Python producer writes by hand. */
function lookup(): SchemaLookup {
  const parsed = jsonSchemaFormat.parse(JSON.stringify({ type: 'object', properties: { card: { type: 'object' } } }), new Map());
  if ('error' in parsed) assert.fail(parsed.error);
  const compiled = jsonSchemaFormat.compile(1, parsed);
  return { schemaById: () => undefined, subjectHasId: () => true, compiled: (id) => (id === 1 ? compiled : { error: 'unknown' }) };
}

const POLICIES = new MaskingPolicySet([
  compilePolicy({ name: 'cards', topics: ['card-*'], exempt: ['User:bob'], fields: [{ path: 'card.number', rule: 'keep-last 4' }, { path: 'email', rule: 'hash' }] }, 'config', {}, Buffer.alloc(32, 5)),
]);

const PRODUCE = String.raw`
import json, sys
from confluent_kafka import Producer
job = json.load(sys.stdin)
conf = {}
for line in open(job['adminProperties']):
    line = line.strip()
    if line and not line.startswith('#'):
        k, v = line.split('=', 1)
        conf[k] = v
for codec in ['zstd', 'lz4', 'none']:
    p = Producer(dict(conf, **{'compression.type': codec, 'linger.ms': 50}))
    for i in range(3):
        p.produce(job['topic'], key=('%s-%d' % (codec, i)).encode(), partition=0,
                  value=json.dumps({'card': {'number': job['card']}, 'email': 'ann@example.com', 'codec': codec}).encode())
    p.flush(15)
p = Producer(conf)
# Confluent's wire format by hand: magic 0, schema id 1, then the JSON payload.
p.produce(job['topic'], key=b'framed', partition=0, value=b'\x00\x00\x00\x00\x01' + json.dumps({'card': {'number': job['card']}}).encode())
p.produce(job['topic'], key=b'raw', partition=0, value=('card ' + job['card']).encode())
p.flush(15)
`;

const CONSUME = String.raw`
import json, sys, time
from confluent_kafka import Consumer, TopicPartition
job = json.load(sys.stdin)
c = Consumer({'bootstrap.servers': job['bootstrap'], 'security.protocol': 'SASL_SSL', 'sasl.mechanisms': 'SCRAM-SHA-512',
              'sasl.username': job['user'], 'sasl.password': job['password'], 'ssl.ca.location': job['cafile'],
              'group.id': 'unused', 'enable.auto.commit': False, 'check.crcs': True})
c.assign([TopicPartition(job['topic'], 0, 0)])
got, errors = [], []
deadline = time.time() + 20
while len(got) < job['count'] and time.time() < deadline:
    m = c.poll(0.5)
    if m is None:
        continue
    if m.error():
        errors.append(m.error().name())
        continue
    got.append({'offset': m.offset(), 'key': m.key().decode(), 'value': m.value().hex(), 'headers': [[k, v.decode()] for k, v in (m.headers() or [])]})
c.close()
print(json.dumps({'got': got, 'errors': errors}))
`;

const COUNT = 11;

interface Got {
  offset: number;
  key: string;
  value: string;
  headers: [string, string][];
}

async function setup(t: TestContext): Promise<SecureBroker> {
  const b = await startSecureBroker(t, {
    users: USERS,
    acls: [
      ...['alice', 'bob'].flatMap((u) => [TOPIC, KAFKAJS_TOPIC, '*'].map((name) => allow(`User:${u}`, name === '*' ? ResourceType.GROUP : ResourceType.TOPIC, name, AclOperation.READ))),
      allow('User:alice', ResourceType.TOPIC, KAFKAJS_TOPIC, AclOperation.WRITE),
    ],
    deps: { stages: [recordMasking({ policies: () => POLICIES, lookup: lookup() })] },
    broker: { groupInitialRebalanceDelayMs: 0 },
  });
  await python(`
import json, sys
from confluent_kafka.admin import AdminClient, NewTopic
job = json.load(sys.stdin)
conf = dict(l.strip().split('=', 1) for l in open(job['adminProperties']) if l.strip() and not l.startswith('#'))
admin = AdminClient(conf)
for f in admin.create_topics([NewTopic(t, 1, 1) for t in job['topics']], operation_timeout=10).values():
    f.result(timeout=15)
`, { input: JSON.stringify({ adminProperties: b.adminProperties, topics: [TOPIC, KAFKAJS_TOPIC] }) });
  await python(PRODUCE, { input: JSON.stringify({ adminProperties: b.adminProperties, topic: TOPIC, card: CARD }) });
  return b;
}

/** The records as one user's confluent-kafka consumer gets them. */
async function consume(b: SecureBroker, user: keyof typeof USERS): Promise<Got[]> {
  const out = JSON.parse(await python(CONSUME, { input: JSON.stringify({ bootstrap: b.bootstrap, user, password: USERS[user], cafile: b.caFile, topic: TOPIC, count: COUNT }) })) as { got: Got[]; errors: string[] };
  assert.deepEqual(out.errors, []);
  assert.equal(out.got.length, COUNT);
  return out.got;
}

const text = (hex: string) => Buffer.from(hex, 'hex').toString('utf8');

describe('record masking seen by real consumers', () => {
  it('confluent-kafka, kcat and KafkaJS: alice gets ****1234 and hashes, bob the clear records', async (t) => {
    const b = await setup(t);

    await t.test('confluent-kafka (zstd, lz4 and uncompressed batches of librdkafka, CRCs checked)', async () => {
      const alice = await consume(b, 'alice');
      const bob = await consume(b, 'bob');
      assert.deepEqual(alice.map((r) => r.offset), bob.map((r) => r.offset), 'the same offsets');
      assert.deepEqual(alice.map((r) => r.key), bob.map((r) => r.key), 'the same keys');
      const jsonRecords = alice.filter((r) => r.key !== 'framed' && r.key !== 'raw');
      assert.equal(jsonRecords.length, 9);
      for (const r of jsonRecords) {
        const v = JSON.parse(text(r.value)) as { card: { number: string }; email: string; codec: string };
        assert.equal(v.card.number, '************1234');
        assert.match(v.email, /^[0-9a-f]{64}$/);
        assert.equal(r.key.split('-')[0], v.codec);
      }
      for (const r of bob.filter((r) => r.key !== 'framed' && r.key !== 'raw')) assert.equal((JSON.parse(text(r.value)) as { card: { number: string } }).card.number, CARD);
      const framed = alice.find((r) => r.key === 'framed');
      const raw = alice.find((r) => r.key === 'raw');
      assert.ok(framed !== undefined && raw !== undefined);
      assert.equal(framed.value.slice(0, 10), '0000000001', 'the wire-format header and id are kept');
      assert.deepEqual(JSON.parse(text(framed.value.slice(10))), { card: { number: '************1234' } });
      assert.equal(raw.value, '', 'not JSON: masked whole');
      assert.deepEqual(raw.headers, [[MASKED_HEADER, 'not-json']]);
      assert.equal(text(bob.find((r) => r.key === 'raw')?.value ?? ''), `card ${CARD}`);
      assert.ok(!alice.some((r) => text(r.value).includes(CARD)), 'the card number never reaches alice');
    });

    await t.test('kcat', async () => {
      const run = async (user: keyof typeof USERS) => {
        const props = b.clientConfig(user, USERS[user]);
        const r = await kcat(['-F', props, '-C', '-t', TOPIC, '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%k=%s\\n', '-X', 'check.crcs=true']);
        assert.equal(r.code, 0, r.stderr);
        return r.stdout.toString('utf8');
      };
      const alice = await run('alice');
      const bob = await run('bob');
      assert.ok(!alice.includes(CARD));
      assert.equal(alice.match(/\*{12}1234/g)?.length, 10, 'nine JSON records and the framed one');
      assert.equal(bob.split(CARD).length - 1, COUNT);
    });

    await t.test('KafkaJS (gzip and uncompressed batches it wrote as alice)', async () => {
      const kafka = (user: keyof typeof USERS) =>
        new Kafka({ clientId: `masking-${user}`, brokers: [b.bootstrap], ssl: { ca: [readFileSync(b.caFile)] }, sasl: { mechanism: 'scram-sha-256', username: user, password: USERS[user] }, logLevel: logLevel.NOTHING });
      const producer = kafka('alice').producer();
      await producer.connect();
      const message = (i: number) => ({ key: `k${i}`, value: JSON.stringify({ card: { number: CARD }, email: 'ann@example.com', i }), partition: 0 });
      await producer.send({ topic: KAFKAJS_TOPIC, compression: CompressionTypes.GZIP, messages: [0, 1, 2].map(message) });
      await producer.send({ topic: KAFKAJS_TOPIC, messages: [3, 4].map(message) });
      await producer.send({ topic: KAFKAJS_TOPIC, messages: [{ key: 'raw', value: `card ${CARD}`, partition: 0 }] });
      await producer.disconnect();
      const read = async (user: keyof typeof USERS) => {
        const consumer = kafka(user).consumer({ groupId: `masking-${user}`, sessionTimeout: 10_000 });
        await consumer.connect();
        try {
          await consumer.subscribe({ topic: KAFKAJS_TOPIC, fromBeginning: true });
          const values: string[] = [];
          await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => {
              reject(new Error(`KafkaJS read ${values.length} of 6`));
            }, 20_000);
            void consumer.run({
              eachMessage: async ({ message }) => {
                values.push(message.value?.toString('utf8') ?? '<null>');
                if (values.length === 6) {
                  clearTimeout(timer);
                  resolve();
                }
                return Promise.resolve();
              },
            });
          });
          return values;
        } finally {
          await consumer.disconnect();
        }
      };
      const alice = await read('alice');
      assert.ok(!alice.some((v) => v.includes(CARD)));
      assert.equal(alice.filter((v) => v.includes('************1234')).length, 5);
      assert.ok(alice.includes(''), 'the raw record, masked whole, is an empty value (not a tombstone)');
      const bob = await read('bob');
      assert.equal(bob.filter((v) => v.includes(CARD)).length, 6);
    });
  });
});
