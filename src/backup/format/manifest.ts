import { sign, verify, type KeyObject } from 'node:crypto';
import { BackupError, BackupErrorKinds } from '../backup-error.js';
import type { TrustedSigner } from '../keys/backup-keys.js';
import { canonicalJson } from './canonical-json.js';
import { PIECE_BYTES } from './chunk-seal.js';
import { ManifestSchema, type Manifest, type UnsignedManifest } from './manifest-schema.js';

/**
 * Signing and reading manifests. Checks run in the order that tells an operator most: is it JSON, does
 * it have the manifest's shape (and are its chunk lists consistent), is it signed by the trusted key
 * (a signature by another key names both fingerprints), and does the signature hold. A manifest that
 * passes is exactly what its signer wrote.
 */

export const manifestKey = (id: string): string => `backups/${id}/manifest.json`;
export const startedKey = (id: string): string => `backups/${id}/started.json`;

function signedBytes(manifest: UnsignedManifest): Buffer {
  return Buffer.from(canonicalJson(manifest), 'utf8');
}

export function signManifest(unsigned: UnsignedManifest, signingKey: KeyObject, signerFingerprint: string): Manifest {
  const value = sign(null, signedBytes(unsigned), signingKey).toString('base64');
  return { ...unsigned, signature: { algorithm: 'ed25519', signer: signerFingerprint, value } };
}

/** The manifest as stored: pretty JSON (the signature covers its canonical form, not these bytes). */
export function serializeManifest(manifest: Manifest): Buffer {
  return Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
}

/** Parses and checks the shape and consistency of a manifest, without its signature (listing). */
export function parseManifestUnverified(bytes: Buffer, where: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new BackupError(BackupErrorKinds.MANIFEST_NOT_JSON, where, `${where} is not JSON`);
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue === undefined || issue.path.length === 0 ? '' : ` at ${issue.path.join('.')}`;
    throw new BackupError(BackupErrorKinds.MANIFEST_SCHEMA, where, `${where} is not a backup manifest${at}: ${issue?.message ?? 'invalid'}`);
  }
  const inconsistency = checkConsistency(parsed.data);
  if (inconsistency !== null) throw new BackupError(BackupErrorKinds.MANIFEST_SCHEMA, where, `${where} is not a consistent backup manifest: ${inconsistency}`);
  return parsed.data;
}

/** The manifest, checked against the trusted signer; a BackupError saying what is wrong otherwise. */
export function parseManifest(bytes: Buffer, trusted: TrustedSigner, where = 'the manifest'): Manifest {
  const manifest = parseManifestUnverified(bytes, where);
  const { signature, ...unsigned } = manifest;
  if (signature.signer !== trusted.fingerprint) {
    throw new BackupError(
      BackupErrorKinds.MANIFEST_UNTRUSTED_SIGNER,
      where,
      `${where} is signed by the key ${signature.signer}, not by the trusted key ${trusted.fingerprint}`,
    );
  }
  if (!verify(null, signedBytes(unsigned), trusted.publicKey, Buffer.from(signature.value, 'base64'))) {
    throw new BackupError(BackupErrorKinds.MANIFEST_BAD_SIGNATURE, where, `${where} fails its signature check: it was changed after it was signed`);
  }
  return manifest;
}

/**
 * What the schema cannot say: chunks cover each file exactly at the fixed piece offsets, every data
 * key a chunk needs is in the manifest, and no path appears twice (restore would write it twice).
 */
function checkConsistency(m: Manifest): string | null {
  if (!Object.hasOwn(m.deks, m.id)) return `no data key for the backup itself (${m.id})`;
  const paths = new Set<string>();
  for (const file of m.files) {
    if (paths.has(file.path)) return `${file.path} is listed twice`;
    paths.add(file.path);
    const pieces = Math.ceil(file.length / PIECE_BYTES);
    if (file.chunks.length !== pieces) return `${file.path} has ${file.chunks.length} chunks for ${file.length} bytes`;
    for (const [i, chunk] of file.chunks.entries()) {
      const offset = i * PIECE_BYTES;
      if (chunk.offset !== offset || chunk.length !== Math.min(PIECE_BYTES, file.length - offset)) return `${file.path} chunk ${i} is not at offset ${offset}`;
      if (!Object.hasOwn(m.deks, chunk.dekOf)) return `${file.path} chunk ${chunk.id} needs the data key of backup ${chunk.dekOf}, which is not listed`;
    }
  }
  return null;
}
