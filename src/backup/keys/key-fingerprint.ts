import { createHash, createPublicKey, type KeyObject } from 'node:crypto';

/**
 * How a backup names a key: the SHA-256 of its public key's SPKI DER, in hex (what
 * `openssl pkey -pubin -outform DER | sha256sum` prints for the `.pub` file), so an operator can
 * check by hand which key signed a manifest or which recipient a data key was wrapped for.
 */
export function keyFingerprint(key: KeyObject): string {
  const pub = key.type === 'public' ? key : createPublicKey(key);
  return createHash('sha256').update(pub.export({ format: 'der', type: 'spki' })).digest('hex');
}
