/**
 * The cost of observability, measured in one run: the same produce load against brokers that differ
 * only in what they observe (a variant each: the audit trail, the admin endpoint and its metrics off,
 * then all on, scraped every second as Prometheus would), alternating variant by variant so that all see the same
 * machine. Small batches are the hot path: per-request costs (a clock pair, a histogram observation)
 * weigh most there. Prints MB/s of each variant and its ratio to the first; the target is ≥ 0.97.
 *
 *   npm run bench:observability [-- --seconds 5 --connections 4 --partitions 4 --in-flight 4 --rounds 3]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { createTopic, fmt, loadFlags, loadOptionsOf, plaintextClient, produce, startBrokerProcess, tempDataDir, type LoadOptions, type Shape } from './load.js';

interface Variant {
  readonly name: string;
  /** The broker's config file (YAML as an object), over `--insecure` (plaintext, anonymous). */
  readonly config: object;
  /** Scrape its /metrics every second during the load. */
  readonly scrape: boolean;
}

/**
 * The first is the baseline the others are compared with: no metrics and no audit trail (insecure by
 * name, which is the point of a baseline); then both on, as a broker runs by default, scraped.
 */
const VARIANTS: readonly Variant[] = [
  { name: 'off', config: { adminEndpoint: { enabled: false }, audit: { enabled: false } }, scrape: false },
  { name: 'audit+metrics', config: {}, scrape: true },
];

const SHAPES: readonly Shape[] = [
  { name: '100 B records, 10 per batch', recordBytes: 100, recordsPerBatch: 10 },
  { name: '1 KiB records, 16 KiB batches', recordBytes: 1024, recordsPerBatch: 16 },
];
const ACKS = [1, -1] as const;
const TARGET = 0.97;

const { values: args } = parseArgs({ options: { ...loadFlags(3) } });
const load = loadOptionsOf(args);
const ROUNDS = Number(args.rounds);

const configDir = mkdtempSync(join(tmpdir(), 'parapet-bench-observability-'));
const started: { variant: Variant; port: number; metricsUrl: string | undefined; cpuSeconds: () => number; stop: () => Promise<void>; remove: () => void }[] = [];
try {
  for (const variant of VARIANTS) {
    const configFile = join(configDir, `${variant.name}.yaml`);
    writeFileSync(configFile, stringify(variant.config));
    const { dataDir, remove } = tempDataDir(`parapet-bench-${variant.name}-`);
    const broker = await startBrokerProcess(['--insecure', '--data-dir', dataDir, '--config', configFile]);
    const url = /admin endpoint: (\S+)\/metrics/.exec(broker.output())?.[1];
    started.push({ variant, port: broker.port, metricsUrl: url === undefined ? undefined : `${url}/metrics`, cpuSeconds: broker.cpuSeconds, stop: broker.stop, remove });
  }
  console.log(`observability on vs off: produce, ${load.connections} connections × ${load.inFlight} in flight, ${load.partitions} partitions, ${load.seconds} s per run, best of ${ROUNDS}`);
  console.log('(s/GB: CPU seconds, user + system, of the broker process per GB of record data, the lowest of the rounds: steadier than MB/s on a shared machine)');
  const names = (suffix: string, from = 0) => started.slice(from).map((s) => `${s.variant.name} ${suffix}`.padStart(20));
  console.log(`${'scenario'.padEnd(44)} ${[...names('MB/s'), ...names('ratio', 1), ...names('s/GB'), ...names('CPU ratio', 1)].join(' ')}`);
  const verdicts: string[] = [];
  let topicNo = 0;
  for (const shape of SHAPES) {
    for (const acks of ACKS) {
      const best = started.map(() => 0);
      const cpu = started.map(() => Infinity);
      for (let round = 0; round < ROUNDS; round++) {
        // Each variant goes first in turn, and every run starts with the page cache's dirty pages written out.
        const order = started.map((_, i) => (i + round) % started.length);
        for (const i of order) {
          const broker = started[i] as (typeof started)[number];
          execFileSync('sync');
          const options: LoadOptions = { ...load, client: plaintextClient(broker.port) };
          const topic = `bench-${topicNo++}`;
          await createTopic(options.client, topic, load.partitions);
          const scraper = broker.variant.scrape && broker.metricsUrl !== undefined ? scrapeEverySecond(broker.metricsUrl) : undefined;
          try {
            const cpuBefore = broker.cpuSeconds();
            const produced = await produce(options, topic, shape, acks);
            best[i] = Math.max(best[i] ?? 0, produced.mbPerSec);
            cpu[i] = Math.min(cpu[i] ?? Infinity, ((broker.cpuSeconds() - cpuBefore) * 1e9) / produced.bytes);
          } finally {
            await scraper?.stop();
          }
        }
      }
      const baseline = best[0] ?? 0;
      const ratios = best.slice(1).map((b) => b / baseline);
      // Efficiency as throughput is: the baseline's CPU per GB over the variant's (1.0: no extra CPU).
      const cpuRatios = cpu.slice(1).map((c) => (cpu[0] ?? 0) / c);
      const scenario = `produce ${shape.name}, acks=${acks}`;
      const cells = [...best.map((b) => fmt(b)), ...ratios.map((r) => r.toFixed(3)), ...cpu.map((c) => fmt(c, 2)), ...cpuRatios.map((r) => r.toFixed(3))];
      console.log(`${scenario.padEnd(44)} ${cells.map((c) => c.padStart(20)).join(' ')}`);
      started.slice(1).forEach((s, k) => verdicts.push(`${s.variant.name} ${shape.recordBytes} B acks=${acks}: ${(ratios[k] ?? 0).toFixed(3)} ${(ratios[k] ?? 0) >= TARGET ? 'meets it' : 'MISSES it'}`));
    }
  }
  console.log(`target ≥ ${TARGET} × ${started[0]?.variant.name ?? 'baseline'}: ${verdicts.join('; ')}`);
} finally {
  await Promise.all(started.map((s) => s.stop()));
  for (const s of started) s.remove();
  rmSync(configDir, { recursive: true, force: true });
}

/** Fetches `url` once a second, as a Prometheus with a 1 s scrape interval would, until stopped. */
function scrapeEverySecond(url: string): { stop: () => Promise<void> } {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const res = await fetch(url);
      if (!res.ok) throw new Error(`scrape of ${url} answered ${res.status}`);
      await res.text();
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}
