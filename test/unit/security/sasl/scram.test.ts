import assert from 'node:assert/strict';
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { deriveScramCredential } from '../../../../src/security/credentials/scram-keys.js';
import { scramMechanism } from '../../../../src/security/sasl/scram.js';
import {
  SaslAuthenticationError,
  SaslFailureReasons,
  type CredentialLookup,
  type SaslExchange,
  type ScramCredential,
  type ScramMechanismName,
} from '../../../../src/security/types.js';
import { rejection, rejectsWith } from './sasl-assertions.js';

// RFC 7677 §3 (and the same inputs under SHA-512): user/pencil, fixed nonces and salt.
const VECTOR = {
  user: 'user',
  password: 'pencil',
  clientNonce: 'rOprNGfwEbeRWgbNEkqO',
  serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  salt: Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'),
  iterations: 4096,
} as const;

const TLS = { tls: true } as const;

/** A credential store over a map; records the names it was asked for. */
function lookup(entries: Record<string, Partial<Record<ScramMechanismName, ScramCredential>>>): CredentialLookup & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    scram(user, mechanism) {
      asked.push(user);
      return Object.hasOwn(entries, user) ? entries[user]?.[mechanism] : undefined;
    },
  };
}

function escapeName(name: string): string {
  return name.replaceAll('=', '=3D').replaceAll(',', '=2C');
}

/**
 * The client side, written from RFC 5802 §3 with node:crypto directly rather than the key helpers
 * under test: SaltedPassword = Hi(password, salt, i), ClientKey = HMAC(SaltedPassword, "Client Key"),
 * ClientProof = ClientKey XOR HMAC(H(ClientKey), AuthMessage), ServerSignature = HMAC(ServerKey, AuthMessage).
 */
function scramClient(mechanism: ScramMechanismName, user: string, password: string, clientNonce: string, gs2Header = 'n,,') {
  const alg = mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512';
  const hmacOf = (key: Buffer, data: string) => createHmac(alg, key).update(data).digest();
  const bare = `n=${escapeName(user)},r=${clientNonce}`;
  return {
    first: Buffer.from(gs2Header + bare),
    final(serverFirstBytes: Buffer, options: { nonce?: string; binding?: string } = {}) {
      const serverFirst = serverFirstBytes.toString('utf8');
      const fields = new Map(serverFirst.split(',').map((f) => [f.slice(0, 1), f.slice(2)]));
      const salt = Buffer.from(fields.get('s') ?? '', 'base64');
      const iterations = Number(fields.get('i'));
      const salted = pbkdf2Sync(password, salt, iterations, alg === 'sha256' ? 32 : 64, alg);
      const clientKey = hmacOf(salted, 'Client Key');
      const storedKey = createHash(alg).update(clientKey).digest();
      const withoutProof = `c=${options.binding ?? Buffer.from(gs2Header).toString('base64')},r=${options.nonce ?? fields.get('r') ?? ''}`;
      const authMessage = `${bare},${serverFirst},${withoutProof}`;
      const signature = hmacOf(storedKey, authMessage);
      const proof = Buffer.from(clientKey.map((byte, i) => byte ^ (signature[i] ?? 0)));
      const serverSignature = hmacOf(hmacOf(salted, 'Server Key'), authMessage);
      return { message: Buffer.from(`${withoutProof},p=${proof.toString('base64')}`), serverFinal: `v=${serverSignature.toString('base64')}` };
    },
  };
}

function vectorMechanism(mechanism: ScramMechanismName) {
  const credential = deriveScramCredential(mechanism, VECTOR.password, { salt: VECTOR.salt, iterations: VECTOR.iterations });
  return scramMechanism(mechanism, { credentials: lookup({ user: { [mechanism]: credential } }), nonce: () => VECTOR.serverNonce });
}

/** A mechanism with alice (password "secret") for both hashes, and a counter as server nonce. */
function aliceMechanism(mechanism: ScramMechanismName = 'SCRAM-SHA-256', extra: { fakeCredentialSecret?: Buffer } = {}) {
  let n = 0;
  const credentials = lookup({
    alice: { [mechanism]: deriveScramCredential(mechanism, 'secret') },
    'a,b=c': { [mechanism]: deriveScramCredential(mechanism, 'commas') },
  });
  const scram = scramMechanism(mechanism, { credentials, nonce: () => `srv${++n}`, ...extra });
  return { scram, credentials };
}

async function serverFirstOf(exchange: SaslExchange, token: Buffer): Promise<Buffer> {
  const step = await exchange.step(token);
  assert.equal(step.done, false);
  return step.response;
}

describe('SCRAM test vectors', () => {
  it('reproduces RFC 7677 (SCRAM-SHA-256) exactly', async () => {
    const exchange = vectorMechanism('SCRAM-SHA-256').start(TLS);
    const serverFirst = await serverFirstOf(exchange, Buffer.from('n,,n=user,r=rOprNGfwEbeRWgbNEkqO'));
    assert.equal(serverFirst.toString(), 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096');
    const final = await exchange.step(
      Buffer.from('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ='),
    );
    assert.deepEqual(final, { done: true, response: Buffer.from('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='), principal: 'User:user' });
  });

  it('reproduces the SCRAM-SHA-512 vector of the notes exactly', async () => {
    const exchange = vectorMechanism('SCRAM-SHA-512').start(TLS);
    const serverFirst = await serverFirstOf(exchange, Buffer.from('n,,n=user,r=rOprNGfwEbeRWgbNEkqO'));
    assert.equal(serverFirst.toString(), 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096');
    const final = await exchange.step(
      Buffer.from(
        'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=gMGXRcevScNtxZ6/8lQYpGtnsNAc3mGcmNomv+xnoOMw+3R2xNJdMNnzMlTN8PPC6wdp6dybEmDYXYTxwnYPJQ==',
      ),
    );
    assert.equal(final.done, true);
    assert.equal(
      final.response.toString(),
      'v=ZQnYEgWQMFmmsM8aQMF0nDDCy/AgCzkwk8CmMZYcMg0vSVlKDanekLtifDSeVGT4+5ZxXnJq199RVG2rR7N7Zw==',
    );
  });

  it('the test client agrees with the RFC vector, so the other tests exercise real proofs', () => {
    const client = scramClient('SCRAM-SHA-256', 'user', 'pencil', VECTOR.clientNonce);
    const { message, serverFinal } = client.final(Buffer.from('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'));
    assert.equal(message.toString(), 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=');
    assert.equal(serverFinal, 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
  });
});

describe('SCRAM exchange', () => {
  for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
    it(`${mechanism}: authenticates with the default random server nonce`, async () => {
      const credentials = lookup({ alice: { [mechanism]: deriveScramCredential(mechanism, 'secret') } });
      const scram = scramMechanism(mechanism, { credentials });
      assert.equal(scram.name, mechanism);
      const client = scramClient(mechanism, 'alice', 'secret', 'clientnonce123');
      const exchange = scram.start(TLS);
      const serverFirst = await serverFirstOf(exchange, client.first);
      const nonce = /^r=clientnonce123([^,]+),s=/.exec(serverFirst.toString())?.[1];
      assert.ok(nonce !== undefined && nonce.length >= 24, serverFirst.toString());
      assert.doesNotMatch(nonce, /,/);
      const { message, serverFinal } = client.final(serverFirst);
      const final = await exchange.step(message);
      assert.deepEqual(final, { done: true, response: Buffer.from(serverFinal), principal: 'User:alice' });
    });
  }

  it('two exchanges get different default server nonces', async () => {
    const scram = scramMechanism('SCRAM-SHA-256', { credentials: lookup({}) });
    const first = Buffer.from('n,,n=alice,r=abc');
    const a = (await serverFirstOf(scram.start(TLS), first)).toString().split(',')[0];
    const b = (await serverFirstOf(scram.start(TLS), first)).toString().split(',')[0];
    assert.notEqual(a, b);
  });

  it('refuses a wrong password with BAD_CREDENTIALS and the claimed user', async () => {
    const { scram } = aliceMechanism();
    const client = scramClient('SCRAM-SHA-256', 'alice', 'not the password', 'cn');
    const exchange = scram.start(TLS);
    const serverFirst = await serverFirstOf(exchange, client.first);
    const error = await rejectsWith(exchange.step(client.final(serverFirst).message), SaslFailureReasons.BAD_CREDENTIALS);
    assert.equal(error.claimedUser, 'alice');
    assert.doesNotMatch(error.message, /not the password/);
  });

  it('decodes =2C and =3D in the user name', async () => {
    const { scram, credentials } = aliceMechanism();
    const client = scramClient('SCRAM-SHA-256', 'a,b=c', 'commas', 'cn');
    assert.match(client.first.toString(), /n=a=2Cb=3Dc,/);
    const exchange = scram.start(TLS);
    const final = await exchange.step(client.final(await serverFirstOf(exchange, client.first)).message);
    assert.equal(final.done && final.principal, 'User:a,b=c');
    assert.deepEqual(credentials.asked, ['a,b=c']);
  });

  it('accepts an authzid equal to the user, and echoes that GS2 header in c=', async () => {
    const { scram } = aliceMechanism();
    const client = scramClient('SCRAM-SHA-256', 'alice', 'secret', 'cn', 'n,a=alice,');
    const exchange = scram.start(TLS);
    const final = await exchange.step(client.final(await serverFirstOf(exchange, client.first)).message);
    assert.equal(final.done && final.principal, 'User:alice');
  });

  it('refuses an authzid that differs from the user', async () => {
    const { scram } = aliceMechanism();
    const error = await rejectsWith(scram.start(TLS).step(Buffer.from('n,a=admin,n=alice,r=cn')), SaslFailureReasons.BAD_CREDENTIALS);
    assert.equal(error.claimedUser, 'alice');
  });

  it('ignores unknown extensions but refuses tokenauth=true (no delegation tokens)', async () => {
    const { scram } = aliceMechanism();
    const step = await scram.start(TLS).step(Buffer.from('n,,n=alice,r=cn,foo=bar'));
    assert.equal(step.done, false);
    await rejectsWith(scram.start(TLS).step(Buffer.from('n,,n=alice,r=cn,tokenauth=true')), SaslFailureReasons.MALFORMED_TOKEN);
  });
});

describe('SCRAM unknown users', () => {
  it('answers server-first like for a real user, then fails at client-final with UNKNOWN_USER', async () => {
    const { scram, credentials } = aliceMechanism();
    const real = await serverFirstOf(scram.start(TLS), Buffer.from('n,,n=alice,r=cn'));
    const exchange = scram.start(TLS);
    const client = scramClient('SCRAM-SHA-256', 'mallory', 'secret', 'cn');
    const fake = await serverFirstOf(exchange, client.first);
    const shape = /^r=cnsrv\d+,s=([A-Za-z0-9+/]+=*),i=(\d+)$/;
    const realMatch = shape.exec(real.toString());
    const fakeMatch = shape.exec(fake.toString());
    assert.ok(realMatch && fakeMatch, `${real.toString()} / ${fake.toString()}`);
    assert.equal(Buffer.from(fakeMatch[1] ?? '', 'base64').length, Buffer.from(realMatch[1] ?? '', 'base64').length);
    assert.equal(fakeMatch[2], realMatch[2]);
    const error = await rejectsWith(exchange.step(client.final(fake).message), SaslFailureReasons.UNKNOWN_USER);
    assert.equal(error.claimedUser, 'mallory');
    assert.deepEqual(credentials.asked, ['alice', 'mallory']);
  });

  it("gives an unknown user the salt length and iterations the store calls typical (those most real users have)", async () => {
    const credentials: CredentialLookup = {
      scram: () => undefined,
      typicalShape: (mechanism) => (mechanism === 'SCRAM-SHA-512' ? { saltBytes: 26, iterations: 4096 } : { saltBytes: 40, iterations: 12000 }),
    };
    for (const [mechanism, saltBytes, iterations] of [['SCRAM-SHA-512', 26, 4096], ['SCRAM-SHA-256', 40, 12000]] as const) {
      const serverFirst = (await serverFirstOf(scramMechanism(mechanism, { credentials }).start(TLS), Buffer.from('n,,n=mallory,r=cn'))).toString();
      const [, salt, count] = /,s=([^,]+),i=(\d+)$/.exec(serverFirst) ?? [];
      assert.equal(Buffer.from(salt ?? '', 'base64').length, saltBytes, serverFirst);
      assert.equal(count, String(iterations));
    }
  });

  it('fails with the same message as a wrong password', async () => {
    const { scram } = aliceMechanism();
    const failure = async (user: string) => {
      const client = scramClient('SCRAM-SHA-256', user, 'wrong', 'cn');
      const exchange = scram.start(TLS);
      return rejection(exchange.step(client.final(await serverFirstOf(exchange, client.first)).message));
    };
    const unknown = await failure('mallory');
    const wrong = await failure('alice');
    assert.equal(unknown.reason, SaslFailureReasons.UNKNOWN_USER);
    assert.equal(wrong.reason, SaslFailureReasons.BAD_CREDENTIALS);
    assert.equal(unknown.message, wrong.message);
    assert.equal(unknown.name, wrong.name);
  });

  it('gives an unknown user a stable salt, different per user and per secret', async () => {
    const saltOf = async (scram: ReturnType<typeof aliceMechanism>['scram'], user: string) =>
      (await serverFirstOf(scram.start(TLS), Buffer.from(`n,,n=${user},r=cn`))).toString().split(',')[1];
    const secret = Buffer.alloc(32, 7);
    const one = aliceMechanism('SCRAM-SHA-256', { fakeCredentialSecret: secret }).scram;
    const two = aliceMechanism('SCRAM-SHA-256', { fakeCredentialSecret: Buffer.from(secret) }).scram;
    const other = aliceMechanism('SCRAM-SHA-256', { fakeCredentialSecret: Buffer.alloc(32, 8) }).scram;
    assert.equal(await saltOf(one, 'mallory'), await saltOf(one, 'mallory'));
    assert.equal(await saltOf(one, 'mallory'), await saltOf(two, 'mallory'));
    assert.notEqual(await saltOf(one, 'mallory'), await saltOf(one, 'eve'));
    assert.notEqual(await saltOf(one, 'mallory'), await saltOf(other, 'mallory'));
    // Without a configured secret the salt is still stable within the process, across mechanisms.
    assert.equal(await saltOf(aliceMechanism().scram, 'mallory'), await saltOf(aliceMechanism().scram, 'mallory'));
  });
});

describe('SCRAM attacks and malformed input', () => {
  it('a replayed client-final fails on a new exchange: the server nonce differs', async () => {
    const { scram } = aliceMechanism();
    const client = scramClient('SCRAM-SHA-256', 'alice', 'secret', 'cn');
    const first = scram.start(TLS);
    const captured = client.final(await serverFirstOf(first, client.first)).message;
    assert.equal((await first.step(captured)).done, true);

    const second = scram.start(TLS);
    await serverFirstOf(second, client.first);
    await rejectsWith(second.step(captured), SaslFailureReasons.NONCE_MISMATCH);
  });

  it('refuses a client-final whose nonce is not the combined one', async () => {
    const { scram } = aliceMechanism();
    const client = scramClient('SCRAM-SHA-256', 'alice', 'secret', 'cn');
    const variants: ((combined: string) => string)[] = [() => 'cn', (c) => `${c}x`, (c) => `x${c}`, (c) => `cncn${c}`, (c) => c.slice(0, -1), (c) => `${c.slice(0, -1)}9`];
    for (const variant of variants) {
      const exchange = scram.start(TLS);
      const serverFirst = await serverFirstOf(exchange, client.first);
      const combined = /^r=([^,]+),/.exec(serverFirst.toString())?.[1] ?? '';
      assert.match(combined, /^cnsrv\d+$/);
      const nonce = variant(combined);
      assert.notEqual(nonce, combined);
      await rejectsWith(exchange.step(client.final(serverFirst, { nonce }).message), SaslFailureReasons.NONCE_MISMATCH);
    }
  });

  it('accepts the client nonce echoed in front of the combined one, as librdkafka before 2.6.1 sends it', async () => {
    const { scram } = aliceMechanism();
    const client = scramClient('SCRAM-SHA-256', 'alice', 'secret', 'cn');
    const exchange = scram.start(TLS);
    const serverFirst = await serverFirstOf(exchange, client.first);
    const combined = /^r=([^,]+),/.exec(serverFirst.toString())?.[1] ?? '';
    const step = await exchange.step(client.final(serverFirst, { nonce: `cn${combined}` }).message);
    assert.equal(step.done, true);
  });

  it('refuses channel binding flags in client-first', async () => {
    const { scram } = aliceMechanism();
    for (const first of ['y,,n=alice,r=cn', 'p=tls-unique,,n=alice,r=cn', 'p=tls-server-end-point,,n=alice,r=cn', 'F,n,,n=alice,r=cn']) {
      await rejectsWith(scram.start(TLS).step(Buffer.from(first)), SaslFailureReasons.MALFORMED_TOKEN);
    }
  });

  it('refuses a c= that is not the GS2 header of client-first', async () => {
    const { scram } = aliceMechanism();
    const client = scramClient('SCRAM-SHA-256', 'alice', 'secret', 'cn');
    for (const binding of ['eSws', 'bixhPWFsaWNlLA==', 'biws=', 'cD10bHMtdW5pcXVlLCw=', '']) {
      const exchange = scram.start(TLS);
      const { message } = client.final(await serverFirstOf(exchange, client.first), { binding });
      await rejectsWith(exchange.step(message), SaslFailureReasons.MALFORMED_TOKEN);
    }
  });

  it('refuses malformed client-first messages', async () => {
    const { scram, credentials } = aliceMechanism();
    const cases: (string | Buffer)[] = [
      '',
      'n,,',
      'n',
      'n,,r=cn,n=alice',
      'n,,n=,r=cn',
      'n,,n=alice',
      'n,,n=alice,r=',
      'n,,n=alice,r=c\x7fn',
      'n,,n=alice,r=c n',
      'n,,n=alice,r=cn,',
      'n,,n=alice,r=cn,=x',
      'n,,m=ext,n=alice,r=cn',
      'n,,n=al=2Xice,r=cn',
      'n,,n=al=2cice,r=cn',
      'n,,n=alice=,r=cn',
      'n,,n=al\x00ice,r=cn',
      'n,,n=al\nice,r=cn',
      'n,a=,n=alice,r=cn',
      'n,b=alice,n=alice,r=cn',
      'n,,n=alice,r=' + 'x'.repeat(600),
      'n,,n=' + 'a'.repeat(1025) + ',r=cn',
      'n,,n=' + 'a'.repeat(256) + ',r=cn',
      // Names the user-name rule refuses: no user can have them, so none is looked up.
      'n,,n=ANONYMOUS,r=cn',
      'n,,n=*,r=cn',
      'n,,n=User:admin,r=cn',
      'n,,n=admin ,r=cn',
      'n,,n=admin\u200b,r=cn',
      'n,,n=alice,r=cn,x=' + 'y'.repeat(9000),
      '\ufeffn,,n=alice,r=cn',
      Buffer.from([0x6e, 0x2c, 0x2c, 0x6e, 0x3d, 0xc3, 0x28, 0x2c, 0x72, 0x3d, 0x61]),
    ];
    for (const token of cases) {
      const error = await rejectsWith(scram.start(TLS).step(Buffer.from(token)), SaslFailureReasons.MALFORMED_TOKEN);
      assert.ok(error.message.length > 0);
    }
    // Nothing malformed reached the credential store.
    assert.deepEqual(credentials.asked, []);
  });

  it('accepts a user name of exactly 255 characters, the longest the user-name rule allows', async () => {
    const { scram } = aliceMechanism();
    const step = await scram.start(TLS).step(Buffer.from('n,,n=' + 'a'.repeat(255) + ',r=cn'));
    assert.equal(step.done, false);
  });

  it('refuses malformed client-final messages', async () => {
    const { scram } = aliceMechanism();
    const client = scramClient('SCRAM-SHA-256', 'alice', 'secret', 'cn');
    const mutations: ((valid: string) => string)[] = [
      () => '',
      (v) => v.replace(/,p=.*$/, ''),
      (v) => v.replace(/^c=biws,/, ''),
      (v) => v.replace(/,r=[^,]*/, ''),
      (v) => v.replace(/,p=(.*)$/, ',p=$1,x=y'),
      (v) => v.replace(/,p=(.*)$/, ',x,p=$1'),
      (v) => v.replace(/,p=(.*)$/, ',p=$1AAAA'),
      (v) => v.replace(/,p=.*$/, ',p=AAAA'),
      (v) => v.replace(/,p=.*$/, ',p=not*base64'),
      (v) => v.replace(/,p=.*$/, ',p='),
      (v) => v.replace(/=$/, '').replace(/=$/, ''),
      (v) => v.replace(/^c=biws/, 'c=biwr'),
      (v) => 'r=x,' + v,
    ];
    for (const mutate of mutations) {
      const exchange = scram.start(TLS);
      const valid = client.final(await serverFirstOf(exchange, client.first)).message.toString();
      await rejectsWith(exchange.step(Buffer.from(mutate(valid))), SaslFailureReasons.MALFORMED_TOKEN);
    }
  });

  it('refuses a proof with non-canonical base64 padding bits', async () => {
    const { scram } = aliceMechanism();
    const client = scramClient('SCRAM-SHA-256', 'alice', 'secret', 'cn');
    const exchange = scram.start(TLS);
    const valid = client.final(await serverFirstOf(exchange, client.first)).message.toString();
    // A 32-byte proof ends in `X=`, where the last 2 of X's 6 bits are padding: flip one of them.
    const proof = /,p=(.*)$/.exec(valid)?.[1] ?? '';
    const last = proof.at(-2) ?? 'A';
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const altered = alphabet[alphabet.indexOf(last) ^ 1] ?? 'A';
    assert.deepEqual(Buffer.from(proof.slice(0, -2) + altered + '=', 'base64'), Buffer.from(proof, 'base64'));
    await rejectsWith(exchange.step(Buffer.from(valid.replace(/.=$/, `${altered}=`))), SaslFailureReasons.MALFORMED_TOKEN);
  });

  it('is single use: any step after success or failure is UNEXPECTED_TOKEN', async () => {
    const { scram } = aliceMechanism();
    const client = scramClient('SCRAM-SHA-256', 'alice', 'secret', 'cn');
    const done = scram.start(TLS);
    const message = client.final(await serverFirstOf(done, client.first)).message;
    assert.equal((await done.step(message)).done, true);
    await rejectsWith(done.step(message), SaslFailureReasons.UNEXPECTED_TOKEN);
    await rejectsWith(done.step(client.first), SaslFailureReasons.UNEXPECTED_TOKEN);

    // After a malformed client-final, even the right one is refused.
    const failed = scram.start(TLS);
    const good = client.final(await serverFirstOf(failed, client.first)).message;
    await rejectsWith(failed.step(Buffer.from('garbage')), SaslFailureReasons.MALFORMED_TOKEN);
    await rejectsWith(failed.step(good), SaslFailureReasons.UNEXPECTED_TOKEN);

    // After a refused client-first, a valid client-first is refused.
    const refused = scram.start(TLS);
    await rejectsWith(refused.step(Buffer.from('y,,n=alice,r=cn')), SaslFailureReasons.MALFORMED_TOKEN);
    await rejectsWith(refused.step(client.first), SaslFailureReasons.UNEXPECTED_TOKEN);
  });

  it('random bytes never fail with anything but SaslAuthenticationError', async () => {
    const { scram } = aliceMechanism('SCRAM-SHA-512');
    const client = scramClient('SCRAM-SHA-512', 'alice', 'secret', 'cn');
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 200 }), async (first, final) => {
        await rejection(scram.start(TLS).step(Buffer.from(first)));
        const exchange = scram.start(TLS);
        await serverFirstOf(exchange, client.first);
        await rejection(exchange.step(Buffer.from(final)));
      }),
    );
  });

  it('near-valid messages never fail with anything but SaslAuthenticationError', async () => {
    const { scram } = aliceMechanism('SCRAM-SHA-256');
    const client = scramClient('SCRAM-SHA-256', 'alice', 'secret', 'cn');
    const piece = fc.constantFrom('n', 'y', 'p', 'a', 'c', 'r', 'm', 'alice', '=', ',', '=2C', '=3D', 'biws', '\0', '\u00e9', 'srv1', 'AAAA', '==');
    const text = fc.array(piece, { maxLength: 24 }).map((parts) => parts.join(''));
    await fc.assert(
      fc.asyncProperty(text, text, async (first, final) => {
        try {
          await scram.start(TLS).step(Buffer.from(first));
        } catch (error) {
          assert.ok(error instanceof SaslAuthenticationError);
        }
        const exchange = scram.start(TLS);
        await serverFirstOf(exchange, client.first);
        await rejection(exchange.step(Buffer.from(final)));
      }),
    );
  });
});
