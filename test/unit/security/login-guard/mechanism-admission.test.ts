import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { ScramClient } from '../../../../src/client/scram-client.js';
import { deriveScramCredential } from '../../../../src/security/credentials/scram-keys.js';
import { LoginRefusedError } from '../../../../src/security/login-guard/login-guard.js';
import { oauthBearerMechanism } from '../../../../src/security/sasl/oauthbearer.js';
import { plainMechanism } from '../../../../src/security/sasl/plain.js';
import { scramMechanism } from '../../../../src/security/sasl/scram.js';
import type { CredentialLookup } from '../../../../src/security/types.js';

/**
 * The SASL mechanisms ask the login guard once they know the user and before they verify anything:
 * a refused attempt is never verified (a right password does not get through, and PLAIN does not
 * even look the user up, so no key derivation is paid for it).
 */

const credential = deriveScramCredential('SCRAM-SHA-512', 'right-password', { iterations: 4096 });

function counting(): CredentialLookup & { lookups: number } {
  const lookup = {
    lookups: 0,
    scram(user: string) {
      lookup.lookups += 1;
      return user === 'alice' ? credential : undefined;
    },
  };
  return lookup;
}

function refusing(asked: (string | undefined)[]) {
  return (user: string | undefined): Promise<void> => {
    asked.push(user);
    return Promise.reject(new LoginRefusedError('source-blocked', user));
  };
}

describe('SASL mechanisms ask the login guard before verifying', () => {
  it('PLAIN: asks with the user name and, when refused, never looks the user up, even with the right password', async () => {
    const credentials = counting();
    const asked: (string | undefined)[] = [];
    const exchange = plainMechanism({ credentials }).start({ tls: true, admit: refusing(asked) });
    await assert.rejects(exchange.step(Buffer.from('\0alice\0right-password')), LoginRefusedError);
    assert.deepEqual(asked, ['alice']);
    assert.equal(credentials.lookups, 0);
  });

  it('PLAIN: a delayed admission is waited for, then the password is verified', async () => {
    const asked: (string | undefined)[] = [];
    const exchange = plainMechanism({ credentials: counting() }).start({
      tls: true,
      admit: async (user) => {
        asked.push(user);
        await new Promise((r) => setTimeout(r, 20));
      },
    });
    const step = await exchange.step(Buffer.from('\0alice\0right-password'));
    assert.ok(step.done && step.principal === 'User:alice');
    assert.deepEqual(asked, ['alice']);
  });

  it('SCRAM: asks at client-final with the user name, and a refused proof of the right password does not log in', async () => {
    const asked: (string | undefined)[] = [];
    const exchange = scramMechanism('SCRAM-SHA-512', { credentials: counting() }).start({ tls: true, admit: refusing(asked) });
    const client = new ScramClient('SCRAM-SHA-512', 'alice', 'right-password');
    const first = await exchange.step(client.clientFirst());
    assert.equal(first.done, false);
    // server-first is answered as usual: nothing is verified there.
    assert.deepEqual(asked, []);
    await assert.rejects(exchange.step(client.clientFinal(first.response)), LoginRefusedError);
    assert.deepEqual(asked, ['alice']);
  });

  it('OAUTHBEARER: asks without a user name (only the source is counted) before verifying the token', async () => {
    const asked: (string | undefined)[] = [];
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const mechanism = oauthBearerMechanism({ jwks: { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256' }] } });
    const exchange = mechanism.start({ tls: true, admit: refusing(asked) });
    const token = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln';
    await assert.rejects(exchange.step(Buffer.from(`n,,\x01auth=Bearer ${token}\x01\x01`)), LoginRefusedError);
    assert.deepEqual(asked, [undefined]);
  });
});
