import assert from 'node:assert/strict';
import { createSecretKey, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { assignOffsets } from '../../../../src/records/batch.js';
import { buildBatchSync } from '../../../../src/records/record.js';
import { sealBatch, SealedOffsets } from '../../../../src/storage/crypto/sealed-batch.js';
import { unsealEntriesInPlace } from '../../../../src/storage/crypto/unseal-entries.js';
import { defaultUnsealThreads, MIN_OFFLOADED_BYTES, UnsealPool } from '../../../../src/storage/crypto/unseal-pool.js';

const place = { topicId: 'pool-topic', partition: 1 };
const key = createSecretKey(randomBytes(32));

/** `count` batches of about 8 KiB at consecutive offsets, every other one sealed; and the originals. */
function read(count: number): { stored: Buffer; originals: Buffer[] } {
  const originals: Buffer[] = [];
  const entries: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const batch = buildBatchSync({ records: [{ value: randomBytes(4096).toString('hex'), timestamp: 1_700_000_000_000 }] });
    assignOffsets(batch, BigInt(i), 0);
    originals.push(Buffer.from(batch));
    entries.push(i % 2 === 0 ? sealBatch(batch, place, 1, key) : batch);
  }
  // A buffer that owns its ArrayBuffer, as the log's reads are.
  const stored = Buffer.from(new ArrayBuffer(entries.reduce((n, e) => n + e.length, 0)));
  let at = 0;
  for (const e of entries) at += e.copy(stored, at);
  return { stored, originals };
}

describe('opening sealed reads in place, on a worker or on the event loop', () => {
  it('gives back the producers\' batches byte for byte, from a worker for a large read (its buffer transferred) and inline for a small one', async (t) => {
    const pool = new UnsealPool(1);
    t.after(() => pool.close());
    const large = read(20);
    assert.ok(large.stored.length >= MIN_OFFLOADED_BYTES);
    const input = large.stored;
    const { buffer, unsealed } = await pool.unseal(input, new Map([[1, key]]), place);
    assert.equal(input.buffer.byteLength, 0, 'the buffer went to the worker (transferred, not copied)');
    assert.equal(unsealed.stop, null);
    assert.deepEqual(buffer.subarray(0, unsealed.length), Buffer.concat(large.originals));

    const small = read(2);
    const inline = await pool.unseal(small.stored, new Map([[1, key]]), place);
    assert.equal(inline.buffer, small.stored, 'opened where it was');
    assert.deepEqual(inline.buffer.subarray(0, inline.unsealed.length), Buffer.concat(small.originals));
  });

  it('stops before a forged batch or one without its key, serving what came before, alike in a worker and inline', async (t) => {
    const pool = new UnsealPool(1);
    t.after(() => pool.close());
    for (const where of ['worker', 'inline'] as const) {
      const { stored, originals } = read(20);
      // The fifth batch (sealed, offset 4): a bit flipped in its ciphertext.
      let at = 0;
      for (let i = 0; i < 4; i++) at += 12 + stored.readInt32BE(at + 8);
      stored[at + SealedOffsets.ciphertext + 5] = (stored[at + SealedOffsets.ciphertext + 5] as number) ^ 1;
      const result = where === 'worker' ? await pool.unseal(stored, new Map([[1, key]]), place) : { buffer: stored, unsealed: unsealEntriesInPlace(stored, new Map([[1, key]]), place) };
      const stop = result.unsealed.stop;
      assert.ok(stop?.kind === 'forged', where);
      assert.equal(stop.baseOffset, 4n);
      assert.deepEqual(result.buffer.subarray(0, result.unsealed.length), Buffer.concat(originals.slice(0, 4)), where);
    }
    const { stored, originals } = read(20);
    const noKey = await pool.unseal(stored, new Map(), place);
    assert.deepEqual(noKey.unsealed, { length: 0, stop: { kind: 'no-key', id: 1 } });
    assert.equal(originals.length, 20);
  });
});

describe('how many unseal workers', () => {
  it('none below 4 cores (they would compete with the event loop), then the cores beyond two, at most 4', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 6, 8, 64].map((cores) => defaultUnsealThreads(cores)),
      [0, 0, 0, 2, 4, 4, 4],
    );
  });
});
