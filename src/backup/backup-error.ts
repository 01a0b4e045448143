/**
 * What can go wrong with a backup, as data: every failure of the format library is a BackupError with a
 * `kind` from a closed set and `where` naming the object, file or key concerned, so that `backup verify`
 * can list problems and `restore` can refuse with a sentence, never a stack trace. Key material and
 * plaintext never appear in a message.
 */
export const BackupErrorKinds = {
  /** The identity is not one the backup was encrypted to, or a wrapped data key fails to open. */
  WRONG_IDENTITY: 'wrong-identity',
  /** A wrapped data key is malformed (wrong sizes): the manifest or started.json was changed. */
  DEK_DAMAGED: 'dek-damaged',
  /** A chunk object is not in the sealed chunk format (magic, header, sizes). */
  CHUNK_FORMAT: 'chunk-format',
  /** A chunk fails AES-GCM authentication: changed bytes, another chunk's bytes, or another key. */
  CHUNK_AUTH: 'chunk-auth',
  /** The manifest lists a chunk the target does not hold. */
  CHUNK_MISSING: 'chunk-missing',
  /** A chunk's bytes do not have the SHA-256 the manifest lists. */
  CHUNK_HASH: 'chunk-hash',
  /** A restored or verified file does not have the length or SHA-256 the manifest lists. */
  FILE_HASH: 'file-hash',
  MANIFEST_MISSING: 'manifest-missing',
  MANIFEST_NOT_JSON: 'manifest-not-json',
  MANIFEST_SCHEMA: 'manifest-schema',
  /** Signed by a key other than the trusted one: the message names both fingerprints. */
  MANIFEST_UNTRUSTED_SIGNER: 'manifest-untrusted-signer',
  MANIFEST_BAD_SIGNATURE: 'manifest-bad-signature',
  /** A target key outside the allowed alphabet, absolute, or with `..`. */
  BAD_KEY: 'bad-key',
  /** A backup id, or a file to restore, that already exists. */
  EXISTS: 'exists',
  /** A captured file is shorter than the capture says. */
  SOURCE_SHORT: 'source-short',
  /**
   * A chunk already in the target is encrypted under an earlier backup's data key that is not wrapped
   * for every recipient of this backup: reusing it would give a recipient a backup it cannot read.
   */
  RECIPIENTS_CHANGED: 'recipients-changed',
  /**
   * The target cannot be used: a bucket that does not exist, credentials missing or refused, an
   * endpoint that does not answer. The message says which, never with a credential in it.
   */
  TARGET_UNAVAILABLE: 'target-unavailable',
  /** Another writer holds the target's lock (one backup or prune at a time). */
  TARGET_LOCKED: 'target-locked',
} as const;
export type BackupErrorKind = (typeof BackupErrorKinds)[keyof typeof BackupErrorKinds];

export class BackupError extends Error {
  override name = 'BackupError';
  readonly kind: BackupErrorKind;
  /** The chunk id, file path, target key or backup id the failure is about. */
  readonly where: string;

  constructor(kind: BackupErrorKind, where: string, message: string) {
    super(message);
    this.kind = kind;
    this.where = where;
  }
}

export function isBackupError(err: unknown, kind?: BackupErrorKind): err is BackupError {
  return err instanceof BackupError && (kind === undefined || err.kind === kind);
}
