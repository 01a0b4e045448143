/**
 * Log compaction, in two parts. First its building blocks: the offset map's put and get per key, and
 * the batch filter's throughput on 1 MiB batches of 1 KiB records. Then what the cleaner costs the
 * producers on a broker (bench/cleaner-load.ts): produce throughput while it cleans, as a ratio of
 * without (target ≥ 0.8). Figures are for comparing runs on one machine, not assertions.
 *
 *   npm run bench:compaction [-- --fill-mb 256 --more-mb 256 --keys 4096 --seconds 4 --rounds 3]
 *   npm run bench:compaction -- --cleaner-rate 32    # cleanerIoBytesPerSecond 32 MiB/s (0: no limit)
 *   npm run bench:compaction -- --cpu-prof /tmp/prof  # a CPU profile of the broker (node --cpu-prof)
 *   npm run bench:compaction -- --micro-only         # the building blocks alone (no broker)
 *   npm run bench:compaction -- --cleaner-only       # the broker part alone
 */
import { parseArgs } from 'node:util';
import { CompressionCodec, buildBatch, type CompressionCodecId } from '../src/records/index.js';
import { filterBatch, forEachRecord } from '../src/storage/compaction/batch-filter.js';
import { OffsetMap } from '../src/storage/compaction/offset-map.js';
import { cleanerLoad } from './cleaner-load.js';
import { loadFlags, loadOptionsOf } from './load.js';

const { values: args } = parseArgs({
  options: {
    ...loadFlags(3),
    seconds: { type: 'string', default: '4' },
    // Keyed record data in the compacted topic before the first round (MB of values).
    'fill-mb': { type: 'string', default: '256' },
    // New values for the same keys before each later round: as much as the fill, so each round cleans about as much.
    'more-mb': { type: 'string', default: '256' },
    // Distinct keys per partition of the compacted topic (what a cleaning keeps: keys × 1 KiB per partition).
    keys: { type: 'string', default: '4096' },
    // segment.bytes of the compacted topic, in MiB: the cleaner rewrites, syncs and swaps in one segment at a time.
    'segment-mb': { type: 'string', default: '1' },
    // The broker's cleanerIoBytesPerSecond in MiB/s (0: no limit); default: the broker's own (16 MiB/s).
    'cleaner-rate': { type: 'string' },
    // A CPU profile of the broker's whole run (node --cpu-prof) written to this directory: where the cleaner's CPU goes.
    'cpu-prof': { type: 'string' },
    'micro-only': { type: 'boolean', default: false },
    'cleaner-only': { type: 'boolean', default: false },
  },
});

/** A number of at least `min` from a flag, or a one-line error and exit 2. */
function numberFlag(name: string, value: string, min = 0): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min) {
    console.error(`bench:compaction: --${name} must be a number ≥ ${min} (got "${value}")`);
    process.exit(2);
  }
  return n;
}

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

if (!args['cleaner-only']) {
  offsetMap();
  await filter(CompressionCodec.none, 'none');
  await filter(CompressionCodec.lz4, 'lz4');
}
if (!args['micro-only']) {
  const rate = args['cleaner-rate'];
  await cleanerLoad({
    load: loadOptionsOf(args),
    rounds: numberFlag('rounds', args.rounds, 1),
    fillBytes: numberFlag('fill-mb', args['fill-mb']) * 1e6,
    moreBytes: numberFlag('more-mb', args['more-mb']) * 1e6,
    keys: numberFlag('keys', args.keys, 1),
    segmentBytes: Math.round(numberFlag('segment-mb', args['segment-mb'], 1) * 1048576),
    cleanerRate: rate === undefined ? undefined : Math.round(numberFlag('cleaner-rate', rate) * 1048576),
    cpuProfDir: args['cpu-prof'],
  });
}
