import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { AclOperation, ResourceType } from '../../src/protocol/acl.js';
import { startSecureBroker } from '../helpers/secure-broker.js';
import { python } from './support.js';
import { allow, appAcls, deniedOnTopic, deniedResource, describeEvents, logins } from './security-support.js';

/**
 * confluent-kafka 1.7.0 (librdkafka 2.0.2) over SASL_SSL with the init CA and hostname verification.
 * The super user's AdminClient is configured from the properties file `parapet init` wrote, read as
 * is; the application user authenticates with SCRAM-SHA-256 (SaslHandshake v1 + SaslAuthenticate),
 * produces, and consumes as a group member. A write to a topic it may only read must come back as a
 * delivery report with TOPIC_AUTHORIZATION_FAILED, the error code Kafka gives.
 */

const USERS = { carol: 'carol-interop-password-333' };
const TOPIC = 'cf-orders';
const READ_ONLY_TOPIC = 'cf-ledger';
const GROUP = 'cf-orders-app';

const SCRIPT = String.raw`
import json, sys, time
from confluent_kafka import Producer, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

job = json.load(sys.stdin)
# The admin properties file exactly as parapet init wrote it (# comments, key=value lines).
admin_conf = {}
for line in open(job['adminProperties']):
    line = line.strip()
    if line and not line.startswith('#'):
        k, v = line.split('=', 1)
        admin_conf[k] = v
admin = AdminClient(admin_conf)
for f in admin.create_topics([NewTopic(t, 1, 1) for t in job['topics']], operation_timeout=10, request_timeout=10).values():
    f.result(timeout=15)

user = {'bootstrap.servers': job['bootstrap'], 'security.protocol': 'SASL_SSL', 'sasl.mechanisms': 'SCRAM-SHA-256',
        'sasl.username': job['user'], 'sasl.password': job['password'], 'ssl.ca.location': job['cafile'],
        'ssl.endpoint.identification.algorithm': 'https'}

def produce(topic, messages):
    reports = []
    def report(err, msg):
        reports.append([None, msg.offset()] if err is None else [err.name(), err.code()])
    p = Producer(dict(user, **{'acks': 'all', 'linger.ms': 5, 'message.timeout.ms': 8000}))
    for k, v in messages:
        p.produce(topic, key=bytes.fromhex(k), value=bytes.fromhex(v), partition=0, on_delivery=report)
        p.poll(0)
    left = p.flush(15)
    return reports, left

sent, left = produce(job['topic'], job['messages'])

c = Consumer(dict(user, **{'group.id': job['group'], 'auto.offset.reset': 'earliest', 'enable.auto.commit': False}))
c.subscribe([job['topic']])
got, errors = [], []
deadline = time.time() + 20
while len(got) < len(job['messages']) and time.time() < deadline:
    m = c.poll(0.5)
    if m is None:
        continue
    if m.error():
        errors.append(m.error().name())
        continue
    got.append([m.offset(), m.key().hex(), m.value().hex()])
c.commit(asynchronous=False)
committed = c.committed([TopicPartition(job['topic'], 0)], timeout=10)[0].offset
c.close()

denied, denied_left = produce(job['deniedTopic'], [['6b', '6e6f']])
print(json.dumps({'sent': sent, 'left': left, 'got': got, 'errors': errors, 'committed': committed,
                  'denied': denied, 'deniedLeft': denied_left}))
`;

describe('confluent-kafka over SASL_SSL', () => {
  it('SCRAM-SHA-256 produce and group consume, byte-identical; a write without WRITE is TOPIC_AUTHORIZATION_FAILED', async (t) => {
    const b = await startSecureBroker(t, {
      users: USERS,
      acls: [...appAcls('User:carol', TOPIC, GROUP), allow('User:carol', ResourceType.TOPIC, READ_ONLY_TOPIC, AclOperation.READ)],
      broker: { groupInitialRebalanceDelayMs: 0 },
    });
    const messages = Array.from({ length: 400 }, (_, i) => [Buffer.from(`key-${i}`).toString('hex'), randomBytes((i * 41) % 513).toString('hex')] as const);
    const stdout = await python(SCRIPT, {
      input: JSON.stringify({
        adminProperties: b.adminProperties,
        bootstrap: b.bootstrap,
        cafile: b.caFile,
        user: 'carol',
        password: USERS.carol,
        topics: [TOPIC, READ_ONLY_TOPIC],
        topic: TOPIC,
        group: GROUP,
        deniedTopic: READ_ONLY_TOPIC,
        messages,
      }),
      timeoutMs: 45_000,
    });
    const out = JSON.parse(stdout) as {
      sent: [string | null, number][];
      left: number;
      got: [number, string, string][];
      errors: string[];
      committed: number;
      denied: [string | null, number][];
      deniedLeft: number;
    };
    assert.equal(out.left, 0, 'every message delivered');
    assert.deepEqual(out.sent, messages.map((_, i) => [null, i]), 'delivery reports in order, offsets 0..n-1');
    assert.deepEqual(out.errors, []);
    assert.deepEqual(out.got, messages.map(([k, v], i) => [i, k, v]), 'every record consumed once, keys and values byte-identical');
    assert.equal(out.committed, messages.length, 'the group committed the end offset');

    // Kafka's code 29; librdkafka names it RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED.
    assert.equal(out.deniedLeft, 0);
    assert.deepEqual(out.denied, [['TOPIC_AUTHORIZATION_FAILED', 29]]);
    assert.ok(deniedResource(b.events, 'User:carol', `WRITE TOPIC:${READ_ONLY_TOPIC}`), describeEvents(b.events));

    assert.ok(logins(b.events, 'User:admin').some((e) => e.mechanism === 'SCRAM-SHA-512'), 'the admin used the init file');
    const carol = logins(b.events, 'User:carol');
    assert.ok(carol.length >= 2, describeEvents(b.events));
    assert.ok(carol.every((e) => e.mechanism === 'SCRAM-SHA-256'), describeEvents(carol));
    assert.deepEqual(deniedOnTopic(b.events, 'User:carol', TOPIC), [], describeEvents(b.events));
    assert.deepEqual(b.events.filter((e) => e.type === 'authentication-failed'), []);
  });
});
