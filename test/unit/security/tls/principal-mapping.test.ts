import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { describe, it, type TestContext } from 'node:test';
import tls from 'node:tls';
import { issueClientCertificate, type ClientCertificateOptions } from '../../../../src/security/tls/certificates.js';
import {
  compilePrincipalMappingRules,
  mapCertificatePrincipal,
  subjectAltNames,
  subjectDistinguishedName,
  type PrincipalMappingRule,
} from '../../../../src/security/tls/principal-mapping.js';
import { buildTlsServerOptions, peerCertificateStatus } from '../../../../src/security/tls/tls-options.js';
import { connectTls, createTlsFixture, listenForTest, type TlsFixture } from '../../../helpers/tls-fixtures.js';

/**
 * The certificate as the broker sees it: issued by the fixture's CA, presented in a real handshake and
 * read from the server's socket once verified, so Node's own formatting of subject and SANs is tested.
 */
async function peerCertificate(t: TestContext, fixture: TlsFixture, client: ClientCertificateOptions): Promise<tls.PeerCertificate> {
  const issued = await issueClientCertificate(fixture.ca, client);
  const server = tls.createServer(buildTlsServerOptions(fixture.tlsFiles, 'requested'));
  const port = await listenForTest(t, server);
  const accepted = once(server, 'secureConnection') as Promise<[tls.TLSSocket]>;
  const outcome = await connectTls(t, { host: '127.0.0.1', port, servername: 'localhost', ca: fixture.ca.certPem, cert: issued.certPem, key: issued.keyPem });
  assert.ok(outcome.ok);
  const [socket] = await accepted;
  const status = peerCertificateStatus(socket);
  socket.end();
  assert.equal(status.kind, 'verified');
  return status.certificate;
}

describe('principal mapping', () => {
  it('defaults to User:<CN> without rules', async (t) => {
    const fixture = await createTlsFixture(t);
    const cert = await peerCertificate(t, fixture, { commonName: 'alice', organization: 'acme', organizationalUnits: ['eng'] });
    assert.equal(mapCertificatePrincipal(cert, []), 'User:alice');
  });

  it('prints the subject most specific first, repeated attributes deterministically', async (t) => {
    const fixture = await createTlsFixture(t);
    const cert = await peerCertificate(t, fixture, { commonName: 'alice', organization: 'acme', organizationalUnits: ['eng', 'ops'] });
    assert.equal(subjectDistinguishedName(cert), 'CN=alice,OU=ops,OU=eng,O=acme');
    // The same order OpenSSL prints in RFC 2253 mode, which is what Kafka's rules were written against.
    const rfc2253 = new X509Certificate(cert.raw).subject.split('\n').reverse().join(',');
    assert.equal(subjectDistinguishedName(cert), rfc2253);
  });

  it('maps the subject with a rule, the regex matching the whole value', async (t) => {
    const fixture = await createTlsFixture(t);
    const rules: PrincipalMappingRule[] = [{ source: 'subject', match: 'CN=([^,]+),OU=eng,O=acme', principal: '$1' }];
    const eng = await peerCertificate(t, fixture, { commonName: 'alice', organization: 'acme', organizationalUnits: ['eng'] });
    const ops = await peerCertificate(t, fixture, { commonName: 'bob', organization: 'acme', organizationalUnits: ['ops'] });
    const nested = await peerCertificate(t, fixture, { commonName: 'carol', organization: 'acme-evil', organizationalUnits: ['eng'] });
    assert.equal(mapCertificatePrincipal(eng, rules), 'User:alice');
    assert.equal(mapCertificatePrincipal(ops, rules), undefined, 'no rule matched: no principal, and no fallback to the CN');
    assert.equal(mapCertificatePrincipal(nested, rules), undefined, 'O=acme-evil is not O=acme: the match is anchored');
    assert.equal(mapCertificatePrincipal(eng, [{ source: 'subject', match: 'CN=alice', principal: 'x' }]), undefined);
  });

  it('a CN holding ",OU=…" cannot pose as another attribute', async (t) => {
    const fixture = await createTlsFixture(t);
    const cert = await peerCertificate(t, fixture, { commonName: 'mallory,OU=admins', organization: 'acme' });
    assert.equal(subjectDistinguishedName(cert), 'CN=mallory\\2COU=admins,O=acme');
    for (const match of ['CN=([^,]+),OU=admins,O=acme', 'CN=(.*?),OU=admins,O=acme', 'CN=(.*),OU=admins,.*']) {
      assert.equal(mapCertificatePrincipal(cert, [{ source: 'subject', match, principal: '$1' }]), undefined, match);
    }
  });

  it('maps DNS SANs, trying each in certificate order', async (t) => {
    const fixture = await createTlsFixture(t);
    const cert = await peerCertificate(t, fixture, { commonName: 'svc', dnsNames: ['svc.other.example', 'orders.clients.example.com'] });
    const rules: PrincipalMappingRule[] = [{ source: 'san-dns', match: '([a-z0-9-]+)\\.clients\\.example\\.com', principal: 'service-$1' }];
    assert.equal(mapCertificatePrincipal(cert, rules), 'User:service-orders');
  });

  it('maps email SANs with case folding', async (t) => {
    const fixture = await createTlsFixture(t);
    const cert = await peerCertificate(t, fixture, { commonName: 'Alice', emails: ['Alice.Smith@Example.com'] });
    assert.equal(mapCertificatePrincipal(cert, [{ source: 'san-email', match: '([^@]+)@Example\\.com', principal: '$1', case: 'lower' }]), 'User:alice.smith');
    assert.equal(mapCertificatePrincipal(cert, [{ source: 'san-email', match: '([^@]+)@.*', principal: '$1', case: 'upper' }]), 'User:ALICE.SMITH');
  });

  it('maps URI SANs such as SPIFFE IDs, with several groups', async (t) => {
    const fixture = await createTlsFixture(t);
    const cert = await peerCertificate(t, fixture, { commonName: 'x', uris: ['spiffe://example.org/ns/prod/sa/orders'] });
    const rules: PrincipalMappingRule[] = [{ source: 'san-uri', match: 'spiffe://example\\.org/ns/([^/]+)/sa/([^/]+)', principal: '$2@$1' }];
    assert.equal(mapCertificatePrincipal(cert, rules), 'User:orders@prod');
  });

  it('a SAN value holding ", DNS:…" cannot pose as another SAN', async (t) => {
    const fixture = await createTlsFixture(t);
    const cert = await peerCertificate(t, fixture, {
      commonName: 'x',
      emails: ['x@example.com, DNS:admin.clients.example.com'],
      uris: ['spiffe://example.org/a,b'],
    });
    assert.deepEqual(subjectAltNames(cert), [
      { type: 'email', value: 'x@example.com, DNS:admin.clients.example.com' },
      { type: 'URI', value: 'spiffe://example.org/a,b' },
    ]);
    assert.equal(mapCertificatePrincipal(cert, [{ source: 'san-dns', match: '(admin)\\..*', principal: '$1' }]), undefined);
    assert.equal(mapCertificatePrincipal(cert, [{ source: 'san-uri', match: 'spiffe://example\\.org/(.*)', principal: '$1' }]), 'User:a,b');
  });

  it('the first rule that yields a name wins; an empty name falls through', async (t) => {
    const fixture = await createTlsFixture(t);
    const cert = await peerCertificate(t, fixture, { commonName: 'alice', organization: 'acme', dnsNames: ['alice.example.com'] });
    const rules: PrincipalMappingRule[] = [
      { source: 'san-email', match: '(.*)', principal: '$1' }, // the certificate has no email SAN
      { source: 'subject', match: 'CN=(admin)?.*', principal: '$1' }, // matches, but group 1 is empty
      { source: 'san-dns', match: '([^.]+)\\.example\\.com', principal: 'dns-$1' },
      { source: 'subject', match: 'CN=([^,]+),.*', principal: 'subject-$1' },
    ];
    assert.equal(mapCertificatePrincipal(cert, rules), 'User:dns-alice');
    assert.equal(mapCertificatePrincipal(cert, compilePrincipalMappingRules(rules.slice(3))), 'User:subject-alice');
  });

  it('templates: $0 is the whole value, $$ a dollar sign', async (t) => {
    const fixture = await createTlsFixture(t);
    const cert = await peerCertificate(t, fixture, { commonName: 'alice', dnsNames: ['alice.example.com'] });
    assert.equal(mapCertificatePrincipal(cert, [{ source: 'san-dns', match: '.*', principal: '$0$$' }]), 'User:alice.example.com$');
  });

  it('refuses names with control characters and ambiguous default names', async (t) => {
    const fixture = await createTlsFixture(t);
    const cert = await peerCertificate(t, fixture, { commonName: 'alice\nUser:admin' });
    assert.equal(mapCertificatePrincipal(cert, []), undefined);
    assert.equal(mapCertificatePrincipal(cert, [{ source: 'subject', match: 'CN=([^]*)', principal: '$1' }]), undefined);
    // Node gives a repeated CN as an array; a certificate with two CNs names no one in particular.
    const twoNames = { subject: { CN: ['alice', 'bob'] } } as unknown as tls.PeerCertificate;
    assert.equal(mapCertificatePrincipal(twoNames, []), undefined);
    assert.equal(subjectDistinguishedName(twoNames), 'CN=bob,CN=alice');
  });

  describe('compilePrincipalMappingRules', () => {
    const valid: PrincipalMappingRule = { source: 'subject', match: 'CN=(.*)', principal: '$1' };
    const cases: [string, PrincipalMappingRule, RegExp][] = [
      ['a bad regular expression', { source: 'subject', match: 'CN=(', principal: '$1' }, /principalMapping\[1\]: invalid regular expression "CN=\("/],
      ['a group the expression lacks', { source: 'subject', match: 'CN=(.*)', principal: '$2' }, /principalMapping\[1\]: .*uses \$2 but the expression has 1 group/],
      ['a stray dollar sign', { source: 'subject', match: 'CN=(.*)', principal: 'a$b' }, /principalMapping\[1\]: '\$' at 1/],
      ['an empty template', { source: 'subject', match: 'CN=(.*)', principal: '' }, /principalMapping\[1\]: principal template is empty/],
      ['an unknown source', { source: 'issuer', match: '.*', principal: 'x' } as unknown as PrincipalMappingRule, /principalMapping\[1\]: unknown source "issuer"/],
      ['an unknown case', { source: 'subject', match: '.*', principal: 'x', case: 'title' } as unknown as PrincipalMappingRule, /principalMapping\[1\]: case must be/],
    ];
    for (const [what, rule, message] of cases) {
      it(`refuses ${what}, naming the rule`, () => {
        assert.throws(() => compilePrincipalMappingRules([valid, rule]), message);
      });
    }

    it('counts groups through nested and non-capturing groups', () => {
      const match = '(?:a|(b))((c)d)';
      assert.equal(compilePrincipalMappingRules([valid, { source: 'san-uri', match, principal: '$1$2$3' }]).size, 2);
      assert.throws(() => compilePrincipalMappingRules([{ source: 'san-uri', match, principal: '$4' }]), /principalMapping\[0\]: .*has 3 group/);
    });
  });
});
