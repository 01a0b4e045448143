import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { captureOffline, CaptureErrorCodes, isCaptureError, STAGING_DIR, stagingDirOf } from '../../src/backup/capture/index.js';
import { Secret } from '../../src/client/client-config.js';
import { acquireCapture } from '../../src/cli/backups/acquire-capture.js';
import { silentLogger } from '../../src/logger.js';
import type { SecurityEvent } from '../../src/security/events.js';
import { startBroker } from '../helpers/broker.js';
import { CLI } from '../helpers/cli-process.js';
import { createTopic } from '../helpers/client.js';
import { kcatRead, parseLogLine, tempDataDir, waitFor } from '../helpers/durability.js';
import { startSecureBroker } from '../helpers/secure-broker.js';
import { kcat } from '../interop/security-support.js';
import { capturedOffsets } from '../unit/backup/capture-fixture.js';

/**
 * Backup captures of a broker that serves while they are taken (src/backup/capture): kcat producing
 * with acks=all, the captured ends checked against what kcat had acknowledged and what it had sent,
 * by walking the staged segment files; the admin routes' authorization and audit; a SIGKILLed broker
 * with a capture held; offline captures.
 */

const PARTITIONS = 3;
const PER_RUN = 40;

/** One kcat run per partition at a time, each `PER_RUN` lines with acks=all, until `stop`; counts sent and acknowledged per partition. */
function produceLoop(bootstrap: string, topic: string) {
  const started = new Array<number>(PARTITIONS).fill(0);
  const acked = new Array<number>(PARTITIONS).fill(0);
  let stop = false;
  let runs = 0;
  const workers = Array.from({ length: PARTITIONS }, async (_, p) => {
    while (!stop) {
      started[p] = (started[p] ?? 0) + PER_RUN;
      const input = Buffer.from(Array.from({ length: PER_RUN }, (_v, i) => `p${p}-run${runs}-${i}\n`).join(''));
      runs++;
      const result = await kcat(['-b', bootstrap, '-P', '-t', topic, '-p', String(p), '-X', 'acks=all', '-X', 'linger.ms=5'], { input });
      if (result.code !== 0) throw new Error(`kcat failed: ${result.stderr}`);
      acked[p] = (acked[p] ?? 0) + PER_RUN;
    }
  });
  return {
    snapshot: () => ({ started: [...started], acked: [...acked] }),
    stop: async () => {
      stop = true;
      await Promise.all(workers);
    },
  };
}

function captureEvents(events: readonly SecurityEvent[]) {
  return events.flatMap((e) => (e.type === 'backup-capture-taken' || e.type === 'backup-capture-released' ? [e] : []));
}

describe('backup captures of a serving broker', () => {
  it('cuts every partition at a batch boundary at the records acknowledged by then, while kcat produces; bounded to two; refused offline', async (t) => {
    const b = await startBroker(t);
    const topic = 'captured';
    await createTopic(b.port, topic, PARTITIONS);
    const producers = produceLoop(b.bootstrap, topic);
    t.after(() => producers.stop().catch(() => undefined));
    await waitFor(() => producers.snapshot().acked.every((n) => n >= PER_RUN * 2), 'kcat to have produced to every partition', 20_000);

    const held: string[] = [];
    for (let round = 0; round < 2; round++) {
      const before = producers.snapshot().acked;
      const { capture } = await b.broker.captureForBackup();
      const after = producers.snapshot().started;
      held.push(capture.id);
      for (let p = 0; p < PARTITIONS; p++) {
        const part = capture.partitions.find((x) => x.topic === topic && x.partition === p);
        assert.ok(part !== undefined, `partition ${p} captured`);
        const end = Number(part.endOffset);
        t.diagnostic(`round ${round} p${p}: acknowledged ${before[p]} ≤ captured ${end} ≤ sent ${after[p]}`);
        // Everything kcat had been told was written is in; nothing it had not sent yet can be.
        assert.ok(end >= (before[p] ?? 0) && end <= (after[p] ?? 0), `round ${round} p${p}: ${before[p]} ≤ ${end} ≤ ${after[p]}`);
        // The staged segments hold exactly offsets 0..end-1, whole batches only (batchesOf throws otherwise).
        assert.deepEqual(capturedOffsets(capture.files, topic, p), { first: end === 0 ? null : 0n, end: end === 0 ? null : BigInt(end) });
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    await assert.rejects(b.broker.captureForBackup(), (err: unknown) => isCaptureError(err, CaptureErrorCodes.TOO_MANY));
    // The broker holds the data directory: an offline capture is refused and points at the broker.
    await assert.rejects(captureOffline(b.dataDir, { logger: silentLogger }), (err: unknown) => isCaptureError(err, CaptureErrorCodes.IN_USE) && /running broker's admin endpoint/.test(err.message));
    for (const id of held) {
      b.broker.releaseCapture(id);
      assert.equal(existsSync(stagingDirOf(b.dataDir, id)), false);
    }
    assert.equal(existsSync(join(b.dataDir, STAGING_DIR)), false);

    await producers.stop();
    const total = producers.snapshot().acked;
    const { capture } = await b.broker.captureForBackup();
    for (let p = 0; p < PARTITIONS; p++) {
      assert.equal(capture.partitions.find((x) => x.topic === topic && x.partition === p)?.endOffset, String(total[p]), `quiet: p${p} captured exactly what was acknowledged`);
    }
    const events = captureEvents(b.events);
    assert.deepEqual(
      events.map((e) => `${e.type} ${e.id}`),
      [...held.map((id) => `backup-capture-taken ${id}`), ...held.map((id) => `backup-capture-released ${id}`), `backup-capture-taken ${capture.id}`],
    );
  });

  it('the admin routes: 403 and audited without ALTER on the CLUSTER; the admin takes, renews and releases through acquireCapture', async (t) => {
    const users = { alice: 'alice-not-an-admin-pw' };
    const b = await startSecureBroker(t, { users });
    const url = b.broker.adminUrl;
    assert.ok(url !== undefined);
    const forbidden = await fetch(`${url}/v1/backup/capture`, { method: 'POST', headers: { Authorization: `Basic ${Buffer.from(`alice:${users.alice}`).toString('base64')}` } });
    assert.equal(forbidden.status, 403);
    assert.match(((await forbidden.json()) as { error: string }).error, /User:alice may not POST \/v1\/backup\/capture \(needs ALTER on the CLUSTER/);
    assert.ok(b.events.some((e) => e.type === 'admin-request' && e.status === 403 && e.principal === 'User:alice' && e.path === '/v1/backup/capture'));
    assert.equal(captureEvents(b.events).length, 0);
    assert.equal(existsSync(join(b.dataDir, STAGING_DIR)), false);

    const acquired = await acquireCapture({
      dataDir: b.dataDir,
      endpoint: () => ({ target: { url: new URL(url) }, credentials: { kind: 'basic', user: 'admin', password: new Secret(b.adminPassword) } }),
      logger: silentLogger,
    });
    assert.equal(acquired.via, 'broker');
    assert.ok(existsSync(stagingDirOf(b.dataDir, acquired.capture.id)));
    assert.ok(acquired.capture.files.some((f) => f.kind === 'metadata' && existsSync(f.source)));
    assert.ok((await acquired.renew()) >= acquired.leaseExpiresAtMs);
    await acquired.release();
    assert.equal(existsSync(stagingDirOf(b.dataDir, acquired.capture.id)), false);
    const events = captureEvents(b.events);
    assert.deepEqual(events.map((e) => [e.type, e.id, e.principal]), [
      ['backup-capture-taken', acquired.capture.id, 'User:admin'],
      ['backup-capture-released', acquired.capture.id, 'User:admin'],
    ]);
    const released = await fetch(`${url}/v1/backup/release`, { method: 'POST', headers: { Authorization: `Basic ${Buffer.from(`admin:${b.adminPassword}`).toString('base64')}` }, body: JSON.stringify({ id: acquired.capture.id }) });
    assert.equal(released.status, 404, 'released twice: no such capture');
  });

  it('a broker SIGKILLed while a capture is held restarts, removes the staging directory and serves every record; then an offline capture of it stopped', async (t) => {
    const dataDir = tempDataDir(t, 'parapet-capture-');
    const token = 'capture-test-token-0123456789abcdef';
    const topic = 'survives';
    const first = await spawnBrokerWithToken(t, dataDir, token);
    await createTopic(first.port, topic, 1);
    const lines = Array.from({ length: 200 }, (_, i) => `rec-${i}`);
    const produced = await kcat(['-b', first.bootstrap, '-P', '-t', topic, '-p', '0', '-X', 'acks=all'], { input: Buffer.from(`${lines.join('\n')}\n`) });
    assert.equal(produced.code, 0, produced.stderr);
    const endpoint = () => ({ target: { url: new URL(first.adminUrl) }, credentials: { kind: 'bearer' as const, token: new Secret(token) } });
    const acquired = await acquireCapture({ dataDir, endpoint, logger: silentLogger });
    assert.equal(acquired.via, 'broker');
    assert.equal(acquired.capture.partitions.find((p) => p.topic === topic)?.endOffset, '200');
    first.proc.kill('SIGKILL');
    await first.exited;
    assert.ok(existsSync(stagingDirOf(dataDir, acquired.capture.id)), 'the killed broker left its capture behind');

    const second = await spawnBrokerWithToken(t, dataDir, token);
    assert.ok(second.logs().some((l) => l.level === 40 && l.msg.includes('cut short')), 'the restart says a backup was cut short');
    assert.equal(existsSync(join(dataDir, STAGING_DIR)), false);
    const read = await kcatRead(second.bootstrap, topic, 0);
    assert.deepEqual(read.map((r) => r.value), lines);
    second.proc.kill('SIGTERM');
    assert.equal((await second.exited).code, 0);

    const offline = await acquireCapture({ dataDir, endpoint: () => assert.fail('no broker runs: the capture must be taken offline'), logger: silentLogger });
    assert.equal(offline.via, 'offline');
    assert.equal(offline.capture.partitions.find((p) => p.topic === topic)?.endOffset, '200');
    assert.deepEqual(capturedOffsets(offline.capture.files, topic, 0), { first: 0n, end: 200n });
    await offline.release();
    assert.equal(existsSync(join(dataDir, STAGING_DIR)), false);
  });
});

interface TokenBroker {
  readonly proc: ReturnType<typeof spawn>;
  readonly port: number;
  readonly bootstrap: string;
  readonly adminUrl: string;
  readonly exited: Promise<{ code: number | null }>;
  logs(): { level: number; msg: string; [key: string]: unknown }[];
}

/** `parapet start --insecure` as a process, its admin endpoint on a free port with a bearer token (the capture routes need one). */
async function spawnBrokerWithToken(t: TestContext, dataDir: string, token: string): Promise<TokenBroker> {
  const secrets = `${dataDir}-test-secrets`;
  mkdirSync(secrets, { recursive: true, mode: 0o700 });
  const tokenFile = join(secrets, 'admin-token');
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  chmodSync(tokenFile, 0o600);
  const config = join(secrets, 'parapet.yaml');
  writeFileSync(config, `adminEndpoint:\n  bearerToken: \${file:${tokenFile}}\n`, { mode: 0o600 });
  const proc = spawn(process.execPath, [CLI, 'start', '--config', config, '--admin-listen', '127.0.0.1:0', '--insecure', '--listen', '127.0.0.1:0', '--data-dir', dataDir], {
    env: { ...process.env, PARAPET_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  let partial = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null }>((resolve) => {
    proc.on('close', (code) => {
      resolve({ code });
    });
  });
  t.after(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
  });
  const logs = () => lines.filter((l) => l.startsWith('{')).map(parseLogLine);
  let port = 0;
  let adminUrl = '';
  await waitFor(
    () => {
      if (proc.exitCode !== null) throw new Error(`the broker exited: ${stderr}\n${lines.join('\n')}`);
      port ||= Number(lines.map((l) => /^parapet listening on 127\.0\.0\.1:(\d+)/.exec(l)?.[1]).find((p) => p !== undefined) ?? 0);
      const url = logs().find((l) => l.msg.startsWith('admin endpoint listening'))?.url;
      if (typeof url === 'string') adminUrl = url;
      return port !== 0 && adminUrl !== '';
    },
    'the broker and its admin endpoint to listen',
    15_000,
  );
  return { proc, port, bootstrap: `127.0.0.1:${port}`, adminUrl, exited, logs };
}
