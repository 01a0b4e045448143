import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, open, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { BackupError, BackupErrorKinds } from './backup-error.js';
import type { BackupTarget } from './contracts.js';
import type { FileEntry, Manifest } from './format/manifest-schema.js';
import type { Identity } from './keys/backup-keys.js';
import { PieceReader } from './piece-reader.js';

/**
 * Writes a backup's files into a directory (`restore`), one piece in memory at a time. Each file is
 * written to a temporary name beside its destination (0600, in 0700 directories), its length and
 * SHA-256 checked against the manifest, fsynced and only then linked into place: the first chunk
 * that is missing, changed or does not decrypt stops the restore with an error naming it, and leaves
 * no half-written file behind. An existing file is never overwritten. The manifest must come from
 * `readManifest` (signature verified) before it is trusted with paths.
 */

export interface RestoreOptions {
  /** Restore only the files this returns true for (selective restore of topics). */
  readonly only?: (file: FileEntry) => boolean;
  /** Where a file goes, relative to `destDir` (restore a topic under a new name); default its path. */
  readonly rename?: (file: FileEntry) => string;
}

export interface RestoreResult {
  readonly files: number;
  readonly bytes: number;
}

export async function restoreFiles(target: BackupTarget, manifest: Manifest, identity: Identity, destDir: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  const root = resolve(destDir);
  await mkdir(root, { recursive: true, mode: 0o700 });
  const reader = new PieceReader(target, manifest, identity);
  let files = 0;
  let bytes = 0;
  try {
    for (const file of manifest.files) {
      if (options.only !== undefined && !options.only(file)) continue;
      const relative = options.rename?.(file) ?? file.path;
      await restoreFile(reader, file, destinationOf(root, relative));
      files++;
      bytes += file.length;
    }
  } finally {
    reader.close();
  }
  return { files, bytes };
}

/** A restored file stays inside the destination, whatever a rename callback returns. */
function destinationOf(root: string, relative: string): string {
  const parts = relative.split('/');
  if (isAbsolute(relative) || parts.some((s) => s === '' || s === '.' || s === '..')) {
    throw new BackupError(BackupErrorKinds.BAD_KEY, relative, `${JSON.stringify(relative)} is not a relative path inside the restore directory`);
  }
  const path = join(root, ...parts);
  if (!path.startsWith(root + sep)) throw new BackupError(BackupErrorKinds.BAD_KEY, relative, `${relative} is outside the restore directory`);
  return path;
}

async function restoreFile(reader: PieceReader, file: FileEntry, path: string): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temp = join(dir, `.restore-${randomBytes(6).toString('hex')}`);
  const handle = await open(temp, 'wx', 0o600);
  let placed = false;
  try {
    const hash = createHash('sha256');
    try {
      for (const chunk of file.chunks) {
        const piece = await reader.piece(chunk);
        hash.update(piece);
        await handle.write(piece, 0, piece.length, chunk.offset);
      }
      const sha = hash.digest('hex');
      if (sha !== file.sha256) {
        throw new BackupError(BackupErrorKinds.FILE_HASH, file.path, `${file.path} restores with SHA-256 ${sha}; the manifest lists ${file.sha256}`);
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    await linkIntoPlace(temp, path, file.path);
    placed = true;
    const dirHandle = await open(dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  } finally {
    if (!placed) await unlink(temp).catch(() => undefined);
  }
}

/** rename() would replace an existing file; link() then unlink() refuses to. */
async function linkIntoPlace(temp: string, path: string, name: string): Promise<void> {
  try {
    await link(temp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new BackupError(BackupErrorKinds.EXISTS, name, `${path} already exists: restore never overwrites a file`);
    throw err;
  }
  await unlink(temp);
}
