import { createHash, createPublicKey, randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { hostname } from 'node:os';
import { BackupError, BackupErrorKinds } from './backup-error.js';
import { buildChunkIndex, deksOf, type ChunkIndex } from './chunk-index.js';
import type { BackupTarget, Capture, CapturedFile } from './contracts.js';
import { BACKUP_ID, PIECE_BYTES, chunkIdOf, chunkKey, sealChunk, sealedBy } from './format/chunk-seal.js';
import { DEK_BYTES, wrapDek, type WrappedDek } from './format/dek-wrap.js';
import { MANIFEST_FORMAT_VERSION, type ChunkRef, type FileEntry, type Manifest } from './format/manifest-schema.js';
import { manifestKey, serializeManifest, signManifest, startedKey } from './format/manifest.js';
import type { WriterKeys } from './keys/backup-keys.js';
import { keyFingerprint } from './keys/key-fingerprint.js';
import { ReadThrottle, realClock, type Clock } from './read-throttle.js';

/**
 * Writes one backup of a capture to a target (docs/operations/backup-and-recovery.md):
 * 1. `started.json` first, with this backup's data key wrapped for every recipient: a backup with no
 *    manifest is incomplete and never listed as usable, and its chunks stay readable by later backups.
 * 2. Every captured file is read up to its captured length in fixed 8 MiB pieces, one piece in memory
 *    at a time, paced to the rate. A piece whose chunk id the target has is reused (the incremental
 *    backup), else sealed under this backup's data key and put. An existing chunk is never rewritten.
 * 3. `manifest.json` last, signed, carrying the wrapped data keys of every backup whose chunks it uses.
 */

export interface BackupProgress {
  readonly path: string;
  readonly bytesDone: number;
  readonly totalBytes: number;
  readonly storedBytes: number;
  readonly reusedBytes: number;
}

export interface WriteBackupOptions {
  /** The data directory the capture is of, recorded in the manifest's `source`. */
  readonly dataDir: string;
  readonly host?: string;
  readonly rateBytesPerSecond?: number;
  readonly clock?: Clock;
  readonly onProgress?: (progress: BackupProgress) => void;
}

export interface WriteBackupResult {
  readonly manifest: Manifest;
  /** Bytes put into the target as new chunks (sealed size): what this backup cost the target. */
  readonly storedBytes: number;
  /** Bytes of captured files that were already in the target (plaintext size). */
  readonly reusedBytes: number;
}

/** Reads are this size, so the throttle paces within a piece. */
const READ_SLICE = 1024 * 1024;

export async function writeBackup(capture: Capture, target: BackupTarget, keys: WriterKeys, options: WriteBackupOptions): Promise<WriteBackupResult> {
  const id = capture.id;
  if (!BACKUP_ID.test(id)) throw new BackupError(BackupErrorKinds.BAD_KEY, id, `${JSON.stringify(id)} is not a valid backup id`);
  if ((await target.has(startedKey(id))) || (await target.has(manifestKey(id)))) {
    throw new BackupError(BackupErrorKinds.EXISTS, id, `${target.description} already holds a backup ${id}`);
  }
  const clock = options.clock ?? realClock;
  const dek = randomBytes(DEK_BYTES);
  try {
    const ownDeks = keys.recipients.map((r) => wrapDek(dek, id, r));
    if (ownDeks.length === 0) throw new Error('a backup needs at least one recipient');
    const startedAt = new Date(clock.now()).toISOString();
    await target.put(startedKey(id), Buffer.from(`${JSON.stringify({ id, startedAt, deks: ownDeks })}\n`));

    const trusted = { publicKey: createPublicKey(keys.signingKey), fingerprint: keyFingerprint(keys.signingKey) };
    const index = await buildChunkIndex(target, trusted);
    index.deks.set(id, ownDeks);
    const state: WriteState = {
      id,
      dek,
      keys,
      target,
      index,
      throttle: new ReadThrottle(options.rateBytesPerSecond, clock),
      readBuffer: Buffer.allocUnsafe(PIECE_BYTES),
      usedDeks: new Set([id]),
      newChunks: new Set(),
      allChunks: new Set(),
      storedBytes: 0,
      reusedBytes: 0,
      bytesDone: 0,
      totalBytes: capture.files.reduce((sum, f) => sum + f.length, 0),
      onProgress: options.onProgress,
    };
    const files: FileEntry[] = [];
    for (const file of capture.files) files.push(await backUpFile(state, file));

    const deks: Record<string, WrappedDek[]> = {};
    for (const backupId of [...state.usedDeks].sort()) {
      const entries = await deksOf(target, index, backupId);
      if (entries === null) throw new Error(`the data key of backup ${backupId} vanished from ${target.description}`);
      deks[backupId] = [...entries];
    }
    const manifest = signManifest(
      {
        formatVersion: MANIFEST_FORMAT_VERSION,
        id,
        createdAt: new Date(capture.takenAtMs).toISOString(),
        completedAt: new Date(clock.now()).toISOString(),
        productVersion: capture.productVersion,
        source: { dataDir: options.dataDir, host: options.host ?? hostname() },
        partitions: capture.partitions.map((p) => ({ ...p })),
        deks,
        files,
        totals: { bytes: state.totalBytes, newBytes: state.storedBytes, chunks: state.allChunks.size, newChunks: state.newChunks.size },
      },
      keys.signingKey,
      keys.signerFingerprint,
    );
    await target.put(manifestKey(id), serializeManifest(manifest));
    return { manifest, storedBytes: state.storedBytes, reusedBytes: state.reusedBytes };
  } finally {
    dek.fill(0);
  }
}

interface WriteState {
  readonly id: string;
  readonly dek: Buffer;
  readonly keys: WriterKeys;
  readonly target: BackupTarget;
  readonly index: ChunkIndex;
  readonly throttle: ReadThrottle;
  /** One piece's worth, reused for every piece: memory stays flat whatever the file sizes. */
  readonly readBuffer: Buffer;
  readonly usedDeks: Set<string>;
  readonly newChunks: Set<string>;
  readonly allChunks: Set<string>;
  storedBytes: number;
  reusedBytes: number;
  bytesDone: number;
  readonly totalBytes: number;
  readonly onProgress: ((progress: BackupProgress) => void) | undefined;
}

async function backUpFile(state: WriteState, file: CapturedFile): Promise<FileEntry> {
  const handle = await open(file.source, 'r');
  try {
    const whole = createHash('sha256');
    const chunks: ChunkRef[] = [];
    for (let offset = 0; offset < file.length; offset += PIECE_BYTES) {
      const length = Math.min(PIECE_BYTES, file.length - offset);
      const piece = state.readBuffer.subarray(0, length);
      for (let at = 0; at < length; ) {
        const { bytesRead } = await handle.read(piece, at, Math.min(READ_SLICE, length - at), offset + at);
        if (bytesRead === 0) {
          throw new BackupError(BackupErrorKinds.SOURCE_SHORT, file.path, `${file.source} (${file.path}) ends at ${offset + at} bytes; the capture says ${file.length}`);
        }
        at += bytesRead;
        await state.throttle.took(bytesRead);
      }
      whole.update(piece);
      chunks.push(await storePiece(state, piece, offset));
      state.bytesDone += length;
      state.onProgress?.({ path: file.path, bytesDone: state.bytesDone, totalBytes: state.totalBytes, storedBytes: state.storedBytes, reusedBytes: state.reusedBytes });
    }
    return { path: file.path, kind: file.kind, length: file.length, sha256: whole.digest('hex'), chunks };
  } finally {
    await handle.close();
  }
}

async function storePiece(state: WriteState, piece: Buffer, offset: number): Promise<ChunkRef> {
  const id = chunkIdOf(state.keys.dedupeKey, piece);
  state.allChunks.add(id);
  const key = chunkKey(id);
  let known = state.index.chunks.get(id);
  // A manifest may list a chunk the target lost since: store it again rather than point at nothing.
  if (known !== undefined && !state.newChunks.has(id) && !(await state.target.has(key))) known = undefined;
  if (known === undefined) {
    const existing = await state.target.get(key);
    if (existing !== null) {
      known = { dekOf: sealedBy(existing, id), sealedSha256: createHash('sha256').update(existing).digest('hex') };
    }
  }
  if (known !== undefined) {
    await checkRecipients(state, known.dekOf);
    state.usedDeks.add(known.dekOf);
    state.index.chunks.set(id, known);
    if (!state.newChunks.has(id)) state.reusedBytes += piece.length;
    return { id, offset, length: piece.length, sealedSha256: known.sealedSha256, dekOf: known.dekOf };
  }
  const sealed = sealChunk(piece, id, state.id, state.dek);
  await state.target.put(key, sealed);
  const sealedSha256 = createHash('sha256').update(sealed).digest('hex');
  state.index.chunks.set(id, { dekOf: state.id, sealedSha256 });
  state.newChunks.add(id);
  state.storedBytes += sealed.length;
  return { id, offset, length: piece.length, sealedSha256, dekOf: state.id };
}

/** A reused chunk must be readable by every recipient of this backup. */
async function checkRecipients(state: WriteState, dekOf: string): Promise<void> {
  const entries = await deksOf(state.target, state.index, dekOf);
  if (entries === null) {
    throw new BackupError(BackupErrorKinds.RECIPIENTS_CHANGED, dekOf, `${state.target.description} holds chunks of backup ${dekOf} whose data key is not in the target`);
  }
  const wrappedFor = new Set(entries.map((e) => e.recipient));
  const missing = state.keys.recipients.filter((r) => !wrappedFor.has(r.fingerprint)).map((r) => r.fingerprint);
  if (missing.length > 0) {
    throw new BackupError(
      BackupErrorKinds.RECIPIENTS_CHANGED,
      dekOf,
      `${state.target.description} holds data of backup ${dekOf}, encrypted for other recipients than ${missing.join(', ')}: ` +
        'it cannot be reused for them; back up to a new target (or an empty one) after changing recipients',
    );
  }
}
