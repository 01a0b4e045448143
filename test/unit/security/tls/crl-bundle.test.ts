import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import tls from 'node:tls';
import { createCertificateAuthority, issueClientCertificate } from '../../../../src/security/tls/certificates.js';
import { checkCrlBundle, revocationTest } from '../../../../src/security/tls/crl-bundle.js';
import { createRevocationList, normaliseSerial } from '../../../../src/security/tls/revocation-list.js';
import { buildTlsServerOptions } from '../../../../src/security/tls/tls-options.js';
import { createOpensslCa, openssl, opensslTime } from '../../../helpers/openssl-ca.js';
import { connectTls, createTlsFixture, handshakeResult, listenForTest } from '../../../helpers/tls-fixtures.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-crl-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

const DAY = 24 * 60 * 60 * 1000;
const pemOf = (file: string) => readFileSync(file, 'utf8');

describe('CRLs for client certificates (tls.crlFile)', () => {
  it('reads a CRL openssl made: issuer, number, dates and revoked count', async (t) => {
    const dir = tempDir(t);
    const ca = await createOpensslCa(dir, 'ca', 'Operator CA');
    const bob = await ca.issueClient('bob');
    await ca.revoke(bob.certFile);
    const crl = await ca.crl(join(dir, 'crl.pem'));
    const [summary, ...rest] = checkCrlBundle('crl.pem', crl, [pemOf(ca.certFile)], Date.now());
    assert.deepEqual(rest, []);
    assert.equal(summary?.issuer, 'CN=Operator CA');
    assert.equal(summary.crlNumber, '4096');
    assert.equal(summary.revoked, 1);
    assert.ok(summary.nextUpdate !== undefined && Date.parse(summary.nextUpdate) > Date.now() + 29 * DAY);
    // The test of open connections finds bob's certificate, by issuer and serial, and nobody else's.
    const revoked = revocationTest(crl);
    const der = (file: string) => new Uint8Array(new X509Certificate(readFileSync(file)).raw);
    assert.equal(revoked(der(bob.certFile)), true);
    const alice = await ca.issueClient('alice');
    assert.equal(revoked(der(alice.certFile)), false);
  });

  it('writes CRLs that openssl verifies against the CA, with the serials it lists', async (t) => {
    const dir = tempDir(t);
    const ca = await createCertificateAuthority({ commonName: 'Parapet test CA' });
    writeFileSync(join(dir, 'ca.crt'), ca.certPem);
    const bob = await issueClientCertificate(ca, { commonName: 'bob' });
    const bobSerial = normaliseSerial(new X509Certificate(bob.certPem).serialNumber);
    // A serial whose first octet has its top bit set needs a zero octet in DER: both spellings mean it.
    const pem = await createRevocationList(ca, {
      crlNumber: 7,
      validityDays: 10,
      revoked: [
        { serialNumber: bobSerial, revokedAt: new Date(), reason: 'keyCompromise' },
        { serialNumber: '8A0102', revokedAt: new Date(), reason: 'unspecified' },
      ],
    });
    writeFileSync(join(dir, 'crl.pem'), pem);
    const verified = await openssl(['crl', '-in', join(dir, 'crl.pem'), '-CAfile', join(dir, 'ca.crt'), '-noout', '-text']);
    assert.match(verified, /verify OK/);
    assert.match(verified, new RegExp(`Serial Number: ${bobSerial}`));
    assert.match(verified, /Serial Number: 8A0102/);
    assert.match(verified, /X509v3 CRL Number: \n\s+7/);
    assert.match(verified, /Key Compromise/);
    const [summary] = checkCrlBundle('crl.pem', pem, [ca.certPem], Date.now());
    assert.equal(summary?.crlNumber, '7');
    assert.equal(summary.revoked, 2);
  });

  describe('refuses, naming the file and the CA, a CRL file that would lock clients out', () => {
    it('expired (past its next update: OpenSSL refuses every certificate of the CA)', async (t) => {
      const dir = tempDir(t);
      const ca = await createOpensslCa(dir, 'ca', 'Operator CA');
      const crl = await ca.crl(join(dir, 'crl.pem'), { lastUpdate: opensslTime(new Date(Date.now() - 40 * DAY)), nextUpdate: opensslTime(new Date(Date.now() - 10 * DAY)) });
      assert.throws(() => checkCrlBundle('/etc/crl.pem', crl, [pemOf(ca.certFile)], Date.now()), /the CRL #1 in \/etc\/crl\.pem \(from CN=Operator CA\) expired on .*: issue a new one/);
    });

    it('not valid yet (a clock far behind the CA)', async (t) => {
      const dir = tempDir(t);
      const ca = await createOpensslCa(dir, 'ca', 'Operator CA');
      const crl = await ca.crl(join(dir, 'crl.pem'), { lastUpdate: opensslTime(new Date(Date.now() + 2 * DAY)), nextUpdate: opensslTime(new Date(Date.now() + 20 * DAY)) });
      assert.throws(() => checkCrlBundle('crl.pem', crl, [pemOf(ca.certFile)], Date.now()), /is not valid before .*: check the clocks/);
    });

    it('signed by another key under the same CA name (two data directories on one host have such CAs)', async (t) => {
      const dir = tempDir(t);
      const ours = await createOpensslCa(dir, 'ours', 'Parapet local CA (host)');
      const theirs = await createOpensslCa(dir, 'theirs', 'Parapet local CA (host)');
      const crl = await theirs.crl(join(dir, 'crl.pem'));
      assert.throws(() => checkCrlBundle('crl.pem', crl, [pemOf(ours.certFile)], Date.now()), /issuer CN=Parapet local CA \(host\)\) is not signed by a CA of tls\.caFile/);
    });

    it('missing the CRL of a CA in tls.caFile (its certificates would all be refused)', async (t) => {
      const dir = tempDir(t);
      const first = await createOpensslCa(dir, 'first', 'First CA');
      const second = await createOpensslCa(dir, 'second', 'Second CA');
      const crl = await first.crl(join(dir, 'crl.pem'));
      assert.throws(() => checkCrlBundle('crl.pem', crl, [pemOf(first.certFile), pemOf(second.certFile)], Date.now()), /holds no CRL from CN=Second CA \(in tls\.caFile\).*UNABLE_TO_GET_CRL/);
      // With both lists it is accepted.
      const both = crl + (await second.crl(join(dir, 'crl2.pem')));
      assert.equal(checkCrlBundle('crl.pem', both, [pemOf(first.certFile), pemOf(second.certFile)], Date.now()).length, 2);
    });

    it('two CRLs from one CA, a truncated file, something else than a CRL', async (t) => {
      const dir = tempDir(t);
      const ca = await createOpensslCa(dir, 'ca', 'Operator CA');
      const crl = await ca.crl(join(dir, 'crl.pem'));
      const caPems = [pemOf(ca.certFile)];
      assert.throws(() => checkCrlBundle('crl.pem', crl + crl, caPems, Date.now()), /holds two CRLs from CN=Operator CA: keep only the newest/);
      assert.throws(() => checkCrlBundle('crl.pem', crl.slice(0, crl.length - 40), caPems, Date.now()), /does not hold complete PEM CRLs/);
      assert.throws(() => checkCrlBundle('crl.pem', pemOf(ca.certFile), caPems, Date.now()), /does not hold complete PEM CRLs/);
      const garbled = crl.replace(/\n[A-Za-z0-9+/]{20}/, '\nAAAAAAAAAAAAAAAAAAAA');
      assert.throws(() => checkCrlBundle('crl.pem', garbled, caPems, Date.now()), /cannot be parsed|is not signed by a CA/);
    });

    it('from a CA whose key usage does not allow signing CRLs (OpenSSL would ignore the list)', async (t) => {
      const dir = tempDir(t);
      const ca = await createOpensslCa(dir, 'ca', 'Signing-only CA', { keyUsage: 'keyCertSign' });
      const crl = await ca.crl(join(dir, 'crl.pem'));
      assert.throws(() => checkCrlBundle('crl.pem', crl, [pemOf(ca.certFile)], Date.now()), /may not sign CRLs \(its key usage lacks cRLSign\)/);
    });
  });

  it('the listener refuses a revoked client certificate in the handshake and accepts the others', async (t) => {
    const fixture = await createTlsFixture(t);
    const bob = await issueClientCertificate(fixture.ca, { commonName: 'bob' });
    const bobSerial = new X509Certificate(bob.certPem).serialNumber;
    const crlFile = join(fixture.dir, 'crl.pem');
    writeFileSync(crlFile, await createRevocationList(fixture.ca, { crlNumber: 1, validityDays: 1, revoked: [{ serialNumber: bobSerial, revokedAt: new Date(), reason: 'keyCompromise' }] }));
    const options = buildTlsServerOptions({ ...fixture.tlsFiles, crlFile }, 'requested');
    assert.equal(typeof options.crl, 'string');
    const verdicts: string[] = [];
    const server = tls.createServer(options, (socket) => {
      verdicts.push(socket.authorized ? 'authorized' : String(socket.authorizationError));
      socket.end();
    });
    const port = await listenForTest(t, server);
    const connect = (cert: { certPem: string; keyPem: string }) =>
      connectTls(t, { host: '127.0.0.1', port, servername: 'localhost', ca: fixture.ca.certPem, cert: cert.certPem, key: cert.keyPem });
    assert.equal(handshakeResult(await connect(fixture.client)), 'connected');
    assert.equal(handshakeResult(await connect(bob)), 'connected');
    // `requested`: the handshake completes and the verdict is the listener's to act on.
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(verdicts, ['authorized', 'CERT_REVOKED']);
    // A CRL file without clientAuth is never read: the options carry none.
    assert.equal(buildTlsServerOptions({ ...fixture.tlsFiles, crlFile }, 'none').crl, undefined);
  });
});
