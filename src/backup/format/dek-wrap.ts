import { createCipheriv, createDecipheriv, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { BackupError, BackupErrorKinds } from '../backup-error.js';
import type { Identity, Recipient } from '../keys/backup-keys.js';

/**
 * A backup's data key (DEK) wrapped for one recipient, in the manner of age's X25519 recipients and
 * HPKE: a fresh ephemeral X25519 key pair per wrap, ECDH with the recipient's public key, HKDF-SHA256
 * over the shared secret (salt: both public keys; info: the backup id and the recipient's fingerprint),
 * and AES-256-GCM of the DEK under the derived key. Binding the backup id and recipient means a wrapped
 * DEK moved to another backup's manifest, or relabelled for another recipient, does not open.
 */
export interface WrappedDek {
  /** The recipient's fingerprint (SHA-256 of its SPKI DER, hex). */
  readonly recipient: string;
  /** The ephemeral X25519 public key, raw 32 bytes, base64. */
  readonly ephemeralPublicKey: string;
  readonly nonce: string;
  readonly wrapped: string;
  readonly tag: string;
}

export const DEK_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const X25519_BYTES = 32;

function rawX25519(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new Error('not an X25519 public key');
  return Buffer.from(jwk.x, 'base64url');
}

function x25519FromRaw(raw: Buffer): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: raw.toString('base64url') }, format: 'jwk' });
}

function context(backupId: string, recipient: string): Buffer {
  return Buffer.from(`parapet backup dek v1\0${backupId}\0${recipient}`, 'utf8');
}

function wrapKey(shared: Buffer, ephemeral: Buffer, recipient: Buffer, info: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, Buffer.concat([ephemeral, recipient]), info, 32));
}

export function wrapDek(dek: Buffer, backupId: string, recipient: Recipient): WrappedDek {
  if (dek.length !== DEK_BYTES) throw new Error(`a data key is ${DEK_BYTES} bytes`);
  const ephemeral = generateKeyPairSync('x25519');
  const ephemeralRaw = rawX25519(ephemeral.publicKey);
  const shared = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: recipient.publicKey });
  const info = context(backupId, recipient.fingerprint);
  const key = wrapKey(shared, ephemeralRaw, rawX25519(recipient.publicKey), info);
  shared.fill(0);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(info);
  const wrapped = Buffer.concat([cipher.update(dek), cipher.final()]);
  key.fill(0);
  return {
    recipient: recipient.fingerprint,
    ephemeralPublicKey: ephemeralRaw.toString('base64'),
    nonce: nonce.toString('base64'),
    wrapped: wrapped.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
  };
}

/**
 * The DEK of `backupId`, opened with `identity`. Throws a BackupError: `wrong-identity` when no entry is
 * for this identity or the entry does not open (a changed byte looks the same as a wrong key to GCM),
 * `dek-damaged` when an entry's fields have impossible sizes.
 */
export function unwrapDek(entries: readonly WrappedDek[], backupId: string, identity: Identity): Buffer {
  const where = `data key of backup ${backupId}`;
  const entry = entries.find((e) => e.recipient === identity.fingerprint);
  if (entry === undefined) {
    const listed = entries.map((e) => e.recipient).join(', ') || 'none';
    throw new BackupError(
      BackupErrorKinds.WRONG_IDENTITY,
      where,
      `backup ${backupId} is not encrypted to the identity ${identity.fingerprint} (its recipients: ${listed})`,
    );
  }
  const ephemeralRaw = Buffer.from(entry.ephemeralPublicKey, 'base64');
  const nonce = Buffer.from(entry.nonce, 'base64');
  const wrapped = Buffer.from(entry.wrapped, 'base64');
  const tag = Buffer.from(entry.tag, 'base64');
  if (ephemeralRaw.length !== X25519_BYTES || nonce.length !== NONCE_BYTES || wrapped.length !== DEK_BYTES || tag.length !== TAG_BYTES) {
    throw new BackupError(BackupErrorKinds.DEK_DAMAGED, where, `the ${where} wrapped for ${entry.recipient} is malformed`);
  }
  const info = context(backupId, identity.fingerprint);
  let key: Buffer | undefined;
  try {
    const shared = diffieHellman({ privateKey: identity.privateKey, publicKey: x25519FromRaw(ephemeralRaw) });
    key = wrapKey(shared, ephemeralRaw, rawX25519(createPublicKey(identity.privateKey)), info);
    shared.fill(0);
    const decipher = createDecipheriv('aes-256-gcm', key, nonce);
    decipher.setAAD(info);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(wrapped), decipher.final()]);
  } catch {
    // An ephemeral key of low order makes ECDH fail; a changed byte or another key fails the tag.
    throw new BackupError(
      BackupErrorKinds.WRONG_IDENTITY,
      where,
      `the ${where} does not open with the identity ${identity.fingerprint}: the identity is wrong or the wrapped key was changed`,
    );
  } finally {
    key?.fill(0);
  }
}
