import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it, type TestContext } from 'node:test';
import tls from 'node:tls';
import { CertificateReloader } from '../../../../src/security/tls/cert-reloader.js';
import { issueServerCertificate, type CertificateAndKey } from '../../../../src/security/tls/certificates.js';
import { buildTlsServerOptions } from '../../../../src/security/tls/tls-options.js';
import { connectTls, createTlsFixture, listenForTest, nextData, recordingLogger, waitFor, type TlsFixture } from '../../../helpers/tls-fixtures.js';

const POLL_MS = 25;

/** Replaces a file the way cert-manager and careful scripts do: write aside, then rename over it. */
async function replaceFile(path: string, content: string): Promise<void> {
  await writeFile(`${path}.tmp`, content);
  await rename(`${path}.tmp`, path);
}

function fingerprintOf(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

async function newServerCertificate(fixture: TlsFixture, commonName: string): Promise<CertificateAndKey> {
  return issueServerCertificate(fixture.ca, { commonName, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
}

/** An echo server started from the fixture's files, and a function connecting a new client to it. */
async function echoServer(t: TestContext, fixture: TlsFixture): Promise<{ server: tls.Server; connect: () => Promise<tls.TLSSocket> }> {
  const server = tls.createServer(buildTlsServerOptions(fixture.tlsFiles, 'none'), (socket) => {
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  const port = await listenForTest(t, server);
  const connect = async (): Promise<tls.TLSSocket> => {
    const outcome = await connectTls(t, { host: '127.0.0.1', port, servername: 'localhost', ca: fixture.ca.certPem });
    assert.ok(outcome.ok, outcome.ok ? '' : outcome.error.message);
    return outcome.socket;
  };
  return { server, connect };
}

async function echo(socket: tls.TLSSocket, text: string): Promise<string | undefined> {
  const reply = nextData(socket);
  socket.write(text);
  return (await reply)?.toString();
}

describe('CertificateReloader', () => {
  it('serves a replaced certificate to new clients while open connections carry on', async (t) => {
    const fixture = await createTlsFixture(t);
    const { server, connect } = await echoServer(t, fixture);
    const logger = recordingLogger();
    const reloader = new CertificateReloader({ files: fixture.tlsFiles, clientAuth: 'none', server, logger, pollIntervalMs: POLL_MS });
    t.after(() => {
      reloader.close();
    });

    const clientA = await connect();
    assert.equal(clientA.getPeerCertificate().fingerprint256, fingerprintOf(fixture.server.certPem));
    assert.equal(await echo(clientA, 'before'), 'before');

    const next = await newServerCertificate(fixture, 'localhost-rotated');
    await replaceFile(fixture.tlsFiles.keyFile, next.keyPem);
    await replaceFile(fixture.tlsFiles.certFile, next.certPem);
    // Noticed by the file watcher, not by a call to reload().
    await waitFor(() => logger.records.some((r) => r.msg === 'TLS certificate reloaded'), 'the reload');

    const clientB = await connect();
    const seenByB = clientB.getPeerCertificate();
    assert.equal(seenByB.fingerprint256, fingerprintOf(next.certPem));
    assert.equal(seenByB.subject.CN, 'localhost-rotated');
    assert.notEqual(seenByB.serialNumber, clientA.getPeerCertificate().serialNumber);
    assert.equal(await echo(clientB, 'new'), 'new');

    // A's connection was made with the old context and is still up on it.
    assert.equal(await echo(clientA, 'after'), 'after');
    assert.equal(clientA.getPeerCertificate().fingerprint256, fingerprintOf(fixture.server.certPem));
    assert.deepEqual(
      logger.records.filter((r) => r.level === 'error'),
      [],
    );
  });

  it('keeps the old certificate when the key does not match, then loads the pair once the key follows', async (t) => {
    const fixture = await createTlsFixture(t);
    const { server, connect } = await echoServer(t, fixture);
    const logger = recordingLogger();
    const outcomes: { ok: boolean; detail: string }[] = [];
    const reloader = new CertificateReloader({ files: fixture.tlsFiles, clientAuth: 'none', server, logger, pollIntervalMs: POLL_MS, onReloaded: (o) => outcomes.push(o) });
    t.after(() => {
      reloader.close();
    });
    const open = await connect();

    // The certificate is rewritten first; its key arrives later.
    const next = await newServerCertificate(fixture, 'localhost-next');
    await replaceFile(fixture.tlsFiles.certFile, next.certPem);
    await waitFor(() => logger.records.some((r) => r.level === 'error'), 'the reload failure to be logged');
    assert.equal(reloader.reload(), false);

    const [failure] = logger.records.filter((r) => r.level === 'error');
    assert.ok(failure);
    assert.equal(failure.msg, 'TLS certificate reload failed; keeping the current certificate');
    assert.match(String((failure.obj as { reason?: unknown }).reason), /does not belong to the certificate/);
    // No key material in anything logged: neither key's PEM body appears, nor a PEM header.
    const logged = JSON.stringify(logger.records);
    assert.doesNotMatch(logged, /PRIVATE KEY/);
    for (const pem of [fixture.server.keyPem, next.keyPem]) {
      for (const line of pem.split('\n').filter((l) => !l.startsWith('-----') && l.length > 16)) assert.ok(!logged.includes(line));
    }
    // Repeated failures of the same kind are not logged as errors again.
    assert.equal(logger.records.filter((r) => r.level === 'error').length, 1);

    assert.equal((await connect()).getPeerCertificate().fingerprint256, fingerprintOf(fixture.server.certPem));
    assert.equal(await echo(open, 'still here'), 'still here');

    await replaceFile(fixture.tlsFiles.keyFile, next.keyPem);
    await waitFor(() => logger.records.some((r) => r.msg === 'TLS certificate reloaded'), 'the reload of the completed pair');
    assert.equal((await connect()).getPeerCertificate().fingerprint256, fingerprintOf(next.certPem));
    // For the audit trail: the failure once (not each retry), then the reload, naming the new certificate.
    assert.deepEqual(outcomes.map((o) => o.ok), [false, true]);
    assert.match(outcomes[0]?.detail ?? '', /does not belong to the certificate/);
    assert.match(outcomes[1]?.detail ?? '', /localhost-next/);
  });

  it('refuses a certificate that has already expired', async (t) => {
    const fixture = await createTlsFixture(t);
    const installed: tls.SecureContextOptions[] = [];
    const logger = recordingLogger();
    const inTwoYears = Date.now() + 2 * 365 * 86_400_000;
    const reloader = new CertificateReloader({
      files: fixture.tlsFiles,
      clientAuth: 'none',
      server: { setSecureContext: (options) => installed.push(options) },
      logger,
      pollIntervalMs: 60_000,
      now: () => inTwoYears,
    });
    t.after(() => {
      reloader.close();
    });
    const next = await newServerCertificate(fixture, 'short-lived');
    await replaceFile(fixture.tlsFiles.certFile, next.certPem);
    await replaceFile(fixture.tlsFiles.keyFile, next.keyPem);
    assert.equal(reloader.reload(), false);
    assert.equal(installed.length, 0);
    assert.match(String((logger.records[0]?.obj as { reason?: unknown } | undefined)?.reason), /expired on/);
  });

  it('installs nothing when the files did not really change, and something when they did', async (t) => {
    const fixture = await createTlsFixture(t);
    const installed: tls.SecureContextOptions[] = [];
    const reloader = new CertificateReloader({
      files: fixture.tlsFiles,
      clientAuth: 'required',
      server: { setSecureContext: (options) => installed.push(options) },
      logger: recordingLogger(),
      pollIntervalMs: 60_000,
    });
    t.after(() => {
      reloader.close();
    });
    await replaceFile(fixture.tlsFiles.certFile, fixture.server.certPem);
    assert.equal(reloader.reload(), true);
    assert.equal(installed.length, 0);

    const next = await newServerCertificate(fixture, 'changed');
    await replaceFile(fixture.tlsFiles.keyFile, next.keyPem);
    await replaceFile(fixture.tlsFiles.certFile, next.certPem);
    assert.equal(reloader.reload(), true);
    assert.equal(installed.length, 1);
    // The new context keeps the client authentication it was configured with.
    assert.equal(installed[0]?.cert, next.certPem);
    assert.equal((installed[0] as tls.TlsOptions | undefined)?.requestCert, true);
    assert.equal((installed[0] as tls.TlsOptions | undefined)?.rejectUnauthorized, true);
  });

  it('stops watching on close()', async (t) => {
    const fixture = await createTlsFixture(t);
    const installed: tls.SecureContextOptions[] = [];
    const reloader = new CertificateReloader({
      files: fixture.tlsFiles,
      clientAuth: 'none',
      server: { setSecureContext: (options) => installed.push(options) },
      logger: recordingLogger(),
      pollIntervalMs: POLL_MS,
      settleMs: 0,
    });
    reloader.close();
    const next = await newServerCertificate(fixture, 'unseen');
    await replaceFile(fixture.tlsFiles.keyFile, next.keyPem);
    await replaceFile(fixture.tlsFiles.certFile, next.certPem);
    await sleep(POLL_MS * 12);
    assert.equal(installed.length, 0);
    // The files were fine: a direct reload installs them, so the silence above was the closed watcher.
    assert.equal(reloader.reload(), true);
    assert.equal(installed.length, 1);
  });
});
