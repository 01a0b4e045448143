import { createHash } from 'node:crypto';
import { BackupError, BackupErrorKinds } from './backup-error.js';
import type { BackupTarget } from './contracts.js';
import { chunkKey, openChunk } from './format/chunk-seal.js';
import { unwrapDek } from './format/dek-wrap.js';
import type { ChunkRef, Manifest } from './format/manifest-schema.js';
import type { Identity } from './keys/backup-keys.js';

/**
 * Reads a manifest's chunks back: fetches each, checks it is there and has the SHA-256 the manifest
 * lists, and (with an identity) opens it with the data key of the backup that sealed it. Data keys
 * are unwrapped once per backup and wiped by `close`.
 */
export class PieceReader {
  readonly #target: BackupTarget;
  readonly #manifest: Manifest;
  readonly #identity: Identity | undefined;
  readonly #deks = new Map<string, Buffer>();

  constructor(target: BackupTarget, manifest: Manifest, identity?: Identity) {
    this.#target = target;
    this.#manifest = manifest;
    this.#identity = identity;
  }

  /** The sealed bytes, checked against the manifest's sealedSha256. */
  async sealed(chunk: ChunkRef): Promise<Buffer> {
    const bytes = await this.#target.get(chunkKey(chunk.id));
    if (bytes === null) throw new BackupError(BackupErrorKinds.CHUNK_MISSING, chunk.id, `chunk ${chunk.id} is missing from ${this.#target.description}`);
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (sha !== chunk.sealedSha256) {
      throw new BackupError(BackupErrorKinds.CHUNK_HASH, chunk.id, `chunk ${chunk.id} has SHA-256 ${sha}; the manifest lists ${chunk.sealedSha256}`);
    }
    return bytes;
  }

  /** The plaintext piece; needs an identity. */
  async piece(chunk: ChunkRef): Promise<Buffer> {
    const sealed = await this.sealed(chunk);
    const piece = openChunk(sealed, chunk.id, chunk.dekOf, this.dek(chunk.dekOf));
    if (piece.length !== chunk.length) {
      throw new BackupError(BackupErrorKinds.CHUNK_FORMAT, chunk.id, `chunk ${chunk.id} holds ${piece.length} bytes; the manifest lists ${chunk.length}`);
    }
    return piece;
  }

  /** The data key of `backupId` (throws `wrong-identity` when the identity cannot open it). */
  dek(backupId: string): Buffer {
    const known = this.#deks.get(backupId);
    if (known !== undefined) return known;
    if (this.#identity === undefined) throw new Error('reading chunk contents needs an identity');
    const entries = this.#manifest.deks[backupId];
    if (entries === undefined) throw new BackupError(BackupErrorKinds.MANIFEST_SCHEMA, backupId, `the manifest has no data key for backup ${backupId}`);
    const dek = unwrapDek(entries, backupId, this.#identity);
    this.#deks.set(backupId, dek);
    return dek;
  }

  close(): void {
    for (const dek of this.#deks.values()) dek.fill(0);
    this.#deks.clear();
  }
}
