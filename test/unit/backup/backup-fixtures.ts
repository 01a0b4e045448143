import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import type { Capture, CapturedFile, CapturedFileKind } from '../../../src/backup/contracts.js';
import { defaultIdentityFile, defaultTrustFile, ensureBackupKeys, loadIdentity, loadTrustedSigner, loadWriterKeys } from '../../../src/backup/keys/backup-keys.js';
import type { Identity, TrustedSigner, WriterKeys } from '../../../src/backup/keys/backup-keys.js';
import { DirectoryTarget } from '../../../src/backup/targets/directory-target.js';
import { buildBatchSync } from '../../../src/records/index.js';

/** Shared set-up of the backup tests: real keys on disk, a real directory target, real files. */

export function tempDir(t: TestContext, prefix = 'parapet-backup-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

export interface Setup {
  readonly root: string;
  readonly dataDir: string;
  readonly keys: WriterKeys;
  readonly identity: Identity;
  readonly trusted: TrustedSigner;
  readonly target: DirectoryTarget;
  readonly targetDir: string;
  /** Writes a file into the staging area and describes it as captured. */
  file(path: string, kind: CapturedFileKind, content: Buffer, length?: number): CapturedFile;
}

export function setup(t: TestContext): Setup {
  const root = tempDir(t);
  const dataDir = join(root, 'parapet-data');
  mkdirSync(dataDir, { mode: 0o700 });
  ensureBackupKeys(dataDir);
  const targetDir = join(root, 'target');
  const staging = join(root, 'staging');
  return {
    root,
    dataDir,
    keys: loadWriterKeys(dataDir),
    identity: loadIdentity(defaultIdentityFile(dataDir)),
    trusted: loadTrustedSigner(defaultTrustFile(dataDir)),
    target: new DirectoryTarget(targetDir),
    targetDir,
    file(path, kind, content, length = content.length) {
      const source = join(staging, path);
      mkdirSync(dirname(source), { recursive: true });
      writeFileSync(source, content);
      return { path, kind, length, source };
    },
  };
}

let captureCount = 0;

export function capture(files: readonly CapturedFile[], partitions: Capture['partitions'] = []): Capture {
  captureCount++;
  return { id: `20261207T1715${String(captureCount).padStart(2, '0')}Z-test`, takenAtMs: Date.UTC(2026, 11, 7, 17, 15, captureCount), productVersion: '0.1.0', files, partitions };
}

/** A segment of `batches` v2 batches of `perBatch` records each, starting at `baseOffset`, whose values contain `marker`. */
export function segment(baseOffset: bigint, batches: number, perBatch: number, marker = 'record'): Buffer {
  const parts: Buffer[] = [];
  let offset = baseOffset;
  for (let b = 0; b < batches; b++) {
    const records = Array.from({ length: perBatch }, (_, i) => ({ key: `k${b}-${i}`, value: `${marker}-${b}-${i}` }));
    parts.push(buildBatchSync({ records, baseOffset: offset, partitionLeaderEpoch: 0, baseTimestamp: 1_765_000_000_000 }));
    offset += BigInt(perBatch);
  }
  return Buffer.concat(parts);
}

/** `value`, failing the test when it is missing. */
export function must<T>(value: T | undefined | null, what = 'value'): T {
  if (value === undefined || value === null) throw new assert.AssertionError({ message: `${what} is missing` });
  return value;
}
