import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkPosture, DEFAULT_SECURITY_CONFIG, INSECURE_DEV_SECURITY, isLoopback, type ListenerProtocol, type SecurityConfig } from '../../../src/security/config.js';

function posture(protocol: ListenerProtocol, host: string, security: Partial<SecurityConfig> = {}) {
  return checkPosture({ host, protocol }, { ...DEFAULT_SECURITY_CONFIG, ...security });
}

describe('security posture check', () => {
  it('the default (SASL_SSL on loopback) is accepted with no warning', () => {
    assert.deepEqual(posture('SASL_SSL', '127.0.0.1'), { errors: [], warnings: [] });
    assert.deepEqual(posture('SASL_SSL', '0.0.0.0'), { errors: [], warnings: [] }, 'a secure listener may bind any address');
  });

  it('refuses a plaintext or unauthenticated listener unless it is asked for by name', () => {
    assert.match(posture('PLAINTEXT', '127.0.0.1').errors.join('\n'), /allowInsecurePlaintext[\s\S]*allowInsecureAnonymous/);
    assert.match(posture('SASL_PLAINTEXT', '127.0.0.1').errors.join('\n'), /allowInsecurePlaintext/);
    assert.doesNotMatch(posture('SASL_PLAINTEXT', '127.0.0.1').errors.join('\n'), /allowInsecureAnonymous/);
    assert.match(posture('SSL', '127.0.0.1').errors.join('\n'), /tls\.clientAuth: required[\s\S]*allowInsecureAnonymous/);
    const mtls = { ...DEFAULT_SECURITY_CONFIG.tls, clientAuth: 'required' as const };
    assert.deepEqual(posture('SSL', '127.0.0.1', { tls: mtls }), { errors: [], warnings: [] });
  });

  it('an insecure listener asked for is warned about, and refused off loopback unless that is asked for too', () => {
    const dev = posture('PLAINTEXT', '127.0.0.1', INSECURE_DEV_SECURITY);
    assert.deepEqual(dev.errors, []);
    assert.deepEqual(dev.warnings.map((w) => w.setting), ['allowInsecurePlaintext', 'allowInsecureAnonymous']);
    const exposed = posture('PLAINTEXT', '0.0.0.0', INSECURE_DEV_SECURITY);
    assert.match(exposed.errors.join('\n'), /loopback.*0\.0\.0\.0.*allowInsecureNonLoopback/);
    const asked = posture('PLAINTEXT', '0.0.0.0', { ...INSECURE_DEV_SECURITY, allowInsecureNonLoopback: true });
    assert.deepEqual(asked.errors, []);
    assert.deepEqual(asked.warnings.map((w) => w.setting), ['allowInsecurePlaintext', 'allowInsecureAnonymous', 'allowInsecureNonLoopback']);
  });

  it('checks SASL and TLS settings that cannot work', () => {
    const onlyPlain = { ...DEFAULT_SECURITY_CONFIG.sasl, mechanisms: ['PLAIN' as const] };
    assert.match(posture('SASL_PLAINTEXT', '127.0.0.1', { allowInsecurePlaintext: true, sasl: onlyPlain }).errors.join('\n'), /no SASL mechanism/);
    const oauth = { ...DEFAULT_SECURITY_CONFIG.sasl, mechanisms: ['OAUTHBEARER' as const] };
    assert.match(posture('SASL_SSL', '127.0.0.1', { sasl: oauth }).errors.join('\n'), /exactly one of jwksUrl or jwksFile/);
    const httpJwks = { ...oauth, oauthbearer: { jwksUrl: 'http://idp.example.com/jwks' } };
    assert.match(posture('SASL_SSL', '127.0.0.1', { sasl: httpJwks }).errors.join('\n'), /https/);
    const localJwks = { ...oauth, oauthbearer: { jwksUrl: 'http://127.0.0.1:8080/jwks' } };
    assert.deepEqual(posture('SASL_SSL', '127.0.0.1', { sasl: localJwks }).errors, []);
    const mtls = { ...DEFAULT_SECURITY_CONFIG.tls, clientAuth: 'requested' as const };
    assert.match(posture('SASL_PLAINTEXT', '127.0.0.1', { allowInsecurePlaintext: true, tls: mtls }).errors.join('\n'), /needs a TLS listener/);
  });

  it('refuses a CRL file without client certificates, and prefixes that overlap', () => {
    const crl = { ...DEFAULT_SECURITY_CONFIG.tls, crlFile: '/etc/parapet/crl.pem' };
    assert.match(posture('SASL_SSL', '127.0.0.1', { tls: crl }).errors.join('\n'), /tls\.crlFile needs tls\.clientAuth requested or required/);
    assert.deepEqual(posture('SASL_SSL', '127.0.0.1', { tls: { ...crl, clientAuth: 'requested' } }).errors, []);
    const prefixed = (cert: string, oauth: string) =>
      posture('SASL_SSL', '127.0.0.1', { tls: { ...DEFAULT_SECURITY_CONFIG.tls, principalPrefix: cert }, sasl: { ...DEFAULT_SECURITY_CONFIG.sasl, oauthbearer: { principalPrefix: oauth } } });
    assert.deepEqual(prefixed('cert:', 'oauth:').errors, []);
    // `x:` and `x:y:` would make certificate y:alice and token alice one principal.
    assert.match(prefixed('x:', 'x:y:').errors.join('\n'), /tls\.principalPrefix \("x:"\) and sasl\.oauthbearer\.principalPrefix \("x:y:"\) must differ, and neither may start with the other/);
    assert.match(prefixed('same:', 'same:').errors.join('\n'), /must differ/);
    // Set from code rather than a file: checked here too.
    assert.match(prefixed('two words', 'oauth:').errors.join('\n'), /tls\.principalPrefix must be 1 to 64 printable ASCII characters/);
  });

  it('knows loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) assert.equal(isLoopback(host), true, host);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '128.0.0.1']) assert.equal(isLoopback(host), false, host);
  });
});
