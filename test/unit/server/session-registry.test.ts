import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseReasons, type CloseReason } from '../../../src/close-reasons.js';
import type { SecurityEvent } from '../../../src/security/events.js';
import type { SaslMechanism, SaslMechanismName } from '../../../src/security/types.js';
import { Session } from '../../../src/server/session.js';
import { SessionRegistry } from '../../../src/server/session-registry.js';

/** Any token logs in as the user it names. */
const byName = (name: SaslMechanismName): SaslMechanism => ({
  name,
  start: () => ({ step: (token) => Promise.resolve({ done: true, response: Buffer.alloc(0), principal: `User:${token.toString()}` }) }),
});

async function login(user: string, mechanism: SaslMechanismName): Promise<Session> {
  const session = new Session({
    connectionId: 0,
    remote: 'x',
    tls: true,
    mechanisms: new Map([[mechanism, byName(mechanism)]]),
    principal: null,
    failedAuthenticationDelayMs: 0,
    events: { emit: () => undefined },
    connectionsMaxReauthMs: 60_000,
  });
  session.handshake(1, mechanism);
  await session.authenticate(Buffer.from(user), 1);
  session.noteClientSoftware('librdkafka', '2.0.2');
  return session;
}

function setup() {
  const events: SecurityEvent[] = [];
  const registry = new SessionRegistry({ events: { emit: (e) => events.push(e) } });
  const closed: { id: number; reason: CloseReason }[] = [];
  let next = 1;
  const add = (session: Session, tls = true) => {
    const id = next++;
    registry.add({
      id,
      listener: 'SASL_SSL',
      remote: `127.0.0.1:${40000 + id}`,
      tls,
      connectedAt: Date.UTC(2026, 0, 1),
      session,
      bytes: () => ({ in: 10 * id, out: 100 * id }),
      close: (reason) => {
        closed.push({ id, reason });
        registry.remove(id);
      },
    });
    return id;
  };
  return { registry, events, closed, add };
}

describe('SessionRegistry', () => {
  it('lists each open connection: principal, mechanism, address, client software, times, bytes; an entry goes with its connection', async () => {
    const { registry, add } = setup();
    const id = add(await login('alice', 'SCRAM-SHA-512'));
    const row = registry.list()[0];
    assert.ok(row !== undefined);
    assert.equal(row.id, id);
    assert.equal(row.principal, 'User:alice');
    assert.equal(row.mechanism, 'SCRAM-SHA-512');
    assert.equal(row.remote, `127.0.0.1:${40000 + id}`);
    assert.equal(row.client, 'librdkafka/2.0.2');
    assert.equal(row.connectedAt, '2026-01-01T00:00:00.000Z');
    assert.equal(Date.parse(row.sessionExpiresAt ?? 'none') - Date.parse(row.authenticatedAt ?? 'none'), 60_000);
    assert.deepEqual([row.bytesIn, row.bytesOut], [10 * id, 100 * id]);
    registry.remove(id);
    assert.equal(registry.size, 0);
  });

  it('a connection not logged in yet has no principal; a certificate login names its mechanism', () => {
    const { registry, add } = setup();
    add(new Session({ connectionId: 0, remote: 'x', tls: true, mechanisms: new Map(), principal: null, failedAuthenticationDelayMs: 0, events: { emit: () => undefined } }));
    add(new Session({ connectionId: 0, remote: 'x', tls: true, mechanisms: null, principal: 'User:CN=app', failedAuthenticationDelayMs: 0, events: { emit: () => undefined } }));
    assert.deepEqual(
      registry.list().map((r) => [r.principal, r.mechanism, r.authenticatedAt === null]),
      [
        [null, null, true],
        ['User:CN=app', 'TLS client certificate', false],
      ],
    );
  });

  it('revoking a user’s credentials closes its SCRAM and PLAIN logins only, reported; the requester’s own connection is kept', async () => {
    const { registry, events, closed, add } = setup();
    const scram = add(await login('alice', 'SCRAM-SHA-256'));
    const plain = add(await login('alice', 'PLAIN'));
    const oauth = add(await login('alice', 'OAUTHBEARER'));
    const bob = add(await login('bob', 'SCRAM-SHA-512'));
    const own = add(await login('alice', 'SCRAM-SHA-512'));
    assert.equal(registry.revokeCredentials('alice', { connectionId: own }), 2);
    assert.deepEqual(closed, [
      { id: scram, reason: CloseReasons.CREDENTIALS_REVOKED },
      { id: plain, reason: CloseReasons.CREDENTIALS_REVOKED },
    ]);
    assert.deepEqual(registry.list().map((r) => r.id).sort(), [oauth, bob, own].sort());
    assert.deepEqual(
      events.map((e) => (e.type === 'connection-refused' ? [e.connection, e.reason] : e.type)),
      [scram, plain].map((id) => [id, CloseReasons.CREDENTIALS_REVOKED]),
    );
  });

  it('kill by principal or by id closes exactly those (SESSION_KILLED, naming who did it)', async () => {
    const { registry, events, closed, add } = setup();
    const a1 = add(await login('alice', 'SCRAM-SHA-512'));
    const a2 = add(await login('alice', 'OAUTHBEARER'));
    const b = add(await login('bob', 'SCRAM-SHA-512'));
    assert.equal(registry.kill({ principal: 'User:nobody' }, 'User:admin'), 0);
    assert.equal(registry.kill({ principal: 'User:alice' }, 'User:admin'), 2);
    assert.equal(registry.kill({ id: b }, 'User:admin'), 1);
    assert.deepEqual(closed.map((c) => [c.id, c.reason]), [a1, a2, b].map((id) => [id, CloseReasons.SESSION_KILLED]));
    assert.equal(registry.size, 0);
    assert.deepEqual(
      events.map((e) => (e.type === 'connection-refused' ? e.detail : e.type)),
      ['User:alice closed by User:admin', 'User:alice closed by User:admin', 'User:bob closed by User:admin'],
    );
  });
});

describe('SessionRegistry: a login under way when the credential changes', () => {
  it('is closed when it completes if its connection was accepted before the change; later connections log in', async () => {
    const clock = { now: 1000 };
    const events: SecurityEvent[] = [];
    const registry = new SessionRegistry({ events: { emit: (e) => events.push(e) }, clock: () => clock.now });
    const closed: number[] = [];
    const add = (id: number, session: Session, connectedAt: number) => {
      registry.add({ id, listener: 'SASL_SSL', remote: 'r', tls: true, connectedAt, session, bytes: () => ({ in: 0, out: 0 }), close: () => closed.push(id) });
    };
    // Connection 1 was accepted at 900 and finishes its SCRAM login at 1000, just after alice's password changed at 1000.
    registry.revokeCredentials('alice');
    add(1, await login('alice', 'SCRAM-SHA-512'), 900);
    registry.loggedIn(1);
    // Connection 2 was accepted after the change: its login used the new credential.
    add(2, await login('alice', 'SCRAM-SHA-512'), 1001);
    registry.loggedIn(2);
    // An OAUTHBEARER login does not use the SCRAM credential.
    add(3, await login('alice', 'OAUTHBEARER'), 900);
    registry.loggedIn(3);
    assert.deepEqual(closed, [1]);
    assert.equal(events.length, 1);
  });
});
