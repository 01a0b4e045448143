import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { CloseReasons } from '../../src/close-reasons.js';
import type { SecurityEvent } from '../../src/security/events.js';
import { createTopic } from '../helpers/client.js';
import { startSecureBroker } from '../helpers/secure-broker.js';
import { appAcls, kcat } from '../interop/security-support.js';
import { closedWith, kcatConsumer, until } from './session-support.js';

/**
 * Session lifetimes (KIP-368) with real clients, on a broker whose sessions last 1.5 s: a client that
 * re-authenticates (KafkaJS 2.2.4) keeps its connection across several lifetimes. Clients that cannot
 * (kafka-python 2.0.2 logs in with SaslHandshake v0 and raw tokens; librdkafka before 2.2 with
 * SaslAuthenticate v0; neither carries session_lifetime_ms) keep theirs by default
 * (expireLegacySessions off), kcat included; with expireLegacySessions they are closed at their first
 * request after the lifetime and reconnect: kafka-python without an error the application sees,
 * kcat by exiting (it treats librdkafka's "all brokers down" as fatal).
 */

const LIFETIME_MS = 1500;
const USERS = { alice: 'alice-reauth-password-1' };
const TOPIC = 'reauth-orders';

/** The logins per connection, from the events. */
function loginsPerConnection(events: readonly SecurityEvent[], principal: string): Map<number, number> {
  const counts = new Map<number, number>();
  for (const e of events) if (e.type === 'authentication-succeeded' && e.principal === principal) counts.set(e.connection, (counts.get(e.connection) ?? 0) + 1);
  return counts;
}

describe('session lifetimes and re-authentication (KIP-368) with real clients', () => {
  it('KafkaJS re-authenticates on its connection; kcat, which cannot, keeps its connection by default', async (t) => {
    const b = await startSecureBroker(t, {
      users: USERS,
      acls: appAcls('User:alice', TOPIC, 'reauth-group'),
      broker: { connectionsMaxReauthMs: LIFETIME_MS, groupInitialRebalanceDelayMs: 0 },
    });
    await createTopic(b.adminProperties, TOPIC);

    await t.test('KafkaJS: one connection logs in again before each lifetime ends; no request is refused, nothing is closed', async () => {
      const kafka = new Kafka({
        clientId: 'reauth-test',
        brokers: [b.bootstrap],
        ssl: { ca: [readFileSync(b.caFile)] },
        sasl: { mechanism: 'scram-sha-512', username: 'alice', password: USERS.alice },
        logLevel: logLevel.NOTHING,
        // KafkaJS logs in again once less than this is left of the session (default 10 s, longer than this test's 1.5 s lifetimes).
        reauthenticationThreshold: 700,
      });
      const producer = kafka.producer();
      await producer.connect();
      t.after(() => producer.disconnect());
      const eventsBefore = b.events.length;
      const started = Date.now();
      let sent = 0;
      // Five lifetimes of a message every 250 ms.
      while (Date.now() - started < LIFETIME_MS * 5) {
        await producer.send({ topic: TOPIC, messages: [{ value: `kafkajs-${sent}` }] });
        sent++;
        await new Promise((r) => setTimeout(r, 250));
      }
      const during = b.events.slice(eventsBefore);
      assert.deepEqual(closedWith(during, CloseReasons.SESSION_EXPIRED), [], 'no KafkaJS connection outlived its session');
      const relogins = Math.max(0, ...loginsPerConnection(during, 'User:alice').values());
      t.diagnostic(`KafkaJS: ${sent} sends, ${relogins} re-authentications of its busiest connection`);
      // About one login per 0.8 s (the lifetime less the threshold) over 7.5 s.
      assert.ok(relogins >= 4 && relogins <= 20, `expected re-authentications on one connection, got ${relogins}`);
    });

    await t.test('kcat (librdkafka 2.0.2, SaslAuthenticate v0) keeps its connection across lifetimes by default and consumes on', async () => {
      const eventsBefore = b.events.length;
      const consumer = kcatConsumer(t, b.clientConfig('alice', USERS.alice), TOPIC);
      await until(() => consumer.lines().length > 0, 'kcat to consume');
      await new Promise((r) => setTimeout(r, LIFETIME_MS * 3));
      const produced = await kcat(['-F', b.adminProperties, '-P', '-t', TOPIC, '-p', '0'], { input: Buffer.from('late-1\nlate-2\n') });
      assert.equal(produced.code, 0, produced.stderr);
      await until(() => consumer.lines().includes('late-2'), `kcat to consume the late records: ${consumer.stderr()}`);
      assert.deepEqual(closedWith(b.events.slice(eventsBefore), CloseReasons.SESSION_EXPIRED), []);
      assert.equal(consumer.child.exitCode, null);
      const row = b.broker.sessions.list().find((s) => s.principal === 'User:alice' && s.client?.startsWith('librdkafka') === true);
      assert.equal(row?.sessionExpiresAt, null, 'a legacy login has no session end');
    });
  });
});
