import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { decodeResponse } from '../../src/protocol/frames.js';
import { ApiVersions } from '../../src/protocol/messages/api-versions.js';
import type { SecurityEvent } from '../../src/security/events.js';
import { createOpensslCa, opensslTime, type OpensslCa } from '../helpers/openssl-ca.js';
import { RawConnection } from '../helpers/raw-client.js';
import { startSecureBroker, type SecureBroker } from '../helpers/secure-broker.js';
import { waitFor } from '../helpers/tls-fixtures.js';
import { describeEvents, kcat, writeProperties } from '../interop/security-support.js';

/**
 * Revoked client certificates (`tls.crlFile`) against real clients: kcat (librdkafka) and Node's tls,
 * with CRLs made by `openssl ca`, the tooling of an operator's own CA. A revoked certificate is refused
 * in the handshake with its own close reason; a CRL replaced on disk applies without a restart, to new
 * handshakes and to the connections already open.
 */

const DAY = 24 * 60 * 60 * 1000;

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-revocation-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

type Refusal = Extract<SecurityEvent, { type: 'connection-refused' }>;
const refusals = (events: readonly SecurityEvent[]): Refusal[] => events.filter((e): e is Refusal => e.type === 'connection-refused');

/** Replaces the CRL file the way an operator should: written beside it, then renamed over it. */
async function publishCrl(ca: OpensslCa, crlFile: string, options?: { lastUpdate?: string; nextUpdate?: string }): Promise<void> {
  const next = `${crlFile}.new`;
  await ca.crl(next, options);
  renameSync(next, crlFile);
}

interface NodeClient {
  /** Whether the broker answers ApiVersions on the connection (false: it closed it). */
  answers(): Promise<boolean>;
  readonly closed: Promise<unknown>;
}

/** A Node TLS client with a client certificate. TLS 1.3 finishes the client's handshake before the server checks the certificate, so the test is a request. */
async function nodeClient(t: TestContext, b: SecureBroker, cert: { certFile: string; keyFile: string }): Promise<NodeClient> {
  const client = await RawConnection.connect(b.port, { caLocation: b.caFile, certificateLocation: cert.certFile, keyLocation: cert.keyFile });
  t.after(() => {
    client.close();
  });
  let closed = false;
  void client.closed.then(() => (closed = true));
  return {
    closed: client.closed,
    async answers() {
      if (closed) return false;
      const seen = client.frames.length;
      const id = client.send(ApiVersions, 0, {});
      const outcome = await Promise.race([client.waitFrames(seen + 1).then(() => true), client.closed.then(() => false)]);
      if (!outcome) return false;
      const frame = client.frames[seen];
      return frame !== undefined && decodeResponse(ApiVersions, 0, frame).correlationId === id;
    },
  };
}

describe('revoked client certificates (tls.crlFile) with kcat and Node clients', () => {
  it('refuses a revoked certificate in the handshake, serves the others, and applies a replaced CRL without a restart', { timeout: 60_000 }, async (t) => {
    const dir = tempDir(t);
    const ca = await createOpensslCa(dir, 'ca', 'Operator client CA');
    const alice = await ca.issueClient('alice');
    const bob = await ca.issueClient('bob');
    const carol = await ca.issueClient('carol');
    await ca.revoke(bob.certFile);
    const crlFile = join(dir, 'crl.pem');
    await publishCrl(ca, crlFile);

    const b = await startSecureBroker(t, {
      listener: { protocol: 'SSL' },
      security: { tls: { clientAuth: 'required', caFile: ca.certFile, crlFile, principalMapping: [], principalPrefix: 'cert:', reloadIntervalMs: 100 } },
    });
    const properties = (name: string, cert: { certFile: string; keyFile: string }) =>
      writeProperties(join(dir, `${name}.properties`), {
        'bootstrap.servers': b.bootstrap,
        'security.protocol': 'SSL',
        'ssl.ca.location': b.caFile,
        'ssl.certificate.location': cert.certFile,
        'ssl.key.location': cert.keyFile,
      });
    const listed = async (name: string, cert: { certFile: string; keyFile: string }) => kcat(['-F', properties(name, cert), '-L', '-m', '3']);

    // kcat: alice is served, bob's revoked certificate is refused with its own reason.
    const aliceListed = await listed('alice', alice);
    assert.equal(aliceListed.code, 0, aliceListed.stderr);
    assert.match(aliceListed.stdout.toString(), /1 brokers:/);
    const from = b.events.length;
    const bobListed = await listed('bob', bob);
    assert.notEqual(bobListed.code, 0);
    assert.doesNotMatch(bobListed.stdout.toString(), /1 brokers:/);
    const bobRefusals = refusals(b.events.slice(from));
    assert.ok(bobRefusals.length >= 1, describeEvents(b.events));
    assert.ok(bobRefusals.every((e) => e.reason === 'CLIENT_CERTIFICATE_REVOKED' && e.detail === 'CERT_REVOKED'), describeEvents(bobRefusals));
    assert.deepEqual(
      b.events.flatMap((e) => (e.type === 'authentication-succeeded' ? [e.principal] : [])),
      ['User:cert:alice'],
    );

    // Node's tls: the same verdicts.
    assert.equal(await (await nodeClient(t, b, alice)).answers(), true);
    assert.equal(await (await nodeClient(t, b, bob)).answers(), false);

    // carol connects, then is revoked: the new CRL is picked up from disk, carol's open connection is
    // closed, and her next handshake is refused; alice's connection is untouched.
    const carolOpen = await nodeClient(t, b, carol);
    const aliceOpen = await nodeClient(t, b, alice);
    assert.equal(await carolOpen.answers(), true);
    assert.equal(await aliceOpen.answers(), true);
    const beforeReload = b.events.length;
    await ca.revoke(carol.certFile);
    await publishCrl(ca, crlFile);
    await carolOpen.closed;
    const closedOpen = refusals(b.events.slice(beforeReload));
    assert.deepEqual(
      closedOpen.map((e) => [e.reason, e.connection !== undefined, /^revoked while connected: subject CN=carol, serial [0-9A-F]+$/.test(e.detail ?? '')]),
      [['CLIENT_CERTIFICATE_REVOKED', true, true]],
      describeEvents(closedOpen),
    );
    assert.equal(await aliceOpen.answers(), true, 'alice keeps her connection');
    assert.ok(b.logger.entries.some((e) => (e.obj as { event?: string }).event === 'tls-crl-reloaded'));
    const carolListed = await listed('carol', carol);
    assert.notEqual(carolListed.code, 0);
    assert.equal((await listed('alice-again', alice)).code, 0);

    // An expired CRL is refused on reload: the current one stays (bob and carol still refused, alice served).
    const beforeExpired = b.logger.entries.length;
    await publishCrl(ca, crlFile, { lastUpdate: opensslTime(new Date(Date.now() - 40 * DAY)), nextUpdate: opensslTime(new Date(Date.now() - DAY)) });
    await waitFor(
      () => b.logger.entries.slice(beforeExpired).some((e) => (e.obj as { event?: string }).event === 'tls-certificate-reload-failed'),
      'the expired CRL to be refused',
    );
    const failed = b.logger.entries.slice(beforeExpired).find((e) => (e.obj as { event?: string }).event === 'tls-certificate-reload-failed');
    assert.match((failed?.obj as { reason?: string }).reason ?? '', /expired on .*: issue a new one/);
    assert.equal(await (await nodeClient(t, b, alice)).answers(), true);
    assert.equal(await (await nodeClient(t, b, bob)).answers(), false);
    assert.equal(await (await nodeClient(t, b, carol)).answers(), false);
  });

  it('on a SASL_SSL listener that requests certificates, a revoked one is refused too, naming the certificate', async (t) => {
    const dir = tempDir(t);
    const ca = await createOpensslCa(dir, 'ca', 'Operator client CA');
    const bob = await ca.issueClient('bob');
    const alice = await ca.issueClient('alice');
    await ca.revoke(bob.certFile);
    const crlFile = join(dir, 'crl.pem');
    await publishCrl(ca, crlFile);
    const users = { alice: 'alice-password-for-revocation', bob: 'bob-password-for-revocation' };
    const b = await startSecureBroker(t, {
      users,
      security: { tls: { clientAuth: 'requested', caFile: ca.certFile, crlFile, principalMapping: [], reloadIntervalMs: 60_000 } },
    });
    const withCert = (user: keyof typeof users, cert: { certFile: string; keyFile: string }) =>
      b.clientConfig(user, users[user], { 'ssl.certificate.location': cert.certFile, 'ssl.key.location': cert.keyFile });
    const aliceListed = await kcat(['-F', withCert('alice', alice), '-L', '-m', '3']);
    assert.equal(aliceListed.code, 0, aliceListed.stderr);
    const from = b.events.length;
    const bobListed = await kcat(['-F', withCert('bob', bob), '-L', '-m', '3']);
    assert.notEqual(bobListed.code, 0);
    const bobRefusals = refusals(b.events.slice(from));
    assert.ok(bobRefusals.length >= 1, describeEvents(b.events));
    // The handshake completed (the certificate was only requested), so the refusal can name it.
    assert.ok(
      bobRefusals.every((e) => e.reason === 'CLIENT_CERTIFICATE_REVOKED' && /^CERT_REVOKED: subject CN=bob, serial [0-9A-F]+$/.test(e.detail ?? '')),
      describeEvents(bobRefusals),
    );
    assert.deepEqual(b.events.slice(from).filter((e) => e.type === 'authentication-succeeded'), [], 'bob never got to log in with his password');
    // Without a certificate bob still logs in with SASL alone: `requested` does not require one.
    const bobPasswordOnly = await kcat(['-F', b.clientConfig('bob', users.bob), '-L', '-m', '3']);
    assert.equal(bobPasswordOnly.code, 0, bobPasswordOnly.stderr);
  });
});
