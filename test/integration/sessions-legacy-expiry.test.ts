import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseReasons } from '../../src/close-reasons.js';
import { createTopic } from '../helpers/client.js';
import { startSecureBroker } from '../helpers/secure-broker.js';
import { appAcls, kcat } from '../interop/security-support.js';
import { python } from '../interop/support.js';
import { closedWith, kcatConsumer, until } from './session-support.js';

/**
 * expireLegacySessions (Kafka's behaviour): clients that cannot re-authenticate are closed at their
 * first request after the session's end (1.5 s here) and log in again. What each one makes of it is what
 * docs/security/network.md tells users: kafka-python and confluent-kafka reconnect with no error the
 * application sees from poll(); kcat exits, because librdkafka reports "all brokers down" when the one
 * broker's connection drops and kcat treats that as fatal.
 */

const LIFETIME_MS = 1500;
const USERS = { alice: 'alice-legacy-password-1' };
const TOPIC = 'legacy-orders';
const RECORDS = Array.from({ length: 30 }, (_, i) => `r-${i}`);

/** Consumes partition 0 from the beginning for `seconds`, while records keep arriving; prints what it got and every error it saw. */
const KAFKA_PYTHON_CONSUMER = String.raw`
import json, sys, time
from kafka import KafkaConsumer, TopicPartition
job = json.load(sys.stdin)
c = KafkaConsumer(bootstrap_servers=job['bootstrap'], security_protocol='SASL_SSL', ssl_cafile=job['cafile'],
                  sasl_mechanism='SCRAM-SHA-512', sasl_plain_username=job['user'], sasl_plain_password=job['password'],
                  enable_auto_commit=False, fetch_max_wait_ms=200)
tp = TopicPartition(job['topic'], 0)
c.assign([tp])
c.seek_to_beginning(tp)
got, errors = [], []
deadline = time.time() + job['seconds']
while time.time() < deadline:
    try:
        for _, records in c.poll(timeout_ms=200).items():
            got += [r.value.decode() for r in records]
    except Exception as e:
        errors.append(repr(e))
c.close()
print(json.dumps({'got': got, 'errors': errors}))
`;

const CONFLUENT_KAFKA_CONSUMER = String.raw`
import json, sys, time
from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
job = json.load(sys.stdin)
callback_errors = []
c = Consumer({'bootstrap.servers': job['bootstrap'], 'security.protocol': 'SASL_SSL', 'ssl.ca.location': job['cafile'],
              'sasl.mechanisms': 'SCRAM-SHA-512', 'sasl.username': job['user'], 'sasl.password': job['password'],
              'group.id': 'unused', 'enable.auto.commit': False, 'fetch.wait.max.ms': 200,
              'error_cb': lambda e: callback_errors.append(e.str())})
c.assign([TopicPartition(job['topic'], 0, OFFSET_BEGINNING)])
got, poll_errors = [], []
deadline = time.time() + job['seconds']
while time.time() < deadline:
    m = c.poll(0.2)
    if m is None:
        continue
    if m.error():
        poll_errors.append(m.error().str())
    else:
        got.append(m.value().decode())
c.close()
print(json.dumps({'got': got, 'poll_errors': poll_errors, 'callback_errors': callback_errors}))
`;

describe('expireLegacySessions: clients that cannot re-authenticate are closed when their session ends', () => {
  it('kafka-python and confluent-kafka reconnect without an error from poll(); kcat exits', async (t) => {
    const b = await startSecureBroker(t, {
      users: USERS,
      acls: appAcls('User:alice', TOPIC, 'unused'),
      broker: { connectionsMaxReauthMs: LIFETIME_MS, expireLegacySessions: true },
    });
    await createTopic(b.adminProperties, TOPIC);
    const produced = await kcat(['-F', b.adminProperties, '-P', '-t', TOPIC, '-p', '0'], { input: Buffer.from(RECORDS.map((r) => `${r}\n`).join('')) });
    assert.equal(produced.code, 0, produced.stderr);
    const job = JSON.stringify({ bootstrap: b.bootstrap, cafile: b.caFile, user: 'alice', password: USERS.alice, topic: TOPIC, seconds: (LIFETIME_MS * 3.5) / 1000 });

    await t.test('kafka-python 2.0.2 (SaslHandshake v0): closed at expiry, reconnects; every record, no error', async () => {
      const eventsBefore = b.events.length;
      const { got, errors } = JSON.parse(await python(KAFKA_PYTHON_CONSUMER, { input: job })) as { got: string[]; errors: string[] };
      const expired = closedWith(b.events.slice(eventsBefore), CloseReasons.SESSION_EXPIRED);
      t.diagnostic(`kafka-python: ${got.length} records, ${expired.length} connection(s) closed at expiry`);
      assert.ok(expired.length >= 2, 'its connections were closed at expiry');
      assert.deepEqual(errors, []);
      assert.deepEqual(got, RECORDS);
    });

    await t.test('confluent-kafka (librdkafka 1.7, SaslAuthenticate v0): closed at expiry, reconnects; every record, no error from poll()', async () => {
      const eventsBefore = b.events.length;
      const result = JSON.parse(await python(CONFLUENT_KAFKA_CONSUMER, { input: job })) as { got: string[]; poll_errors: string[]; callback_errors: string[] };
      const expired = closedWith(b.events.slice(eventsBefore), CloseReasons.SESSION_EXPIRED);
      t.diagnostic(`confluent-kafka: ${result.got.length} records, ${expired.length} closed at expiry, error_cb: ${JSON.stringify(result.callback_errors)}`);
      assert.ok(expired.length >= 1);
      assert.deepEqual(result.poll_errors, []);
      assert.deepEqual(result.got, RECORDS);
    });

    await t.test('kcat (librdkafka 2.0.2): closed at expiry; kcat reports all brokers down and stops consuming', async () => {
      const eventsBefore = b.events.length;
      const consumer = kcatConsumer(t, b.clientConfig('alice', USERS.alice), TOPIC);
      await until(() => consumer.lines().length === RECORDS.length, 'kcat to consume');
      await until(() => closedWith(b.events.slice(eventsBefore), CloseReasons.SESSION_EXPIRED).length > 0, 'its session to expire', LIFETIME_MS * 4);
      await until(() => /All broker connections are down/.test(consumer.stderr()), `kcat to report it: ${consumer.stderr()}`, 5000);
      t.diagnostic(`kcat: ${consumer.stderr().split('\n').filter((l) => l.includes('ERROR')).join(' | ')}`);
    });
  });
});
