import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseReasons } from '../../../src/close-reasons.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import { Metadata, SaslAuthenticate, SaslHandshake } from '../../../src/protocol/messages/index.js';
import { handler } from '../../../src/server/handler.js';
import { Session, sessionLifetime } from '../../../src/server/session.js';
import { sessionExpiry } from '../../../src/server/stages/session-expiry.js';
import type { SecurityEvent } from '../../../src/security/events.js';
import { SaslAuthenticationError, SaslFailureReasons, type SaslMechanism, type SaslMechanismName } from '../../../src/security/types.js';
import { fakeControl, requestFrame } from './pipeline-support.js';
import { createDispatcher } from '../../../src/server/dispatcher.js';

/**
 * KIP-368 on the Session: the lifetime a login gets (connectionsMaxReauthMs, capped by the credential's
 * expiry), re-authentication on the same connection (same mechanism, same principal), and the expiry
 * that closes a connection at its next request.
 */

/** Tokens: `alice` and `bob` log in as themselves; `alice-token` as alice with a credential ending at 300 ms. */
function mechanism(name: SaslMechanismName): SaslMechanism {
  return {
    name,
    start: () => ({
      step(token) {
        const text = token.toString();
        if (text === 'alice' || text === 'bob') return Promise.resolve({ done: true, response: Buffer.alloc(0), principal: `User:${text}` });
        if (text === 'alice-token') return Promise.resolve({ done: true, response: Buffer.alloc(0), principal: 'User:alice', expiresAtMs: 300 });
        return Promise.reject(new SaslAuthenticationError(SaslFailureReasons.BAD_CREDENTIALS, 'wrong password', 'alice'));
      },
    }),
  };
}

function setup(maxReauthMs: number, expireLegacySessions = false) {
  const events: SecurityEvent[] = [];
  const clock = { now: 0 };
  let authenticated = 0;
  const session = new Session({
    connectionId: 9,
    remote: '10.0.0.9:1234',
    tls: true,
    mechanisms: new Map((['PLAIN', 'SCRAM-SHA-512', 'OAUTHBEARER'] as SaslMechanismName[]).map((n) => [n, mechanism(n)])),
    principal: null,
    failedAuthenticationDelayMs: 0,
    events: { emit: (e) => events.push(e) },
    onAuthenticated: () => authenticated++,
    connectionsMaxReauthMs: maxReauthMs,
    expireLegacySessions,
    clock: () => clock.now,
  });
  return { session, events, clock, authenticated: () => authenticated };
}

describe('session lifetime (KIP-368)', () => {
  it('connectionsMaxReauthMs, capped by what is left of the credential; null when neither bounds it', () => {
    assert.equal(sessionLifetime(1000, null), 1000);
    assert.equal(sessionLifetime(1000, 300), 300);
    assert.equal(sessionLifetime(1000, 5000), 1000);
    assert.equal(sessionLifetime(0, 300), 300);
    assert.equal(sessionLifetime(0, null), null);
    // An expired credential: 1 ms, never 0 (which a client reads as "no limit").
    assert.equal(sessionLifetime(1000, -50), 1);
  });

  it('a SaslAuthenticate v1 login is answered its lifetime and expires after it', async () => {
    const { session } = setup(1000);
    session.handshake(1, 'PLAIN');
    const outcome = await session.authenticate(Buffer.from('alice'), 1);
    assert.equal(outcome.response.sessionLifetimeMs, 1000n);
    assert.deepEqual(session.login, { principal: 'User:alice', mechanism: 'PLAIN', since: 0, expiresAt: 1000 });
    assert.equal(session.expiredFor(999), null);
    assert.equal(session.expiredFor(1000), 0);
    assert.equal(session.expiredFor(1250), 250);
  });

  it('an OAUTHBEARER token ends the session at its exp, even before connectionsMaxReauthMs; 0 and no token exp: never', async () => {
    const capped = setup(1000);
    capped.session.handshake(1, 'OAUTHBEARER');
    assert.equal((await capped.session.authenticate(Buffer.from('alice-token'), 1)).response.sessionLifetimeMs, 300n);
    assert.equal(capped.session.expiredFor(300), 0);
    const unlimited = setup(0);
    unlimited.session.handshake(1, 'PLAIN');
    assert.equal((await unlimited.session.authenticate(Buffer.from('alice'), 1)).response.sessionLifetimeMs, 0n);
    assert.equal(unlimited.session.expiredFor(Number.MAX_SAFE_INTEGER), null);
  });
});

describe('re-authentication (KIP-368)', () => {
  it('same mechanism, same principal: the login is renewed, the principal kept throughout, the login audited again', async () => {
    const { session, events, clock, authenticated } = setup(1000);
    session.handshake(1, 'SCRAM-SHA-512');
    await session.authenticate(Buffer.from('alice'), 2);
    clock.now = 900;
    assert.equal(session.handshake(1, 'SCRAM-SHA-512').response.errorCode, ErrorCode.NONE);
    assert.equal(session.principal, 'User:alice', 'requests between the two steps are still alice’s');
    clock.now = 950;
    const outcome = await session.authenticate(Buffer.from('alice'), 2);
    assert.equal(outcome.close, undefined);
    assert.equal(outcome.response.sessionLifetimeMs, 1000n);
    assert.deepEqual(session.login, { principal: 'User:alice', mechanism: 'SCRAM-SHA-512', since: 950, expiresAt: 1950 });
    assert.equal(session.expiredFor(1500), null, 'the old expiry no longer applies');
    assert.equal(events.filter((e) => e.type === 'authentication-succeeded').length, 2);
    assert.equal(authenticated(), 1, 'the connection’s limits were raised once');
    // And again: re-authentication is not a one-off.
    clock.now = 1900;
    session.handshake(1, 'SCRAM-SHA-512');
    await session.authenticate(Buffer.from('alice'), 2);
    assert.equal(session.login.expiresAt, 2900);
  });

  it('another principal: refused with SASL_AUTHENTICATION_FAILED and the connection closes (Kafka: "Cannot change principals")', async () => {
    const { session, events } = setup(1000);
    session.handshake(1, 'PLAIN');
    await session.authenticate(Buffer.from('alice'), 1);
    session.handshake(1, 'PLAIN');
    const outcome = await session.authenticate(Buffer.from('bob'), 1);
    assert.equal(outcome.response.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
    assert.equal(outcome.close, CloseReasons.AUTHENTICATION_FAILED);
    assert.equal(session.principal, null);
    const failure = events.find((e) => e.type === 'authentication-failed');
    assert.equal(failure?.type === 'authentication-failed' ? failure.reason : undefined, SaslFailureReasons.PRINCIPAL_CHANGED);
  });

  it('a wrong password at re-authentication ends the connection too', async () => {
    const { session } = setup(1000);
    session.handshake(1, 'PLAIN');
    await session.authenticate(Buffer.from('alice'), 1);
    session.handshake(1, 'PLAIN');
    const outcome = await session.authenticate(Buffer.from('guess'), 1);
    assert.equal(outcome.close, CloseReasons.AUTHENTICATION_FAILED);
    assert.equal(session.principal, null);
  });

  it('another mechanism: UNSUPPORTED_SASL_MECHANISM naming the login’s, and the connection closes', async () => {
    const { session, events } = setup(1000);
    session.handshake(1, 'PLAIN');
    await session.authenticate(Buffer.from('alice'), 1);
    const outcome = session.handshake(1, 'SCRAM-SHA-512');
    assert.deepEqual(outcome, { response: { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms: ['PLAIN'] }, close: CloseReasons.UNSUPPORTED_SASL_MECHANISM });
    assert.equal(events.at(-1)?.type, 'connection-refused');
  });

  it('a login made with SaslAuthenticate v0 (or raw tokens) cannot re-authenticate: a second handshake is 34, as before KIP-368', async () => {
    const { session } = setup(1000);
    session.handshake(1, 'PLAIN');
    await session.authenticate(Buffer.from('alice'), 0);
    assert.equal(session.handshake(1, 'PLAIN').response.errorCode, ErrorCode.ILLEGAL_SASL_STATE);
    const raw = setup(1000);
    raw.session.handshake(0, 'PLAIN');
    await raw.session.rawToken(Buffer.from('alice'));
    assert.equal(raw.session.handshake(1, 'PLAIN').response.errorCode, ErrorCode.ILLEGAL_SASL_STATE);
  });

  it('such a legacy login ends with its credential only, unless expireLegacySessions asks for Kafka’s behaviour', async () => {
    const kept = setup(1000);
    kept.session.handshake(0, 'PLAIN');
    await kept.session.rawToken(Buffer.from('alice'));
    assert.equal(kept.session.login?.expiresAt, null);
    const token = setup(1000);
    token.session.handshake(1, 'OAUTHBEARER');
    await token.session.authenticate(Buffer.from('alice-token'), 0);
    assert.equal(token.session.login?.expiresAt, 300, 'a token still ends the session at its exp');
    const expired = setup(1000, true);
    expired.session.handshake(0, 'PLAIN');
    await expired.session.rawToken(Buffer.from('alice'));
    assert.equal(expired.session.login?.expiresAt, 1000);
  });
});

describe('the session-expiry stage', () => {
  it('after the lifetime, the next request closes the connection unanswered (SESSION_EXPIRED, reported); SaslHandshake still starts a re-authentication', async () => {
    const { session, events, clock } = setup(1000);
    const metadataCalls: number[] = [];
    const dispatch = createDispatcher({
      handlers: new Map(
        [
          handler(Metadata, () => {
            metadataCalls.push(clock.now);
            return { throttleTimeMs: 0, brokers: [], clusterId: null, controllerId: 0, topics: [] };
          }),
          handler(SaslHandshake, (body, ctx) => ctx.session.handshake(ctx.header.apiVersion, body.mechanism).response),
          handler(SaslAuthenticate, async (body, ctx) => (await ctx.session.authenticate(body.authBytes, ctx.header.apiVersion)).response),
        ].map((h) => [h.api.apiKey, h]),
      ),
      connection: { id: 9, listener: { host: 'broker', port: 9092 }, clientIp: '10.0.0.9', remote: '10.0.0.9:1234' },
      session,
      stages: [sessionExpiry({ emit: (e) => events.push(e) })],
    });
    session.handshake(1, 'PLAIN');
    await session.authenticate(Buffer.from('alice'), 1);
    const metadata = requestFrame(Metadata, 1, { topics: [] });

    clock.now = 999;
    const before = fakeControl();
    assert.notEqual(await dispatch(metadata, before), null);
    assert.deepEqual(before.closes, []);

    // A client that re-authenticates in time keeps its connection.
    clock.now = 1200;
    const handshake = fakeControl();
    assert.notEqual(await dispatch(requestFrame(SaslHandshake, 1, { mechanism: 'PLAIN' }), handshake), null);
    assert.notEqual(await dispatch(requestFrame(SaslAuthenticate, 1, { authBytes: Buffer.from('alice') }), handshake), null);
    assert.deepEqual(handshake.closes, []);
    assert.notEqual(await dispatch(metadata, fakeControl()), null);

    clock.now = 2300;
    const expired = fakeControl();
    assert.equal(await dispatch(metadata, expired), null);
    assert.deepEqual(expired.closes.map((c) => c.reason), [CloseReasons.SESSION_EXPIRED]);
    assert.deepEqual(metadataCalls, [999, 1200], 'the expired request never reached its handler');
    const refused = events.at(-1);
    assert.ok(refused?.type === 'connection-refused', 'reported as a refused connection');
    assert.match(refused.detail ?? '', /User:alice session \(PLAIN\) ended 100 ms before this Metadata/);
  });
});
