import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { readRestoredLog } from '../../../../src/backup/drill/restored-log.js';
import { BatchOffsets } from '../../../../src/records/batch.js';
import { buildBatchSync } from '../../../../src/records/record.js';
import { SEALED_MAGIC } from '../../../../src/storage/crypto/sealed-batch.js';
import { segmentFileName } from '../../../../src/storage/log/format.js';

/** What `dr drill` compares the fetched batches with: the restored segments' batches in an offset range. */

function batch(baseOffset: bigint, count: number): Buffer {
  return buildBatchSync({ baseOffset, records: Array.from({ length: count }, (_, i) => ({ value: `v${baseOffset + BigInt(i)}` })), now: () => 1_700_000_000_000 });
}

function partitionDir(t: TestContext): { dataDir: string; dir: string } {
  const dataDir = mkdtempSync(join(tmpdir(), 'parapet-restored-log-'));
  t.after(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });
  const dir = join(dataDir, 'logs', 'orders-0');
  mkdirSync(dir, { recursive: true });
  return { dataDir, dir };
}

describe('readRestoredLog', () => {
  it('hashes the batches holding offsets of the range, across segments in offset order', (t) => {
    const { dataDir, dir } = partitionDir(t);
    const [a, b, c, d] = [batch(0n, 2), batch(2n, 3), batch(5n, 1), batch(6n, 4)];
    writeFileSync(join(dir, segmentFileName(0n, '.log')), Buffer.concat([a, b]));
    writeFileSync(join(dir, segmentFileName(5n, '.log')), Buffer.concat([c, d]));
    writeFileSync(join(dir, 'partition.json'), '{}');
    // Offsets 3..5: the batch 2..4 (it holds 3 and 4) and the batch 5..5.
    const log = readRestoredLog(dataDir, 'orders', 0, 3n, 6n);
    assert.deepEqual(log.spans, [
      { baseOffset: 2n, lastOffset: 4n },
      { baseOffset: 5n, lastOffset: 5n },
    ]);
    assert.equal(log.sealed, false);
    assert.equal(log.plainRecords, 4);
    assert.equal(log.sha256, createHash('sha256').update(b).update(c).digest('hex'));
    const all = readRestoredLog(dataDir, 'orders', 0, 0n, 10n);
    assert.equal(all.sha256, createHash('sha256').update(Buffer.concat([a, b, c, d])).digest('hex'));
    assert.equal(all.plainRecords, 10);
  });

  it('marks a partition with a sealed batch as sealed, with no hash to compare', (t) => {
    const { dataDir, dir } = partitionDir(t);
    const sealed = batch(1n, 1);
    sealed.writeInt8(SEALED_MAGIC, BatchOffsets.magic);
    writeFileSync(join(dir, segmentFileName(0n, '.log')), Buffer.concat([batch(0n, 1), sealed]));
    const log = readRestoredLog(dataDir, 'orders', 0, 0n, 2n);
    assert.deepEqual([log.sealed, log.sha256, log.spans.length], [true, null, 2]);
  });

  it('names the file when a batch does not fit it', (t) => {
    const { dataDir, dir } = partitionDir(t);
    const whole = batch(0n, 3);
    writeFileSync(join(dir, segmentFileName(0n, '.log')), whole.subarray(0, whole.length - 5));
    assert.throws(() => readRestoredLog(dataDir, 'orders', 0, 0n, 3n), /00000000000000000000\.log: a batch of \d+ bytes at byte 0 does not fit the file/);
  });
});
