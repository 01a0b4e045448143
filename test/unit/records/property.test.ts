import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { ParapetError } from '../../../src/errors.js';
import {
  BatchOffsets,
  CompressionCodec,
  buildBatch,
  decompress,
  readRecords,
  splitBatches,
  validateBatch,
  writeBatchCrc,
  type CompressionCodecId,
} from '../../../src/records/index.js';
import { notesVector } from './helpers.js';

/** Runs `fn`; anything thrown must be a ParapetError (a TypeError or RangeError would be a bug). */
async function onlyFaults(fn: () => unknown): Promise<void> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof ParapetError, `non-ParapetError thrown: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }
}

const MAX_BYTES = 256 * 1024;

async function exercise(input: Buffer): Promise<void> {
  await onlyFaults(() => splitBatches(input));
  await onlyFaults(() => splitBatches(input, { allowPartialTail: true }));
  await onlyFaults(() => validateBatch(input));
  await onlyFaults(() => validateBatch(input, { verifyCrc: false, produceVersion: 3 }));
  await onlyFaults(() => readRecords(input, { maxBytes: MAX_BYTES }));
  await onlyFaults(() => readRecords(input, { maxBytes: MAX_BYTES, verifyCrc: false }));
  await onlyFaults(async () => {
    for (const batch of splitBatches(input, { allowPartialTail: true })) await readRecords(batch, { maxBytes: MAX_BYTES, verifyCrc: false });
  });
}

describe('properties: malformed input only ever raises ParapetError', () => {
  const seeds: Buffer[] = [notesVector()];

  before(async () => {
    const records = [
      { key: 'k', value: 'hello', headers: [{ key: 'h', value: 'v' }] },
      { key: null, value: '' },
      { value: null, headers: [{ key: 'n', value: null }] },
      { key: 'x'.repeat(40), value: 'y'.repeat(300) },
    ];
    for (const codec of Object.values(CompressionCodec) as CompressionCodecId[]) {
      seeds.push(await buildBatch({ records, compression: codec, baseTimestamp: 1_700_000_000_000 }));
    }
  });

  it('random bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), async (bytes) => {
        await exercise(Buffer.from(bytes));
      }),
      { numRuns: 400 },
    );
  });

  it('random headers in front of random bodies (lengths that look plausible)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.boolean(), async (body, fixCrc) => {
        const batch = Buffer.concat([notesVector().subarray(0, 61), Buffer.from(body)]);
        batch.writeInt32BE(batch.length - 12, BatchOffsets.batchLength);
        if (fixCrc) writeBatchCrc(batch);
        await exercise(batch);
      }),
      { numRuns: 300 },
    );
  });

  it('random mutations of valid batches of every codec, with and without a fixed CRC', async () => {
    const mutation = fc.record({
      seed: fc.nat(),
      edits: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 6 }),
      truncate: fc.option(fc.nat(), { nil: undefined }),
      codec: fc.option(fc.integer({ min: 0, max: 7 }), { nil: undefined }),
      fixLength: fc.boolean(),
      fixCrc: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const seed = seeds[m.seed % seeds.length];
        assert.ok(seed);
        let batch = Buffer.from(seed);
        if (m.codec !== undefined) batch.writeInt16BE((batch.readInt16BE(BatchOffsets.attributes) & ~7) | m.codec, BatchOffsets.attributes);
        for (const e of m.edits) batch[e.at % batch.length] = e.value;
        if (m.truncate !== undefined) batch = batch.subarray(0, m.truncate % (batch.length + 1));
        if (m.fixLength && batch.length >= 12) batch.writeInt32BE(batch.length - 12, BatchOffsets.batchLength);
        if (m.fixCrc && batch.length >= 61) writeBatchCrc(batch);
        await exercise(batch);
      }),
      { numRuns: 1500 },
    );
  });

  it('random and mutated compressed payloads given to every decoder', async () => {
    // seeds[codec + 1] is the batch built with that codec; its payload starts after the header.
    const valid = ([1, 2, 3, 4] as const).map((codec) => {
      const seed = seeds[codec + 1];
      assert.ok(seed);
      return { codec, payload: seed.subarray(61) };
    });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 7 }),
        fc.nat(),
        fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 4 }),
        fc.uint8Array({ maxLength: 64 }),
        fc.nat({ max: 4096 }),
        async (codec, pick, edits, noise, maxBytes) => {
          const base = valid[pick % valid.length];
          assert.ok(base);
          const payload = Buffer.concat([base.payload, Buffer.from(noise)]);
          for (const e of edits) payload[e.at % payload.length] = e.value;
          await onlyFaults(() => decompress(codec, payload, maxBytes));
          await onlyFaults(() => decompress(codec, Buffer.from(noise), maxBytes));
        },
      ),
      { numRuns: 1500 },
    );
  });
});
