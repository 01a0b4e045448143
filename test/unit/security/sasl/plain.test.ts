import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { deriveScramCredential } from '../../../../src/security/credentials/scram-keys.js';
import { plainMechanism } from '../../../../src/security/sasl/plain.js';
import {
  SaslFailureReasons,
  type CredentialLookup,
  type ScramCredential,
  type ScramMechanismName,
} from '../../../../src/security/types.js';
import { rejection, rejectsWith } from './sasl-assertions.js';

const TLS = { tls: true } as const;

function lookup(entries: Record<string, Partial<Record<ScramMechanismName, ScramCredential>>>): CredentialLookup & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    scram(user, mechanism) {
      asked.push(`${user}/${mechanism}`);
      return Object.hasOwn(entries, user) ? entries[user]?.[mechanism] : undefined;
    },
  };
}

function plainToken(authzid: string, authcid: string, password: string): Buffer {
  return Buffer.from(`${authzid}\0${authcid}\0${password}`);
}

// 4096 iterations keep the tests quick; the mechanism uses whatever count the credential has.
const fast = { iterations: 4096 };
const credentials = lookup({
  alice: { 'SCRAM-SHA-256': deriveScramCredential('SCRAM-SHA-256', 'secret', fast) },
  bob: { 'SCRAM-SHA-512': deriveScramCredential('SCRAM-SHA-512', 'hunter2', fast) },
  // Different passwords per hash show which credential PLAIN checks.
  carol: {
    'SCRAM-SHA-256': deriveScramCredential('SCRAM-SHA-256', 'old', fast),
    'SCRAM-SHA-512': deriveScramCredential('SCRAM-SHA-512', 'new', fast),
  },
});
const plain = plainMechanism({ credentials });

describe('PLAIN', () => {
  it('authenticates against a SCRAM-SHA-256 or SCRAM-SHA-512 credential with an empty response', async () => {
    assert.equal(plain.name, 'PLAIN');
    assert.deepEqual(await plain.start(TLS).step(plainToken('', 'alice', 'secret')), { done: true, response: Buffer.alloc(0), principal: 'User:alice' });
    assert.deepEqual(await plain.start(TLS).step(plainToken('', 'bob', 'hunter2')), { done: true, response: Buffer.alloc(0), principal: 'User:bob' });
  });

  it('prefers the SCRAM-SHA-512 credential when the user has both', async () => {
    const step = await plain.start(TLS).step(plainToken('', 'carol', 'new'));
    assert.equal(step.done && step.principal, 'User:carol');
    await rejectsWith(plain.start(TLS).step(plainToken('', 'carol', 'old')), SaslFailureReasons.BAD_CREDENTIALS);
  });

  it('accepts the authzid form kafka-python sends (user NUL user NUL pass)', async () => {
    const step = await plain.start(TLS).step(plainToken('alice', 'alice', 'secret'));
    assert.equal(step.done && step.principal, 'User:alice');
  });

  it('refuses an authzid other than the user', async () => {
    const error = await rejectsWith(plain.start(TLS).step(plainToken('bob', 'alice', 'secret')), SaslFailureReasons.BAD_CREDENTIALS);
    assert.equal(error.claimedUser, 'alice');
  });

  it('refuses any PLAIN exchange without TLS, even with the right password, without checking it', async () => {
    const before = credentials.asked.length;
    const error = await rejectsWith(plain.start({ tls: false }).step(plainToken('', 'alice', 'secret')), SaslFailureReasons.INSECURE_TRANSPORT);
    assert.equal(error.claimedUser, 'alice');
    assert.equal(credentials.asked.length, before);
    const garbage = await rejectsWith(plain.start({ tls: false }).step(Buffer.from('nonsense')), SaslFailureReasons.INSECURE_TRANSPORT);
    assert.equal(garbage.claimedUser, undefined);
  });

  it('refuses a wrong password with BAD_CREDENTIALS, never echoing the password', async () => {
    const error = await rejectsWith(plain.start(TLS).step(plainToken('', 'alice', 'secreT')), SaslFailureReasons.BAD_CREDENTIALS);
    assert.equal(error.claimedUser, 'alice');
    assert.doesNotMatch(error.message, /secreT/);
  });

  it('refuses an unknown user with UNKNOWN_USER and the same message as a wrong password', async () => {
    const unknown = await rejectsWith(plain.start(TLS).step(plainToken('', 'mallory', 'secret')), SaslFailureReasons.UNKNOWN_USER);
    const wrong = await rejectsWith(plain.start(TLS).step(plainToken('', 'alice', 'wrong')), SaslFailureReasons.BAD_CREDENTIALS);
    assert.equal(unknown.message, wrong.message);
    assert.equal(unknown.claimedUser, 'mallory');
    // Both credentials were looked for before giving up.
    assert.ok(credentials.asked.includes('mallory/SCRAM-SHA-512') && credentials.asked.includes('mallory/SCRAM-SHA-256'));
  });

  it('refuses malformed messages', async () => {
    const cases: Buffer[] = [
      Buffer.alloc(0),
      Buffer.from('alice'),
      Buffer.from('alice\0secret'),
      Buffer.from('\0alice\0secret\0'),
      plainToken('', '', 'secret'),
      plainToken('', 'alice', ''),
      plainToken('', 'al\nice', 'secret'),
      plainToken('al\x1bice', 'alice', 'secret'),
      plainToken('', 'a'.repeat(1025), 'secret'),
      plainToken('', 'a'.repeat(256), 'secret'),
      plainToken('', 'ANONYMOUS', 'secret'),
      plainToken('', 'admin\u200b', 'secret'),
      plainToken('', 'alice', 'p'.repeat(1025)),
      plainToken('a'.repeat(4000), 'alice', 'secret'),
      Buffer.concat([Buffer.from('\0alice\0'), Buffer.from([0xff, 0xfe])]),
    ];
    for (const token of cases) await rejectsWith(plain.start(TLS).step(token), SaslFailureReasons.MALFORMED_TOKEN);
  });

  it('accepts the longest allowed password and user name', async () => {
    const long = plainMechanism({ credentials: lookup({ ['u'.repeat(255)]: { 'SCRAM-SHA-256': deriveScramCredential('SCRAM-SHA-256', 'p'.repeat(1024), fast) } }) });
    const step = await long.start(TLS).step(plainToken('', 'u'.repeat(255), 'p'.repeat(1024)));
    assert.equal(step.done, true);
  });

  it('is single use: any step after success or failure is UNEXPECTED_TOKEN', async () => {
    const done = plain.start(TLS);
    assert.equal((await done.step(plainToken('', 'alice', 'secret'))).done, true);
    await rejectsWith(done.step(plainToken('', 'alice', 'secret')), SaslFailureReasons.UNEXPECTED_TOKEN);
    const failed = plain.start(TLS);
    await rejectsWith(failed.step(plainToken('', 'alice', 'guess')), SaslFailureReasons.BAD_CREDENTIALS);
    await rejectsWith(failed.step(plainToken('', 'alice', 'secret')), SaslFailureReasons.UNEXPECTED_TOKEN);
  });

  it('random bytes never fail with anything but SaslAuthenticationError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 120 }), fc.boolean(), async (bytes, tls) => {
        await rejection(plain.start({ tls }).step(Buffer.from(bytes)));
      }),
      { numRuns: 60 },
    );
  });
});
