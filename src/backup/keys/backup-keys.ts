import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../config-error.js';
import { readSecret } from '../../secret-ref.js';
import { fsyncDirectory, writeFileDurably } from '../../storage/durable-files.js';
import { keyFingerprint } from './key-fingerprint.js';

/**
 * The backup keys live beside the data directory, never in it (`<dataDir>-keys/backup/`, 0700), like
 * the master key and the audit signing key, so that a copy of the data directory, or a backup of it,
 * never carries them:
 * - `signing.key` (+ `.pub`): Ed25519, signs every manifest; verify trusts the `.pub`.
 * - `dedupe.key`: 32 random bytes (base64), the HMAC key naming chunks, so a chunk's name tells
 *   nothing about its content to whoever reads the target.
 * - `identity.key` (+ `recipient.pub`): X25519. Backups are encrypted TO recipients (public keys); only
 *   an identity (private key) reads them back. An operator may move `identity.key` offline: the machine
 *   taking backups then keeps only `recipient.pub` and cannot read its own backups, and no new
 *   identity is made in its place.
 * Private files are 0600 and refused when others may read them; `.pub` files are 0644.
 */

export const SIGNING_KEY_FILE = 'signing.key';
export const DEDUPE_KEY_FILE = 'dedupe.key';
export const IDENTITY_KEY_FILE = 'identity.key';
export const RECIPIENT_FILE = 'recipient.pub';
const DEDUPE_KEY_BYTES = 32;

export function backupKeysDir(dataDir: string): string {
  return `${dataDir.replace(/\/+$/, '')}-keys/backup`;
}

export const defaultIdentityFile = (dataDir: string): string => join(backupKeysDir(dataDir), IDENTITY_KEY_FILE);
export const defaultTrustFile = (dataDir: string): string => join(backupKeysDir(dataDir), `${SIGNING_KEY_FILE}.pub`);
export const defaultRecipientFile = (dataDir: string): string => join(backupKeysDir(dataDir), RECIPIENT_FILE);

export interface Recipient {
  readonly fingerprint: string;
  readonly publicKey: KeyObject;
}

export interface Identity {
  readonly fingerprint: string;
  readonly privateKey: KeyObject;
}

export interface TrustedSigner {
  readonly fingerprint: string;
  readonly publicKey: KeyObject;
}

export interface WriterKeys {
  readonly signingKey: KeyObject;
  readonly signerFingerprint: string;
  readonly dedupeKey: Buffer;
  readonly recipients: readonly Recipient[];
}

const pem = (key: KeyObject, type: 'pkcs8' | 'spki'): string => key.export({ format: 'pem', type }).toString();

/**
 * Creates the keys that are missing; returns the files it wrote (names inside {@link backupKeysDir}).
 * A `.pub` missing beside its private key is derived from it. An identity is made only when neither
 * `identity.key` nor `recipient.pub` exists: a lone `recipient.pub` means the identity was moved away.
 */
export function ensureBackupKeys(dataDir: string): { dir: string; created: string[] } {
  const dir = backupKeysDir(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if ((statSync(dir).mode & 0o077) !== 0) throw new ConfigError(`${dir} may be read by other accounts: \`chmod 700 ${dir}\``);
  const created: string[] = [];
  const write = (name: string, text: string, mode: number): void => {
    writeFileDurably(join(dir, name), text, mode);
    created.push(name);
  };
  const signing = join(dir, SIGNING_KEY_FILE);
  if (!existsSync(signing)) {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    write(SIGNING_KEY_FILE, pem(privateKey, 'pkcs8'), 0o600);
    if (!existsSync(`${signing}.pub`)) write(`${SIGNING_KEY_FILE}.pub`, pem(publicKey, 'spki'), 0o644);
  } else if (!existsSync(`${signing}.pub`)) {
    write(`${SIGNING_KEY_FILE}.pub`, pem(createPublicKey(readPrivateKey(signing, 'ed25519', 'the backup signing key')), 'spki'), 0o644);
  }
  if (!existsSync(join(dir, DEDUPE_KEY_FILE))) write(DEDUPE_KEY_FILE, `${randomBytes(DEDUPE_KEY_BYTES).toString('base64')}\n`, 0o600);
  const identity = join(dir, IDENTITY_KEY_FILE);
  const recipient = join(dir, RECIPIENT_FILE);
  if (!existsSync(identity) && !existsSync(recipient)) {
    const { privateKey, publicKey } = generateKeyPairSync('x25519');
    write(IDENTITY_KEY_FILE, pem(privateKey, 'pkcs8'), 0o600);
    write(RECIPIENT_FILE, pem(publicKey, 'spki'), 0o644);
  } else if (!existsSync(recipient)) {
    write(RECIPIENT_FILE, pem(createPublicKey(readPrivateKey(identity, 'x25519', 'the backup identity')), 'spki'), 0o644);
  }
  if (created.length > 0) fsyncDirectory(dir);
  return { dir, created };
}

/**
 * What `backup create` needs: the signing key, the dedupe key and the recipients (the local
 * `recipient.pub` unless `recipientFiles` names others). Duplicate recipients count once.
 */
export function loadWriterKeys(dataDir: string, recipientFiles?: readonly string[]): WriterKeys {
  const dir = backupKeysDir(dataDir);
  const signingKey = readPrivateKey(join(dir, SIGNING_KEY_FILE), 'ed25519', 'the backup signing key');
  const dedupePath = join(dir, DEDUPE_KEY_FILE);
  const dedupeKey = Buffer.from(readSecret({ kind: 'file', path: dedupePath }, 'the backup dedupe key').toString('utf8').trim(), 'base64');
  if (dedupeKey.length !== DEDUPE_KEY_BYTES) throw new ConfigError(`the backup dedupe key: ${dedupePath} does not hold ${DEDUPE_KEY_BYTES} bytes in base64`);
  const files = recipientFiles === undefined || recipientFiles.length === 0 ? [join(dir, RECIPIENT_FILE)] : recipientFiles;
  const recipients = new Map<string, Recipient>();
  for (const file of files) {
    const publicKey = readPublicKey(file, 'x25519', 'a backup recipient');
    const fingerprint = keyFingerprint(publicKey);
    recipients.set(fingerprint, { fingerprint, publicKey });
  }
  return { signingKey, signerFingerprint: keyFingerprint(signingKey), dedupeKey, recipients: [...recipients.values()] };
}

/** An identity (X25519 private key, PKCS#8 PEM, owner-only) that opens backups encrypted to it. */
export function loadIdentity(file: string): Identity {
  const privateKey = readPrivateKey(file, 'x25519', 'the backup identity');
  return { privateKey, fingerprint: keyFingerprint(privateKey) };
}

/** The public key a manifest's signature must verify with (`signing.key.pub` or `--trust FILE`). */
export function loadTrustedSigner(file: string): TrustedSigner {
  const publicKey = readPublicKey(file, 'ed25519', 'the trusted backup signing key');
  return { publicKey, fingerprint: keyFingerprint(publicKey) };
}

/** Errors name the file and what was expected, never the key's bytes. */
function readPrivateKey(path: string, type: 'ed25519' | 'x25519', what: string): KeyObject {
  const bytes = readSecret({ kind: 'file', path }, what);
  let key: KeyObject;
  try {
    key = createPrivateKey(bytes);
  } catch {
    throw new ConfigError(`${what}: ${path} is not a private key in PEM`);
  } finally {
    bytes.fill(0);
  }
  if (key.asymmetricKeyType !== type) throw new ConfigError(`${what}: ${path} is a ${key.asymmetricKeyType ?? 'unknown'} key, not ${type}`);
  return key;
}

/** A public key from a PEM file; a private key is accepted too (its public half is used). */
function readPublicKey(path: string, type: 'ed25519' | 'x25519', what: string): KeyObject {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new ConfigError(`${what}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey(bytes);
  } catch {
    throw new ConfigError(`${what}: ${path} is not a public key in PEM`);
  }
  if (key.asymmetricKeyType !== type) throw new ConfigError(`${what}: ${path} is a ${key.asymmetricKeyType ?? 'unknown'} key, not ${type}`);
  return key;
}
