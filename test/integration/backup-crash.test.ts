import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { CLI } from '../helpers/cli-process.js';
import { eventually, startBrokerProcess, type BrokerProcess } from '../security/attack-support.js';

/**
 * SIGKILL during a backup (issue 17, docs/operations/backup-and-recovery.md): a slow backup is cut
 * short by killing its process and the broker while confluent-kafka produces with acks=all. The
 * restarted broker serves every acknowledged record and removes the capture's leftover staging; the
 * cut backup is listed as incomplete, `backup verify` never picks it, and the next backup completes,
 * reuses the chunks the cut one stored (they are named by content) and verifies.
 */

const run = promisify(execFile);

async function parapet(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const adminProperties = (dataDir: string) => join(dataDir, 'client', 'admin.properties');

async function produce(broker: BrokerProcess, topic: string, partition: number, lines: readonly string[]): Promise<void> {
  const child = spawn('kcat', ['-F', adminProperties(broker.dataDir), '-b', broker.bootstrap, '-P', '-t', topic, '-p', String(partition), '-X', 'acks=all', '-K', ':']);
  child.stdin.end(`${lines.join('\n')}\n`);
  const code = await new Promise((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, `kcat produce to ${topic}-${partition}`);
}

/** Every record of a partition as `key:value`, read with kcat from the beginning to the end. */
async function consume(broker: BrokerProcess, topic: string, partition: number): Promise<string[]> {
  const { stdout } = await run('kcat', ['-F', adminProperties(broker.dataDir), '-b', broker.bootstrap, '-C', '-t', topic, '-p', String(partition), '-o', 'beginning', '-e', '-q', '-f', '%k:%s\\n'], {
    maxBuffer: 256 * 1024 * 1024,
    timeout: 60_000,
  });
  return stdout.split('\n').filter((l) => l !== '');
}

/**
 * confluent-kafka (librdkafka) producing to partition 0 of `topic` with acks=all until killed, printing
 * the key of every record the broker acknowledged, as its delivery report says.
 */
function ackedProducer(broker: BrokerProcess, topic: string): { child: ChildProcess; acked: () => string[] } {
  const script = `
import sys
from confluent_kafka import Producer
conf = {}
for line in open(sys.argv[1]):
    line = line.strip()
    if line and not line.startswith('#') and '=' in line:
        k, v = line.split('=', 1)
        conf[k.strip()] = v.strip()
conf.update({'bootstrap.servers': sys.argv[2], 'acks': 'all', 'linger.ms': 5})
p = Producer(conf)
def report(err, msg):
    if err is None:
        print(msg.key().decode(), flush=True)
i = 0
while True:
    p.produce(sys.argv[3], key=f'live-{i}', value=f'live-{i}-' + 'y' * 200, partition=0, on_delivery=report)
    i += 1
    if i % 50 == 0:
        p.poll(0.02)
`;
  const child = spawn('/usr/bin/python3', ['-c', script, adminProperties(broker.dataDir), broker.bootstrap, topic], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  // Only whole lines: a key cut off by the kill was printed in part, not acknowledged in part.
  return { child, acked: () => out.split('\n').slice(0, -1) };
}

function killed(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => { resolve(); }));
  child.kill('SIGKILL');
  return exited;
}

function tempDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** The chunk ids stored in a directory target (`chunks/<2 hex>/<id>`). */
function storedChunks(target: string): Set<string> {
  const dir = join(target, 'chunks');
  if (!existsSync(dir)) return new Set();
  return new Set(readdirSync(dir).flatMap((d) => readdirSync(join(dir, d)).filter((f) => /^[0-9a-f]{64}$/.test(f))));
}

/** The size of the largest chunk stored in a directory target. */
function largestChunk(target: string): number {
  return Math.max(0, ...[...storedChunks(target)].map((id) => statSync(join(target, 'chunks', id.slice(0, 2), id)).size));
}

describe('SIGKILL during a backup', { timeout: 240_000 }, () => {
  it('leaves the broker recoverable, the cut backup incomplete and never picked, and the next backup reusing its chunks', async (t) => {
    const broker = await startBrokerProcess(t);
    const target = join(tempDir(t, 'parapet-backup-crash-'), 'target');
    const admin = await broker.admin();
    // Small segments (the least a broker allows): the cut backup stores a whole closed segment before the kill, which the next one meets again.
    await admin.createTopic('crash', 2, { 'segment.bytes': String(1024 * 1024) });
    const lines = (p: number, n: number) => Array.from({ length: n }, (_, i) => `k${p}-${i}:v${p}-${i}-${'x'.repeat(1000)}`);
    await produce(broker, 'crash', 0, lines(0, 2500));
    await produce(broker, 'crash', 1, lines(1, 2500));
    const adminUrl = /admin endpoint: (\S+)\/metrics/.exec(broker.output())?.[1] ?? assert.fail(`no admin endpoint in ${broker.output()}`);

    // A slow backup (over 5 MB at 256 KiB/s: about 20 s), while confluent-kafka produces.
    const live = ackedProducer(broker, 'crash');
    t.after(() => void killed(live.child));
    const slow = spawn(process.execPath, [CLI, 'backup', 'create', '--to', target, '--data-dir', broker.dataDir, '--admin-url', adminUrl, '--rate', '256KiB'], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => void killed(slow));
    let slowOut = '';
    slow.stdout.on('data', (c: Buffer) => (slowOut += c.toString()));
    slow.stderr.on('data', (c: Buffer) => (slowOut += c.toString()));
    const staging = join(broker.dataDir, 'backup-staging');
    // Mid-way: the capture staged in the broker and a closed segment's chunk (about 1 MiB) stored.
    await eventually(() => largestChunk(target) > 1_000_000, `the slow backup storing a segment (${slowOut})`, 120_000);
    assert.equal(slow.exitCode, null, `the slow backup is still running: ${slowOut}`);
    const cutIds = existsSync(join(target, 'backups')) ? readdirSync(join(target, 'backups')) : [];
    assert.equal(cutIds.length, 1, `one backup started: ${cutIds.join(', ')}`);
    const cutId = cutIds[0] ?? '';
    assert.ok(existsSync(join(target, 'backups', cutId, 'started.json')));
    assert.ok(readdirSync(staging).length > 0, 'the broker holds the capture in its staging directory');

    await Promise.all([killed(slow), killed(broker.child)]);
    await killed(live.child);
    const acked = live.acked();
    assert.ok(acked.length > 0, 'confluent-kafka had records acknowledged before the kill');
    assert.ok(!existsSync(join(target, 'backups', cutId, 'manifest.json')), 'the cut backup has no manifest');
    const partialChunks = storedChunks(target);

    // The restarted broker serves every acknowledged record, and removed the capture's staging.
    const again = await startBrokerProcess(t, { dataDir: broker.dataDir });
    assert.ok(!existsSync(staging) || readdirSync(staging).length === 0, `the leftover staging is gone: ${existsSync(staging) ? readdirSync(staging).join(', ') : ''}`);
    const served0 = await consume(again, 'crash', 0);
    assert.deepEqual(served0.slice(0, 2500), lines(0, 2500));
    const liveServed = new Set(served0.slice(2500).map((l) => l.slice(0, l.indexOf(':'))));
    const lost = acked.filter((k) => !liveServed.has(k));
    assert.deepEqual(lost.slice(0, 5), [], `${lost.length} of ${acked.length} acknowledged records are not served`);
    assert.deepEqual(await consume(again, 'crash', 1), lines(1, 2500));

    // Listed, but incomplete; verify without --backup finds no complete one rather than picking it.
    const listed = await parapet(['backup', 'list', '--from', target, '--data-dir', again.dataDir, '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      (JSON.parse(listed.stdout) as { id: string; complete: boolean }[]).map((b) => [b.id, b.complete]),
      [[cutId, false]],
    );
    const none = await parapet(['backup', 'verify', '--from', target, '--data-dir', again.dataDir]);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /no complete backup/);
    assert.ok(!none.stdout.includes(cutId), `verify did not check the cut backup: ${none.stdout}`);

    // The next backup completes, reusing what the cut one stored, and verifies; the cut one stays incomplete.
    const againUrl = /admin endpoint: (\S+)\/metrics/.exec(again.output())?.[1] ?? assert.fail(`no admin endpoint in ${again.output()}`);
    const next = await parapet(['backup', 'create', '--to', target, '--data-dir', again.dataDir, '--admin-url', againUrl, '--json']);
    assert.equal(next.code, 0, next.stderr);
    const summary = JSON.parse(next.stdout) as { id: string; reusedBytes: number; totalBytes: number };
    const manifest = JSON.parse(readFileSync(join(target, 'backups', summary.id, 'manifest.json'), 'utf8')) as { files: { chunks: { id: string; dekOf: string }[] }[] };
    const reused = manifest.files.flatMap((f) => f.chunks).filter((c) => partialChunks.has(c.id));
    assert.ok(reused.length > 0, 'the next backup meets chunks the cut one stored');
    assert.deepEqual(new Set(reused.map((c) => c.dekOf)), new Set([cutId]), 'a chunk the cut backup stored is reused under its data key, not stored again');
    assert.ok(summary.reusedBytes > 0 && summary.reusedBytes < summary.totalBytes, `reused ${summary.reusedBytes} of ${summary.totalBytes} bytes`);
    const verified = await parapet(['backup', 'verify', '--from', target, '--data-dir', again.dataDir]);
    assert.equal(verified.code, 0, `${verified.stdout}${verified.stderr}`);
    assert.match(verified.stdout, new RegExp(`backup ${summary.id}: OK`));
    const relisted = JSON.parse((await parapet(['backup', 'list', '--from', target, '--data-dir', again.dataDir, '--json'])).stdout) as { id: string; complete: boolean }[];
    assert.deepEqual(relisted.map((b) => [b.id, b.complete]).sort(), [[cutId, false], [summary.id, true]].sort());
  });
});
