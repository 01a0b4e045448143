import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { createCertificateAuthority, issueClientCertificate, issueServerCertificate } from '../../../../src/security/tls/certificates.js';
import { connectTls, createTlsFixture, handshakeResult, ipv6LoopbackAvailable, listenForTest } from '../../../helpers/tls-fixtures.js';

const run = promisify(execFile);

async function openssl(...args: string[]): Promise<string> {
  const { stdout, stderr } = await run('openssl', args);
  return stdout + stderr;
}

describe('certificates', () => {
  describe('Node TLS accepts the server certificate', () => {
    it('with servername localhost', async (t) => {
      const fixture = await createTlsFixture(t);
      const server = tls.createServer({ cert: fixture.server.certPem, key: fixture.server.keyPem });
      const port = await listenForTest(t, server);
      const outcome = await connectTls(t, { host: '127.0.0.1', port, servername: 'localhost', ca: fixture.ca.certPem });
      assert.ok(outcome.ok, outcome.ok ? '' : outcome.error.message);
      assert.equal(outcome.socket.authorized, true);
      assert.equal(outcome.socket.getPeerCertificate().subject.CN, 'localhost');
    });

    it('with host 127.0.0.1 checked against the IP SAN', async (t) => {
      const fixture = await createTlsFixture(t);
      const server = tls.createServer({ cert: fixture.server.certPem, key: fixture.server.keyPem });
      const port = await listenForTest(t, server);
      const outcome = await connectTls(t, { host: '127.0.0.1', port, ca: fixture.ca.certPem });
      assert.ok(outcome.ok, outcome.ok ? '' : outcome.error.message);
      assert.equal(outcome.socket.authorized, true);
    });

    it('with host ::1 checked against the IPv6 SAN', async (t) => {
      if (!(await ipv6LoopbackAvailable())) {
        t.skip('no IPv6 loopback on this machine');
        return;
      }
      const fixture = await createTlsFixture(t);
      const server = tls.createServer({ cert: fixture.server.certPem, key: fixture.server.keyPem });
      const port = await listenForTest(t, server, '::1');
      const outcome = await connectTls(t, { host: '::1', port, ca: fixture.ca.certPem });
      assert.ok(outcome.ok, outcome.ok ? '' : outcome.error.message);
      assert.equal(outcome.socket.authorized, true);
    });

    it('and the client really checks the name: a name not in the SANs is refused', async (t) => {
      const fixture = await createTlsFixture(t);
      const server = tls.createServer({ cert: fixture.server.certPem, key: fixture.server.keyPem });
      const port = await listenForTest(t, server);
      const outcome = await connectTls(t, { host: '127.0.0.1', port, servername: 'kafka.example.com', ca: fixture.ca.certPem });
      assert.equal(handshakeResult(outcome), 'ERR_TLS_CERT_ALTNAME_INVALID');
    });

    it('and a client trusting another CA refuses it', async (t) => {
      const fixture = await createTlsFixture(t);
      const otherCa = await createCertificateAuthority({ commonName: 'Other CA' });
      const server = tls.createServer({ cert: fixture.server.certPem, key: fixture.server.keyPem });
      const port = await listenForTest(t, server);
      const outcome = await connectTls(t, { host: '127.0.0.1', port, servername: 'localhost', ca: otherCa.certPem });
      assert.equal(handshakeResult(outcome), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    });
  });

  it('openssl verifies the chain, the purposes and the host names (as librdkafka would)', async (t) => {
    const fixture = await createTlsFixture(t);
    const { caFile, certFile } = fixture.tlsFiles;
    assert.match(await openssl('verify', '-CAfile', caFile, certFile), /: OK/);
    assert.match(await openssl('verify', '-CAfile', caFile, '-purpose', 'sslserver', '-verify_hostname', 'localhost', certFile), /: OK/);
    assert.match(await openssl('verify', '-CAfile', caFile, '-purpose', 'sslserver', '-verify_ip', '127.0.0.1', certFile), /: OK/);
    assert.match(await openssl('verify', '-CAfile', caFile, '-purpose', 'sslserver', '-verify_ip', '::1', certFile), /: OK/);
    assert.match(await openssl('verify', '-CAfile', caFile, '-purpose', 'sslclient', fixture.clientCertFile), /: OK/);
    // The negative cases show the checks above are real: wrong host, and each leaf used for the other role.
    await assert.rejects(openssl('verify', '-CAfile', caFile, '-verify_hostname', 'evil.example.com', certFile), /hostname mismatch/);
    await assert.rejects(openssl('verify', '-CAfile', caFile, '-purpose', 'sslserver', fixture.clientCertFile), /unsuitable certificate purpose/);
    await assert.rejects(openssl('verify', '-CAfile', caFile, '-purpose', 'sslclient', certFile), /unsuitable certificate purpose/);
  });

  it('openssl shows the server SANs, key usages and a CA with critical basic constraints', async (t) => {
    const fixture = await createTlsFixture(t);
    const server = await openssl('x509', '-in', fixture.tlsFiles.certFile, '-noout', '-text');
    assert.match(server, /DNS:localhost, IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1/);
    assert.match(server, /Extended Key Usage: *\n *TLS Web Server Authentication\n/);
    assert.match(server, /Key Usage: critical\n *Digital Signature\n/);
    assert.match(server, /Authority Key Identifier/);
    assert.match(server, /ecdsa-with-SHA256/);
    assert.match(server, /NIST CURVE: P-256/);

    const ca = await openssl('x509', '-in', fixture.tlsFiles.caFile, '-noout', '-text');
    assert.match(ca, /Basic Constraints: critical\n *CA:TRUE/);
    assert.match(ca, /Key Usage: critical\n *Certificate Sign, CRL Sign\n/);
    assert.match(ca, /Subject Key Identifier/);

    // The leaf's authority key id is the CA's subject key id, which chain builders use to pick the issuer.
    const skid = (text: string, label: string): string | undefined => new RegExp(`${label}: *\\n *([0-9A-F:]+)`).exec(text)?.[1];
    assert.equal(skid(server, 'Authority Key Identifier'), skid(ca, 'Subject Key Identifier'));
  });

  it('issues client certificates with the requested subject, SANs and clientAuth usage', async (t) => {
    const fixture = await createTlsFixture(t, {
      client: {
        commonName: 'alice',
        organization: 'acme',
        organizationalUnits: ['eng'],
        dnsNames: ['alice.example.com'],
        emails: ['alice@example.com'],
        uris: ['spiffe://example.org/alice'],
      },
    });
    const text = await openssl('x509', '-in', fixture.clientCertFile, '-noout', '-text');
    assert.match(text, /Subject: O = acme, OU = eng, CN = alice\n/);
    assert.match(text, /DNS:alice\.example\.com, email:alice@example\.com, URI:spiffe:\/\/example\.org\/alice/);
    assert.match(text, /TLS Web Client Authentication/);
    assert.doesNotMatch(text, /TLS Web Server Authentication/);
  });

  it('writes keys as PKCS#8 PEM that match their certificates', async () => {
    const ca = await createCertificateAuthority({ commonName: 'Key CA' });
    const leaf = await issueClientCertificate(ca, { commonName: 'bob' });
    for (const issued of [ca, leaf]) {
      const key = createPrivateKey(issued.keyPem);
      // PKCS#8 PEM exactly: re-exporting the parsed key in that form gives the same text back.
      assert.equal(String(key.export({ type: 'pkcs8', format: 'pem' })).trim(), issued.keyPem.trim());
      assert.equal(key.asymmetricKeyType, 'ec');
      assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
      assert.equal(new X509Certificate(issued.certPem).checkPrivateKey(key), true);
    }
  });

  it('gives each certificate a random positive serial and the requested validity', async () => {
    const ca = await createCertificateAuthority({ commonName: 'Serial CA', validityDays: 30 });
    const a = new X509Certificate((await issueClientCertificate(ca, { commonName: 'a', validityDays: 2 })).certPem);
    const b = new X509Certificate((await issueClientCertificate(ca, { commonName: 'b', validityDays: 2 })).certPem);
    assert.notEqual(a.serialNumber, b.serialNumber);
    for (const cert of [a, b]) {
      assert.equal(cert.serialNumber.length, 32);
      assert.ok(parseInt(cert.serialNumber.slice(0, 1), 16) < 8, 'the serial is a positive integer');
      const days = (Date.parse(cert.validTo) - Date.now()) / 86_400_000;
      assert.ok(days > 1.9 && days <= 2, `valid for ${days} days`);
      assert.ok(Date.parse(cert.validFrom) <= Date.now(), 'valid from now (or slightly before)');
      assert.equal(cert.verify(new X509Certificate(ca.certPem).publicKey), true);
    }
  });

  it('refuses a server certificate without SANs, and malformed names', async () => {
    const ca = await createCertificateAuthority({ commonName: 'Strict CA' });
    await assert.rejects(issueServerCertificate(ca, { commonName: 'x', dnsNames: [], ipAddresses: [] }), /at least one DNS name or IP address/);
    await assert.rejects(issueServerCertificate(ca, { commonName: 'x', dnsNames: [], ipAddresses: ['localhost'] }), /not an IP address/);
    await assert.rejects(issueServerCertificate(ca, { commonName: 'x', dnsNames: ['bad name'], ipAddresses: [] }), /not a valid DNS name/);
    await assert.rejects(issueClientCertificate(ca, { commonName: '' }), /commonName must not be empty/);
    await assert.rejects(createCertificateAuthority({ commonName: 'x', validityDays: 0 }), /validityDays/);
  });

  it('accepts a CA key in SEC1 PEM (as openssl writes it) and refuses a non-P-256 one', async (t) => {
    const fixture = await createTlsFixture(t);
    const sec1 = createPrivateKey(fixture.ca.keyPem).export({ type: 'sec1', format: 'pem' }).toString();
    const leaf = await issueServerCertificate({ certPem: fixture.ca.certPem, keyPem: sec1 }, { commonName: 'h', dnsNames: ['h'], ipAddresses: [] });
    assert.equal(new X509Certificate(leaf.certPem).verify(new X509Certificate(fixture.ca.certPem).publicKey), true);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await assert.rejects(
      issueServerCertificate({ certPem: fixture.ca.certPem, keyPem: rsa }, { commonName: 'h', dnsNames: ['h'], ipAddresses: [] }),
      /ECDSA P-256/,
    );
  });
});
