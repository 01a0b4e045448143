import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { SEALED_MAGIC } from '../storage/crypto/sealed-batch.js';
import { parseSegmentFileName } from '../storage/log/format.js';
import { nodeLogFs } from '../storage/log/log-fs.js';
import { scanSegment } from '../storage/log/scan.js';
import { isBackupError } from './backup-error.js';
import type { BackupTarget } from './contracts.js';
import type { FileEntry, Manifest, PartitionEntry } from './format/manifest-schema.js';
import type { Identity, TrustedSigner } from './keys/backup-keys.js';
import { PieceReader } from './piece-reader.js';
import { readManifest } from './read-manifest.js';

/**
 * `backup verify`: reads back everything a restore would need and says what is wrong, naming the chunk
 * or file, instead of stopping at the first problem. It checks the manifest's signature, that every
 * chunk is there with its listed SHA-256 and, with an identity, that every chunk decrypts, that every
 * file has its listed length and SHA-256, and that every record batch of every segment passes its
 * CRC-32C with contiguous offsets (the broker's own recovery scan, run over a reassembled copy in a
 * private temporary directory, so memory stays bounded). It reports, per partition, the newest offset
 * a restore would bring back whole.
 */

export interface VerifyProblem {
  /** A chunk id, a file path, or the manifest's key. */
  readonly where: string;
  readonly what: string;
}

export interface PartitionRestorable {
  readonly topic: string;
  readonly partition: number;
  readonly logStartOffset: string;
  /** The end offset the capture recorded. */
  readonly endOffset: string;
  /** Every offset below this one restores intact (null: the partition cannot be restored at all). */
  readonly restorableEndOffset: string | null;
}

export interface VerifyReport {
  readonly id: string;
  readonly ok: boolean;
  /** The signer's fingerprint, once the signature verified. */
  readonly signer: string | null;
  /** Whether chunk contents were decrypted and checked (an identity was given and opened the keys). */
  readonly decrypted: boolean;
  readonly notes: readonly string[];
  readonly problems: readonly VerifyProblem[];
  readonly partitions: readonly PartitionRestorable[];
}

interface FileOutcome {
  readonly ok: boolean;
  /** For a segment: its base offset, the first offset it cannot restore (null: all), and where it ended. */
  readonly baseOffset?: bigint;
  readonly firstLost?: bigint | null;
  readonly endOffset?: bigint;
}

export async function verifyBackup(target: BackupTarget, id: string, options: { trusted: TrustedSigner; identity?: Identity }): Promise<VerifyReport> {
  let manifest: Manifest;
  try {
    manifest = await readManifest(target, id, options.trusted);
  } catch (err) {
    if (!isBackupError(err)) throw err;
    return { id, ok: false, signer: null, decrypted: false, notes: [], problems: [{ where: err.where, what: err.message }], partitions: [] };
  }
  const problems: VerifyProblem[] = [];
  const notes: string[] = [];
  const reader = new PieceReader(target, manifest, options.identity);
  const openable = new Set<string>();
  if (options.identity === undefined) {
    notes.push('no identity given: chunks were checked for presence and SHA-256, not decrypted; file hashes and record batch CRCs were not checked');
  } else {
    for (const backupId of Object.keys(manifest.deks)) {
      try {
        reader.dek(backupId);
        openable.add(backupId);
      } catch (err) {
        if (!isBackupError(err)) throw err;
        problems.push({ where: err.where, what: err.message });
      }
    }
  }
  const scratch = mkdtempSync(join(tmpdir(), 'parapet-verify-'));
  const sealedBatches = { count: 0 };
  const outcomes = new Map<string, FileOutcome>();
  try {
    for (const file of manifest.files) outcomes.set(file.path, await verifyFile(reader, file, openable, scratch, problems, sealedBatches));
  } finally {
    reader.close();
    rmSync(scratch, { recursive: true, force: true });
  }
  if (sealedBatches.count > 0) {
    notes.push(
      `${sealedBatches.count} record batches are sealed (encryption at rest): their framing and CRC-32C were checked; ` +
        "their records are encrypted under the topic's keys, not the backup's, and were not opened",
    );
  }
  const decrypted = options.identity !== undefined && openable.size === Object.keys(manifest.deks).length;
  const partitions = manifest.partitions.map((p) => restorable(p, manifest, outcomes, problems));
  return { id, ok: problems.length === 0, signer: manifest.signature.signer, decrypted, notes, problems, partitions };
}

async function verifyFile(
  reader: PieceReader,
  file: FileEntry,
  openable: ReadonlySet<string>,
  scratch: string,
  problems: VerifyProblem[],
  sealedBatches: { count: number },
): Promise<FileOutcome> {
  const isSegment = file.kind === 'segment';
  const baseOffset = isSegment ? parseSegmentFileName(basename(file.path)) : null;
  const decrypting = file.chunks.every((c) => openable.has(c.dekOf));
  const hash = createHash('sha256');
  const copyPath = join(scratch, 'segment');
  const copy = isSegment && decrypting && baseOffset !== null ? openSync(copyPath, 'w', 0o600) : null;
  let ok = true;
  let bytes = 0;
  try {
    for (const chunk of file.chunks) {
      try {
        if (!decrypting) {
          await reader.sealed(chunk);
          continue;
        }
        const piece = await reader.piece(chunk);
        hash.update(piece);
        bytes += piece.length;
        if (copy !== null && ok) writeSync(copy, piece, 0, piece.length, chunk.offset);
      } catch (err) {
        if (!isBackupError(err)) throw err;
        problems.push({ where: chunk.id, what: `${err.message} (file ${file.path}, bytes ${chunk.offset}..${chunk.offset + chunk.length})` });
        ok = false;
      }
    }
  } finally {
    if (copy !== null) closeSync(copy);
  }
  if (!ok) return { ok, ...(baseOffset === null ? {} : { baseOffset, firstLost: baseOffset }) };
  if (!decrypting) return { ok };
  const sha = hash.digest('hex');
  if (bytes !== file.length || sha !== file.sha256) {
    problems.push({ where: file.path, what: `${file.path} reassembles to ${bytes} bytes with SHA-256 ${sha}; the manifest lists ${file.length} bytes, ${file.sha256}` });
    return { ok: false, ...(baseOffset === null ? {} : { baseOffset, firstLost: baseOffset }) };
  }
  if (!isSegment) return { ok: true };
  if (baseOffset === null) {
    problems.push({ where: file.path, what: `${file.path} is a segment but not named <20-digit base offset>.log: its batches were not checked` });
    return { ok: false };
  }
  const fd = nodeLogFs.openSync(copyPath, 'r');
  let endOffset = baseOffset;
  let firstLost: bigint | null = null;
  try {
    const scan = scanSegment(nodeLogFs, fd, file.length, baseOffset, {
      verifyCrc: true,
      // Segments of compacted topics have gaps where the cleaner removed batches; each batch's CRC is still checked.
      allowGaps: true,
      onBatch: (batch, header) => {
        if (header[16] === SEALED_MAGIC) sealedBatches.count++;
        endOffset = batch.lastOffset + 1n;
      },
    });
    for (const bad of scan.corrupt) {
      problems.push({ where: file.path, what: `record batch at byte ${bad.position} (offsets ${bad.firstOffset}..${bad.lastOffset}): ${bad.reason}` });
    }
    if (scan.tornTail !== null) {
      problems.push({ where: file.path, what: `bytes ${scan.validBytes}..${file.length} are not whole record batches: ${scan.tornTail}` });
    }
    // Batches come in offset order: what restores whole ends at the first corrupt batch, else at the tail.
    firstLost = scan.corrupt[0]?.firstOffset ?? (scan.tornTail === null ? null : endOffset);
  } finally {
    nodeLogFs.closeSync(fd);
  }
  return { ok: firstLost === null, baseOffset, firstLost, endOffset };
}

/**
 * The newest offset of a partition a restore brings back whole: the captured end when every file of
 * the partition verified, else the first offset of its first damaged segment (or of the first bad
 * batch in it). Without partition.json, data keys or the metadata store, nothing of it restores.
 */
function restorable(p: PartitionEntry, manifest: Manifest, outcomes: ReadonlyMap<string, FileOutcome>, problems: VerifyProblem[]): PartitionRestorable {
  const dir = `logs/${p.topic}-${p.partition}/`;
  const base = { topic: p.topic, partition: p.partition, logStartOffset: p.logStartOffset, endOffset: p.endOffset };
  const essential = manifest.files.filter((f) => f.kind === 'metadata' || (f.path.startsWith(dir) && (f.kind === 'partition-meta' || f.kind === 'data-keys')));
  if (essential.some((f) => outcomes.get(f.path)?.ok !== true)) return { ...base, restorableEndOffset: null };
  const segments = manifest.files
    .filter((f) => f.kind === 'segment' && f.path.startsWith(dir) && !f.path.slice(dir.length).includes('/'))
    .map((f) => ({ path: f.path, outcome: outcomes.get(f.path) }))
    .filter((s): s is { path: string; outcome: FileOutcome & { baseOffset: bigint } } => s.outcome?.baseOffset !== undefined)
    .sort((a, b) => (a.outcome.baseOffset < b.outcome.baseOffset ? -1 : 1));
  for (const s of segments) {
    if (s.outcome.firstLost !== null && s.outcome.firstLost !== undefined) return { ...base, restorableEndOffset: s.outcome.firstLost.toString() };
  }
  const last = segments.at(-1);
  if (last?.outcome.endOffset !== undefined && last.outcome.endOffset.toString() !== p.endOffset) {
    problems.push({ where: last.path, what: `the log of ${p.topic}-${p.partition} ends at offset ${last.outcome.endOffset}; the manifest says ${p.endOffset}` });
    return { ...base, restorableEndOffset: (last.outcome.endOffset < BigInt(p.endOffset) ? last.outcome.endOffset : BigInt(p.endOffset)).toString() };
  }
  return { ...base, restorableEndOffset: p.endOffset };
}
