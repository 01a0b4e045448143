import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { oauthBearerMechanism, type OAuthBearerMechanismOptions } from '../../../../src/security/sasl/oauthbearer.js';
import { SaslAuthenticationError, SaslFailureReasons, type SaslStep } from '../../../../src/security/types.js';
import { rejection, rejectsWith } from './sasl-assertions.js';

const NOW = 1_700_000_000;
const clock = () => NOW * 1000;
const ISSUER = 'https://idp.example';
const AUDIENCE = 'parapet';

interface SigningKey {
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
  readonly alg: string;
  readonly kid: string;
}

async function signingKey(alg: 'RS256' | 'ES256', kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }, alg, kid };
}

const rsa = await signingKey('RS256', 'rsa-1');
const ec = await signingKey('ES256', 'ec-1');
/** Not in any key set: signs with a kid of the set, or a kid of its own. */
const stranger = await signingKey('RS256', 'rsa-1');

const CLAIMS: JWTPayload = { sub: 'alice', iss: ISSUER, aud: AUDIENCE, iat: NOW, exp: NOW + 300 };

async function sign(claims: JWTPayload, key: SigningKey = rsa, header: { alg?: string; kid?: string } = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: header.alg ?? key.alg, kid: header.kid ?? key.kid, typ: 'JWT' }).sign(key.privateKey);
}

/** CLAIMS without one of them. */
function without(claim: keyof JWTPayload): JWTPayload {
  return Object.fromEntries(Object.entries(CLAIMS).filter(([name]) => name !== claim));
}

function b64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** The initial response as KafkaJS and @platformatic/kafka write it without authzid (RFC 7628 §3.1). */
function message(token: string, gs2 = 'n,,', extensions = ''): Buffer {
  return Buffer.from(`${gs2}\x01auth=Bearer ${token}${extensions}\x01\x01`);
}

function mechanism(overrides: Partial<OAuthBearerMechanismOptions> = {}) {
  return oauthBearerMechanism({ jwks: { keys: [rsa.jwk, ec.jwk] }, issuer: ISSUER, audience: AUDIENCE, clock, ...overrides });
}

async function accepts(token: string, overrides: Partial<OAuthBearerMechanismOptions> = {}): Promise<SaslStep> {
  return mechanism(overrides).start({ tls: true }).step(message(token));
}

async function refuses(token: string, overrides: Partial<OAuthBearerMechanismOptions> = {}): Promise<SaslAuthenticationError> {
  return rejectsWith(mechanism(overrides).start({ tls: true }).step(message(token)), SaslFailureReasons.INVALID_TOKEN);
}

describe('OAUTHBEARER valid tokens', () => {
  it('accepts RS256 and ES256 tokens from the key set, with an empty response', async () => {
    assert.equal(mechanism().name, 'OAUTHBEARER');
    for (const key of [rsa, ec]) {
      // expiresAtMs: the token's exp, which ends the session (KIP-368).
      assert.deepEqual(await accepts(await sign(CLAIMS, key)), { done: true, response: Buffer.alloc(0), principal: 'User:alice', expiresAtMs: (NOW + 300) * 1000 });
    }
  });

  it('takes the principal from the configured claim', async () => {
    const step = await accepts(await sign({ ...CLAIMS, preferred_username: 'alice.smith' }), { principalClaim: 'preferred_username' });
    assert.equal(step.done && step.principal, 'User:alice.smith');
  });

  it('accepts an aud array and an audience list when one matches', async () => {
    const step = await accepts(await sign({ ...CLAIMS, aud: ['other', AUDIENCE] }), { audience: ['nope', AUDIENCE] });
    assert.equal(step.done, true);
  });

  it('accepts fractional iat and exp (librdkafka style) on a signed token', async () => {
    const step = await accepts(await sign({ ...CLAIMS, iat: NOW - 0.123, exp: NOW + 60.5 }));
    assert.equal(step.done && step.principal, 'User:alice');
    assert.equal(step.done && step.expiresAtMs, (NOW + 60.5) * 1000);
  });

  it('tolerates clock skew of 30 s by default, and what is configured', async () => {
    assert.equal((await accepts(await sign({ ...CLAIMS, exp: NOW - 29 }))).done, true);
    await refuses(await sign({ ...CLAIMS, exp: NOW - 31 }));
    await refuses(await sign({ ...CLAIMS, exp: NOW - 1 }), { clockSkewSeconds: 0 });
    assert.equal((await accepts(await sign({ ...CLAIMS, exp: NOW - 100 }), { clockSkewSeconds: 120 })).done, true);
  });

  it('works without issuer and audience checks when none are configured', async () => {
    const step = await oauthBearerMechanism({ jwks: { keys: [rsa.jwk] }, clock })
      .start({ tls: true })
      .step(message(await sign({ sub: 'bob', exp: NOW + 60 })));
    assert.equal(step.done && step.principal, 'User:bob');
  });
});

describe('OAUTHBEARER refused tokens', () => {
  it('refuses an expired token, naming the check but not the token', async () => {
    const token = await sign({ ...CLAIMS, exp: NOW - 3600 });
    const error = await refuses(token);
    assert.match(error.message, /exp/);
    assert.ok(!error.message.includes(token));
    assert.equal(error.claimedUser, 'alice');
  });

  it('refuses a token not yet valid (nbf beyond the skew)', async () => {
    await refuses(await sign({ ...CLAIMS, nbf: NOW + 120 }));
  });

  it('refuses a wrong or missing audience', async () => {
    await refuses(await sign({ ...CLAIMS, aud: 'someone-else' }));
    await refuses(await sign(without('aud')));
  });

  it('refuses a wrong or missing issuer', async () => {
    await refuses(await sign({ ...CLAIMS, iss: 'https://evil.example' }));
    await refuses(await sign(without('iss')));
  });

  it('refuses a token without exp', async () => {
    await refuses(await sign(without('exp')));
    await refuses(await sign(without('exp')), { issuer: undefined, audience: undefined });
  });

  it('refuses a token without a usable principal claim', async () => {
    await refuses(await sign(without('sub')));
    await refuses(await sign({ ...CLAIMS, sub: 42 } as unknown as JWTPayload));
    await refuses(await sign({ ...CLAIMS, sub: '' }));
    await refuses(await sign({ ...CLAIMS, sub: 'alice\nUser:admin' }));
    await refuses(await sign(CLAIMS), { principalClaim: 'email' });
  });

  it('refuses unsecured tokens (alg none), before any verification', async () => {
    const claims = b64url(CLAIMS);
    for (const header of [{ alg: 'none' }, { alg: 'NONE' }, { alg: 'None', kid: 'rsa-1' }]) {
      const error = await refuses(`${b64url(header)}.${claims}.`);
      assert.match(error.message, /alg none/);
      assert.equal(error.claimedUser, 'alice');
    }
    // The exact form librdkafka sends with enable.sasl.oauthbearer.unsecure.jwt=true.
    await refuses(`eyJhbGciOiJub25lIn0.${b64url({ sub: 'alice', iat: NOW + 0.123, exp: NOW + 3600.5 })}.`);
  });

  it('refuses a declared algorithm with no signature', async () => {
    await refuses(`${b64url({ alg: 'RS256', kid: 'rsa-1' })}.${b64url(CLAIMS)}.`);
  });

  it('refuses an HMAC-signed token, whatever key it names', async () => {
    const secret = new TextEncoder().encode('a shared secret of thirty-two bytes!');
    const token = await new SignJWT(CLAIMS).setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' }).sign(secret);
    const error = await refuses(token);
    assert.match(error.message, /HS256/);
  });

  it('refuses a token signed by another key under a known kid', async () => {
    const error = await refuses(await sign(CLAIMS, stranger));
    assert.match(error.message, /signature/i);
  });

  it('refuses a token whose kid is not in the key set', async () => {
    await refuses(await sign(CLAIMS, stranger, { kid: 'rsa-2' }));
    await refuses(await sign(CLAIMS, rsa, { kid: 'rsa-2' }));
  });

  it('refuses an algorithm outside the configured list', async () => {
    await refuses(await sign(CLAIMS, ec), { algorithms: ['RS256'] });
  });

  it('refuses things that are not JWTs', async () => {
    for (const token of ['abc', 'a.b', 'a.b.c', 'a.b.c.d.e', `${b64url({ alg: 'RS256' })}.e30`]) await refuses(token);
  });
});

describe('OAUTHBEARER initial response', () => {
  const requireCjs = createRequire(import.meta.url);
  type KafkaJsRequest = (
    sasl: { authorizationIdentity?: string },
    token: { value: string; extensions?: Record<string, string> },
  ) => Promise<{ encode(): Promise<Buffer> }>;
  const kafkaJsRequest = requireCjs('kafkajs/src/protocol/sasl/oauthBearer/request.js') as KafkaJsRequest;

  /** The auth bytes KafkaJS 2.x writes (its encoder adds an int32 length prefix, as in SaslAuthenticate). */
  async function kafkaJsBytes(sasl: { authorizationIdentity?: string }, token: { value: string; extensions?: Record<string, string> }) {
    const framed = await (await kafkaJsRequest(sasl, token)).encode();
    assert.equal(framed.readInt32BE(0), framed.length - 4);
    return framed.subarray(4);
  }

  it('accepts what KafkaJS sends, with and without extensions', async () => {
    const token = await sign(CLAIMS);
    for (const extensions of [undefined, { traceId: 'abc', logicalCluster: 'lkc-1' }]) {
      const bytes = await kafkaJsBytes({}, extensions === undefined ? { value: token } : { value: token, extensions });
      const step = await mechanism().start({ tls: true }).step(bytes);
      assert.equal(step.done && step.principal, 'User:alice');
    }
  });

  it("accepts KafkaJS's authzid form with its stray quote, and checks the authzid", async () => {
    const token = await sign(CLAIMS);
    const bytes = await kafkaJsBytes({ authorizationIdentity: 'alice' }, { value: token });
    assert.equal(bytes.toString(), `n,"a=alice,\x01auth=Bearer ${token}\x01\x01`);
    const step = await mechanism().start({ tls: true }).step(bytes);
    assert.equal(step.done && step.principal, 'User:alice');
    const other = await kafkaJsBytes({ authorizationIdentity: 'admin' }, { value: token });
    const error = await rejectsWith(mechanism().start({ tls: true }).step(other), SaslFailureReasons.BAD_CREDENTIALS);
    assert.equal(error.claimedUser, 'alice');
  });

  it('accepts key=value pairs besides auth, in any order (KIP-342 extensions)', async () => {
    // RFC 7628 §3.1: client-resp = gs2-header kvsep *kvpair kvsep, kvpair = key "=" value kvsep,
    // key = 1*ALPHA, value = *(VCHAR / SP / HTAB / CR / LF). @platformatic/kafka writes its
    // extensions after auth, the first form below.
    const token = await sign(CLAIMS, ec);
    for (const pairs of [`\x01auth=Bearer ${token}\x01traceId=xyz`, `\x01traceId=xyz\x01auth=Bearer ${token}\x01logicalCluster=lkc 1`]) {
      const step = await mechanism().start({ tls: true }).step(Buffer.from(`n,,${pairs}\x01\x01`));
      assert.equal(step.done && step.principal, 'User:alice');
    }
  });

  it('accepts the RFC 7628 authzid form (n,a=user,) when it names the token principal', async () => {
    const token = await sign(CLAIMS);
    const step = await mechanism().start({ tls: true }).step(message(token, 'n,a=alice,'));
    assert.equal(step.done && step.principal, 'User:alice');
    await rejectsWith(mechanism().start({ tls: true }).step(message(token, 'n,a=bob,')), SaslFailureReasons.BAD_CREDENTIALS);
  });

  it('refuses malformed initial responses', async () => {
    const token = await sign(CLAIMS);
    const cases = [
      '',
      '\x01',
      `n,,auth=Bearer ${token}\x01\x01`,
      `n,,\x01auth=Bearer ${token}\x01`,
      `n,,\x01auth=Bearer ${token}`,
      'n,,\x01\x01',
      'n,,\x01host=kafka\x01\x01',
      `n,,\x01auth=Basic ${token}\x01\x01`,
      `n,,\x01auth=Bearer\x01\x01`,
      `n,,\x01auth=Bearer ${token} extra\x01\x01`,
      `n,,\x01auth=Bearer ${token}\x01auth=Bearer ${token}\x01\x01`,
      `n,,\x01auth=Bearer ${token}\x011x=y\x01\x01`,
      `n,,\x01auth=Bearer ${token}\x01noequals\x01\x01`,
      `n,,\x01auth=Bearer ${token}\x01k=\x00\x01\x01`,
      `y,,\x01auth=Bearer ${token}\x01\x01`,
      `p=tls-unique,,\x01auth=Bearer ${token}\x01\x01`,
      `n,x=alice,\x01auth=Bearer ${token}\x01\x01`,
      `n,,\x01auth=Bearer ${token}\x01k=${'v'.repeat(70_000)}\x01\x01`,
    ];
    for (const text of cases) await rejectsWith(mechanism().start({ tls: true }).step(Buffer.from(text)), SaslFailureReasons.MALFORMED_TOKEN);
    await rejectsWith(mechanism().start({ tls: true }).step(Buffer.from([0x6e, 0x2c, 0x2c, 0x01, 0xff, 0x01, 0x01])), SaslFailureReasons.MALFORMED_TOKEN);
  });

  it('is single use: a step after success, after failure, or during verification is UNEXPECTED_TOKEN', async () => {
    const valid = message(await sign(CLAIMS));
    const done = mechanism().start({ tls: true });
    assert.equal((await done.step(valid)).done, true);
    await rejectsWith(done.step(valid), SaslFailureReasons.UNEXPECTED_TOKEN);

    const failed = mechanism().start({ tls: true });
    await rejectsWith(failed.step(Buffer.from('\x01')), SaslFailureReasons.MALFORMED_TOKEN);
    await rejectsWith(failed.step(valid), SaslFailureReasons.UNEXPECTED_TOKEN);

    const busy = mechanism().start({ tls: true });
    const first = busy.step(valid);
    await rejectsWith(busy.step(valid), SaslFailureReasons.UNEXPECTED_TOKEN);
    assert.equal((await first).done, true);
  });

  it('random bytes, or random tokens in a valid frame, never fail with anything but SaslAuthenticationError', async () => {
    const oauth = mechanism();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), fc.string({ maxLength: 120 }), async (bytes, token) => {
        await rejection(oauth.start({ tls: true }).step(Buffer.from(bytes)));
        await rejection(oauth.start({ tls: true }).step(message(token)));
      }),
    );
  });

  it('random JWT-shaped tokens are refused as INVALID_TOKEN', async () => {
    const oauth = mechanism();
    const segment = fc.base64String({ maxLength: 60 }).map((s) => s.replaceAll('+', '-').replaceAll('/', '_').replaceAll('=', ''));
    await fc.assert(
      fc.asyncProperty(segment, segment, segment, async (a, b, c) => {
        const error = await rejection(oauth.start({ tls: true }).step(message(`${a}.${b}.${c}`)));
        assert.ok(error.reason === SaslFailureReasons.INVALID_TOKEN || error.reason === SaslFailureReasons.MALFORMED_TOKEN);
      }),
    );
  });
});

describe('OAUTHBEARER remote JWKS', () => {
  let requests = 0;
  let jwksUrl = '';
  const server = createServer((request, response) => {
    requests++;
    if (request.url !== '/jwks.json') {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [rsa.jwk] }));
  });

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => {
      server.close((error) => {
        if (error) reject(error);
        else resolve();
      });
    });
  });

  it('verifies tokens against a key set fetched from jwksUrl, fetched once for many exchanges', async () => {
    const oauth = oauthBearerMechanism({ jwksUrl, issuer: ISSUER, audience: AUDIENCE, clock });
    for (let i = 0; i < 3; i++) {
      const step = await oauth.start({ tls: true }).step(message(await sign(CLAIMS)));
      assert.equal(step.done && step.principal, 'User:alice');
    }
    assert.equal(requests, 1);
    await rejectsWith(oauth.start({ tls: true }).step(message(await sign(CLAIMS, stranger))), SaslFailureReasons.INVALID_TOKEN);
    await rejectsWith(oauth.start({ tls: true }).step(message(await sign(CLAIMS, ec))), SaslFailureReasons.INVALID_TOKEN);
  });

  it('refuses every token when the key set cannot be fetched', async () => {
    const oauth = oauthBearerMechanism({ jwksUrl: jwksUrl.replace('/jwks.json', '/missing'), clock });
    const error = await rejectsWith(oauth.start({ tls: true }).step(message(await sign(CLAIMS))), SaslFailureReasons.INVALID_TOKEN);
    assert.equal(error.claimedUser, 'alice');
  });
});

describe('OAUTHBEARER configuration', () => {
  it('needs exactly one of jwksUrl and jwks', () => {
    assert.throws(() => oauthBearerMechanism({}), /exactly one/);
    assert.throws(() => oauthBearerMechanism({ jwksUrl: 'https://idp.example/jwks', jwks: { keys: [rsa.jwk] } }), /exactly one/);
  });

  it('refuses a JWKS URL over plain http except to loopback', () => {
    assert.throws(() => oauthBearerMechanism({ jwksUrl: 'http://idp.example/jwks' }), /https/);
    assert.throws(() => oauthBearerMechanism({ jwksUrl: 'ftp://idp.example/jwks' }), /https/);
    assert.throws(() => oauthBearerMechanism({ jwksUrl: 'not a url' }), /not a URL/);
    assert.equal(oauthBearerMechanism({ jwksUrl: 'https://idp.example/jwks' }).name, 'OAUTHBEARER');
    assert.equal(oauthBearerMechanism({ jwksUrl: 'http://localhost:8080/jwks' }).name, 'OAUTHBEARER');
    assert.equal(oauthBearerMechanism({ jwksUrl: 'http://[::1]:8080/jwks' }).name, 'OAUTHBEARER');
  });

  it('refuses a local key set holding private or symmetric keys, or that is not a key set', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const privateJwk = await exportJWK(privateKey);
    assert.throws(() => oauthBearerMechanism({ jwks: { keys: [privateJwk] } }), /public keys only/);
    assert.throws(() => oauthBearerMechanism({ jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } }), /public keys only/);
    assert.throws(() => oauthBearerMechanism({ jwks: { keys: [{ nonsense: true }] } }), /not a valid JSON Web Key Set/);
    assert.throws(() => oauthBearerMechanism({ jwks: { keys: [] } }), /no keys/);
  });

  it('refuses none and HMAC algorithms, an empty algorithm list, bad skew and an empty audience', () => {
    const jwks = { keys: [rsa.jwk] };
    for (const alg of ['none', 'HS256', 'hs512']) assert.throws(() => oauthBearerMechanism({ jwks, algorithms: [alg] }), /not allowed/);
    assert.throws(() => oauthBearerMechanism({ jwks, algorithms: [] }), /empty/);
    assert.throws(() => oauthBearerMechanism({ jwks, clockSkewSeconds: -1 }), /clockSkewSeconds/);
    assert.throws(() => oauthBearerMechanism({ jwks, clockSkewSeconds: Number.NaN }), /clockSkewSeconds/);
    assert.throws(() => oauthBearerMechanism({ jwks, audience: [] }), /audience/);
    assert.throws(() => oauthBearerMechanism({ jwks, principalClaim: '' }), /principalClaim/);
  });
});
