import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEvent } from '../../src/audit/audit-event.js';
import { AclOperation, ResourceType } from '../../src/protocol/acl.js';
import { auditEventsOf } from '../helpers/audit.js';
import { startSecureBroker } from '../helpers/secure-broker.js';
import { allow, kcat } from './security-support.js';
import { python } from './support.js';

/**
 * The audit trail as a SIEM connector sees it: what kcat (librdkafka), kafka-python and
 * confluent-kafka do against a broker set up by `parapet init` leaves OCSF events (class, activity,
 * actor, outcome) that a real Kafka consumer reads from `__audit` with nothing but a READ ACL, the
 * same events as in the audit file. And no client, the super user included, can write to `__audit`.
 */

const USERS = { alice: 'alice-audit-interop-1', siem: 'siem-audit-interop-22' };
const TOPIC = 'audited-orders';

/** What a test expects of an event: its class, activity, actor, outcome, and a part of its message. */
interface Expected {
  readonly what: string;
  readonly class_name: string;
  readonly activity_name: string;
  readonly actor?: string;
  readonly status: 'Success' | 'Failure';
  readonly type: string;
  readonly match?: (e: AuditEvent) => boolean;
}

function find(events: readonly AuditEvent[], x: Expected): AuditEvent | undefined {
  return events.find(
    (e) =>
      e.class_name === x.class_name &&
      e.activity_name === x.activity_name &&
      e.status === x.status &&
      e.unmapped.parapet_type === x.type &&
      (x.actor === undefined || e.actor?.user?.name === x.actor || (e.user as { name?: string } | undefined)?.name === x.actor) &&
      (x.match?.(e) ?? true),
  );
}

/** Reads `__audit` from the beginning with confluent-kafka as the `siem` user, in a consumer group. */
const SIEM_CONSUMER = String.raw`
import json, sys, time
from confluent_kafka import Consumer
job = json.load(sys.stdin)
c = Consumer({'bootstrap.servers': job['bootstrap'], 'security.protocol': 'SASL_SSL', 'sasl.mechanisms': 'SCRAM-SHA-512',
              'sasl.username': 'siem', 'sasl.password': job['password'], 'ssl.ca.location': job['cafile'],
              'group.id': 'siem-connector', 'auto.offset.reset': 'earliest', 'enable.auto.commit': False})
c.subscribe(['__audit'])
lines, errors = [], []
deadline = time.time() + 20
while time.time() < deadline:
    m = c.poll(0.5)
    if m is None:
        if lines and any(job['until'] in l for l in lines):
            break
        continue
    if m.error():
        errors.append(m.error().name())
        continue
    lines.append(m.value().decode('utf-8'))
c.close()
print(json.dumps({'lines': lines, 'errors': errors}))
`;

describe('the __audit topic read by real Kafka clients', () => {
  it('kcat, kafka-python and confluent-kafka actions leave the expected OCSF events, in the topic and in the file', async (t) => {
    const b = await startSecureBroker(t, {
      users: USERS,
      acls: [
        allow('User:alice', ResourceType.TOPIC, TOPIC, AclOperation.READ),
        allow('User:siem', ResourceType.TOPIC, '__audit', AclOperation.READ),
        allow('User:siem', ResourceType.GROUP, 'siem-connector', AclOperation.READ),
      ],
    });
    // kafka-python, as the admin: creates the topic.
    const created = await python(
      String.raw`
import json, sys
from kafka.admin import KafkaAdminClient, NewTopic
job = json.load(sys.stdin)
a = KafkaAdminClient(bootstrap_servers=job['bootstrap'], security_protocol='SASL_SSL', sasl_mechanism='SCRAM-SHA-512',
                     sasl_plain_username='admin', sasl_plain_password=job['password'], ssl_cafile=job['cafile'], api_version=(2, 5, 0))
a.create_topics([NewTopic(job['topic'], 1, 1)])
a.close()
print('ok')
`,
      { input: JSON.stringify({ bootstrap: b.bootstrap, password: b.adminPassword, cafile: b.caFile, topic: TOPIC }) },
    );
    assert.equal(created.trim(), 'ok');

    // kcat as alice: a wrong password, then a produce she has no ACL for.
    const wrong = b.clientConfig('alice', 'not-her-password');
    assert.notEqual((await kcat(['-F', wrong, '-L', '-m', '3'])).code, 0);
    const alice = b.clientConfig('alice', USERS.alice);
    const denied = await kcat(['-F', alice, '-P', '-t', TOPIC, '-p', '0', '-X', 'message.timeout.ms=3000'], { input: Buffer.from('nope\n') });
    assert.match(denied.stderr, /authoriz/i);

    // kcat as the super user: a produce to __audit is refused.
    const forged = await kcat(['-F', b.adminProperties, '-P', '-t', '__audit', '-p', '0', '-X', 'message.timeout.ms=3000'], { input: Buffer.from('{"forged":true}\n') });
    assert.match(forged.stderr, /authoriz/i, forged.stderr);

    const expected: Expected[] = [
      { what: 'the start', class_name: 'Application Lifecycle', activity_name: 'Start', status: 'Success', type: 'broker-started' },
      { what: 'the admin’s kafka-python login', class_name: 'Authentication', activity_name: 'Logon', actor: 'User:admin', status: 'Success', type: 'authentication-succeeded', match: (e) => /kafka-python/.test(e.actor?.app_name ?? '') || e.actor?.app_name === undefined },
      { what: 'the topic created by kafka-python', class_name: 'Entity Management', activity_name: 'Create', actor: 'User:admin', status: 'Success', type: 'admin-change', match: (e) => (e.entity as { name?: string } | undefined)?.name === TOPIC },
      { what: 'alice’s wrong password (kcat)', class_name: 'Authentication', activity_name: 'Logon', actor: 'User:alice', status: 'Failure', type: 'authentication-failed' },
      { what: 'alice’s kcat login', class_name: 'Authentication', activity_name: 'Logon', actor: 'User:alice', status: 'Success', type: 'authentication-succeeded', match: (e) => /librdkafka/.test(String(e.actor?.app_name)) },
      { what: 'alice’s denied produce', class_name: 'API Activity', activity_name: 'Create', actor: 'User:alice', status: 'Failure', type: 'authorization-denied', match: (e) => JSON.stringify(e.resources).includes(TOPIC) },
      { what: 'the super user’s refused write to __audit', class_name: 'API Activity', activity_name: 'Create', actor: 'User:admin', status: 'Failure', type: 'authorization-denied', match: (e) => JSON.stringify(e.resources).includes('__audit') },
    ];

    // confluent-kafka as the SIEM connector: only READ on __audit and its group.
    const out = JSON.parse(
      await python(SIEM_CONSUMER, { input: JSON.stringify({ bootstrap: b.bootstrap, password: USERS.siem, cafile: b.caFile, until: 'WRITE TOPIC:__audit' }), timeoutMs: 40_000 }),
    ) as { lines: string[]; errors: string[] };
    assert.deepEqual(out.errors.filter((e) => e !== '_PARTITION_EOF'), []);
    const fromTopic = out.lines.map((l) => (JSON.parse(l) as { event?: AuditEvent }).event).filter((e): e is AuditEvent => e !== undefined);
    for (const x of expected) assert.ok(find(fromTopic, x), `${x.what} in __audit (read by confluent-kafka)`);
    assert.ok(!out.lines.some((l) => l.includes('forged')), 'the forged line is not in the topic');

    // kcat as the admin reads the same lines (the file's bytes, hash chain included).
    const read = await kcat(['-F', b.adminProperties, '-C', '-t', '__audit', '-p', '0', '-o', 'beginning', '-e', '-q']);
    assert.equal(read.code, 0, read.stderr);
    const kcatLines = read.stdout.toString('utf8').trim().split('\n');
    assert.deepEqual(kcatLines.slice(0, out.lines.length), out.lines, 'kcat and confluent-kafka read the same lines');

    const fromFile = await auditEventsOf(b.dataDir);
    for (const x of expected) assert.ok(find(fromFile, x), `${x.what} in the audit file`);
  });
});
