import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { readManifest, restoreFiles, verifyBackup } from '../../../src/backup/reader.js';
import { writeBackup } from '../../../src/backup/writer.js';
import { capture, setup } from './backup-fixtures.js';

const MiB = 1024 * 1024;
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Memory held after a full collection: what the code keeps, not garbage waiting to be collected. */
function retained(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

describe('backup memory', () => {
  it('backs up, verifies and restores a 64 MiB file holding at most a few 8 MiB pieces of it at a time', async (t) => {
    const s = setup(t);
    const source = join(s.root, 'big.log');
    const fd = openSync(source, 'w');
    const whole = createHash('sha256');
    for (let i = 0; i < 64; i++) {
      const block = randomBytes(MiB);
      whole.update(block);
      writeSync(fd, block);
    }
    closeSync(fd);
    const size = 64 * MiB;
    const cap = capture([{ path: 'logs/big-0/00000000000000000000.log', kind: 'snapshot', length: size, source }]);
    const base = retained();
    let peak = 0;
    await writeBackup(cap, s.target, s.keys, {
      dataDir: s.dataDir,
      onProgress: () => {
        peak = Math.max(peak, retained() - base);
      },
    });
    // A piece, its sealed copy and the reads in flight: a few pieces, never the file (the bound is half of it).
    assert.ok(peak < 32 * MiB, `the writer kept ${(peak / MiB).toFixed(1)} MiB for a ${size / MiB} MiB file`);
    const manifest = await readManifest(s.target, cap.id, s.trusted);
    assert.equal(manifest.files[0]?.sha256, whole.digest('hex'));
    assert.equal((await verifyBackup(s.target, cap.id, { trusted: s.trusted, identity: s.identity })).ok, true);
    await restoreFiles(s.target, manifest, s.identity, join(s.root, 'restored'));
  });
});
