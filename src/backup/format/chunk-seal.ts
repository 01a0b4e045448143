import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { BackupError, BackupErrorKinds } from '../backup-error.js';

/**
 * Chunks: every captured file is cut at fixed offsets (0, 8 MiB, 16 MiB, …) into pieces; a piece is
 * named by HMAC-SHA256(dedupe key, piece) and stored once per target, sealed with AES-256-GCM under the
 * data key of the backup that first stored it. Fixed offsets make an active segment that grew re-send
 * only its last piece. The sealed form names that backup in clear, so a later backup that meets the
 * chunk again knows whose data key it needs:
 *
 *   "PBK1" | u8 id length | backup id (ASCII) | 12-byte nonce | ciphertext | 16-byte tag
 *
 * The associated data is the header (magic, length, backup id) and the chunk id: a chunk stored under
 * another name, or relabelled with another backup id, fails authentication.
 */
export const PIECE_BYTES = 8 * 1024 * 1024;
export const CHUNK_MAGIC = Buffer.from('PBK1', 'ascii');
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** Backup ids are target keys and chunk headers: short, and only characters safe in both. */
export const BACKUP_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const CHUNK_ID = /^[0-9a-f]{64}$/;

export function chunkIdOf(dedupeKey: Buffer, piece: Buffer): string {
  return createHmac('sha256', dedupeKey).update(piece).digest('hex');
}

/** Where a chunk lives in a target: `chunks/<first 2 hex>/<chunk id>`. */
export function chunkKey(chunkId: string): string {
  return `chunks/${chunkId.slice(0, 2)}/${chunkId}`;
}

function header(backupId: string): Buffer {
  if (!BACKUP_ID.test(backupId)) throw new Error(`invalid backup id ${JSON.stringify(backupId)}`);
  const id = Buffer.from(backupId, 'ascii');
  return Buffer.concat([CHUNK_MAGIC, Buffer.from([id.length]), id]);
}

export function sealChunk(piece: Buffer, chunkId: string, backupId: string, dek: Buffer): Buffer {
  const head = header(backupId);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', dek, nonce);
  cipher.setAAD(Buffer.concat([head, Buffer.from(chunkId, 'ascii')]));
  const body = cipher.update(piece);
  const final = cipher.final();
  return Buffer.concat([head, nonce, body, final, cipher.getAuthTag()]);
}

interface ParsedChunk {
  readonly backupId: string;
  readonly headerLength: number;
}

function parse(sealed: Buffer, chunkId: string): ParsedChunk {
  const bad = (why: string): BackupError => new BackupError(BackupErrorKinds.CHUNK_FORMAT, chunkId, `chunk ${chunkId} is not a sealed chunk: ${why}`);
  if (sealed.length < CHUNK_MAGIC.length + 1 || !sealed.subarray(0, CHUNK_MAGIC.length).equals(CHUNK_MAGIC)) throw bad('no PBK1 magic');
  const idLength = sealed[CHUNK_MAGIC.length] ?? 0;
  const headerLength = CHUNK_MAGIC.length + 1 + idLength;
  if (sealed.length < headerLength + NONCE_BYTES + TAG_BYTES) throw bad(`${sealed.length} bytes is too short`);
  const backupId = sealed.toString('latin1', CHUNK_MAGIC.length + 1, headerLength);
  if (!BACKUP_ID.test(backupId)) throw bad('the backup id in its header is invalid');
  return { backupId, headerLength };
}

/** The backup whose data key sealed this chunk (read from the clear header, not yet authenticated). */
export function sealedBy(sealed: Buffer, chunkId: string): string {
  return parse(sealed, chunkId).backupId;
}

/**
 * The piece, after checking that `sealed` is chunk `chunkId` sealed with `dek` by `expectedBackupId`
 * (the manifest's `dekOf`). Any changed byte fails: `chunk-format` for the header, `chunk-auth` otherwise.
 */
export function openChunk(sealed: Buffer, chunkId: string, expectedBackupId: string, dek: Buffer): Buffer {
  const { backupId, headerLength } = parse(sealed, chunkId);
  if (backupId !== expectedBackupId) {
    throw new BackupError(BackupErrorKinds.CHUNK_FORMAT, chunkId, `chunk ${chunkId} names backup ${backupId} as its sealer, the manifest ${expectedBackupId}`);
  }
  const nonce = sealed.subarray(headerLength, headerLength + NONCE_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', dek, nonce);
  decipher.setAAD(Buffer.concat([sealed.subarray(0, headerLength), Buffer.from(chunkId, 'ascii')]));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(headerLength + NONCE_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new BackupError(BackupErrorKinds.CHUNK_AUTH, chunkId, `chunk ${chunkId} fails authentication: its bytes were changed or it was sealed with another key`);
  }
}
