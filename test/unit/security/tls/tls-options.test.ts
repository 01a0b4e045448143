import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { createCertificateAuthority, issueClientCertificate } from '../../../../src/security/tls/certificates.js';
import {
  TLS12_CIPHER_SUITES,
  TLS13_CIPHER_SUITES,
  TLS_CIPHERS,
  buildTlsServerOptions,
  peerCertificateStatus,
  type ClientAuth,
} from '../../../../src/security/tls/tls-options.js';
import { connectTls, createTlsFixture, handshakeResult, listenForTest, nextData, waitFor, type ConnectOutcome, type TlsFixture } from '../../../helpers/tls-fixtures.js';

const run = promisify(execFile);

interface Handshake {
  readonly client: ConnectOutcome;
  /** Codes of the server's `tlsClientError` events: why the server refused a handshake. */
  readonly serverErrors: readonly string[];
  /** How many handshakes the server completed. */
  readonly accepted: () => number;
}

/** A server that answers "hello" on every connection it accepts, and one client connecting to it. */
async function handshake(t: TestContext, fixture: TlsFixture, serverOptions: tls.TlsOptions, clientOptions: tls.ConnectionOptions): Promise<Handshake> {
  const serverErrors: string[] = [];
  let accepted = 0;
  const server = tls.createServer(serverOptions, (socket) => {
    accepted++;
    socket.on('error', () => {});
    socket.end('hello');
  });
  server.on('tlsClientError', (error: NodeJS.ErrnoException) => serverErrors.push(error.code ?? error.message));
  const port = await listenForTest(t, server);
  const client = await connectTls(t, { host: '127.0.0.1', port, servername: 'localhost', ca: fixture.ca.certPem, ...clientOptions });
  return { client, serverErrors, accepted: () => accepted };
}

async function refusedByServer(outcome: Handshake, serverCode: string): Promise<void> {
  await waitFor(() => outcome.serverErrors.length > 0, 'the server to report the failed handshake');
  assert.deepEqual(outcome.serverErrors, [serverCode]);
  assert.equal(outcome.accepted(), 0);
}

/** Server options that accept anything OpenSSL can still do: shows the client's offer was really made. */
function permissive(fixture: TlsFixture): tls.TlsOptions {
  return { cert: fixture.server.certPem, key: fixture.server.keyPem, minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' };
}

function legacyClient(version: tls.SecureVersion): tls.ConnectionOptions {
  // Node's client refuses to offer TLS < 1.2 at its default security level: lower it so the offer is made.
  return { minVersion: version, maxVersion: version, ciphers: 'DEFAULT@SECLEVEL=0' };
}

const CBC_CLIENT: tls.ConnectionOptions = { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA256' };

describe('TLS server options', () => {
  describe('protocol versions and cipher suites', () => {
    it('refuses a client offering only TLS 1.0', async (t) => {
      const fixture = await createTlsFixture(t);
      const control = await handshake(t, fixture, permissive(fixture), legacyClient('TLSv1'));
      assert.equal(control.client.ok ? control.client.socket.getProtocol() : handshakeResult(control.client), 'TLSv1');

      const refused = await handshake(t, fixture, buildTlsServerOptions(fixture.tlsFiles, 'none'), legacyClient('TLSv1'));
      assert.equal(handshakeResult(refused.client), 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
      await refusedByServer(refused, 'ERR_SSL_UNSUPPORTED_PROTOCOL');
    });

    it('refuses a client offering only TLS 1.1', async (t) => {
      const fixture = await createTlsFixture(t);
      const control = await handshake(t, fixture, permissive(fixture), legacyClient('TLSv1.1'));
      assert.equal(control.client.ok ? control.client.socket.getProtocol() : handshakeResult(control.client), 'TLSv1.1');

      const refused = await handshake(t, fixture, buildTlsServerOptions(fixture.tlsFiles, 'none'), legacyClient('TLSv1.1'));
      assert.equal(handshakeResult(refused.client), 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
      await refusedByServer(refused, 'ERR_SSL_UNSUPPORTED_PROTOCOL');
    });

    it('refuses TLS 1.2 with only a CBC suite', async (t) => {
      const fixture = await createTlsFixture(t);
      const control = await handshake(t, fixture, permissive(fixture), CBC_CLIENT);
      assert.equal(control.client.ok ? control.client.socket.getCipher().name : handshakeResult(control.client), 'ECDHE-ECDSA-AES128-SHA256');

      const refused = await handshake(t, fixture, buildTlsServerOptions(fixture.tlsFiles, 'none'), CBC_CLIENT);
      assert.equal(handshakeResult(refused.client), 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE');
      await refusedByServer(refused, 'ERR_SSL_NO_SHARED_CIPHER');
    });

    it('accepts TLS 1.2 with an AEAD suite', async (t) => {
      const fixture = await createTlsFixture(t);
      const outcome = await handshake(t, fixture, buildTlsServerOptions(fixture.tlsFiles, 'none'), {
        maxVersion: 'TLSv1.2',
        ciphers: 'ECDHE-ECDSA-CHACHA20-POLY1305',
      });
      assert.ok(outcome.client.ok, outcome.client.ok ? '' : outcome.client.error.message);
      assert.equal(outcome.client.socket.getProtocol(), 'TLSv1.2');
      assert.equal(outcome.client.socket.getCipher().name, 'ECDHE-ECDSA-CHACHA20-POLY1305');
      assert.equal((await nextData(outcome.client.socket))?.toString(), 'hello');
    });

    it('accepts TLS 1.3', async (t) => {
      const fixture = await createTlsFixture(t);
      const outcome = await handshake(t, fixture, buildTlsServerOptions(fixture.tlsFiles, 'none'), { minVersion: 'TLSv1.3' });
      assert.ok(outcome.client.ok, outcome.client.ok ? '' : outcome.client.error.message);
      assert.equal(outcome.client.socket.getProtocol(), 'TLSv1.3');
      assert.ok((TLS13_CIPHER_SUITES as readonly string[]).includes(outcome.client.socket.getCipher().name));
      assert.equal((await nextData(outcome.client.socket))?.toString(), 'hello');
    });

    it('the cipher list names only forward-secret AEAD suites, as OpenSSL reads it', async () => {
      const { stdout } = await run('openssl', ['ciphers', '-v', '-ciphersuites', TLS13_CIPHER_SUITES.join(':'), TLS12_CIPHER_SUITES.join(':')]);
      const suites = stdout
        .trim()
        .split('\n')
        .map((line) => line.trim().split(/\s+/));
      // Every name resolved (a typo would silently drop a suite) and nothing else crept in.
      assert.deepEqual(suites.map(([name]) => name).sort(), TLS_CIPHERS.split(':').sort());
      for (const [name, version, kx, , , mac] of suites) {
        assert.equal(mac, 'Mac=AEAD', `${name} is AEAD`);
        assert.ok(version === 'TLSv1.3' || kx === 'Kx=ECDH', `${name} has an ephemeral key exchange`);
      }
    });

    it('refuses TLS 1.2 renegotiation, which a default Node server allows', async (t) => {
      const fixture = await createTlsFixture(t);
      const attempt = async (options: tls.TlsOptions): Promise<string> => {
        // An echo server: the connection stays open and the client's writes drive the new handshake.
        const server = tls.createServer(options, (socket) => {
          socket.on('error', () => {});
          socket.pipe(socket);
        });
        const port = await listenForTest(t, server);
        const outcome = await connectTls(t, { host: '127.0.0.1', port, servername: 'localhost', ca: fixture.ca.certPem, maxVersion: 'TLSv1.2' });
        assert.ok(outcome.ok);
        const socket = outcome.socket;
        return new Promise((resolve) => {
          socket.once('error', (error: NodeJS.ErrnoException) => {
            resolve(error.message.includes('no renegotiation') ? 'refused' : String(error.code));
          });
          // Node calls back with undefined, not the null it is typed with, on success.
          socket.renegotiate({}, (error: Error | null | undefined) => {
            if (error === null || error === undefined) resolve('renegotiated');
          });
          socket.write('ping');
        });
      };
      assert.equal(await attempt({ cert: fixture.server.certPem, key: fixture.server.keyPem }), 'renegotiated');
      assert.equal(await attempt(buildTlsServerOptions(fixture.tlsFiles, 'none')), 'refused');
    });
  });

  describe('clientAuth', () => {
    async function otherCaClient(): Promise<tls.ConnectionOptions> {
      const otherCa = await createCertificateAuthority({ commonName: 'Other CA' });
      const mallory = await issueClientCertificate(otherCa, { commonName: 'mallory' });
      return { cert: mallory.certPem, key: mallory.keyPem };
    }

    it('none does not ask for a certificate', async (t) => {
      const fixture = await createTlsFixture(t);
      const options = buildTlsServerOptions(fixture.tlsFiles, 'none');
      assert.equal(options.requestCert, false);
      assert.equal(options.ca, undefined);
    });

    it('required refuses a client without a certificate', async (t) => {
      const fixture = await createTlsFixture(t);
      const outcome = await handshake(t, fixture, buildTlsServerOptions(fixture.tlsFiles, 'required'), {});
      await refusedByServer(outcome, 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE');
      // In TLS 1.3 the client finishes its side first and learns of the refusal from the alert after.
      assert.ok(outcome.client.ok);
      assert.equal(await nextData(outcome.client.socket), undefined);
      assert.deepEqual(
        outcome.client.laterErrors.map((error) => error.code),
        ['ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'],
      );
    });

    it('required refuses a certificate from another CA and accepts one from its CA', async (t) => {
      const fixture = await createTlsFixture(t);
      const options = buildTlsServerOptions(fixture.tlsFiles, 'required');
      const refused = await handshake(t, fixture, options, await otherCaClient());
      if (refused.client.ok) assert.equal(await nextData(refused.client.socket), undefined);
      await waitFor(() => refused.serverErrors.length > 0, 'the server to drop the connection');
      assert.equal(refused.accepted(), 0);

      const accepted = await handshake(t, fixture, options, { cert: fixture.client.certPem, key: fixture.client.keyPem });
      assert.ok(accepted.client.ok);
      assert.equal((await nextData(accepted.client.socket))?.toString(), 'hello');
      assert.equal(accepted.accepted(), 1);
    });

    it('requested lets every client connect and tells none, rejected and verified apart', async (t) => {
      const fixture = await createTlsFixture(t);
      const server = tls.createServer(buildTlsServerOptions(fixture.tlsFiles, 'requested'), (socket) => {
        const status = peerCertificateStatus(socket);
        const summary = status.kind === 'verified' ? `verified ${String(status.certificate.subject.CN)}` : status.kind === 'rejected' ? `rejected ${status.reason}` : 'none';
        socket.end(summary);
      });
      const port = await listenForTest(t, server);
      const statusOf = async (clientOptions: tls.ConnectionOptions): Promise<string | undefined> => {
        const outcome = await connectTls(t, { host: '127.0.0.1', port, servername: 'localhost', ca: fixture.ca.certPem, ...clientOptions });
        assert.ok(outcome.ok, outcome.ok ? '' : outcome.error.message);
        return (await nextData(outcome.socket))?.toString();
      };
      assert.equal(await statusOf({}), 'none');
      assert.equal(await statusOf(await otherCaClient()), 'rejected UNABLE_TO_VERIFY_LEAF_SIGNATURE');
      // A certificate from the right CA but made for servers: OpenSSL checks the clientAuth purpose.
      assert.equal(await statusOf({ cert: fixture.server.certPem, key: fixture.server.keyPem }), 'rejected INVALID_PURPOSE');
      assert.equal(await statusOf({ cert: fixture.client.certPem, key: fixture.client.keyPem }), 'verified alice');
    });
  });

  describe('loading the files', () => {
    const modes: ClientAuth[] = ['requested', 'required'];
    for (const mode of modes) {
      it(`${mode} needs a CA file, rather than trusting the public roots`, async (t) => {
        const fixture = await createTlsFixture(t);
        const { certFile, keyFile } = fixture.tlsFiles;
        assert.throws(() => buildTlsServerOptions({ certFile, keyFile }, mode), { message: new RegExp(`clientAuth '${mode}' needs a caFile`) });
      });
    }

    it('refuses a key that does not belong to the certificate, naming the files but not the key', async (t) => {
      const fixture = await createTlsFixture(t);
      const files = { ...fixture.tlsFiles, keyFile: fixture.clientKeyFile };
      assert.throws(
        () => buildTlsServerOptions(files, 'none'),
        (error: Error) => {
          assert.match(error.message, /does not belong to the certificate/);
          assert.ok(error.message.includes(fixture.clientKeyFile) && error.message.includes(fixture.tlsFiles.certFile));
          assert.doesNotMatch(error.message, /PRIVATE KEY|MI[A-Za-z0-9+/]{20}/);
          return true;
        },
      );
    });

    it('refuses missing, empty, truncated and unparseable files', async (t) => {
      const fixture = await createTlsFixture(t);
      const write = async (name: string, content: string): Promise<string> => {
        const file = join(fixture.dir, name);
        await writeFile(file, content);
        return file;
      };
      const { certFile, keyFile, caFile } = fixture.tlsFiles;
      assert.throws(() => buildTlsServerOptions({ certFile: join(fixture.dir, 'nope.crt'), keyFile }, 'none'), /cannot read .*nope\.crt: ENOENT/);
      const emptyKey = await write('empty.key', '\n');
      assert.throws(() => buildTlsServerOptions({ certFile, keyFile: emptyKey }, 'none'), /empty\.key is empty/);
      const halfCert = await write('half.crt', fixture.server.certPem.slice(0, fixture.server.certPem.length / 2));
      assert.throws(() => buildTlsServerOptions({ certFile: halfCert, keyFile }, 'none'), /does not hold complete PEM certificates/);
      const badKey = await write('bad.key', 'not a key');
      assert.throws(() => buildTlsServerOptions({ certFile, keyFile: badKey }, 'none'), /holds no readable private key/);
      // A CA bundle whose second certificate was cut short must not quietly shrink the trust store.
      const otherCa = await createCertificateAuthority({ commonName: 'Second CA' });
      const truncatedBundle = await write('bundle.crt', fixture.ca.certPem + otherCa.certPem.slice(0, 100));
      assert.throws(() => buildTlsServerOptions({ certFile, keyFile, caFile: truncatedBundle }, 'required'), /does not hold complete PEM certificates/);
      const garbageCa = await write('garbage.crt', 'garbage');
      assert.throws(() => buildTlsServerOptions({ certFile, keyFile, caFile: garbageCa }, 'required'), /does not hold complete/);
      const bundle = await write('bundle-ok.crt', fixture.ca.certPem + otherCa.certPem);
      assert.equal(buildTlsServerOptions({ certFile, keyFile, caFile: bundle }, 'required').rejectUnauthorized, true);
      assert.equal(buildTlsServerOptions({ certFile, keyFile, caFile }, 'requested').rejectUnauthorized, false);
    });
  });
});
