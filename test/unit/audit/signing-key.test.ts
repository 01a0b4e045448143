import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ensureAuditSigningKey, keyId, loadAuditPublicKey, loadAuditSigningKey, publicKeyOf } from '../../../src/audit/signing-key.js';
import { ConfigError } from '../../../src/config-error.js';
import { tempDir } from './audit-support.js';

describe('the audit signing key', () => {
  it('is created once, 0600 in a 0700 directory, with its public key beside it', (t) => {
    const path = join(tempDir(t), 'data-keys', 'audit-signing.key');
    assert.equal(ensureAuditSigningKey(path), true);
    assert.equal(ensureAuditSigningKey(path), false, 'the second call keeps the key');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(join(path, '..')).mode & 0o777, 0o700);
    const key = loadAuditSigningKey(`\${file:${path}}`);
    assert.equal(key.asymmetricKeyType, 'ed25519');
    // The file is the key's PKCS#8 PEM, byte for byte (what openssl and every PEM reader take).
    assert.equal(readFileSync(path, 'utf8'), key.export({ format: 'pem', type: 'pkcs8' }).toString());
    const pub = loadAuditPublicKey(`${path}.pub`);
    assert.equal(keyId(pub), keyId(key));
    assert.match(keyId(key), /^[0-9a-f]{16}$/);
  });

  it('is read from the environment, as PEM or as base64 DER', (t) => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const der = privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
    t.after(() => {
      delete process.env.PARAPET_TEST_AUDIT_KEY;
    });
    process.env.PARAPET_TEST_AUDIT_KEY = pem;
    assert.equal(keyId(loadAuditSigningKey('${env:PARAPET_TEST_AUDIT_KEY}')), keyId(privateKey));
    process.env.PARAPET_TEST_AUDIT_KEY = der;
    assert.equal(keyId(loadAuditSigningKey('${env:PARAPET_TEST_AUDIT_KEY}')), keyId(privateKey));
  });

  it('refuses a key file others may read, a key of another kind, and garbage, without showing the key', (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'k.pem');
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(path, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o644 });
    chmodSync(path, 0o644);
    assert.throws(() => loadAuditSigningKey(`\${file:${path}}`), (e: Error) => e instanceof ConfigError && /may be read by other accounts/.test(e.message));
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    writeFileSync(path, rsa);
    chmodSync(path, 0o600);
    assert.throws(() => loadAuditSigningKey(`\${file:${path}}`), /is a rsa key; the audit trail is signed with Ed25519/);
    writeFileSync(path, 'not a key at all');
    assert.throws(
      () => loadAuditSigningKey(`\${file:${path}}`),
      (e: Error) => e instanceof ConfigError && /is not a private key/.test(e.message) && !e.message.includes('not a key at all'),
    );
    assert.throws(() => loadAuditSigningKey('plain-text-secret'), /must be a reference/);
  });

  it('key id: the first 16 hex digits of the SHA-256 of the raw public key, the same from either half', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    // An Ed25519 SPKI DER is a 12-byte header and the 32-byte raw key (RFC 8410).
    const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(12);
    assert.equal(raw.length, 32);
    assert.equal(keyId(publicKey), createHash('sha256').update(raw).digest('hex').slice(0, 16));
    assert.equal(keyId(privateKey), keyId(publicKey));
    assert.equal(keyId(publicKeyOf(privateKey)), keyId(createPublicKey(privateKey)));
  });
});
