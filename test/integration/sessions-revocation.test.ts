import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { AdminClient, MATCH_ALL_ACLS } from '../../src/client/admin.js';
import { AclOperation, ResourceType } from '../../src/protocol/acl.js';
import { readClientConfig } from '../../src/client/client-config.js';
import { CloseReasons } from '../../src/close-reasons.js';
import { createTopic } from '../helpers/client.js';
import { startSecureBroker } from '../helpers/secure-broker.js';
import { appAcls, kcat } from '../interop/security-support.js';
import { closedWith, kcatConsumer, sessionsOf, until } from './session-support.js';

/**
 * Revocation takes effect on live connections (issue 15, "sessions that end when access ends"): a
 * deleted user's open kcat consumer is disconnected at once and cannot log in again; a changed password
 * closes the connections made with the old one. kcat is librdkafka 2.0.2, which keeps its connections
 * open for as long as it runs and reconnects on its own.
 */

const USERS = { alice: 'alice-sessions-password-1', bob: 'bob-sessions-password-1' };
const TOPIC = 'revocation-orders';

describe('revocation of SCRAM credentials closes live connections', () => {
  it('a deleted user’s kcat consumer is closed within a second and cannot log in again; a password change closes the old connections', async (t) => {
    const b = await startSecureBroker(t, { users: USERS, acls: [...appAcls('User:alice', TOPIC, 'g-alice'), ...appAcls('User:bob', TOPIC, 'g-bob')] });
    await createTopic(b.adminProperties, TOPIC);
    const produced = await kcat(['-F', b.adminProperties, '-P', '-t', TOPIC, '-p', '0'], { input: Buffer.from('one\ntwo\nthree\n') });
    assert.equal(produced.code, 0, produced.stderr);
    const admin = await AdminClient.connect(readClientConfig(b.adminProperties));
    t.after(() => {
      admin.close();
    });

    const alice = kcatConsumer(t, b.clientConfig('alice', USERS.alice), TOPIC);
    const bob = kcatConsumer(t, b.clientConfig('bob', USERS.bob), TOPIC);
    await until(() => alice.lines().length === 3 && bob.lines().length === 3, 'both consumers to read the three records');
    const aliceConnections = sessionsOf(b, 'User:alice').map((s) => s.id);
    assert.ok(aliceConnections.length > 0);
    assert.ok(sessionsOf(b, 'User:alice').every((s) => s.mechanism === 'SCRAM-SHA-512'));

    await t.test('deleting alice closes her connections within one second, and her reconnections fail', async () => {
      const eventsBefore = b.events.length;
      // Watched from before the deletion is sent: the time to the close, not to the end of both requests.
      const started = performance.now();
      const closed = until(() => aliceConnections.every((id) => !b.broker.sessions.list().some((s) => s.id === id)), 'alice’s connections to close', 5000, 1).then(() => performance.now());
      // One request per mechanism (Kafka refuses a user twice in one request). The one kcat logs in with
      // goes first: the first change already closes every SCRAM login of alice's, and the other mechanism,
      // still there for a moment, is not one kcat can log in with.
      await admin.deleteScramCredentials('alice', ['SCRAM-SHA-512', 'SCRAM-SHA-256']);
      const elapsedMs = (await closed) - started;
      t.diagnostic(`alice's kcat connection(s) closed ${elapsedMs.toFixed(1)} ms after the deletion request was sent`);
      assert.ok(elapsedMs < 1000, `closed after ${elapsedMs} ms`);
      assert.deepEqual(closedWith(b.events.slice(eventsBefore), CloseReasons.CREDENTIALS_REVOKED).sort(), [...aliceConnections].sort());
      // kcat (librdkafka 2.0.2) reconnects once, then reports "All broker connections are down" and, as
      // kcat treats that as fatal, terminates. A new login with the deleted credential is refused.
      const relogin = await kcat(['-F', b.clientConfig('alice', USERS.alice), '-L', '-m', '5'], { timeoutMs: 15_000 });
      assert.notEqual(relogin.code, 0);
      assert.match(relogin.stderr, /Authentication failed: invalid credentials/);
      assert.ok(b.events.slice(eventsBefore).some((e) => e.type === 'authentication-failed' && e.claimedUser === 'alice'));
      const again = b.events.slice(eventsBefore).filter((e) => e.type === 'authentication-succeeded' && e.principal === 'User:alice');
      assert.deepEqual(again, [], `alice never logs in again: ${JSON.stringify(b.events.slice(eventsBefore))}`);
      assert.deepEqual(sessionsOf(b, 'User:alice').filter((s) => s.principal !== null), []);
    });

    await t.test('changing bob’s password closes the connections made with the old one; the old password no longer logs in', async () => {
      const bobConnections = sessionsOf(b, 'User:bob').map((s) => s.id);
      assert.ok(bobConnections.length > 0);
      const eventsBefore = b.events.length;
      await admin.upsertScramCredentials('bob', 'bob-sessions-password-2', [
        { mechanism: 'SCRAM-SHA-512', iterations: 4096 },
        { mechanism: 'SCRAM-SHA-256', iterations: 4096 },
      ]);
      await until(() => bobConnections.every((id) => !b.broker.sessions.list().some((s) => s.id === id)), 'bob’s old connections to close', 2000, 5);
      assert.deepEqual(closedWith(b.events.slice(eventsBefore), CloseReasons.CREDENTIALS_REVOKED).sort(), [...bobConnections].sort());
      const old = await kcat(['-F', b.clientConfig('bob', USERS.bob), '-L', '-m', '5'], { timeoutMs: 15_000 });
      assert.notEqual(old.code, 0);
      assert.match(old.stderr, /Authentication failed: invalid credentials/);
      const renewed = await kcat(['-F', b.clientConfig('bob', 'bob-sessions-password-2'), '-L', '-m', '5'], { timeoutMs: 15_000 });
      assert.equal(renewed.code, 0, renewed.stderr);
    });

    await t.test('the admin’s own connection, which made the changes, is untouched (it logged in as another user)', () => {
      assert.ok(b.broker.sessions.list().some((s) => s.principal === 'User:admin'));
    });
  });

  it('an ACL removed applies to the next request of an open KafkaJS connection (the authorizer’s decision cache follows the bindings)', async (t) => {
    const b = await startSecureBroker(t, { users: USERS, acls: appAcls('User:bob', TOPIC, 'g-bob') });
    await createTopic(b.adminProperties, TOPIC);
    const kafka = new Kafka({
      clientId: 'acl-revocation',
      brokers: [b.bootstrap],
      ssl: { ca: [readFileSync(b.caFile)] },
      sasl: { mechanism: 'scram-sha-512', username: 'bob', password: USERS.bob },
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    });
    const producer = kafka.producer();
    await producer.connect();
    t.after(() => producer.disconnect());
    // Twice: the second decision comes from the authorizer's cache.
    await producer.send({ topic: TOPIC, messages: [{ value: 'allowed-1' }] });
    await producer.send({ topic: TOPIC, messages: [{ value: 'allowed-2' }] });
    const open = sessionsOf(b, 'User:bob').map((s) => s.id);
    const eventsBefore = b.events.length;

    const admin = await AdminClient.connect(readClientConfig(b.adminProperties));
    t.after(() => {
      admin.close();
    });
    const removed = await admin.deleteAcls({ ...MATCH_ALL_ACLS, resourceType: ResourceType.TOPIC, principal: 'User:bob', operation: AclOperation.WRITE });
    assert.equal(removed.length, 1);

    await assert.rejects(producer.send({ topic: TOPIC, messages: [{ value: 'refused' }] }), (err: Error & { type?: string }) => {
      assert.equal(err.type ?? (err as { cause?: { type?: string } }).cause?.type, 'TOPIC_AUTHORIZATION_FAILED', String(err));
      return true;
    });
    const later = b.events.slice(eventsBefore);
    const denial = later.find((e) => e.type === 'authorization-denied' && e.principal === 'User:bob');
    assert.ok(denial?.type === 'authorization-denied' && open.includes(denial.connection), 'denied on a connection opened before the change');
    assert.ok(!later.some((e) => e.type === 'authentication-succeeded' && e.principal === 'User:bob'), 'no new login: the same connection');
  });
});
