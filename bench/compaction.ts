/**
 * Log compaction building blocks: the offset map's put and get per key, and the batch filter's
 * throughput on 1 MiB batches of 1 KiB records. Figures are for comparing runs on one machine, not
 * assertions.
 *
 *   npm run bench:compaction
 */
import { CompressionCodec, buildBatch, type CompressionCodecId } from '../src/records/index.js';
import { filterBatch, forEachRecord } from '../src/storage/compaction/batch-filter.js';
import { OffsetMap } from '../src/storage/compaction/offset-map.js';

const KEYS = 1_000_000;

function median(samples: number[]): number {
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] as number;
}

function offsetMap(): void {
  const key = Buffer.alloc(24);
  const puts: number[] = [];
  const gets: number[] = [];
  const map = new OffsetMap(32 * 1024 * 1024); // 1,258,290 keys: 10^6 fill it to 0.72 of its slots
  for (let round = 0; round < 5; round++) {
    map.clear();
    let start = process.hrtime.bigint();
    for (let i = 0; i < KEYS; i++) {
      key.fill(0).write(`user-${i}-${round}`, 'latin1');
      map.put(key, BigInt(i));
    }
    puts.push(Number(process.hrtime.bigint() - start) / 1e6);
    start = process.hrtime.bigint();
    for (let i = 0; i < KEYS; i++) {
      key.fill(0).write(`user-${i}-${round}`, 'latin1');
      if (map.get(key) !== BigInt(i)) throw new Error(`key ${i} lost`);
    }
    gets.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  const keysOnly: number[] = [];
  for (let round = 0; round < 5; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < KEYS; i++) key.fill(0).write(`user-${i}-${round}`, 'latin1');
    keysOnly.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  console.log(`making the 10^6 keys alone (included below): ${median(keysOnly).toFixed(0)} ms`);
  const put = median(puts);
  const get = median(gets);
  console.log(`offset map, 10^6 keys of 24 bytes: put ${put.toFixed(0)} ms, get ${get.toFixed(0)} ms, put+get ${(put + get).toFixed(0)} ms (${((put + get) * 1000 / KEYS).toFixed(2)} µs per key)`);
}

async function filter(codec: CompressionCodecId, name: string): Promise<void> {
  // 1 KiB values of JSON-like text: compressible as real events are.
  const records = Array.from({ length: 1000 }, (_, i) => ({
    key: `key-${i % 250}`,
    value: JSON.stringify({ id: i, name: `customer ${i}`, note: 'x'.repeat(40), pad: `${i}`.repeat(300) }).slice(0, 1024).padEnd(1024, ' '),
  }));
  const batch = await buildBatch({ records, compression: codec, baseTimestamp: 1 });
  const payloadBytes = 1000 * 1024;
  const scan: number[] = [];
  const half: number[] = [];
  for (let round = 0; round < 15; round++) {
    let start = process.hrtime.bigint();
    let n = 0;
    await forEachRecord(batch, 64 * 1024 * 1024, () => n++);
    scan.push(Number(process.hrtime.bigint() - start) / 1e6);
    start = process.hrtime.bigint();
    const out = await filterBatch(batch, 64 * 1024 * 1024, (r) => r.offset % 2n === 0n, false);
    half.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (out.kind !== 'rewritten' || n !== 1000) throw new Error('unexpected result');
  }
  const mbs = (ms: number) => (payloadBytes / 1e6 / (ms / 1000)).toFixed(0);
  const s = median(scan);
  const h = median(half);
  console.log(
    `${name.padEnd(5)} batch of ${batch.length} bytes (1000 × 1 KiB records): forEachRecord ${s.toFixed(2)} ms (${mbs(s)} MB/s), ` +
      `filterBatch keeping every other record ${h.toFixed(2)} ms (${mbs(h)} MB/s of records read)`,
  );
}


offsetMap();
await filter(CompressionCodec.none, 'none');
await filter(CompressionCodec.lz4, 'lz4');
