import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it, type TestContext } from 'node:test';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../../src/protocol/acl.js';
import { readWireFormat, writeWireFormat } from '../../src/schemas/wire-format.js';
import { loadSchemaRegistryClient, schemaRegistryClientSkip, type SchemaRegistryClient } from '../helpers/schema-registry-client.js';
import { startSecureBroker, type SecureBroker } from '../helpers/secure-broker.js';

/**
 * Node's serializers through Parapet (issue 18): @kafkajs/confluent-schema-registry registers Avro and
 * Protobuf schemas in the broker's registry and encodes records, KafkaJS produces them (gzip and not) to
 * topics that validate their values' payloads, and consumes them back as alice, under a masking policy,
 * and as bob, exempt: alice's card numbers end in their last four digits, bob's are whole, and both
 * decode with the library.
 *
 * The library writes Protobuf records without Confluent's message indexes (its issue #152): the broker
 * refuses them on a topic that validates payloads (they are not Confluent's wire format), and masks them
 * whole for alice where they are stored. Confluent's serializers write the index byte 0 before the
 * message: the records produced here do the same, and the library's decoder reads them (and what the
 * broker writes back) as its own.
 */

const USERS = { alice: 'alice-password-1', bob: 'bob-password-1' } as const;
const CARD = '4111111111111234';

const AVRO = JSON.stringify({
  type: 'record',
  name: 'Customer',
  namespace: 'com.example',
  fields: [
    { name: 'name', type: 'string' },
    { name: 'card', type: { type: 'record', name: 'Card', fields: [{ name: 'number', type: 'string' }, { name: 'expiry', type: 'string' }] } },
    { name: 'visits', type: 'long' },
  ],
});
// The library writes and reads the first message of the file (index 0): Customer comes first.
const PROTO = 'syntax = "proto3";\npackage com.example;\nmessage Customer {\n  string name = 1;\n  Card card = 2;\n  int64 visits = 3;\n}\nmessage Card {\n  string number = 1;\n  string expiry = 2;\n}\n';

const allow = (principal: string, resourceType: number, name: string, operation: number) => ({ resourceType, resourceName: name, patternType: PatternType.PREFIXED, principal, host: '*', operation, permission: AclPermissionType.ALLOW });

async function setup(t: TestContext): Promise<SecureBroker> {
  return startSecureBroker(t, {
    users: USERS,
    acls: (['alice', 'bob'] as const).flatMap((u) => [
      allow(`User:${u}`, ResourceType.TOPIC, 'cust-', AclOperation.READ),
      allow(`User:${u}`, ResourceType.GROUP, `g-${u}`, AclOperation.READ),
      allow(`User:${u}`, ResourceType.SUBJECT, 'cust-', AclOperation.READ),
    ]),
    broker: { masking: { policies: [{ name: 'cards', topics: ['cust-*'], exempt: ['User:bob'], fields: [{ path: 'card.number', rule: 'keep-last 4' }] }] } },
  });
}

function registry(b: SecureBroker, user: string, password: string): SchemaRegistryClient {
  const lib = loadSchemaRegistryClient();
  assert.ok(lib, '@kafkajs/confluent-schema-registry is installed');
  return new lib.SchemaRegistry({ host: b.broker.adminUrl ?? assert.fail('no admin endpoint'), auth: { username: user, password } }, {});
}

function kafka(b: SecureBroker, user: string, password: string): Kafka {
  return new Kafka({ clientId: `governance-${user}`, brokers: [b.bootstrap], ssl: { ca: [readFileSync(b.caFile)] }, sasl: { mechanism: 'scram-sha-512', username: user, password }, logLevel: logLevel.NOTHING });
}

/** Every value of `topic` as `user` reads it with a KafkaJS consumer group. */
async function consumeAll(b: SecureBroker, user: keyof typeof USERS, topic: string, count: number): Promise<Buffer[]> {
  const consumer = kafka(b, user, USERS[user]).consumer({ groupId: `g-${user}-${topic}`, sessionTimeout: 10_000 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const values: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`${user} read ${values.length} of ${count} from ${topic}`));
      }, 20_000);
      void consumer.run({
        eachMessage: ({ message }) => {
          values.push(message.value ?? Buffer.alloc(0));
          if (values.length === count) {
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
}

describe('Node serializers (@kafkajs/confluent-schema-registry) through the registry, validation and masking', { skip: schemaRegistryClientSkip }, () => {
  it('Avro: registered, validated, produced gzip and plain, masked for alice and clear for bob', async (t) => {
    const b = await setup(t);
    const admin = { user: 'admin', password: b.adminPassword };
    const producerKafka = kafka(b, admin.user, admin.password);
    const adminClient = producerKafka.admin();
    await adminClient.connect();
    await adminClient.createTopics({ topics: [{ topic: 'cust-avro', numPartitions: 1, configEntries: [{ name: 'confluent.value.schema.validation', value: 'true' }, { name: 'schema.validation', value: 'payload' }] }] });
    await adminClient.disconnect();
    const reg = registry(b, admin.user, admin.password);
    const { id } = await reg.register({ type: 'AVRO', schema: AVRO }, { subject: 'cust-avro-value' });
    assert.equal(await reg.getLatestSchemaId('cust-avro-value'), id);
    const customer = (i: number) => ({ name: `c${i}`, card: { number: CARD, expiry: '12/29' }, visits: i });
    const producer = producerKafka.producer();
    await producer.connect();
    t.after(() => producer.disconnect());
    await producer.send({ topic: 'cust-avro', compression: CompressionTypes.GZIP, messages: await Promise.all([0, 1, 2].map(async (i) => ({ value: await reg.encode(id, customer(i)) }))) });
    await producer.send({ topic: 'cust-avro', messages: [{ value: await reg.encode(id, customer(3)) }] });
    // A record that is not the registered schema's (its bytes cut short) is refused by payload validation.
    const good = await reg.encode(id, customer(4));
    await assert.rejects(producer.send({ topic: 'cust-avro', acks: -1, messages: [{ value: good.subarray(0, good.length - 3) }] }), (err: Error & { type?: string }) => err.type === 'INVALID_RECORD' || /INVALID_RECORD|validate/i.test(err.message));

    const alice = await Promise.all((await consumeAll(b, 'alice', 'cust-avro', 4)).map((v) => reg.decode(v) as Promise<{ name: string; card: { number: string }; visits: number }>));
    assert.deepEqual(alice.map((c) => [c.name, c.card.number, c.visits]), [0, 1, 2, 3].map((i) => [`c${i}`, '************1234', i]));
    const bob = await Promise.all((await consumeAll(b, 'bob', 'cust-avro', 4)).map((v) => reg.decode(v) as Promise<{ card: { number: string } }>));
    assert.ok(bob.every((c) => c.card.number === CARD));
  });

  it('Protobuf: registered, validated, in Confluent’s wire format masked for alice and clear for bob; the library’s own framing refused', async (t) => {
    const b = await setup(t);
    const admin = { user: 'admin', password: b.adminPassword };
    const producerKafka = kafka(b, admin.user, admin.password);
    const adminClient = producerKafka.admin();
    await adminClient.connect();
    await adminClient.createTopics({ topics: [{ topic: 'cust-proto', numPartitions: 1, configEntries: [{ name: 'confluent.value.schema.validation', value: 'true' }, { name: 'schema.validation', value: 'payload' }] }] });
    await adminClient.disconnect();
    const reg = registry(b, admin.user, admin.password);
    const { id } = await reg.register({ type: 'PROTOBUF', schema: PROTO }, { subject: 'cust-proto-value' });
    const customer = (i: number) => ({ name: `c${i}`, card: { number: CARD, expiry: '12/29' }, visits: i });
    // The library's bytes, with Confluent's message index of the first message (0) put back in.
    const confluentFramed = async (i: number) => {
      const frame = readWireFormat(await reg.encode(id, customer(i)));
      assert.ok(frame.kind === 'framed');
      return writeWireFormat(frame.schemaId, Buffer.concat([Buffer.of(0), frame.payload]));
    };
    const producer = producerKafka.producer();
    await producer.connect();
    t.after(() => producer.disconnect());
    await producer.send({ topic: 'cust-proto', compression: CompressionTypes.GZIP, messages: await Promise.all([0, 1].map(async (i) => ({ value: await confluentFramed(i) }))) });
    await producer.send({ topic: 'cust-proto', messages: [{ value: await confluentFramed(2) }] });
    await assert.rejects(producer.send({ topic: 'cust-proto', acks: -1, messages: [{ value: await reg.encode(id, customer(3)) }] }), 'without message indexes, not Confluent’s wire format: refused');

    const alice = await Promise.all((await consumeAll(b, 'alice', 'cust-proto', 3)).map((v) => reg.decode(v) as Promise<{ name: string; card: { number: string } }>));
    assert.deepEqual(alice.map((c) => [c.name, c.card.number]), [0, 1, 2].map((i) => [`c${i}`, '************1234']));
    const bob = await Promise.all((await consumeAll(b, 'bob', 'cust-proto', 3)).map((v) => reg.decode(v) as Promise<{ card: { number: string } }>));
    assert.ok(bob.every((c) => c.card.number === CARD));
  });
});
