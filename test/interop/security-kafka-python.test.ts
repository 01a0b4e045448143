import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createTopic } from '../helpers/client.js';
import { startSecureBroker } from '../helpers/secure-broker.js';
import { python } from './support.js';
import { appAcls, authenticationFailures, deniedOnTopic, describeEvents, logins } from './security-support.js';

/**
 * kafka-python 2.0.2 over SASL_SSL, verifying the broker against the init CA (`ssl_cafile`, hostname
 * check on). kafka-python speaks SaslHandshake v0 and then raw length-prefixed tokens, never
 * SaslAuthenticate (which came with KIP-152), so this is the broker's only test of that framing with a
 * real client: SCRAM-SHA-512 and PLAIN (which kafka-python sends as `user\0user\0password`).
 *
 * The clients run without `api_version`: each probes the broker (check_version: ApiVersions v0 and a
 * pipelined Metadata v0, 2 s timeout) after TLS and SASL, which this also checks is fast enough. The
 * consumer is a group member (JoinGroup v2, SyncGroup/Heartbeat/LeaveGroup v1, OffsetCommit v2,
 * OffsetFetch v1) under ACLs granting only READ on its group.
 */

const USERS = { alice: 'alice-interop-password-1', bob: 'bob-interop-password-22' };

const PRODUCE_AND_CONSUME = String.raw`
import json, sys, time
from kafka import KafkaProducer, KafkaConsumer, TopicPartition

job = json.load(sys.stdin)
topic, group = job['topic'], job['group']
common = dict(bootstrap_servers=job['bootstrap'], security_protocol='SASL_SSL', ssl_cafile=job['cafile'],
              ssl_check_hostname=True, sasl_mechanism=job['mechanism'],
              sasl_plain_username=job['user'], sasl_plain_password=job['password'])

p = KafkaProducer(acks='all', **common)
futures = [p.send(topic, key=bytes.fromhex(k), value=bytes.fromhex(v), partition=0) for k, v in job['messages']]
p.flush()
offsets = [f.get(timeout=10).offset for f in futures]
p.close()

c = KafkaConsumer(topic, group_id=group, auto_offset_reset='earliest', enable_auto_commit=False, **common)
got = []
deadline = time.time() + 20
while len(got) < len(job['messages']) and time.time() < deadline:
    for _, records in c.poll(timeout_ms=500).items():
        got += [[r.offset, r.key.hex(), r.value.hex()] for r in records]
c.commit()
tp = TopicPartition(topic, 0)
committed = c.committed(tp)
c.close()
print(json.dumps({'offsets': offsets, 'got': got, 'committed': committed}))
`;

const WRONG_PASSWORD = String.raw`
import json, logging, sys
from kafka import KafkaConsumer

job = json.load(sys.stdin)
log = []
class Keep(logging.Handler):
    def emit(self, record):
        log.append(record.getMessage() + ('' if record.exc_info is None else ' | ' + repr(record.exc_info[1])))
logging.getLogger('kafka').addHandler(Keep())
logging.getLogger('kafka').setLevel(logging.WARNING)
try:
    c = KafkaConsumer(bootstrap_servers=job['bootstrap'], security_protocol='SASL_SSL', ssl_cafile=job['cafile'],
                      sasl_mechanism=job['mechanism'], sasl_plain_username=job['user'], sasl_plain_password=job['password'])
    c.close()
    error = None
except Exception as e:
    error = [type(e).__name__, str(e)]
print(json.dumps({'error': error, 'log': log}))
`;

interface Outcome {
  offsets: number[];
  got: [number, string, string][];
  committed: number | null;
}

/** Keys `k<i>` and random binary values of 0..300 bytes, hex for the JSON job. */
function messages(count: number): [string, string][] {
  return Array.from({ length: count }, (_, i) => [Buffer.from(`k${i}`).toString('hex'), randomBytes((i * 53) % 301).toString('hex')]);
}

describe('kafka-python over SASL_SSL (SaslHandshake v0, raw tokens)', () => {
  it('SCRAM-SHA-512 and PLAIN users produce and consume byte-identical records as group members; a wrong password fails', async (t) => {
    const b = await startSecureBroker(t, {
      users: USERS,
      acls: [...appAcls('User:alice', 'py-scram', 'py-scram-app'), ...appAcls('User:bob', 'py-plain', 'py-plain-app')],
      broker: { groupInitialRebalanceDelayMs: 0 },
    });
    await createTopic(b.adminProperties, ['py-scram', 'py-plain']);

    const cases = [
      { mechanism: 'SCRAM-SHA-512', user: 'alice', topic: 'py-scram', group: 'py-scram-app' },
      { mechanism: 'PLAIN', user: 'bob', topic: 'py-plain', group: 'py-plain-app' },
    ] as const;
    for (const { mechanism, user, topic, group } of cases) {
      await t.test(`${mechanism} as ${user}`, async () => {
        const sent = messages(300);
        const stdout = await python(PRODUCE_AND_CONSUME, {
          input: JSON.stringify({ bootstrap: b.bootstrap, cafile: b.caFile, mechanism, user, password: USERS[user], topic, group, messages: sent }),
          timeoutMs: 40_000,
        });
        const out = JSON.parse(stdout) as Outcome;
        assert.deepEqual(out.offsets, sent.map((_, i) => i), 'acks=all offsets 0..n-1 in send order');
        assert.deepEqual(out.got, sent.map(([k, v], i) => [i, k, v]), 'every record consumed once, keys and values byte-identical');
        assert.equal(out.committed, sent.length, 'the group committed the end offset (OffsetCommit v2, OffsetFetch v1)');
        const principal = `User:${user}`;
        const sessions = logins(b.events, principal);
        assert.ok(sessions.length >= 2, `producer and consumer connections authenticated: ${describeEvents(b.events)}`);
        assert.ok(sessions.every((e) => e.mechanism === mechanism), describeEvents(sessions));
        assert.deepEqual(deniedOnTopic(b.events, principal, topic), [], describeEvents(b.events));
      });
    }

    await t.test('a wrong password: no connection, the broker reports authentication-failed', async () => {
      for (const mechanism of ['SCRAM-SHA-512', 'PLAIN']) {
        const mark = b.events.length;
        const out = JSON.parse(
          await python(WRONG_PASSWORD, { input: JSON.stringify({ bootstrap: b.bootstrap, cafile: b.caFile, mechanism, user: 'alice', password: 'wrong-password' }) }),
        ) as { error: [string, string] | null; log: string[] };
        // After SaslHandshake v0 a failure has no error response: the broker closes the connection, as
        // Kafka does. kafka-python 2.0.2 sees the reset while authenticating, treats it as a connection
        // error, and its version probe ends with NoBrokersAvailable.
        assert.deepEqual(out.error?.[0], 'NoBrokersAvailable', JSON.stringify(out));
        assert.ok(
          out.log.some((line) => /<authenticating>.*Error receiving reply from server/.test(line)),
          `kafka-python logs the failure during authentication: ${out.log.join('\n')}`,
        );
        const failures = authenticationFailures(b.events.slice(mark));
        assert.ok(failures.length >= 1, describeEvents(b.events.slice(mark)));
        assert.deepEqual(new Set(failures.map((e) => `${e.mechanism} ${e.claimedUser ?? '?'} ${e.reason}`)), new Set([`${mechanism} alice BAD_CREDENTIALS`]), describeEvents(failures));
        assert.deepEqual(b.events.slice(mark).filter((e) => e.type === 'authentication-succeeded'), []);
      }
    });
  });
});
