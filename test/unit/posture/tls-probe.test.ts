import assert from 'node:assert/strict';
import { createServer, type TlsOptions } from 'node:tls';
import { describe, it, type TestContext } from 'node:test';
import { listenerFindings } from '../../../src/posture/checks/listener-checks.js';
import { probeTls } from '../../../src/posture/probes/tls-probe.js';
import { createCertificateAuthority, issueServerCertificate } from '../../../src/security/tls/certificates.js';
import { openssl } from '../../helpers/openssl-ca.js';
import { TLS_CIPHERS, TLS_MIN_VERSION } from '../../../src/security/tls/tls-options.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A TLS server configured the way the probe must catch, on a free loopback port. */
async function tlsServer(t: TestContext, options: TlsOptions): Promise<number> {
  const server = createServer(options, (socket) => {
    socket.on('error', () => undefined);
    socket.end();
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.close();
  });
  return (server.address() as { port: number }).port;
}

const NOW = new Date();

describe('the TLS probe of parapet posture', () => {
  it('sees TLS 1.0, CBC suites, a self-signed certificate and a name that does not match', async (t) => {
    // A self-signed certificate with no name for 127.0.0.1, made as many a quick setup makes one.
    const dir = mkdtempSync(join(tmpdir(), 'parapet-probe-'));
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=weak.example', '-days', '400', '-keyout', 'key.pem', '-out', 'cert.pem'], dir);
    const self = { certPem: readFileSync(join(dir, 'cert.pem')), keyPem: readFileSync(join(dir, 'key.pem')) };
    const port = await tlsServer(t, { cert: self.certPem, key: self.keyPem, minVersion: 'TLSv1', ciphers: 'ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-ECDSA-AES128-GCM-SHA256:@SECLEVEL=0' });
    const o = await probeTls({ host: '127.0.0.1', port }, undefined, 3000);
    assert.ok(o !== undefined);
    assert.equal(o.versions.TLSv1, true);
    assert.equal(o.versions['TLSv1.2'], true);
    assert.deepEqual([...o.weakCiphers].sort(), ['ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA']);
    assert.equal(o.certificate.selfSigned, true);
    assert.match(o.hostnameError ?? '', /IP: 127\.0\.0\.1 is not in the cert's list/);
    // Now, not when the file loaded: the certificate was made since, valid from the second it was made.
    const rules = listenerFindings({ address: { host: '127.0.0.1', port }, tls: o, sasl: 'unknown', anonymous: { answered: false } }, { now: new Date(), certWarnDays: 30 }).map((f) => `${f.severity} ${f.rule.id}`);
    assert.deepEqual(rules.sort(), ['HIGH PARAPET-TLS-HOSTNAME-MISMATCH', 'HIGH PARAPET-TLS-OLD-VERSION', 'MEDIUM PARAPET-TLS-SELF-SIGNED', 'MEDIUM PARAPET-TLS-WEAK-CIPHER']);
  });

  it("a server with Parapet's TLS settings (TLS 1.2+, ECDHE with AEAD only, a CA-signed certificate naming the address) shows nothing but the private CA", async (t) => {
    const ca = await createCertificateAuthority({ commonName: 'probe test CA' });
    const leaf = await issueServerCertificate(ca, { commonName: 'broker', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    // Parapet's own listener settings (Node's defaults would still accept CBC suites).
    const port = await tlsServer(t, { cert: leaf.certPem, key: leaf.keyPem, minVersion: TLS_MIN_VERSION, ciphers: TLS_CIPHERS });
    const o = await probeTls({ host: '127.0.0.1', port }, Buffer.from(ca.certPem), 3000);
    assert.ok(o !== undefined);
    assert.deepEqual(o.versions, { TLSv1: false, 'TLSv1.1': false, 'TLSv1.2': true, 'TLSv1.3': true });
    assert.deepEqual(o.weakCiphers, []);
    assert.deepEqual(o.chain, { trustedBy: 'configured-ca' });
    const rules = listenerFindings({ address: { host: '127.0.0.1', port }, tls: o, sasl: ['SCRAM-SHA-512'], anonymous: { answered: false } }, { now: NOW, certWarnDays: 30 }).map((f) => f.rule.id);
    assert.deepEqual(rules, ['PARAPET-TLS-PRIVATE-CA']);
    // Without the CA, the same chain verifies with nobody.
    const stranger = await probeTls({ host: '127.0.0.1', port }, undefined, 3000);
    assert.equal(stranger?.chain.trustedBy, 'nobody');
  });

  it('an expired certificate is CRITICAL; one expiring within the warning is MEDIUM, within a week HIGH', () => {
    const base = { versions: { TLSv1: false, 'TLSv1.1': false, 'TLSv1.2': true, 'TLSv1.3': true }, weakCiphers: [], chain: { trustedBy: 'configured-ca' as const } };
    const cert = (days: number) => ({ subject: 'CN=b', issuer: 'CN=ca', validFrom: new Date(NOW.getTime() - 86_400_000), validTo: new Date(NOW.getTime() + days * 86_400_000), selfSigned: false, altNames: 'IP Address:127.0.0.1' });
    const severities = (days: number) =>
      listenerFindings({ address: { host: '127.0.0.1', port: 1 }, tls: { ...base, certificate: cert(days) }, sasl: [], anonymous: { answered: false } }, { now: NOW, certWarnDays: 30 })
        .filter((f) => f.rule.id.startsWith('PARAPET-TLS-CERT'))
        .map((f) => `${f.severity} ${f.rule.id}`);
    assert.deepEqual(severities(-1), ['CRITICAL PARAPET-TLS-CERT-EXPIRED']);
    assert.deepEqual(severities(3.5), ['HIGH PARAPET-TLS-CERT-EXPIRING']);
    assert.deepEqual(severities(20), ['MEDIUM PARAPET-TLS-CERT-EXPIRING']);
    assert.deepEqual(severities(45), []);
  });
});
