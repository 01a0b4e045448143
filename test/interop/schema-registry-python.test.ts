import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AclOperation, PatternType, ResourceType } from '../../src/protocol/acl.js';
import { TEST_ADMIN_ENDPOINT } from '../helpers/admin-endpoint.js';
import { startSecureBroker } from '../helpers/secure-broker.js';
import { createTlsFixture } from '../helpers/tls-fixtures.js';
import { python } from './support.js';
import { allow, appAcls } from './security-support.js';

/**
 * confluent-kafka 1.7.0's schema_registry module (SchemaRegistryClient over `requests`, with
 * `basic.auth.user.info` and `ssl.ca.location`) against the registry on Parapet's admin endpoint over
 * TLS: the JSONSerializer registers its schema on the first record, the records go to Parapet over
 * SASL_SSL and come back deserialized; then the client's own calls (get_schema by the id of the
 * wire-format header, get_latest_version, get_versions, a breaking change, delete_subject) and its
 * errors (SchemaRegistryError with Confluent's http status and error code).
 */

const USERS = { dana: 'dana-registry-password-1', erin: 'erin-registry-password-1' };
const TOPIC = 'sr-orders';
const SUBJECT = `${TOPIC}-value`;

const SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'Order',
  type: 'object',
  properties: { id: { type: 'integer' }, item: { type: 'string' } },
  required: ['id', 'item'],
};
/** A new required property: consumers on it cannot read the orders already written (BACKWARD breaks). */
const BREAKING = { ...SCHEMA, properties: { ...SCHEMA.properties, customer: { type: 'string' } }, required: ['id', 'item', 'customer'] };

const SCRIPT = String.raw`
import json, os, sys, time
# requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a Session's verify (requests issue 3829),
# so with them set the client's ssl.ca.location would be ignored: a user who has them set meets the same.
os.environ.pop('REQUESTS_CA_BUNDLE', None)
os.environ.pop('CURL_CA_BUNDLE', None)
from confluent_kafka import Producer, Consumer
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient, Schema
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.json_schema import JSONSerializer, JSONDeserializer
from confluent_kafka.serialization import SerializationContext, MessageField

job = json.load(sys.stdin)
admin_conf = {}
for line in open(job['adminProperties']):
    line = line.strip()
    if line and not line.startswith('#'):
        k, v = line.split('=', 1)
        admin_conf[k] = v
admin = AdminClient(admin_conf)
for f in admin.create_topics([NewTopic(job['topic'], 1, 1)], operation_timeout=10, request_timeout=10).values():
    f.result(timeout=15)

def registry(user, password):
    return SchemaRegistryClient({'url': job['url'], 'basic.auth.user.info': user + ':' + password, 'ssl.ca.location': job['registryCa']})

def error_of(call):
    try:
        call()
        return None
    except SchemaRegistryError as e:
        return [e.http_status_code, e.error_code]

out = {}
sr = registry(job['user'], job['password'])
ctx = SerializationContext(job['topic'], MessageField.VALUE)
serialize = JSONSerializer(job['schema'], sr)
kafka = {'bootstrap.servers': job['bootstrap'], 'security.protocol': 'SASL_SSL', 'sasl.mechanisms': 'SCRAM-SHA-256',
         'sasl.username': job['user'], 'sasl.password': job['password'], 'ssl.ca.location': job['cafile']}
p = Producer(dict(kafka, **{'acks': 'all'}))
reports = []
for order in job['orders']:
    p.produce(job['topic'], value=serialize(order, ctx), partition=0, on_delivery=lambda err, msg: reports.append(None if err is None else err.name()))
out['left'] = p.flush(15)
out['reports'] = reports

c = Consumer(dict(kafka, **{'group.id': 'sr-app', 'auto.offset.reset': 'earliest', 'enable.auto.commit': False}))
c.subscribe([job['topic']])
deserialize = JSONDeserializer(job['schema'])
got, ids = [], []
deadline = time.time() + 20
while len(got) < len(job['orders']) and time.time() < deadline:
    m = c.poll(0.5)
    if m is None or m.error():
        continue
    ids.append(int.from_bytes(m.value()[1:5], 'big'))
    got.append(deserialize(m.value(), ctx))
c.close()
out['got'] = got
out['ids'] = ids

fresh = registry(job['user'], job['password'])
fetched = fresh.get_schema(ids[0])
out['fetched'] = [fetched.schema_str, fetched.schema_type]
latest = fresh.get_latest_version(job['subject'])
out['latest'] = [latest.schema_id, latest.subject, latest.version, latest.schema.schema_type]
out['versions'] = fresh.get_versions(job['subject'])
out['compatibility'] = error_of(lambda: fresh.get_compatibility())
out['breaking'] = error_of(lambda: fresh.register_schema(job['subject'], Schema(job['breaking'], 'JSON')))
out['wrongPassword'] = error_of(lambda: registry(job['user'], 'not-the-password').get_subjects())
out['noAcl'] = error_of(lambda: registry(job['other'], job['otherPassword']).get_latest_version(job['subject']))
out['otherSubjects'] = registry(job['other'], job['otherPassword']).get_subjects()
out['deleted'] = fresh.delete_subject(job['subject'], permanent=True)
out['afterDelete'] = error_of(lambda: fresh.get_versions(job['subject']))
print(json.dumps(out))
`;

describe('confluent-kafka’s schema registry client against Parapet’s registry', { timeout: 120_000 }, () => {
  it('JSONSerializer registers and produces, the consumer deserializes; the client’s calls and errors are Confluent’s', async (t) => {
    // The admin endpoint's own certificate (SAN 127.0.0.1) and CA: the registry client trusts that CA, the Kafka client init's.
    const endpointTls = await createTlsFixture(t);
    const b = await startSecureBroker(t, {
      users: USERS,
      acls: [
        ...appAcls('User:dana', TOPIC, 'sr-app'),
        // The serializer registers (WRITE), the client reads versions (READ) and deletes (DELETE) under sr-*.
        ...[AclOperation.WRITE, AclOperation.READ, AclOperation.DELETE].map((op) => ({ ...allow('User:dana', ResourceType.SUBJECT, 'sr-', op), patternType: PatternType.PREFIXED })),
      ],
      broker: { adminEndpoint: { ...TEST_ADMIN_ENDPOINT, tls: { certFile: endpointTls.tlsFiles.certFile, keyFile: endpointTls.tlsFiles.keyFile } }, groupInitialRebalanceDelayMs: 0 },
    });
    const url = b.broker.adminUrl;
    assert.match(url ?? '', /^https:\/\/127\.0\.0\.1:\d+$/);
    const orders = [
      { id: 1, item: 'tea' },
      { id: 2, item: 'cups' },
      { id: 3, item: 'a teapot, "blue" ✓' },
    ];
    const stdout = await python(SCRIPT, {
      input: JSON.stringify({
        url,
        cafile: b.caFile,
        adminProperties: b.adminProperties,
        bootstrap: b.bootstrap,
        topic: TOPIC,
        subject: SUBJECT,
        user: 'dana',
        password: USERS.dana,
        other: 'erin',
        otherPassword: USERS.erin,
        schema: JSON.stringify(SCHEMA),
        breaking: JSON.stringify(BREAKING),
        orders,
        registryCa: endpointTls.tlsFiles.caFile,
      }),
      timeoutMs: 60_000,
    });
    const out = JSON.parse(stdout) as {
      left: number;
      reports: (string | null)[];
      got: unknown[];
      ids: number[];
      fetched: [string, string];
      latest: [number, string, number, string];
      versions: number[];
      compatibility: [number, number] | null;
      breaking: [number, number] | null;
      wrongPassword: [number, number] | null;
      noAcl: [number, number] | null;
      otherSubjects: string[];
      deleted: number[];
      afterDelete: [number, number] | null;
    };
    assert.equal(out.left, 0);
    assert.deepEqual(out.reports, [null, null, null]);
    assert.deepEqual(out.got, orders, 'every order back, deserialized by its schema');
    assert.deepEqual(out.ids, [1, 1, 1], 'the wire-format header names the registered id');
    assert.deepEqual(out.fetched, [JSON.stringify(SCHEMA), 'JSON']);
    assert.deepEqual(out.latest, [1, SUBJECT, 1, 'JSON']);
    assert.deepEqual(out.versions, [1]);
    assert.deepEqual(out.compatibility, [403, 40301], 'the global config needs DESCRIBE_CONFIGS on the CLUSTER, which dana has not');
    assert.deepEqual(out.wrongPassword, [401, 40101]);
    assert.deepEqual(out.noAcl, [403, 40301]);
    assert.deepEqual(out.otherSubjects, [], 'erin may describe no subject: the list is empty, not refused');
    // BACKWARD (the default): the breaking change is refused, and stays out of the subject's versions.
    assert.deepEqual(out.breaking, [409, 409], 'SchemaRegistryError with http 409 and error_code 409');
    assert.deepEqual(out.deleted, [1], 'delete_subject(permanent=True): soft, then hard');
    assert.deepEqual(out.afterDelete, [404, 40401]);
  });
});
