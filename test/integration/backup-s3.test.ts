import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { runParapet } from '../helpers/cli-process.js';
import { tempDataDir } from '../helpers/durability.js';
import { startS3StandIn } from '../helpers/s3-stand-in.js';
import { startBrokerProcess, type BrokerProcess } from '../security/attack-support.js';

/**
 * Backup, verify, retention and restore through an `s3://` target (issue 17 item 3,
 * docs/operations/backup-and-recovery.md). The bucket is the test's S3 STAND-IN
 * (test/helpers/s3-stand-in.ts: in memory, path-style, SigV4 checked), not AWS S3 or MinIO; the
 * commands run as an operator runs them, with credentials in the AWS environment variables.
 */

const run = promisify(execFile);



const adminProperties = (dataDir: string) => join(dataDir, 'client', 'admin.properties');

async function produce(broker: BrokerProcess, topic: string, lines: readonly string[]): Promise<void> {
  const child = spawn('kcat', ['-F', adminProperties(broker.dataDir), '-b', broker.bootstrap, '-P', '-t', topic, '-p', '0', '-X', 'acks=all', '-K', ':']);
  child.stdin.end(`${lines.join('\n')}\n`);
  assert.equal(await new Promise((resolve) => child.once('exit', resolve)), 0, 'kcat produce');
}

async function consume(dataDir: string, bootstrap: string, topic: string): Promise<string[]> {
  const { stdout } = await run('kcat', ['-F', adminProperties(dataDir), '-b', bootstrap, '-C', '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%o %k %s\\n'], { timeout: 60_000 });
  return stdout.split('\n').filter((l) => l !== '');
}

describe('parapet backup through an s3:// target (S3 stand-in)', { timeout: 180_000 }, () => {
  it('creates, lists, verifies, prunes with --keep and restores byte for byte; wrong credentials are refused without being printed', async (t) => {
    const s3 = await startS3StandIn({ buckets: ['parapet-backups'], maxKeys: 5 });
    t.after(() => s3.close());
    const env = { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey, AWS_REGION: 'us-east-1' };
    const s3Flags = ['--s3-endpoint', s3.endpoint, '--s3-path-style'];
    const url = 's3://parapet-backups/site-a';
    const broker = await startBrokerProcess(t);
    const marker = `MARKER${randomBytes(6).toString('hex')}`;
    await (await broker.admin()).createTopic('orders', 1);
    await produce(broker, 'orders', Array.from({ length: 500 }, (_, i) => `k${i}:${marker}-${i}`));
    const adminUrl = /admin endpoint: (\S+)\/metrics/.exec(broker.output())?.[1] ?? assert.fail('no admin endpoint');
    const create = (extra: readonly string[] = []) => runParapet(['backup', 'create', '--to', url, ...s3Flags, '--data-dir', broker.dataDir, '--admin-url', adminUrl, '--json', ...extra], { env, timeoutMs: 120_000 });

    const first = await create();
    assert.equal(first.code, 0, first.stderr);
    const one = JSON.parse(first.stdout) as { id: string; target: string; partitions: { topic: string; endOffset: string }[] };
    assert.equal(one.target, `${url} at ${s3.endpoint}`);
    assert.equal(one.partitions.find((p) => p.topic === 'orders')?.endOffset, '500');
    const objects = s3.buckets.get('parapet-backups') ?? assert.fail('no bucket');
    assert.ok([...objects.keys()].every((k) => k.startsWith('site-a/')), 'every object under the prefix');
    assert.ok([...objects.keys()].some((k) => k.startsWith('site-a/chunks/')));
    assert.ok(![...objects.keys()].some((k) => k.includes('locks/')), 'the lock is released');
    for (const [key, bytes] of objects) assert.ok(!bytes.includes(marker), `${key} holds a record in clear`);
    const expected = await consume(broker.dataDir, broker.bootstrap, 'orders');

    const verified = await runParapet(['backup', 'verify', '--from', url, ...s3Flags, '--data-dir', broker.dataDir], { env, timeoutMs: 120_000 });
    assert.equal(verified.code, 0, `${verified.stdout}${verified.stderr}`);
    assert.match(verified.stdout, new RegExp(`backup ${one.id}: OK`));

    // A second backup with --keep 1 prunes the first after it completes; the listing pages through the stand-in.
    await produce(broker, 'orders', [`late:${marker}-late`]);
    const second = await create(['--keep', '1']);
    assert.equal(second.code, 0, second.stderr);
    const two = JSON.parse(second.stdout) as { id: string; prune: { pruned: { id: string }[] } };
    assert.deepEqual(two.prune.pruned.map((p) => p.id), [one.id]);
    const listed = await runParapet(['backup', 'list', '--from', url, ...s3Flags, '--data-dir', broker.dataDir, '--json'], { env, timeoutMs: 120_000 });
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual((JSON.parse(listed.stdout) as { id: string; complete: boolean }[]).map((b) => [b.id, b.complete]), [[two.id, true]]);

    // Restore the kept backup from the bucket and serve it.
    const restoredDir = join(tempDataDir(t, 'parapet-s3-restore-'), 'restored');
    const restored = await runParapet(['restore', '--from', url, ...s3Flags, '--data-dir', restoredDir, '--keys-from', broker.dataDir], { env, timeoutMs: 120_000 });
    assert.equal(restored.code, 0, `${restored.stdout}${restored.stderr}`);
    await broker.stop();
    const again = await startBrokerProcess(t, { dataDir: restoredDir });
    assert.deepEqual(await consume(restoredDir, again.bootstrap, 'orders'), [...expected, `500 late ${marker}-late`]);

    // Wrong secret, missing bucket, a directory flag mix-up: one clear line each, and no secret in it.
    const wrongSecret = `wrong-${randomBytes(8).toString('hex')}`;
    const denied = await runParapet(['backup', 'list', '--from', url, ...s3Flags, '--data-dir', broker.dataDir], { env: { ...env, AWS_SECRET_ACCESS_KEY: wrongSecret }, timeoutMs: 120_000 });
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /^parapet: s3:\/\/parapet-backups\/site-a at .*: the credentials are refused/);
    const noBucket = await runParapet(['backup', 'list', '--from', 's3://missing-bucket', ...s3Flags, '--data-dir', broker.dataDir], { env, timeoutMs: 120_000 });
    assert.equal(noBucket.code, 1);
    assert.match(noBucket.stderr, /bucket missing-bucket does not exist/);
    const mixed = await runParapet(['backup', 'list', '--from', restoredDir, '--s3-path-style', '--data-dir', broker.dataDir], { env, timeoutMs: 120_000 });
    assert.equal(mixed.code, 2);
    assert.match(mixed.stderr, /are for an s3:\/\/ target/);
    for (const out of [first, second, verified, listed, restored, denied, noBucket].flatMap((r) => [r.stdout, r.stderr])) {
      assert.ok(!out.includes(s3.secretAccessKey) && !out.includes(wrongSecret), 'a secret was printed');
      assert.ok(!/\n\s+at /.test(out), `a stack trace was printed: ${out}`);
    }
  });
});
