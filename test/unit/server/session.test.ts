import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import { CloseReasons } from '../../../src/close-reasons.js';
import { Session } from '../../../src/server/session.js';
import type { SecurityEvent } from '../../../src/security/events.js';
import {
  AUTHENTICATION_FAILED_MESSAGE,
  SaslAuthenticationError,
  SaslFailureReasons,
  type Principal,
  type SaslMechanism,
  type SaslMechanismName,
} from '../../../src/security/types.js';

/**
 * A mechanism whose exchange answers by token: `more` asks for another step, `alice` authenticates
 * User:alice, `boom` fails as a malformed token would (a plain Error), anything else is a wrong password.
 */
function fakeMechanism(name: SaslMechanismName): SaslMechanism {
  return {
    name,
    start: () => ({
      step(token) {
        const text = token.toString();
        if (text === 'more') return Promise.resolve({ done: false, response: Buffer.from('challenge') });
        if (text === 'alice') return Promise.resolve({ done: true, response: Buffer.from('welcome'), principal: 'User:alice' });
        if (text === 'boom') return Promise.reject(new Error('unparseable'));
        return Promise.reject(new SaslAuthenticationError(SaslFailureReasons.BAD_CREDENTIALS, 'wrong password', 'alice'));
      },
    }),
  };
}

function session(options: { principal?: Principal | null; mechanisms?: SaslMechanismName[] | null; delayMs?: number } = {}) {
  const events: SecurityEvent[] = [];
  let authenticated = 0;
  const names = options.mechanisms === undefined ? (['SCRAM-SHA-512', 'PLAIN'] as SaslMechanismName[]) : options.mechanisms;
  const s = new Session({
    connectionId: 7,
    remote: '10.0.0.1:5000',
    tls: true,
    mechanisms: names === null ? null : new Map(names.map((n) => [n, fakeMechanism(n)])),
    principal: options.principal ?? null,
    failedAuthenticationDelayMs: options.delayMs ?? 0,
    events: { emit: (e) => events.push(e) },
    onAuthenticated: () => authenticated++,
  });
  return { session: s, events, authenticated: () => authenticated };
}

describe('Session: the SASL state machine', () => {
  it('a connection with a principal before SASL (certificate, anonymous) is authenticated from the start', () => {
    const { session: s } = session({ principal: 'User:CN=client' });
    assert.equal(s.principal, 'User:CN=client');
    assert.equal(s.expectsRawToken, false);
  });

  it('handshake v1, then SaslAuthenticate requests up to the principal; the listener lists its mechanisms in order', async () => {
    const { session: s, events, authenticated } = session();
    assert.equal(s.principal, null);
    assert.deepEqual(s.handshake(1, 'PLAIN'), { response: { errorCode: ErrorCode.NONE, mechanisms: ['SCRAM-SHA-512', 'PLAIN'] } });
    assert.equal(s.expectsRawToken, false);
    const first = await s.authenticate(Buffer.from('more'));
    assert.equal(first.close, undefined);
    assert.deepEqual(first.response, { errorCode: ErrorCode.NONE, errorMessage: null, authBytes: Buffer.from('challenge'), sessionLifetimeMs: 0n });
    assert.equal(s.principal, null);
    const last = await s.authenticate(Buffer.from('alice'));
    assert.equal(last.response.errorCode, ErrorCode.NONE);
    assert.deepEqual(last.response.authBytes, Buffer.from('welcome'));
    // Zero: clients re-authenticate when it is positive, and a session never expires here.
    assert.equal(last.response.sessionLifetimeMs, 0n);
    assert.equal(s.principal, 'User:alice');
    assert.equal(authenticated(), 1);
    assert.deepEqual(events, [{ type: 'authentication-succeeded', connection: 7, remote: '10.0.0.1:5000', mechanism: 'PLAIN', principal: 'User:alice' }]);
  });

  it('handshake v0: the tokens then come as raw frames', async () => {
    const { session: s } = session();
    s.handshake(0, 'SCRAM-SHA-512');
    assert.equal(s.expectsRawToken, true);
    assert.deepEqual(await s.rawToken(Buffer.from('more')), { response: Buffer.from('challenge') });
    assert.deepEqual(await s.rawToken(Buffer.from('alice')), { response: Buffer.from('welcome') });
    assert.equal(s.principal, 'User:alice');
    assert.equal(s.expectsRawToken, false);
  });

  it('a raw token that fails has no error to carry: no answer, and the connection closes', async () => {
    const { session: s, events } = session();
    s.handshake(0, 'PLAIN');
    assert.deepEqual(await s.rawToken(Buffer.from('guess')), { response: null, close: CloseReasons.AUTHENTICATION_FAILED });
    assert.equal(s.principal, null);
    assert.deepEqual(events.map((e) => e.type), ['authentication-failed']);
  });

  it('a raw token outside the raw-token state is a programming error', async () => {
    const { session: s } = session();
    await assert.rejects(s.rawToken(Buffer.from('alice')), /outside the raw-token state/);
  });

  it('a failed authentication answers 58 with the one generic message, after the delay, reports the real reason, and closes', async () => {
    const { session: s, events, authenticated } = session({ delayMs: 50 });
    s.handshake(1, 'PLAIN');
    const started = performance.now();
    const outcome = await s.authenticate(Buffer.from('guess'));
    assert.ok(performance.now() - started >= 45, 'the failure waits for failedAuthenticationDelayMs');
    assert.equal(outcome.close, CloseReasons.AUTHENTICATION_FAILED);
    assert.equal(outcome.response.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
    assert.equal(outcome.response.errorMessage, AUTHENTICATION_FAILED_MESSAGE);
    assert.equal(s.principal, null);
    assert.equal(authenticated(), 0);
    assert.deepEqual(events, [
      { type: 'authentication-failed', connection: 7, remote: '10.0.0.1:5000', mechanism: 'PLAIN', reason: SaslFailureReasons.BAD_CREDENTIALS, claimedUser: 'alice' },
    ]);
    // Failed is final: the exchange does not start again on this connection.
    assert.equal((await s.authenticate(Buffer.from('alice'))).response.errorCode, ErrorCode.ILLEGAL_SASL_STATE);
  });

  it('a mechanism that throws anything else reports a malformed token', async () => {
    const { session: s, events } = session();
    s.handshake(1, 'PLAIN');
    assert.equal((await s.authenticate(Buffer.from('boom'))).response.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
    assert.equal((events[0] as { reason: string }).reason, SaslFailureReasons.MALFORMED_TOKEN);
  });

  it('a mechanism the listener does not offer: 33 with the offered list, then the connection closes', () => {
    const { session: s, events } = session({ mechanisms: ['SCRAM-SHA-512'] });
    const outcome = s.handshake(1, 'GSSAPI');
    assert.deepEqual(outcome, { response: { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms: ['SCRAM-SHA-512'] }, close: CloseReasons.UNSUPPORTED_SASL_MECHANISM });
    assert.deepEqual(events, [{ type: 'connection-refused', connection: 7, remote: '10.0.0.1:5000', reason: CloseReasons.UNSUPPORTED_SASL_MECHANISM, detail: 'mechanism "GSSAPI" not offered' }]);
  });

  it('without mechanisms (null): 33 and an empty list; a connection authenticated before SASL is past the handshake: 34', () => {
    const unauthenticated = session({ mechanisms: null }).session;
    assert.deepEqual(unauthenticated.mechanismNames, []);
    assert.deepEqual(unauthenticated.handshake(1, 'PLAIN').response, { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms: [] });
    const anonymous = session({ principal: 'User:ANONYMOUS', mechanisms: null }).session;
    assert.equal(anonymous.handshake(1, 'PLAIN').response.errorCode, ErrorCode.ILLEGAL_SASL_STATE);
    assert.equal(anonymous.principal, null, 'a refused handshake fails the session');
  });

  it('out of order: SaslAuthenticate before the handshake, or a second handshake, is 34 and closes', async () => {
    const early = session();
    const outcome = await early.session.authenticate(Buffer.from('alice'));
    assert.equal(outcome.response.errorCode, ErrorCode.ILLEGAL_SASL_STATE);
    assert.equal(outcome.close, CloseReasons.ILLEGAL_SASL_STATE);
    assert.equal(early.session.principal, null);
    assert.deepEqual(early.events.map((e) => e.type), ['connection-refused']);

    const twice = session();
    twice.session.handshake(1, 'PLAIN');
    assert.deepEqual(twice.session.handshake(1, 'PLAIN'), {
      response: { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: ['SCRAM-SHA-512', 'PLAIN'] },
      close: CloseReasons.ILLEGAL_SASL_STATE,
    });
  });
});
