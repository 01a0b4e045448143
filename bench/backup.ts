/**
 * What a backup costs the producers, and how fast backup and restore go (issue 17), in one run: one
 * broker as a new user gets it (`parapet start` on a new data directory: TLS 1.3, SCRAM-SHA-512, ACLs,
 * topics encrypted at rest), filled with `--fill-mb` of records; then, round by round, the same produce
 * load (acks=-1, 1 KiB records in 16 KiB batches, the secure path as the ordinary user `bench`) runs
 * alone, while `parapet backup create --to DIR` runs unthrottled, and while it runs with `--rate`; each
 * scenario produces to a topic of its own, deleted after it, and each backup goes to a new target, so
 * each is a full one of about the filled data. Then, with no load, a full backup, an
 * incremental one after `--more-mb` more records, and a restore of the full one are timed.
 *
 * Prints the medians over `--rounds` of produce MB/s and of the ratio produce-during-backup /
 * produce-alone (target ≥ 0.8; each round's ratio is taken within the round, so that a busier minute
 * moves both sides), backup MB/s (bytes captured / the writer's seconds) and restore MB/s, with the
 * CPU seconds of the backup process and of the broker, and the load average of the machine.
 *
 *   npm run bench:backup [-- --fill-mb 256 --more-mb 16 --seconds 4 --rate 50MiB --rounds 3]
 *   npm run bench:backup -- --target-root /dev/shm   # the targets off the data directory's disk
 *   npm run bench:backup -- --nice 10                 # the backup at a lower CPU priority than the broker
 */
import { execFileSync, spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AdminClient } from '../src/client/admin.js';
import { createTopic, load1, loadFlags, loadOptionsOf, mb, median, produce, produceWhile, secureBenchUser, SHAPES, startBrokerProcess, tempDataDir, type LoadOptions } from './load.js';

const { values: args } = parseArgs({
  options: {
    ...loadFlags(3),
    seconds: { type: 'string', default: '4' },
    // Record data in the broker before the first backup (MB of record values).
    'fill-mb': { type: 'string', default: '256' },
    // Record data added between the full and the incremental backup.
    'more-mb': { type: 'string', default: '16' },
    // The throttled backup's --rate.
    rate: { type: 'string', default: '50MiB' },
    // Where the backup targets go (default: beside the data directory, so on the same disk); a directory
    // on another disk, or /dev/shm, takes the target's writes and fsyncs off the producers' disk.
    'target-root': { type: 'string' },
    // Run `backup create` under `nice -n N`: the broker gets the CPU first when both want it.
    nice: { type: 'string' },
  },
});
const load = loadOptionsOf(args);
const ROUNDS = Number(args.rounds);
const FILL_BYTES = Number(args['fill-mb']) * 1e6;
const MORE_BYTES = Number(args['more-mb']) * 1e6;
/** The target: producers keep this much of their throughput while a backup runs. */
const TARGET = 0.8;
const ACKS = -1;
const SHAPE = SHAPES[0] ?? (() => { throw new Error('no load shape'); })();
const CLI = 'dist/src/cli/main.js';

interface Timed<T> {
  readonly result: T;
  readonly wallSeconds: number;
  /** CPU seconds (user + system) of the command, as its shell's `times` reports its children. */
  readonly cpuSeconds: number;
}

/**
 * Runs `parapet ARGS` to its end; its JSON output parsed. Through bash so that `times` reports the
 * command's own CPU time (the process is gone before /proc could be read at its end).
 */
function parapet<T>(cliArgs: readonly string[], nice?: string): Promise<Timed<T>> {
  const started = performance.now();
  const command = nice === undefined ? [process.execPath, CLI] : ['nice', '-n', nice, process.execPath, CLI];
  const child = spawn('bash', ['-c', '"$0" "$@"; rc=$?; times >&2; exit $rc', ...command, ...cliArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      const wallSeconds = (performance.now() - started) / 1000;
      // `times` prints the shell's user and system time, then its children's: `0m1.234s 0m0.056s`.
      const children = err.trimEnd().split('\n').at(-1) ?? '';
      const cpuSeconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, m) => sum + Number(m[1]) * 60 + Number(m[2]), 0);
      if (code !== 0) {
        reject(new Error(`parapet ${cliArgs.slice(0, 2).join(' ')} exited with ${String(code)}: ${err}`));
        return;
      }
      try {
        resolve({ result: JSON.parse(out) as T, wallSeconds, cpuSeconds });
      } catch {
        reject(new Error(`parapet ${cliArgs.slice(0, 2).join(' ')} printed no JSON: ${out}`));
      }
    });
  });
}

interface BackupSummary {
  readonly id: string;
  readonly totalBytes: number;
  readonly storedBytes: number;
  readonly reusedBytes: number;
  /** The writer's time, from the capture taken to the manifest written. */
  readonly seconds: number;
}


const { dataDir, remove: removeDataDir } = tempDataDir('parapet-bench-backup-');
const work = args['target-root'] === undefined ? join(dataDir, '..') : mkdtempSync(join(args['target-root'], 'parapet-bench-backup-targets-'));
const broker = await startBrokerProcess(['--data-dir', dataDir]);

try {
  // The broker prints its admin endpoint's URL just after where it listens.
  let adminUrl: string | undefined;
  for (let tries = 0; adminUrl === undefined; tries++) {
    if (tries === 100) throw new Error(`the broker printed no admin endpoint: ${broker.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    adminUrl = /admin endpoint: (\S+)\/metrics/.exec(broker.output())?.[1];
  }
  const endpoint = adminUrl;
  const secure = await secureBenchUser(dataDir, broker.port);
  const options: LoadOptions = { ...load, client: secure.user };
  let targets = 0;
  const newTarget = () => join(work, `target-${targets++}`);
  const backup = (target: string, extra: readonly string[] = []) =>
    parapet<BackupSummary>(['backup', 'create', '--to', target, '--data-dir', dataDir, '--admin-url', endpoint, '--json', ...extra], args.nice);

  /** Produces to a new topic for at least `minBytes` of record data, one `--seconds` run after another. */
  const fill = async (topic: string, minBytes: number) => {
    await createTopic(secure.admin, topic, load.partitions);
    for (let bytes = 0; bytes < minBytes; ) bytes += (await produce({ ...options, seconds: 1 }, topic, SHAPE, ACKS)).bytes;
  };
  const produceFor = (topic: string, minSeconds: number, done: () => boolean) => produceWhile(options, topic, SHAPE, ACKS, broker, minSeconds, done);

  const deleteTopic = async (name: string) => {
    const client = await AdminClient.connect(secure.admin, { clientId: 'bench' });
    try {
      await client.deleteTopic(name);
    } finally {
      client.close();
    }
  };

  const fillStarted = performance.now();
  await fill('bench-fill', FILL_BYTES);
  console.log(`filled ${mb(FILL_BYTES).toFixed(0)} MB of ${SHAPE.name} (acks=${ACKS}) in ${((performance.now() - fillStarted) / 1000).toFixed(1)} s`);
  console.log(
    `produce ${SHAPE.name}, acks=${ACKS}, ${load.connections} connections × ${load.inFlight} in flight, ${load.partitions} partitions, ` +
      `at least ${load.seconds} s per run and for as long as the backup runs; ${ROUNDS} rounds, medians`,
  );

  type Scenario = 'alone' | 'unthrottled' | 'rate';
  const scenarios: readonly Scenario[] = ['alone', 'unthrottled', 'rate'];
  const figures = new Map<Scenario, { mbPerSec: number; ratio: number; backupMbPerSec: number; backupCpu: number; brokerCpu: number; load: number }[]>(scenarios.map((s) => [s, []]));
  let topicNo = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // Each scenario goes first in one round of three: the page cache and the log grow as the rounds go.
    const order = scenarios.map((_, i) => scenarios[(i + round) % scenarios.length] as Scenario);
    const measured = new Map<Scenario, { mbPerSec: number; backupMbPerSec: number; backupCpu: number; brokerCpu: number; load: number }>();
    for (const scenario of order) {
      // A topic of its own, deleted after: every backup captures about the filled data, not what the runs before added.
      const topic = `bench-load-${topicNo++}`;
      await createTopic(secure.admin, topic, load.partitions);
      execFileSync('sync');
      const loadBefore = load1();
      if (scenario === 'alone') {
        const run = await produceFor(topic, load.seconds, () => true);
        measured.set(scenario, { mbPerSec: run.mbPerSec, backupMbPerSec: NaN, backupCpu: NaN, brokerCpu: run.brokerCpu, load: (loadBefore + load1()) / 2 });
        await deleteTopic(topic);
        continue;
      }
      let finished = false;
      const target = newTarget();
      const running = backup(target, scenario === 'rate' ? ['--rate', args.rate] : []).finally(() => {
        finished = true;
      });
      const run = await produceFor(topic, 1, () => finished);
      const taken = await running;
      rmSync(target, { recursive: true, force: true });
      await deleteTopic(topic);
      measured.set(scenario, {
        mbPerSec: run.mbPerSec,
        backupMbPerSec: mb(taken.result.totalBytes) / taken.result.seconds,
        backupCpu: taken.cpuSeconds,
        brokerCpu: run.brokerCpu,
        load: (loadBefore + load1()) / 2,
      });
    }
    const alone = measured.get('alone')?.mbPerSec ?? NaN;
    for (const [scenario, m] of measured) figures.get(scenario)?.push({ ...m, ratio: m.mbPerSec / alone });
    const line = order.map((s) => `${s} ${(measured.get(s)?.mbPerSec ?? NaN).toFixed(0)} MB/s`).join(', ');
    console.log(`  round ${round + 1}: ${line} (load average ${load1().toFixed(2)})`);
  }

  console.log(`${'scenario'.padEnd(34)} ${'produce MB/s'.padStart(12)} ${'ratio'.padStart(6)} ${'backup MB/s'.padStart(11)} ${'backup CPU s'.padStart(12)} ${'broker CPU s'.padStart(12)} ${'load avg'.padStart(8)}`);
  const verdicts: string[] = [];
  for (const scenario of scenarios) {
    const rows = figures.get(scenario) ?? [];
    const m = (pick: (r: (typeof rows)[number]) => number) => median(rows.map(pick));
    const name = { alone: 'produce alone', unthrottled: 'during backup, unthrottled', rate: `during backup, --rate ${args.rate}` }[scenario];
    const num = (n: number, width: number, digits = 1) => (Number.isNaN(n) ? '-' : n.toFixed(digits)).padStart(width);
    console.log(`${name.padEnd(34)} ${num(m((r) => r.mbPerSec), 12, 0)} ${num(m((r) => r.ratio), 6, 2)} ${num(m((r) => r.backupMbPerSec), 11)} ${num(m((r) => r.backupCpu), 12)} ${num(m((r) => r.brokerCpu), 12)} ${num(m((r) => r.load), 8, 2)}`);
    if (scenario !== 'alone') {
      const ratio = m((r) => r.ratio);
      verdicts.push(`${name} ${ratio >= TARGET ? 'meets it' : 'MISSES it'} (${ratio.toFixed(2)}; rounds ${rows.map((r) => r.ratio.toFixed(2)).join(', ')})`);
    }
  }
  console.log(`target produce during a backup ≥ ${TARGET.toFixed(2)} × alone: ${verdicts.join('; ')}`);

  // Backup and restore speed with no load: full, then incremental after more records, then restore.
  const speeds = { full: [] as number[], incremental: [] as number[], stored: [] as number[], restore: [] as number[], fullCpu: [] as number[], restoreCpu: [] as number[] };
  let captured = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const target = newTarget();
    execFileSync('sync');
    const full = await backup(target);
    captured = full.result.totalBytes;
    speeds.full.push(mb(full.result.totalBytes) / full.result.seconds);
    speeds.fullCpu.push(full.cpuSeconds);
    await fill(`bench-more-${round}`, MORE_BYTES);
    execFileSync('sync');
    const incremental = await backup(target);
    speeds.incremental.push(mb(incremental.result.totalBytes) / incremental.result.seconds);
    speeds.stored.push(incremental.result.storedBytes / incremental.result.totalBytes);
    // Restored onto the data directory's disk, where a restore would go.
    const restoredDir = join(dataDir, '..', `restored-${round}`);
    execFileSync('sync');
    const restored = await parapet<unknown>(['restore', '--from', target, '--backup', full.result.id, '--data-dir', restoredDir, '--keys-from', dataDir, '--json']);
    speeds.restore.push(mb(full.result.totalBytes) / restored.wallSeconds);
    speeds.restoreCpu.push(restored.cpuSeconds);
    rmSync(target, { recursive: true, force: true });
    rmSync(restoredDir, { recursive: true, force: true });
  }
  console.log(
    `backup, no load (${mb(captured).toFixed(0)} MB captured; MB/s = bytes captured / the writer's seconds): ` +
      `full ${median(speeds.full).toFixed(1)} MB/s (${median(speeds.fullCpu).toFixed(1)} CPU s), ` +
      `incremental after ${mb(MORE_BYTES).toFixed(0)} MB more ${median(speeds.incremental).toFixed(1)} MB/s storing ${(100 * median(speeds.stored)).toFixed(1)}% of its bytes; ` +
      `restore of the full one ${median(speeds.restore).toFixed(1)} MB/s (whole command, ${median(speeds.restoreCpu).toFixed(1)} CPU s)`,
  );
  console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
} finally {
  await broker.stop();
  removeDataDir();
  if (args['target-root'] !== undefined) rmSync(work, { recursive: true, force: true });
}
