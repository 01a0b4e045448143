/**
 * What the log cleaner costs the producers (issue 20: "produce throughput while the cleaner runs, as a
 * ratio of without; target ≥ 0.8"). One broker as a new user gets it (`parapet init` then `parapet
 * start`: TLS 1.3, SCRAM-SHA-512, ACLs, topics encrypted at rest), its parapet.yaml adding
 * `cleanerIntervalMs: 500` so that the cleaner looks every half second (and `cleanerIoBytesPerSecond`
 * only when `cleanerRate` is given: else the broker's default). A compacted topic
 * `bench-compacted` is filled with keyed records while `min.compaction.lag.ms` is a day, so the
 * cleaner leaves it alone; the "during" scenario sets the lag to 0 as its produce load starts, which
 * makes every partition due at the cleaner's next look, and produces until the broker has logged
 * `compacted a partition` for each. Between rounds the same keys get new values, so that every round
 * cleans about as much.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { AdminClient } from '../src/client/admin.js';
import type { ClientConfig } from '../src/client/client-config.js';
import { DEFAULT_CLEANER_SETTINGS } from '../src/storage/compaction/log-cleaner.js';
import { createTopic, load1, mb, median, produce, produceWhile, secureBenchUser, SHAPES, startBrokerProcess, tempDataDir, type LoadOptions } from './load.js';

export interface CleanerLoadOptions {
  readonly load: Omit<LoadOptions, 'client'>;
  readonly rounds: number;
  /** Record data written to the compacted topic before the first round (MB of values). */
  readonly fillBytes: number;
  /** New values for the same keys written between rounds. */
  readonly moreBytes: number;
  /** Distinct keys of the compacted topic's records (per partition: every partition gets the same). */
  readonly keys: number;
  /** segment.bytes of the compacted topic: the cleaner syncs each cleaned segment (and its indexes) on its own. */
  readonly segmentBytes: number;
  /** The broker's cleanerIoBytesPerSecond; undefined for its default. */
  readonly cleanerRate: number | undefined;
  /** Where the broker writes a CPU profile of its whole run (node --cpu-prof), if anywhere. */
  readonly cpuProfDir: string | undefined;
}

/** The issue's target: producers keep this much of their throughput while the cleaner runs. */
const TARGET = 0.8;
const ACKS = -1;
const SHAPE = SHAPES[0] ?? (() => { throw new Error('no load shape'); })();
const COMPACTED = 'bench-compacted';
/** Long enough that nothing written during a bench becomes cleanable. */
const IDLE_LAG_MS = String(24 * 3600 * 1000);
/** How long the cleaning of a round may take before the bench gives up. */
const CLEANING_TIMEOUT_MS = 300_000;


/** One `compacted a partition` line of the broker's log (JSON, as it logs when its output is not a terminal). */
interface Cleaning {
  readonly partition: string;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  readonly ms: number;
}

/** The cleanings of `topic` the broker logged in `output` (from `from` characters on). */
function cleaningsIn(output: string, from: number, topic: string): Cleaning[] {
  const found: Cleaning[] = [];
  for (const line of output.slice(from).split('\n')) {
    if (!line.includes('"compacted a partition"')) continue;
    const entry = JSON.parse(line) as Partial<Cleaning>;
    if (!entry.partition?.startsWith(`${topic}-`)) continue;
    found.push({ partition: entry.partition, bytesBefore: entry.bytesBefore ?? NaN, bytesAfter: entry.bytesAfter ?? NaN, ms: entry.ms ?? NaN });
  }
  return found;
}

async function alterTopic(admin: ClientConfig, topic: string, set: Readonly<Record<string, string>>): Promise<void> {
  const client = await AdminClient.connect(admin, { clientId: 'bench' });
  try {
    await client.alterTopicConfigs(topic, set);
  } finally {
    client.close();
  }
}

async function deleteTopic(admin: ClientConfig, name: string): Promise<void> {
  const client = await AdminClient.connect(admin, { clientId: 'bench' });
  try {
    await client.deleteTopic(name);
  } finally {
    client.close();
  }
}

interface Measured {
  readonly mbPerSec: number;
  readonly seconds: number;
  readonly brokerCpu: number;
  readonly load: number;
  /** The "during" scenario only: the cleanings of the round. */
  readonly cleanings?: readonly Cleaning[];
}

export async function cleanerLoad(o: CleanerLoadOptions): Promise<void> {
  const { dataDir, remove } = tempDataDir('parapet-bench-compaction-');
  execFileSync(process.execPath, ['dist/src/cli/main.js', 'init', '--data-dir', dataDir], { stdio: 'ignore' });
  // The data directory's own parapet.yaml (what init wrote: TLS, SASL, encryption at rest) plus the cleaner's settings.
  appendFileSync(join(dataDir, 'parapet.yaml'), `\ncleanerIntervalMs: 500\n${o.cleanerRate === undefined ? '' : `cleanerIoBytesPerSecond: ${o.cleanerRate}\n`}`);
  const broker = await startBrokerProcess(['--data-dir', dataDir], o.cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', o.cpuProfDir], 'info');
  try {
    const secure = await secureBenchUser(dataDir, broker.port);
    const options: LoadOptions = { ...o.load, client: secure.user };
    const rate = o.cleanerRate === undefined ? `${DEFAULT_CLEANER_SETTINGS.ioBytesPerSecond / 1048576} MiB/s (the broker's default)` : o.cleanerRate === 0 ? 'no limit' : `${(o.cleanerRate / 1048576).toFixed(0)} MiB/s`;

    /** Keyed records to the compacted topic, one-second runs until `bytes` of values. */
    const fill = async (bytes: number) => {
      const started = performance.now();
      for (let written = 0; written < bytes; ) written += (await produce({ ...options, seconds: 1, keys: o.keys }, COMPACTED, SHAPE, ACKS)).bytes;
      return (performance.now() - started) / 1000;
    };
    const produceFor = (topic: string, minSeconds: number, done: () => boolean) =>
      produceWhile(options, topic, SHAPE, ACKS, broker, minSeconds, done, CLEANING_TIMEOUT_MS / 1000);

    await createTopic(secure.admin, COMPACTED, o.load.partitions, {
      'cleanup.policy': 'compact',
      'segment.bytes': String(o.segmentBytes),
      'min.compaction.lag.ms': IDLE_LAG_MS,
    });
    const fillSeconds = await fill(o.fillBytes);
    console.log(
      `\nproduce while the cleaner runs: filled ${COMPACTED} (${o.load.partitions} partitions, ${(o.segmentBytes / 1048576).toFixed(0)} MiB segments) with ${mb(o.fillBytes).toFixed(0)} MB of keyed records ` +
        `(${o.keys} keys per partition) in ${fillSeconds.toFixed(1)} s; cleaner I/O rate ${rate}; ${mb(o.moreBytes).toFixed(0)} MB of new values between rounds`,
    );
    console.log(
      `produce ${SHAPE.name}, acks=${ACKS}, ${o.load.connections} connections × ${o.load.inFlight} in flight, ${o.load.partitions} partitions, ` +
        `to a topic without compaction, until the cleaning ends (at least ${o.load.seconds} s), and alone as long as the last cleaning took; ${o.rounds} rounds, medians`,
    );

    const rounds: { alone: Measured; during: Measured }[] = [];
    let topicNo = 0;
    // Produce alone runs as long as the last cleaning did: a 4 s run against a 40 s one compares a burst
    // (before the page cache's writeback starts) with a sustained load. So the first round starts with
    // the cleaning, and each later one alternates.
    let lastDuringSeconds = o.load.seconds;
    for (let round = 0; round < o.rounds; round++) {
      if (round > 0) await fill(o.moreBytes);
      const order = round % 2 === 0 ? (['during', 'alone'] as const) : (['alone', 'during'] as const);
      const measured: Partial<Record<'alone' | 'during', Measured>> = {};
      for (const scenario of order) {
        // A topic of its own, deleted after: both scenarios write to a log of the same size.
        const topic = `bench-load-${topicNo++}`;
        await createTopic(secure.admin, topic, o.load.partitions);
        execFileSync('sync');
        const loadBefore = load1();
        if (scenario === 'alone') {
          const run = await produceFor(topic, lastDuringSeconds, () => true);
          measured.alone = { ...run, load: (loadBefore + load1()) / 2 };
        } else {
          const from = broker.output().length;
          await alterTopic(secure.admin, COMPACTED, { 'min.compaction.lag.ms': '0' });
          const run = await produceFor(topic, o.load.seconds, () => cleaningsIn(broker.output(), from, COMPACTED).length >= o.load.partitions);
          lastDuringSeconds = run.seconds;
          await alterTopic(secure.admin, COMPACTED, { 'min.compaction.lag.ms': IDLE_LAG_MS });
          measured.during = { ...run, load: (loadBefore + load1()) / 2, cleanings: cleaningsIn(broker.output(), from, COMPACTED) };
        }
        await deleteTopic(secure.admin, topic);
      }
      const { alone, during } = measured;
      if (alone === undefined || during === undefined) throw new Error('a scenario did not run');
      rounds.push({ alone, during });
      const c = cleaningTotals(during.cleanings ?? []);
      console.log(
        `  round ${round + 1}: ${order.map((s) => `${s} ${(measured[s]?.mbPerSec ?? NaN).toFixed(0)} MB/s`).join(', ')}, ratio ${(during.mbPerSec / alone.mbPerSec).toFixed(2)}; ` +
          `cleaned ${mb(c.before).toFixed(0)} → ${mb(c.after).toFixed(0)} MB in ${(c.ms / 1000).toFixed(1)} s (${c.mbPerSec.toFixed(0)} MB/s), produced ${during.seconds.toFixed(1)} s meanwhile ` +
          `(load average ${load1().toFixed(2)})`,
      );
    }

    // The cleaner with no load: what it can do when it has the broker to itself, and what that costs in CPU.
    await fill(o.moreBytes);
    const from = broker.output().length;
    const cpuBefore = broker.cpuSeconds();
    await alterTopic(secure.admin, COMPACTED, { 'min.compaction.lag.ms': '0' });
    for (const started = performance.now(); cleaningsIn(broker.output(), from, COMPACTED).length < o.load.partitions; ) {
      if (performance.now() - started > CLEANING_TIMEOUT_MS) throw new Error(`the cleaner did not finish within ${CLEANING_TIMEOUT_MS / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const alone = cleaningTotals(cleaningsIn(broker.output(), from, COMPACTED));
    const aloneCpu = broker.cpuSeconds() - cpuBefore;

    const m = (pick: (r: (typeof rounds)[number]) => number) => median(rounds.map(pick));
    const ratios = rounds.map((r) => r.during.mbPerSec / r.alone.mbPerSec);
    const ratio = median(ratios);
    console.log(`${'scenario'.padEnd(24)} ${'produce MB/s'.padStart(12)} ${'broker CPU s'.padStart(12)} ${'seconds'.padStart(8)} ${'load avg'.padStart(8)}`);
    for (const scenario of ['alone', 'during'] as const) {
      const name = scenario === 'alone' ? 'produce alone' : 'while the cleaner runs';
      console.log(
        `${name.padEnd(24)} ${m((r) => r[scenario].mbPerSec).toFixed(0).padStart(12)} ${m((r) => r[scenario].brokerCpu).toFixed(1).padStart(12)} ` +
          `${m((r) => r[scenario].seconds).toFixed(1).padStart(8)} ${m((r) => r[scenario].load).toFixed(2).padStart(8)}`,
      );
    }
    const totals = rounds.map((r) => cleaningTotals(r.during.cleanings ?? []));
    console.log(
      `cleaner, I/O rate ${rate}: during the load ${median(totals.map((t) => t.mbPerSec)).toFixed(0)} MB/s of segments read (bytesBefore / the cleanings' ms), ` +
        `${median(totals.map((t) => mb(t.before))).toFixed(0)} MB → ${median(totals.map((t) => mb(t.after))).toFixed(0)} MB a round in ${median(totals.map((t) => t.ms / 1000)).toFixed(1)} s; ` +
        `with no load ${alone.mbPerSec.toFixed(0)} MB/s (${mb(alone.before).toFixed(0)} MB → ${mb(alone.after).toFixed(0)} MB in ${(alone.ms / 1000).toFixed(1)} s, ` +
        `broker ${aloneCpu.toFixed(1)} CPU s: ${(aloneCpu / (alone.ms / 1000)).toFixed(2)} of a core, ${(aloneCpu / mb(alone.before)).toFixed(3)} CPU s/MB)`,
    );
    console.log(`target produce while the cleaner runs ≥ ${TARGET.toFixed(2)} × alone: ${ratio >= TARGET ? 'meets it' : 'MISSES it'} (${ratio.toFixed(2)}; rounds ${ratios.map((r) => r.toFixed(2)).join(', ')})`);
    console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    await broker.stop();
    remove();
  }
}

/** A round's cleanings together: bytes before and after, the cleanings' time (one after another), MB/s read. */
function cleaningTotals(cleanings: readonly Cleaning[]): { before: number; after: number; ms: number; mbPerSec: number } {
  const before = cleanings.reduce((s, c) => s + c.bytesBefore, 0);
  const after = cleanings.reduce((s, c) => s + c.bytesAfter, 0);
  const ms = cleanings.reduce((s, c) => s + c.ms, 0);
  return { before, after, ms, mbPerSec: mb(before) / (ms / 1000) };
}
