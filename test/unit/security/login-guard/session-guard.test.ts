import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseReasons } from '../../../../src/close-reasons.js';
import { ErrorCode } from '../../../../src/protocol/error-codes.js';
import { Session } from '../../../../src/server/session.js';
import { deriveScramCredential } from '../../../../src/security/credentials/scram-keys.js';
import type { SecurityEvent } from '../../../../src/security/events.js';
import { LoginGuard } from '../../../../src/security/login-guard/login-guard.js';
import { DEFAULT_LOGIN_GUARD_CONFIG } from '../../../../src/security/login-guard/login-guard-config.js';
import { plainMechanism } from '../../../../src/security/sasl/plain.js';
import { AUTHENTICATION_FAILED_MESSAGE } from '../../../../src/security/types.js';

/** Sessions of one broker sharing a login guard: failures on one connection count on the next. */
function broker() {
  const events: SecurityEvent[] = [];
  const credential = deriveScramCredential('SCRAM-SHA-512', 'right-password', { iterations: 4096 });
  const lookups = { n: 0 };
  const plain = plainMechanism({
    credentials: {
      scram: (user, mechanism) => {
        lookups.n += 1;
        return user === 'alice' && mechanism === 'SCRAM-SHA-512' ? credential : undefined;
      },
    },
  });
  const sink = { emit: (e: SecurityEvent) => events.push(e) };
  const guard = new LoginGuard({ config: { ...DEFAULT_LOGIN_GUARD_CONFIG, sourceFreeFailures: 1, sourceBlockAfterFailures: 2, sourceDelayMs: 0 }, events: sink });
  let id = 0;
  const login = async (ip: string, password: string, version = 1) => {
    const session = new Session({
      connectionId: ++id,
      remote: `${ip}:4000`,
      clientIp: ip,
      loginGuard: guard,
      tls: true,
      mechanisms: new Map([['PLAIN', plain]]),
      principal: null,
      failedAuthenticationDelayMs: 0,
      events: sink,
    });
    session.handshake(version, 'PLAIN');
    const token = Buffer.from(`\0alice\0${password}`);
    if (version === 0) return { raw: await session.rawToken(token), session };
    return { answer: await session.authenticate(token), session };
  };
  return { events, lookups, login, guard };
}

describe('Session with the login guard', () => {
  it('refuses a blocked source unverified, with the answer of a wrong password and the LOGIN_BLOCKED close', async () => {
    const b = broker();
    for (let i = 0; i < 2; i++) {
      const { answer } = await b.login('10.0.0.1', `guess-${i}`);
      assert.equal(answer?.close, CloseReasons.AUTHENTICATION_FAILED);
    }
    const lookupsBefore = b.lookups.n;
    const failedBefore = b.events.filter((e) => e.type === 'authentication-failed').length;
    const { answer, session } = await b.login('10.0.0.1', 'right-password');
    assert.ok(answer !== undefined);
    assert.equal(answer.response.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
    assert.equal(answer.response.errorMessage, AUTHENTICATION_FAILED_MESSAGE);
    assert.equal(answer.close, CloseReasons.LOGIN_BLOCKED);
    assert.equal(session.principal, null);
    // Never verified: no credential lookup (no PBKDF2), no authentication-failed event, a login-refused one.
    assert.equal(b.lookups.n, lookupsBefore);
    assert.equal(b.events.filter((e) => e.type === 'authentication-failed').length, failedBefore);
    const refused = b.events.find((e) => e.type === 'login-refused');
    assert.ok(refused?.type === 'login-refused' && refused.reason === 'source-blocked' && refused.remote === '10.0.0.1:4000' && refused.claimedUser === 'alice');
    // A raw token after a v0 handshake (kafka-python) closes the same way.
    const { raw } = await b.login('10.0.0.1', 'right-password', 0);
    assert.deepEqual(raw, { response: null, close: CloseReasons.LOGIN_BLOCKED });
    // Another address is not blocked.
    const other = await b.login('10.0.0.2', 'right-password');
    assert.equal(other.answer?.response.errorCode, ErrorCode.NONE);
    assert.equal(other.session.principal, 'User:alice');
    b.guard.close();
  });

  it('a mistake followed by the right password leaves the source with its full budget', async () => {
    const b = broker();
    await b.login('10.0.0.1', 'typo');
    assert.equal((await b.login('10.0.0.1', 'right-password')).answer?.response.errorCode, ErrorCode.NONE);
    // The typo was forgiven: two more failures are needed to block the source, not one.
    await b.login('10.0.0.1', 'typo');
    assert.equal((await b.login('10.0.0.1', 'right-password')).answer?.response.errorCode, ErrorCode.NONE);
    assert.equal(b.guard.stats().blockedSources, 0);
  });
});
