import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../config-error.js';
import { parseSecretRef, readSecret } from '../secret-ref.js';
import { fsyncDirectory, writeFileDurably } from '../storage/durable-files.js';

/**
 * The Ed25519 key that signs the audit trail's checkpoints (docs/security/audit.md, "Verifying the
 * trail"). It is kept apart from the audit files: whoever can change the files must not also be able
 * to sign them again. The public key beside it (`<key file>.pub`) is what an auditor verifies with.
 */

/** Where the signing key goes unless configured: beside the data directory, never in it. */
export function defaultAuditSigningKeyFile(dataDir: string): string {
  return `${dataDir.replace(/\/+$/, '')}-keys/audit-signing.key`;
}

/**
 * Creates the signing key (PKCS#8 PEM, 0600, in a 0700 directory) and its public key (`<path>.pub`,
 * SPKI PEM) unless the key is there. Returns whether it made one.
 */
export function ensureAuditSigningKey(path: string): boolean {
  if (existsSync(path)) {
    if (!existsSync(`${path}.pub`)) writePublicKey(path, createPublicKey(createPrivateKey(readFileSync(path))));
    return false;
  }
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  writeFileDurably(path, privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), 0o600);
  writePublicKey(path, publicKey);
  fsyncDirectory(dir);
  return true;
}

function writePublicKey(path: string, publicKey: KeyObject): void {
  writeFileDurably(`${path}.pub`, publicKey.export({ format: 'pem', type: 'spki' }).toString(), 0o644);
}

/**
 * The signing key a secret reference names: `${file:/path}` (mode 0600) or `${env:NAME}` holding the
 * PEM, or the base64 of its PKCS#8 DER. Errors name the reference, never the key.
 */
export function loadAuditSigningKey(ref: string, baseDir?: string): KeyObject {
  const what = 'audit.signingKey';
  const parsed = parseSecretRef(ref, what, baseDir);
  const where = parsed.kind === 'file' ? parsed.path : `$${parsed.name}`;
  const text = readSecret(parsed, what).toString('utf8').trim();
  let key: KeyObject;
  try {
    key = text.startsWith('-----BEGIN')
      ? createPrivateKey(text)
      : createPrivateKey({ key: Buffer.from(text, 'base64'), format: 'der', type: 'pkcs8' });
  } catch {
    throw new ConfigError(`${what} (${where}) is not a private key in PKCS#8 PEM or base64 DER`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new ConfigError(`${what} (${where}) is a ${key.asymmetricKeyType ?? 'unknown'} key; the audit trail is signed with Ed25519`);
  return key;
}

/** A public key from a PEM file (`--public-key`), checked to be Ed25519. */
export function loadAuditPublicKey(path: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(readFileSync(path));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(code === undefined ? `${path} is not a public key in PEM` : `cannot read the public key ${path} (${code})`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new ConfigError(`${path} is a ${key.asymmetricKeyType ?? 'unknown'} key; the audit trail is signed with Ed25519`);
  return key;
}

/** The public half of a key (itself when it is public). */
export function publicKeyOf(key: KeyObject): KeyObject {
  return key.type === 'public' ? key : createPublicKey(key);
}

/** A short, stable name for a key: the first 16 hex digits of the SHA-256 of its raw 32-byte public key. */
export function keyId(key: KeyObject): string {
  const jwk = publicKeyOf(key).export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new Error('not an Ed25519 key');
  return createHash('sha256').update(Buffer.from(jwk.x, 'base64url')).digest('hex').slice(0, 16);
}
