import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { describe, it, type TestContext } from 'node:test';
import { CloseReasons } from '../../src/close-reasons.js';
import { decodeResponse } from '../../src/protocol/frames.js';
import { ApiVersions } from '../../src/protocol/messages/api-versions.js';
import { runParapet } from '../helpers/cli-process.js';
import { createOpensslCa } from '../helpers/openssl-ca.js';
import { RawConnection } from '../helpers/raw-client.js';
import { startSecureBroker, type SecureBroker } from '../helpers/secure-broker.js';
import { describeEvents, kcat, writeProperties } from '../interop/security-support.js';
import { until } from './session-support.js';

/**
 * Certificate compromise, as commands (issue 16): `parapet tls rotate` gives the running broker a new
 * key and certificate with the same names, which new connections get while the open ones carry on; a
 * client certificate's principal disabled with `parapet user disable --principal` is cut and refused.
 */

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-incident-certs-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** The certificate the broker presents to a new TLS connection. */
async function presented(b: SecureBroker): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port: b.port, servername: 'localhost', ca: readFileSync(b.caFile) }, () => {
      const certificate = socket.getPeerX509Certificate();
      socket.destroy();
      if (certificate === undefined) reject(new Error('no certificate'));
      else resolve(certificate);
    });
    socket.once('error', reject);
  });
}

/** Whether the broker answers ApiVersions on an open connection (false: it closed it). */
async function answers(client: RawConnection): Promise<boolean> {
  const seen = client.frames.length;
  const id = client.send(ApiVersions, 0, {});
  const outcome = await Promise.race([client.waitFrames(seen + 1).then(() => true), client.closed.then(() => false)]);
  const frame = client.frames[seen];
  return outcome && frame !== undefined && decodeResponse(ApiVersions, 0, frame).correlationId === id;
}

describe('certificate compromise: tls rotate, and disabling a certificate principal', () => {
  it('tls rotate: new connections get a new key and serial with the same names, an open connection keeps working, the reload is audited', { timeout: 60_000 }, async (t) => {
    const b = await startSecureBroker(t);
    const before = await presented(b);
    const open = await RawConnection.connect(b.port, { caLocation: b.caFile });
    t.after(() => {
      open.close();
    });
    assert.equal(await answers(open), true);

    const rotated = await runParapet(['tls', 'rotate', '--data-dir', b.dataDir]);
    assert.equal(rotated.code, 0, rotated.stderr);
    const oldSerial = /old serial: +([0-9A-F]+)/.exec(rotated.stdout)?.[1];
    const newSerial = /new serial: +([0-9A-F]+)/.exec(rotated.stdout)?.[1];
    assert.ok(oldSerial !== undefined && newSerial !== undefined && oldSerial !== newSerial, rotated.stdout);
    assert.match(rotated.stdout, /names: +DNS:localhost, .*IP:127\.0\.0\.1/);
    assert.match(rotated.stdout, new RegExp(`parapet cert revoke --serial ${oldSerial} --reason keyCompromise`));
    for (const file of ['server.crt', 'server.key']) assert.equal(statSync(join(b.dataDir, 'tls', file)).mode & 0o777, 0o600, `${file} is owner-only`);

    // The broker polls the files (tls.reloadIntervalMs, 2 s by default).
    let after = before;
    const poll = setInterval(() => {
      presented(b).then((c) => (after = c), () => undefined);
    }, 200);
    t.after(() => {
      clearInterval(poll);
    });
    await until(() => after.serialNumber !== before.serialNumber, 'a new TLS connection to get the new certificate', 15_000, 100);
    clearInterval(poll);
    t.diagnostic(`serial ${before.serialNumber} -> ${after.serialNumber}`);
    assert.notDeepEqual(after.publicKey.export({ format: 'der', type: 'spki' }), before.publicKey.export({ format: 'der', type: 'spki' }), 'a new key');
    assert.equal(after.subject, before.subject);
    assert.equal(after.subjectAltName, before.subjectAltName);
    assert.equal(after.checkIssued(new X509Certificate(readFileSync(b.caFile))), true, 'signed by the same CA');
    assert.equal(await answers(open), true, 'the connection opened before keeps working');
    const reload = b.events.find((e) => e.type === 'certificate-reloaded' && e.ok);
    assert.ok(reload?.type === 'certificate-reloaded' && reload.detail.includes(after.serialNumber), describeEvents(b.events.filter((e) => e.type === 'certificate-reloaded')));

    // kcat verifies the new certificate against the CA and the host name, as before.
    const listed = await kcat(['-F', b.adminProperties, '-L', '-m', '5']);
    assert.equal(listed.code, 0, listed.stderr);

    const wrongCa = await runParapet(['tls', 'rotate', '--data-dir', b.dataDir, '--ca-dir', tempDir(t)]);
    assert.equal(wrongCa.code, 1);
    assert.match(wrongCa.stderr, /no CA in /);
  });

  it('user disable --principal User:cert:CN cuts an open mTLS connection and refuses the certificate’s next login', { timeout: 60_000 }, async (t) => {
    const dir = tempDir(t);
    const ca = await createOpensslCa(dir, 'ca', 'Operator client CA');
    const dave = await ca.issueClient('dave');
    const erin = await ca.issueClient('erin');
    const b = await startSecureBroker(t, {
      listener: { protocol: 'SSL' },
      security: { tls: { clientAuth: 'required', caFile: ca.certFile, principalMapping: [], principalPrefix: 'cert:', reloadIntervalMs: 2000 } },
    });
    const url = b.broker.adminUrl;
    assert.ok(url !== undefined);
    const properties = (name: string, cert: { certFile: string; keyFile: string }) =>
      writeProperties(join(dir, `${name}.properties`), { 'bootstrap.servers': b.bootstrap, 'security.protocol': 'SSL', 'ssl.ca.location': b.caFile, 'ssl.certificate.location': cert.certFile, 'ssl.key.location': cert.keyFile });
    const daveOpen = await RawConnection.connect(b.port, { caLocation: b.caFile, certificateLocation: dave.certFile, keyLocation: dave.keyFile });
    const erinOpen = await RawConnection.connect(b.port, { caLocation: b.caFile, certificateLocation: erin.certFile, keyLocation: erin.keyFile });
    t.after(() => {
      daveOpen.close();
      erinOpen.close();
    });
    assert.equal(await answers(daveOpen), true);
    assert.equal(await answers(erinOpen), true);

    const eventsBefore = b.events.length;
    const disabled = await runParapet(['user', 'disable', '--principal', 'User:cert:dave', '--reason', 'laptop stolen', '--data-dir', b.dataDir, '--admin-url', url]);
    assert.equal(disabled.code, 0, disabled.stderr);
    assert.match(disabled.stdout, /^disabled: User:cert:dave .*; 1 live connection\(s\) closed\n$/);
    await daveOpen.closed;
    assert.equal(await answers(erinOpen), true, 'erin keeps her connection');
    assert.ok(b.events.slice(eventsBefore).some((e) => e.type === 'connection-refused' && e.reason === CloseReasons.PRINCIPAL_DISABLED));

    const refused = await kcat(['-F', properties('dave', dave), '-L', '-m', '3']);
    assert.notEqual(refused.code, 0);
    assert.ok(
      b.events.slice(eventsBefore).some((e) => e.type === 'authentication-failed' && e.mechanism === 'TLS client certificate' && e.claimedUser === 'cert:dave' && e.reason === CloseReasons.PRINCIPAL_DISABLED),
      describeEvents(b.events.slice(eventsBefore)),
    );
    assert.equal((await kcat(['-F', properties('erin', erin), '-L', '-m', '3'])).code, 0);

    assert.equal((await runParapet(['user', 'enable', '--principal', 'User:cert:dave', '--data-dir', b.dataDir, '--admin-url', url])).code, 0);
    assert.equal((await kcat(['-F', properties('dave-again', dave), '-L', '-m', '3'])).code, 0);
  });
});
