/**
 * The cost of encryption at rest, measured in one run: one secure broker (`parapet start` on a new data
 * directory, which writes the master key beside it) and two sets of topics on it, some created with the
 * topic config `encryption=none` (clear) and some with the default (encrypted: every stored batch
 * sealed with AES-256-GCM). The load takes the full secure path (TLS 1.3, SCRAM-SHA-512, ACLs) as an
 * ordinary user either way, so the only difference is the sealing. Produce with acks=-1, then consume
 * what was produced, alternating clear and encrypted scenario by scenario so that both see the same
 * machine. Prints MB/s of each, the encrypted/clear ratio, and whether it meets the target of 0.90,
 * and the broker's CPU seconds per GB of record data (user + system, from /proc), which other
 * processes on the machine disturb much less than throughput.
 *
 *   npm run bench:at-rest [-- --seconds 5 --connections 4 --partitions 4 --in-flight 4 --rounds 3]
 *   npm run bench:at-rest -- --cpu-prof-dir /tmp/prof   # the broker runs under `node --cpu-prof`
 */
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BatchOffsets } from '../src/records/batch.js';
import { SEALED_MAGIC } from '../src/storage/crypto/sealed-batch.js';
import { segmentFileName } from '../src/storage/log/format.js';
import { loopbackBaseline, sealingBaseline } from './baseline.js';
import { consume, createTopic, fmt, produce, secureBenchUser, SHAPES, startBrokerProcess, tempDataDir, loadFlags, loadOptionsOf, type LoadOptions } from './load.js';

const { values: args } = parseArgs({
  options: {
    ...loadFlags(3),
    // Skip the machine baselines (loopback TCP/TLS, sealing in one thread).
    'no-baseline': { type: 'boolean', default: false },
    // Run the broker under `node --cpu-prof`, writing its profile here when it stops.
    'cpu-prof-dir': { type: 'string' },
  },
});
const load = loadOptionsOf(args);
const ROUNDS = Number(args.rounds);
/** The target: the secure path with encryption at rest keeps this much of the same path without. */
const TARGET = 0.9;
const ACKS = -1;
const TOPIC_CONFIGS = { clear: { encryption: 'none' }, encrypted: {} } as const;
type TopicSet = keyof typeof TOPIC_CONFIGS;

const { dataDir, remove: removeDataDir } = tempDataDir('parapet-bench-at-rest-');
const profileDir = args['cpu-prof-dir'];
const broker = await startBrokerProcess(['--data-dir', dataDir], profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]);

/** The magic byte of the first stored batch of partition 0: 2 in clear, SEALED_MAGIC when sealed. */
function storedMagic(topic: string): number {
  const fd = openSync(join(dataDir, 'logs', `${topic}-0`, segmentFileName(0n, '.log')), 'r');
  try {
    const header = Buffer.alloc(BatchOffsets.magic + 1);
    if (readSync(fd, header, 0, header.length, 0) < header.length) throw new Error(`${topic}-0 holds no batch`);
    return header.readInt8(BatchOffsets.magic);
  } finally {
    closeSync(fd);
  }
}

try {
  const secure = await secureBenchUser(dataDir, broker.port);
  const options: LoadOptions = { ...load, client: secure.user };

  if (!args['no-baseline']) {
    const tcp = await loopbackBaseline(2);
    const tls = await loopbackBaseline(2, {
      cert: readFileSync(join(dataDir, 'tls', 'server.crt')),
      key: readFileSync(join(dataDir, 'tls', 'server.key')),
      ca: readFileSync(join(dataDir, 'tls', 'ca.crt')),
    });
    console.log(`machine baseline, one loopback stream in one process: TCP ${tcp.toFixed(0)} MB/s, TLS 1.3 ${tls.toFixed(0)} MB/s (${((100 * tls) / tcp).toFixed(0)}%)`);
    // MB/s of CPU time, and its inverse in the table's unit: what sealing alone adds per GB.
    const rate = (mbPerSec: number) => `${mbPerSec.toFixed(0)} MB/s (${(1000 / mbPerSec).toFixed(2)} s/GB)`;
    const sealing = SHAPES.map((shape) => {
      const { seal, open } = sealingBaseline(shape.recordBytes, shape.recordsPerBatch, 1);
      return `${(shape.recordBytes * shape.recordsPerBatch) / 1024} KiB batches seal ${rate(seal)}, open ${rate(open)}`;
    });
    console.log(`sealing alone, AES-256-GCM in this process's thread (CPU time): ${sealing.join('; ')}`);
  }
  console.log(
    `encryption at rest on the secure path (TLS 1.3 + SCRAM-SHA-512 + ACLs), topics with encryption=none vs encrypted: acks=${ACKS}, ` +
      `${load.connections} connections × ${load.inFlight} in flight, ${load.partitions} partitions, ${load.seconds} s per run, best of ${ROUNDS}`,
  );
  console.log('(s/GB: CPU seconds, user + system, of the broker process per GB of record data; the lowest of the rounds)');
  console.log(
    `${'scenario'.padEnd(44)} ${'clear MB/s'.padStart(10)} ${'encr. MB/s'.padStart(10)} ${'ratio'.padStart(6)} ${'clear s/GB'.padStart(10)} ${'encr. s/GB'.padStart(10)}`,
  );
  const verdicts: string[] = [];
  type Best = { mbPerSec: number; cpuPerGb: number };
  const row = (what: string, verdict: string, clear: Best, encrypted: Best) => {
    const ratio = encrypted.mbPerSec / clear.mbPerSec;
    console.log(`${what.padEnd(44)} ${fmt(clear.mbPerSec)} ${fmt(encrypted.mbPerSec)} ${ratio.toFixed(2).padStart(6)} ${fmt(clear.cpuPerGb, 2)} ${fmt(encrypted.cpuPerGb, 2)}`);
    verdicts.push(`${verdict} ${ratio >= TARGET ? 'meets it' : 'MISSES it'} (${ratio.toFixed(2)})`);
  };
  /** The broker's CPU seconds over `run`, per GB of the record data it reports. */
  const measured = async (run: () => Promise<{ mbPerSec: number; bytes: number }>): Promise<Best> => {
    const before = broker.cpuSeconds();
    const result = await run();
    return { mbPerSec: result.mbPerSec, cpuPerGb: ((broker.cpuSeconds() - before) * 1e9) / result.bytes };
  };
  const better = (a: Best, b: Best): Best => ({ mbPerSec: Math.max(a.mbPerSec, b.mbPerSec), cpuPerGb: Math.min(a.cpuPerGb, b.cpuPerGb) });
  let topicNo = 0;
  for (const shape of SHAPES) {
    const none = (): Best => ({ mbPerSec: 0, cpuPerGb: Infinity });
    const best = { clear: { produce: none(), consume: none() }, encrypted: { produce: none(), consume: none() } };
    for (let round = 0; round < ROUNDS; round++) {
      // Each set goes first in every other round, and every run starts with the page cache's dirty
      // pages written out: a run that follows another pays for the other's writeback otherwise.
      const order = round % 2 === 0 ? (['clear', 'encrypted'] as const) : (['encrypted', 'clear'] as const);
      for (const set of order satisfies readonly TopicSet[]) {
        execFileSync('sync');
        const topic = `bench-${set}-${topicNo++}`;
        await createTopic(secure.admin, topic, load.partitions, TOPIC_CONFIGS[set]);
        const produced = await measured(() => produce(options, topic, shape, ACKS));
        const consumed = await measured(() => consume(options, topic));
        // The topic config took effect: what is on disk is sealed exactly on the encrypted set.
        const magic = storedMagic(topic);
        if ((magic === SEALED_MAGIC) !== (set === 'encrypted')) throw new Error(`topic ${topic} (${set}) stores batches with magic ${magic}`);
        best[set].produce = better(best[set].produce, produced);
        best[set].consume = better(best[set].consume, consumed);
      }
    }
    const records = `${shape.recordBytes / 1024} KiB records`;
    row(`produce ${shape.name}, acks=${ACKS}`, `produce ${records}`, best.clear.produce, best.encrypted.produce);
    row(`  consume it`, `consume ${records}`, best.clear.consume, best.encrypted.consume);
  }
  console.log(`target encrypted ≥ ${TARGET.toFixed(2)} × clear: ${verdicts.join('; ')}`);
} finally {
  await broker.stop();
  removeDataDir();
}
