import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AclOperation, ResourceType } from '../../src/protocol/acl.js';
import { startSecureBroker } from '../helpers/secure-broker.js';
import { allow, deniedResource, describeEvents } from './security-support.js';
import { python } from './support.js';

/**
 * Transactions under ACLs with confluent-kafka 1.7.0 over SASL_SSL (Kafka's semantics): without an ACL
 * on its TRANSACTIONAL_ID a producer cannot even find its coordinator (FindCoordinator needs DESCRIBE:
 * TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 53). With WRITE on it, a topic it may describe but not write
 * fails the transaction (AddPartitionsToTxn: TOPIC_AUTHORIZATION_FAILED, 29; a topic it may not even
 * describe fails the message at Metadata), and so does committing offsets of a group it may not read
 * (AddOffsetsToTxn: GROUP_AUTHORIZATION_FAILED, 30). Both are abortable: after an abort the same
 * producer commits where it may write.
 */

const USERS = { dave: 'dave-interop-password-444', erin: 'erin-interop-password-555' };

const SCRIPT = String.raw`
import json, sys
from confluent_kafka import Producer, Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
job = json.load(sys.stdin)
admin_conf = dict(l.strip().split('=', 1) for l in open(job['adminProperties']) if l.strip() and not l.strip().startswith('#'))
admin = AdminClient(admin_conf)
for f in admin.create_topics([NewTopic(t, 1, 1) for t in ['tx-ok', 'tx-secret']], operation_timeout=10).values():
    f.result(timeout=15)
def user(name):
    return {'bootstrap.servers': job['bootstrap'], 'security.protocol': 'SASL_SSL', 'sasl.mechanisms': 'SCRAM-SHA-256',
            'sasl.username': name, 'sasl.password': job['passwords'][name], 'ssl.ca.location': job['cafile'], 'log_level': 0}
def error_of(fn):
    try:
        fn()
        return None
    except KafkaException as e:
        return e.args[0].name()
out = {}
dave = Producer(dict(user('dave'), **{'transactional.id': 'dave-tx'}))
out['daveInit'] = error_of(lambda: dave.init_transactions(10))
erin = Producer(dict(user('erin'), **{'transactional.id': 'erin-tx'}))
out['erinInit'] = error_of(lambda: erin.init_transactions(10))
erin.begin_transaction()
reports = []
erin.produce('tx-secret', b'no', partition=0, on_delivery=lambda err, msg: reports.append(None if err is None else err.name()))
erin.flush(10)
out['secretDelivery'] = reports
out['secretCommit'] = error_of(lambda: erin.commit_transaction(10))
out['secretAbort'] = error_of(lambda: erin.abort_transaction(10))
erin.begin_transaction()
erin.produce('tx-ok', b'maybe', partition=0)
group = Consumer(dict(user('erin'), **{'group.id': 'erin-group'})).consumer_group_metadata()
out['offsets'] = error_of(lambda: erin.send_offsets_to_transaction([TopicPartition('tx-ok', 0, 1)], group, 10))
out['offsetsAbort'] = error_of(lambda: erin.abort_transaction(10))
erin.begin_transaction()
erin.produce('tx-ok', b'yes', partition=0)
out['okCommit'] = error_of(lambda: erin.commit_transaction(10))
print(json.dumps(out))
`;

describe('transactions under ACLs (confluent-kafka over SASL_SSL)', () => {
  it('TRANSACTIONAL_ID WRITE, topic WRITE and group READ are each required, with Kafka’s error codes', async (t) => {
    const b = await startSecureBroker(t, {
      users: USERS,
      acls: [
        allow('User:dave', ResourceType.TOPIC, 'tx-ok', AclOperation.WRITE),
        allow('User:erin', ResourceType.TRANSACTIONAL_ID, 'erin-tx', AclOperation.WRITE),
        allow('User:erin', ResourceType.TOPIC, 'tx-ok', AclOperation.WRITE),
        allow('User:erin', ResourceType.TOPIC, 'tx-ok', AclOperation.READ),
        // It may see the topic (else librdkafka fails the message at Metadata, before the transaction).
        allow('User:erin', ResourceType.TOPIC, 'tx-secret', AclOperation.DESCRIBE),
      ],
    });
    const out = JSON.parse(
      await python(SCRIPT, { input: JSON.stringify({ adminProperties: b.adminProperties, bootstrap: b.bootstrap, cafile: b.caFile, passwords: USERS }), timeoutMs: 90_000 }),
    ) as Record<string, unknown>;
    assert.deepEqual(out, {
      daveInit: 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
      erinInit: null,
      // The transaction failed at AddPartitionsToTxn: librdkafka purges the message (it was never sent).
      secretDelivery: ['_PURGE_QUEUE'],
      secretCommit: 'TOPIC_AUTHORIZATION_FAILED',
      secretAbort: null,
      offsets: 'GROUP_AUTHORIZATION_FAILED',
      offsetsAbort: null,
      okCommit: null,
    });
    assert.ok(deniedResource(b.events, 'User:dave', 'DESCRIBE TRANSACTIONAL_ID:dave-tx'), describeEvents(b.events));
    assert.ok(b.events.some((e) => e.type === 'authorization-denied' && e.api === 'AddPartitionsToTxn' && e.resources.includes('WRITE TOPIC:tx-secret')), describeEvents(b.events));
    assert.ok(deniedResource(b.events, 'User:erin', 'READ GROUP:erin-group'), describeEvents(b.events));
  });
});
