import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientError } from '../../../src/client/errors.js';
import { escapeSaslName, ScramClient } from '../../../src/client/scram-client.js';

// RFC 7677's SCRAM-SHA-256 vector, and the same inputs under SHA-512.
const CNONCE = 'rOprNGfwEbeRWgbNEkqO';
const SERVER_FIRST = `r=${CNONCE}%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`;
const FINAL_WITHOUT_PROOF = `c=biws,r=${CNONCE}%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0`;
const VECTORS = [
  {
    mechanism: 'SCRAM-SHA-256',
    proof: 'dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    verifier: '6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
  },
  {
    mechanism: 'SCRAM-SHA-512',
    proof: 'gMGXRcevScNtxZ6/8lQYpGtnsNAc3mGcmNomv+xnoOMw+3R2xNJdMNnzMlTN8PPC6wdp6dybEmDYXYTxwnYPJQ==',
    verifier: 'ZQnYEgWQMFmmsM8aQMF0nDDCy/AgCzkwk8CmMZYcMg0vSVlKDanekLtifDSeVGT4+5ZxXnJq199RVG2rR7N7Zw==',
  },
] as const;

function started(mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512' = 'SCRAM-SHA-256', password = 'pencil'): ScramClient {
  const client = new ScramClient(mechanism, 'user', password, CNONCE);
  client.clientFirst();
  return client;
}

describe('ScramClient', () => {
  for (const v of VECTORS) {
    it(`reproduces the ${v.mechanism} vector`, () => {
      const client = new ScramClient(v.mechanism, 'user', 'pencil', CNONCE);
      assert.equal(client.clientFirst().toString(), `n,,n=user,r=${CNONCE}`);
      assert.equal(client.clientFinal(Buffer.from(SERVER_FIRST)).toString(), `${FINAL_WITHOUT_PROOF},p=${v.proof}`);
      client.verifyServerFinal(Buffer.from(`v=${v.verifier}`));
    });

    it(`refuses a ${v.mechanism} server signature that does not match`, () => {
      const client = started(v.mechanism);
      client.clientFinal(Buffer.from(SERVER_FIRST));
      const forged = Buffer.from(v.verifier, 'base64');
      forged[0] = (forged[0] ?? 0) ^ 1;
      assert.throws(() => {
        client.verifyServerFinal(Buffer.from(`v=${forged.toString('base64')}`));
      }, /server signature does not match/);
    });
  }

  it('refuses a server signature from another password (the server does not hold our credential)', () => {
    const client = started('SCRAM-SHA-256', 'not-pencil');
    client.clientFinal(Buffer.from(SERVER_FIRST));
    assert.throws(() => {
      client.verifyServerFinal(Buffer.from(`v=${VECTORS[0].verifier}`));
    }, /does not match/);
  });

  it('refuses truncated signatures and server errors', () => {
    const a = started();
    a.clientFinal(Buffer.from(SERVER_FIRST));
    assert.throws(() => {
      a.verifyServerFinal(Buffer.from(`v=${Buffer.from('short').toString('base64')}`));
    }, /does not match/);
    const b = started();
    b.clientFinal(Buffer.from(SERVER_FIRST));
    assert.throws(() => {
      b.verifyServerFinal(Buffer.from('e=invalid-proof'));
    }, /rejected the authentication: invalid-proof/);
  });

  it('escapes "=" and "," in the user name (RFC 5802 §5.1)', () => {
    assert.equal(escapeSaslName('a=b,c=,'), 'a=3Db=2Cc=3D=2C');
    const client = new ScramClient('SCRAM-SHA-512', 'svc,team=ops', 'pw', 'abc');
    assert.equal(client.clientFirst().toString(), 'n,,n=svc=2Cteam=3Dops,r=abc');
  });

  it('refuses a server nonce that does not extend ours', () => {
    for (const nonce of ['someoneElsesNonce', CNONCE, `x${CNONCE}abc`]) {
      assert.throws(
        () => started().clientFinal(Buffer.from(`r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`)),
        /nonce does not extend/,
        nonce,
      );
    }
  });

  it('refuses fewer than 4096 iterations, absurdly many, and malformed counts', () => {
    const first = (i: string) => Buffer.from(`r=${CNONCE}srv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=${i}`);
    assert.throws(() => started().clientFinal(first('4095')), /4095 iterations, fewer than the minimum of 4096/);
    assert.throws(() => started().clientFinal(first('1')), /fewer than the minimum/);
    assert.throws(() => started().clientFinal(first('1000000')), /more than this client accepts/);
    assert.throws(() => started().clientFinal(first('-5000')), /malformed SCRAM iteration count/);
    assert.throws(() => started().clientFinal(first('99999999999')), /malformed SCRAM iteration count/);
    assert.throws(() => started().clientFinal(first('4096.5')), /malformed SCRAM iteration count/);
    assert.doesNotThrow(() => started().clientFinal(first('4096')));
  });

  it('refuses malformed server-first messages and mandatory extensions', () => {
    assert.throws(() => started().clientFinal(Buffer.from(`r=${CNONCE}x,i=4096`)), /r, s and i are required/);
    assert.throws(() => started().clientFinal(Buffer.from('garbage')), /malformed SCRAM server-first/);
    assert.throws(() => started().clientFinal(Buffer.from(`m=ext,r=${CNONCE}x,s=W22Z,i=4096`)), /extension/);
    assert.throws(() => started().clientFinal(Buffer.from(`r=${CNONCE}x,s=,i=4096`)), /malformed SCRAM salt/);
  });

  it('runs once, in order', () => {
    const client = new ScramClient('SCRAM-SHA-256', 'user', 'pencil', CNONCE);
    assert.throws(() => client.clientFinal(Buffer.from(SERVER_FIRST)), ClientError);
    client.clientFirst();
    assert.throws(() => client.clientFirst(), /already sent/);
    assert.throws(() => {
      client.verifyServerFinal(Buffer.from(`v=${VECTORS[0].verifier}`));
    }, /out of order/);
    client.clientFinal(Buffer.from(SERVER_FIRST));
    assert.throws(() => client.clientFinal(Buffer.from(SERVER_FIRST)), /out of order/);
    client.verifyServerFinal(Buffer.from(`v=${VECTORS[0].verifier}`));
    assert.throws(() => {
      client.verifyServerFinal(Buffer.from(`v=${VECTORS[0].verifier}`));
    }, /out of order/);
  });

  it('makes a fresh random nonce for each exchange and refuses unusable ones', () => {
    const nonceOf = (c: ScramClient) => /,r=(.*)$/.exec(c.clientFirst().toString())?.[1];
    const a = nonceOf(new ScramClient('SCRAM-SHA-256', 'u', 'p'));
    const b = nonceOf(new ScramClient('SCRAM-SHA-256', 'u', 'p'));
    assert.ok(a !== undefined && a.length >= 24);
    assert.notEqual(a, b);
    assert.throws(() => new ScramClient('SCRAM-SHA-256', 'u', 'p', 'a,b'), /nonce/);
    assert.throws(() => new ScramClient('SCRAM-SHA-256', 'u', 'p', ''), /nonce/);
  });
});
