import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ScramClient } from '../../src/client/scram-client.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { ApiVersions } from '../../src/protocol/messages/api-versions.js';
import { Metadata } from '../../src/protocol/messages/metadata.js';
import { AUTHENTICATION_FAILED_MESSAGE } from '../../src/security/types.js';
import { DEFAULT_LOGIN_GUARD_CONFIG } from '../../src/security/login-guard/login-guard-config.js';
import { SaslTestConnection } from '../helpers/sasl-client.js';
import { startSecureBroker } from '../helpers/secure-broker.js';

const USERS = { alice: 'alice-secret-password' };

function failures(events: readonly { type: string }[]) {
  return events.filter((e) => e.type === 'authentication-failed') as { type: string; reason: string; claimedUser?: string; mechanism: string }[];
}

describe('SASL authentication attacks (SASL_SSL, CA-verified TLS)', () => {
  it('the right password authenticates, with SCRAM-SHA-512 and SCRAM-SHA-256, and the session never expires', async (t) => {
    const b = await startSecureBroker(t, { users: USERS });
    for (const mechanism of ['SCRAM-SHA-512', 'SCRAM-SHA-256'] as const) {
      const conn = await SaslTestConnection.open(t, b.port, b.caFile);
      const { result } = await conn.scram(mechanism, 'alice', USERS.alice);
      assert.equal(result.errorCode, 0);
      const metadata = await conn.request(Metadata, 9, { topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
      assert.ok(Array.isArray(metadata.brokers));
    }
    assert.deepEqual(
      b.events.filter((e) => e.type === 'authentication-succeeded').map((e) => (e as { principal: string }).principal),
      ['User:alice', 'User:alice'],
    );
  });

  it('a wrong password gets error 58 with a message that names nothing, then the connection closes', async (t) => {
    const b = await startSecureBroker(t, { users: USERS });
    const conn = await SaslTestConnection.open(t, b.port, b.caFile);
    const { result } = await conn.scram('SCRAM-SHA-512', 'alice', 'wrong-password');
    assert.equal(result.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
    assert.equal(result.errorMessage, AUTHENTICATION_FAILED_MESSAGE);
    await conn.closed;
    assert.deepEqual(failures(b.events).map((e) => [e.reason, e.claimedUser]), [['BAD_CREDENTIALS', 'alice']]);
  });

  it('an unknown user gets exactly the same answers as a wrong password', async (t) => {
    const b = await startSecureBroker(t, { users: USERS });
    const known = await SaslTestConnection.open(t, b.port, b.caFile);
    const unknown = await SaslTestConnection.open(t, b.port, b.caFile);
    // The server-first message looks the same: a salt and the same iteration count, no early error.
    const answers = [];
    for (const [conn, user] of [
      [known, 'alice'],
      [unknown, 'mallory'],
    ] as const) {
      await conn.handshake('SCRAM-SHA-512');
      const scram = new ScramClient('SCRAM-SHA-512', user, 'guess');
      const first = await conn.authenticate(scram.clientFirst());
      assert.equal(first.errorCode, 0, `${user}: server-first`);
      const shape = first.authBytes.toString().replace(/r=[^,]+/, 'r=…').replace(/s=[^,]+/, 's=…');
      const final = await conn.authenticate(scram.clientFinal(first.authBytes));
      answers.push({ shape, errorCode: final.errorCode, errorMessage: final.errorMessage, authBytes: final.authBytes.length });
      await conn.closed;
    }
    assert.deepEqual(answers[0], answers[1]);
    assert.deepEqual(failures(b.events).map((e) => e.reason), ['BAD_CREDENTIALS', 'UNKNOWN_USER']);
  });

  it('a replayed SCRAM client-final is refused on a new connection', async (t) => {
    const b = await startSecureBroker(t, { users: USERS });
    const first = await SaslTestConnection.open(t, b.port, b.caFile);
    const { result, clientFinal } = await first.scram('SCRAM-SHA-256', 'alice', USERS.alice);
    assert.equal(result.errorCode, 0);
    assert.ok(clientFinal !== null);
    // An eavesdropper replays the recorded exchange: the server's nonce differs, so the proof is worthless.
    const replay = await SaslTestConnection.open(t, b.port, b.caFile);
    await replay.handshake('SCRAM-SHA-256');
    const clientFirst = Buffer.from(`n,,n=alice,r=${/r=([^,]+)/.exec(clientFinal.toString())?.[1]?.slice(0, 32) ?? ''}`);
    const serverFirst = await replay.authenticate(clientFirst);
    assert.equal(serverFirst.errorCode, 0);
    const answer = await replay.authenticate(clientFinal);
    assert.equal(answer.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
    await replay.closed;
    assert.equal(failures(b.events).at(-1)?.reason, 'NONCE_MISMATCH');
  });

  it('a request before authentication closes the connection without an answer', async (t) => {
    const b = await startSecureBroker(t, { users: USERS });
    const conn = await SaslTestConnection.open(t, b.port, b.caFile);
    // ApiVersions is allowed before authentication (clients need it to pick the SASL versions).
    const versions = await conn.request(ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
    assert.equal(versions.errorCode, 0);
    conn.send(Metadata, 1, { topics: null });
    await conn.closed;
    assert.equal(conn.unreadFrames, 0, 'no answer to the Metadata request');
    const refused = b.events.find((e) => e.type === 'connection-refused') as { reason: string; detail: string } | undefined;
    assert.equal(refused?.reason, 'UNAUTHENTICATED_REQUEST');
    assert.match(refused.detail, /Metadata/);
  });

  it('PLAIN is not offered on a plaintext listener, and asking for it closes the connection', async (t) => {
    const b = await startSecureBroker(t, {
      users: USERS,
      listener: { protocol: 'SASL_PLAINTEXT' },
      security: { allowInsecurePlaintext: true },
    });
    const conn = await SaslTestConnection.open(t, b.port, null);
    const hs = await conn.handshake('PLAIN');
    assert.equal(hs.errorCode, ErrorCode.UNSUPPORTED_SASL_MECHANISM);
    assert.deepEqual(hs.mechanisms, ['SCRAM-SHA-512', 'SCRAM-SHA-256']);
    await conn.closed;
    assert.ok(b.events.some((e) => e.type === 'insecure-setting'), 'the plaintext listener is reported as insecure');
  });

  it('PLAIN over TLS checks the password against the stored SCRAM keys', async (t) => {
    const b = await startSecureBroker(t, { users: USERS });
    const good = await SaslTestConnection.open(t, b.port, b.caFile);
    assert.equal((await good.handshake('PLAIN')).errorCode, 0);
    assert.equal((await good.authenticate(Buffer.from(`\0alice\0${USERS.alice}`))).errorCode, 0);
    const bad = await SaslTestConnection.open(t, b.port, b.caFile);
    await bad.handshake('PLAIN');
    const answer = await bad.authenticate(Buffer.from('\0alice\0nope'));
    assert.equal(answer.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
    assert.equal(answer.errorMessage, AUTHENTICATION_FAILED_MESSAGE);
    await bad.closed;
  });

  it('a failed authentication is answered only after the configured delay', async (t) => {
    const b = await startSecureBroker(t, { users: USERS, security: { sasl: { mechanisms: ['SCRAM-SHA-512'], failedAuthenticationDelayMs: 400, loginGuard: DEFAULT_LOGIN_GUARD_CONFIG, maxUnauthenticatedFrameBytes: 65536 } } });
    const other = await SaslTestConnection.open(t, b.port, b.caFile);
    const started = Date.now();
    const { result } = await other.scram('SCRAM-SHA-512', 'alice', 'wrong');
    assert.equal(result.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
    assert.ok(Date.now() - started >= 380, `answered after ${Date.now() - started} ms`);
  });

  it('malformed SASL tokens, unknown mechanisms and out-of-order requests are refused and logged, and others are still served', async (t) => {
    const b = await startSecureBroker(t, { users: USERS });
    const garbage = await SaslTestConnection.open(t, b.port, b.caFile);
    await garbage.handshake('SCRAM-SHA-512');
    const answer = await garbage.authenticate(Buffer.from([0xff, 0x00, 0x2c, 0x3d, 0x72]));
    assert.equal(answer.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
    await garbage.closed;

    const unknownMechanism = await SaslTestConnection.open(t, b.port, b.caFile);
    const hs = await unknownMechanism.handshake('GSSAPI');
    assert.equal(hs.errorCode, ErrorCode.UNSUPPORTED_SASL_MECHANISM);
    assert.deepEqual(hs.mechanisms, ['SCRAM-SHA-512', 'SCRAM-SHA-256', 'PLAIN']);
    await unknownMechanism.closed;

    const noHandshake = await SaslTestConnection.open(t, b.port, b.caFile);
    const early = await noHandshake.authenticate(Buffer.from('n,,n=alice,r=abc'));
    assert.equal(early.errorCode, ErrorCode.ILLEGAL_SASL_STATE);
    await noHandshake.closed;

    const raw = await SaslTestConnection.open(t, b.port, b.caFile);
    assert.equal((await raw.handshake('SCRAM-SHA-256', 0)).errorCode, 0);
    raw.sendFrame(Buffer.from('not a scram message'));
    await raw.closed;
    assert.equal(raw.unreadFrames, 0, 'a failed raw-token exchange is closed without an answer');

    const reasons = b.events.filter((e) => e.type !== 'insecure-setting' && e.type !== 'broker-started').map((e) => ('reason' in e ? e.reason : e.type));
    assert.deepEqual(reasons, ['MALFORMED_TOKEN', 'UNSUPPORTED_SASL_MECHANISM', 'ILLEGAL_SASL_STATE', 'MALFORMED_TOKEN']);
    const fine = await SaslTestConnection.open(t, b.port, b.caFile);
    assert.equal((await fine.scram('SCRAM-SHA-256', 'alice', USERS.alice)).result.errorCode, 0);
  });

  it('SCRAM with handshake v0 exchanges raw tokens (kafka-python 2.0.2 framing)', async (t) => {
    const b = await startSecureBroker(t, { users: USERS });
    const conn = await SaslTestConnection.open(t, b.port, b.caFile);
    assert.equal((await conn.handshake('SCRAM-SHA-512', 0)).errorCode, 0);
    const scram = new ScramClient('SCRAM-SHA-512', 'alice', USERS.alice);
    conn.sendFrame(scram.clientFirst());
    conn.sendFrame(scram.clientFinal(await conn.nextFrame()));
    scram.verifyServerFinal(await conn.nextFrame());
    const metadata = await conn.request(Metadata, 1, { topics: null });
    assert.ok(Array.isArray(metadata.brokers));
  });
});
