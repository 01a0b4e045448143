import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { OFFSET_MAP_SLOT_BYTES, OffsetMap } from '../../../../src/storage/compaction/offset-map.js';

const key = (s: string): Buffer => Buffer.from(s, 'utf8');

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('OffsetMap', () => {
  it('sizes itself from its memory: floor(floor(bytes / 24) × 0.9) keys', () => {
    const map = new OffsetMap(4 * 1024 * 1024);
    assert.equal(map.memoryBytes, 4 * 1024 * 1024);
    assert.equal(map.capacity, Math.floor(Math.floor((4 * 1024 * 1024) / OFFSET_MAP_SLOT_BYTES) * 0.9));
    assert.equal(new OffsetMap(24 * 10 + 23).capacity, 9);
    assert.equal(new OffsetMap(24 * 10 + 23).memoryBytes, 263);
    assert.equal(map.size, 0);
  });

  it('refuses less than one slot, fractions and non-numbers with a RangeError', () => {
    for (const bad of [0, 23, -24, 24.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => new OffsetMap(bad), (err: unknown) => err instanceof RangeError && /at least one 24-byte slot/.test(err.message), String(bad));
    }
    assert.doesNotThrow(() => new OffsetMap(24));
  });

  it('puts and gets; an absent key is −1', () => {
    const map = new OffsetMap(24 * 100);
    assert.equal(map.put(key('a'), 5n), true);
    assert.equal(map.put(key('b'), 0n), true);
    assert.equal(map.put(Buffer.alloc(0), 7n), true);
    assert.equal(map.get(key('a')), 5n);
    assert.equal(map.get(key('b')), 0n);
    assert.equal(map.get(Buffer.alloc(0)), 7n);
    assert.equal(map.get(key('c')), -1n);
    assert.equal(map.size, 3);
  });

  it('replaces a key’s offset with a newer one without growing', () => {
    const map = new OffsetMap(24 * 100);
    map.put(key('k'), 10n);
    map.put(key('k'), 2n ** 62n);
    assert.equal(map.get(key('k')), 2n ** 62n);
    assert.equal(map.size, 1);
  });

  it('refuses offsets outside 0..2^63−1 (−1 marks an unused slot)', () => {
    const map = new OffsetMap(24 * 10);
    assert.throws(() => map.put(key('k'), -1n), RangeError);
    assert.throws(() => map.put(key('k'), 2n ** 63n), RangeError);
    assert.equal(map.put(key('k'), 2n ** 63n - 1n), true);
    assert.equal(map.get(key('k')), 2n ** 63n - 1n);
    assert.equal(map.size, 1);
  });

  it('a full map refuses new keys (changing nothing) but still updates the keys it holds', () => {
    const map = new OffsetMap(24 * 50); // 45 keys
    assert.equal(map.capacity, 45);
    for (let i = 0; i < 45; i++) assert.equal(map.put(key(`k${i}`), BigInt(i)), true);
    assert.equal(map.size, 45);
    assert.equal(map.put(key('new'), 100n), false);
    assert.equal(map.get(key('new')), -1n);
    assert.equal(map.size, 45);
    assert.equal(map.put(key('k7'), 1000n), true);
    assert.equal(map.get(key('k7')), 1000n);
    for (let i = 0; i < 45; i++) if (i !== 7) assert.equal(map.get(key(`k${i}`)), BigInt(i));
  });

  it('a one-slot map holds no key (capacity floor(1 × 0.9) = 0) and still answers', () => {
    const map = new OffsetMap(24);
    assert.equal(map.capacity, 0);
    assert.equal(map.put(key('a'), 1n), false);
    assert.equal(map.get(key('a')), -1n);
  });

  it('clear forgets every key and makes room again', () => {
    const map = new OffsetMap(24 * 20);
    for (let i = 0; i < map.capacity; i++) map.put(key(`k${i}`), BigInt(i));
    assert.equal(map.put(key('x'), 1n), false);
    map.clear();
    assert.equal(map.size, 0);
    assert.equal(map.get(key('k0')), -1n);
    assert.equal(map.put(key('x'), 1n), true);
    assert.equal(map.get(key('x')), 1n);
  });

  it('holds its capacity of keys with every one found again (probe sequences reach every slot)', () => {
    // 1009 slots (a prime) and 1000 slots (many divisors): the steps must be coprime with either.
    for (const slots of [1009, 1000, 2, 3]) {
      const map = new OffsetMap(24 * slots);
      for (let i = 0; i < map.capacity; i++) assert.equal(map.put(key(`key-${slots}-${i}`), BigInt(i)), true);
      for (let i = 0; i < map.capacity; i++) assert.equal(map.get(key(`key-${slots}-${i}`)), BigInt(i));
      assert.equal(map.get(key('absent')), -1n);
    }
  });

  it('uses no memory beyond its buffer: 10^6 puts into a 4 MiB map', async () => {
    const map = new OffsetMap(4 * 1024 * 1024);
    // Retained memory, not garbage (a digest per key): collected before each reading.
    gc();
    const before = process.memoryUsage().arrayBuffers;
    const k = Buffer.alloc(16);
    let refused = 0;
    for (let i = 0; i < 1_000_000; i++) {
      k.writeUInt32BE(i, 0);
      k.writeUInt32BE(i * 7, 8);
      if (!map.put(k, BigInt(i))) refused++;
    }
    // Backing stores are freed after the collection that finds them: twice, with a turn of the loop between.
    gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
    gc();
    const grown = process.memoryUsage().arrayBuffers - before;
    assert.equal(map.size, map.capacity);
    assert.equal(refused, 1_000_000 - map.capacity);
    // Less than 512 KiB beyond the buffer allocated up front: a table that grew (reallocating) or kept a
    // copy of each key (157,286 keys held × 16 bytes ≈ 2.5 MB of pool slabs) would show here.
    assert.ok(grown < 512 * 1024, `array buffers grew by ${grown} bytes beyond the map's buffer`);
    assert.equal(map.memoryBytes, 4 * 1024 * 1024);
  });

  it('agrees with a Map for random keys while not full', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.uint8Array({ maxLength: 40 }), fc.bigInt({ min: 0n, max: 2n ** 63n - 1n })), { maxLength: 200 }),
        fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 50 }),
        (puts, probes) => {
          const map = new OffsetMap(24 * 300); // capacity 270 > 200 puts
          const model = new Map<string, bigint>();
          for (const [bytes, offset] of puts) {
            assert.equal(map.put(Buffer.from(bytes), offset), true);
            model.set(Buffer.from(bytes).toString('hex'), offset);
          }
          assert.equal(map.size, model.size);
          for (const [hex, offset] of model) assert.equal(map.get(Buffer.from(hex, 'hex')), offset);
          for (const bytes of probes) assert.equal(map.get(Buffer.from(bytes)), model.get(Buffer.from(bytes).toString('hex')) ?? -1n);
        },
      ),
      { numRuns: 300 },
    );
  });
});
