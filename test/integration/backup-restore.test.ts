import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../../src/protocol/acl.js';
import { runParapet } from '../helpers/cli-process.js';
import { tempDataDir } from '../helpers/durability.js';
import { startBrokerProcess, type BrokerProcess } from '../security/attack-support.js';

/**
 * Backup and restore end to end (issue 17, docs/operations/backup-and-recovery.md): a backup taken
 * while kcat produces with acks=all restores to a broker that serves every record acknowledged before
 * the backup's captured end offsets, byte for byte, with the group's committed offsets, the users and
 * the ACLs; a second backup stores only what is new; nothing of the records is in clear in the target;
 * a flipped byte or a missing chunk fails `backup verify` naming it, and restore refuses.
 */

const run = promisify(execFile);



const adminProperties = (dataDir: string) => join(dataDir, 'client', 'admin.properties');

async function produce(broker: BrokerProcess, topic: string, partition: number, lines: readonly string[]): Promise<void> {
  const child = spawn('kcat', ['-F', adminProperties(broker.dataDir), '-b', broker.bootstrap, '-P', '-t', topic, '-p', String(partition), '-X', 'acks=all', '-K', ':']);
  child.stdin.end(`${lines.join('\n')}\n`);
  const code = await new Promise((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, `kcat produce to ${topic}-${partition}`);
}

/** Every record of a partition as `offset key value`, read with kcat from the beginning to the end. */
async function consume(properties: string, bootstrap: string, topic: string, partition: number): Promise<string[]> {
  const { stdout } = await run('kcat', ['-F', properties, '-b', bootstrap, '-C', '-t', topic, '-p', String(partition), '-o', 'beginning', '-e', '-q', '-f', '%o %k %s\\n'], {
    maxBuffer: 256 * 1024 * 1024,
    timeout: 60_000,
  });
  return stdout.split('\n').filter((l) => l !== '');
}

/** Every regular file under `dir`. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
}

interface BackupSummary {
  readonly id: string;
  readonly seconds: number;
  readonly totalBytes: number;
  readonly storedBytes: number;
  readonly partitions: readonly { topic: string; partition: number; endOffset: string }[];
}

/** A schema registry request as the admin user of `dataDir` (HTTP Basic): GET, or POST of `body`. */
async function registry(url: string, dataDir: string, path: string, body?: object): Promise<unknown> {
  const password = /^sasl\.password=(.*)$/m.exec(readFileSync(adminProperties(dataDir), 'utf8'))?.[1] ?? assert.fail('no admin password');
  const response = await fetch(`${url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`, 'content-type': 'application/vnd.schemaregistry.v1+json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  assert.equal(response.status, 200, `${path}: ${await response.clone().text()}`);
  return response.json();
}

describe('parapet backup and restore', { timeout: 240_000 }, () => {
  it('backs up a broker while kcat produces, restores it byte for byte with offsets, users and ACLs; incremental; tamper-evident', async (t) => {
    const broker = await startBrokerProcess(t);
    const work = tempDataDir(t, 'parapet-backup-');
    const target = join(work, 'target');
    const marker = `MARKER${randomBytes(6).toString('hex')}`;
    const admin = await broker.admin();
    // Small segments: a grown log rolls, and a second backup has old segments to skip.
    await admin.createTopic('orders', 2, { 'segment.bytes': String(1024 * 1024) });
    const lines = (p: number, from: number, n: number) => Array.from({ length: n }, (_, i) => `k${p}-${from + i}:${marker}-${p}-${from + i}-${'x'.repeat(1000)}`);
    await produce(broker, 'orders', 0, lines(0, 0, 8000));
    await produce(broker, 'orders', 1, lines(1, 0, 3000));
    await broker.addUser('billing-app', 'billing-app-password-1', [
      { resourceType: ResourceType.TOPIC, resourceName: 'orders', patternType: PatternType.LITERAL, operation: AclOperation.READ, permission: AclPermissionType.ALLOW, host: '*' },
      { resourceType: ResourceType.GROUP, resourceName: 'billing', patternType: PatternType.LITERAL, operation: AclOperation.READ, permission: AclPermissionType.ALLOW, host: '*' },
    ]);
    await admin.groups.commitOffsets('billing', [
      { topic: 'orders', partition: 0, offset: 7000n },
      { topic: 'orders', partition: 1, offset: 2900n },
    ]);

    // A producer that keeps writing while the backup runs: the capture is a consistent cut of it.
    const busy = spawn('sh', ['-c', `i=0; while :; do echo "busy-$i:${marker}-busy-$i"; i=$((i+1)); [ $((i % 100)) = 0 ] && sleep 0.05; done | kcat -F ${adminProperties(broker.dataDir)} -b ${broker.bootstrap} -P -t orders -p 0 -X acks=all -K :`], { detached: true });
    // The loop and kcat are the shell's children: stop the whole process group.
    const stopBusy = () => {
      try {
        process.kill(-(busy.pid ?? 0), 'SIGKILL');
      } catch {
        // Gone already.
      }
    };
    t.after(stopBusy);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const adminUrl = /admin endpoint: (\S+)\/metrics/.exec(broker.output())?.[1] ?? assert.fail(`no admin endpoint in ${broker.output()}`);
    // Two schemas in the registry (ids 1 and 2): serializers' records carry these ids, so a restore keeps them.
    for (const title of ['OrderV1', 'OrderV2']) assert.deepEqual(await registry(adminUrl, broker.dataDir, '/subjects/orders-value/versions', { schemaType: 'JSON', schema: JSON.stringify({ title, type: 'object' }) }), { id: title === 'OrderV1' ? 1 : 2 });
    const first = await runParapet(['backup', 'create', '--to', target, '--data-dir', broker.dataDir, '--admin-url', adminUrl, '--json']);
    stopBusy();
    assert.equal(first.code, 0, first.stderr);
    const one = JSON.parse(first.stdout) as BackupSummary;
    const captured = new Map(one.partitions.map((p) => [`${p.topic}-${p.partition}`, BigInt(p.endOffset)]));
    assert.ok((captured.get('orders-0') ?? 0n) >= 8000n, `orders-0 captured up to ${String(captured.get('orders-0'))}`);
    assert.equal(captured.get('orders-1'), 3000n);

    // What the original serves up to the captured offsets is what the restore must serve.
    const expected0 = (await consume(adminProperties(broker.dataDir), broker.bootstrap, 'orders', 0)).filter((l) => BigInt(l.split(' ')[0] ?? '-1') < (captured.get('orders-0') ?? 0n));
    const expected1 = await consume(adminProperties(broker.dataDir), broker.bootstrap, 'orders', 1);
    assert.equal(BigInt(expected0.length), captured.get('orders-0'));

    // The broker recorded the completed backup: posture's backup age reads it as a broker config.
    const [node] = await admin.describeBrokers();
    const configs = await admin.describeBrokerConfigs(node?.nodeId ?? 0);
    assert.match(configs.get('parapet.backup.last.capture.time') ?? '', /^\d{4}-\d\d-\d\dT/);
    assert.equal(configs.get('parapet.backup.last.target'), `directory ${target}`);

    const listed = await runParapet(['backup', 'list', '--from', target, '--data-dir', broker.dataDir, '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const backups = JSON.parse(listed.stdout) as { id: string; complete: boolean }[];
    assert.deepEqual(backups.map((b) => [b.id, b.complete]), [[one.id, true]]);
    const verified = await runParapet(['backup', 'verify', '--from', target, '--data-dir', broker.dataDir]);
    assert.equal(verified.code, 0, `${verified.stdout}${verified.stderr}`);

    // Nothing of the records, nor a password, is in clear in any file of the target.
    for (const file of filesUnder(target)) {
      const bytes = readFileSync(file);
      assert.ok(!bytes.includes(marker), `${file} holds the record marker in clear`);
      assert.ok(!bytes.includes('billing-app-password-1'), `${file} holds a password in clear`);
    }

    // Incremental: a second backup after a little more data stores the new bytes, not the old segments again.
    await produce(broker, 'orders', 1, lines(1, 3000, 50));
    const second = await runParapet(['backup', 'create', '--to', target, '--data-dir', broker.dataDir, '--admin-url', adminUrl, '--json']);
    assert.equal(second.code, 0, second.stderr);
    const two = JSON.parse(second.stdout) as BackupSummary;
    assert.ok(two.storedBytes < two.totalBytes / 3, `the second backup stored ${two.storedBytes} of ${two.totalBytes} bytes`);
    t.diagnostic(`first backup: ${one.totalBytes} bytes in ${one.seconds.toFixed(2)} s (taken while kcat produced); second: stored ${two.storedBytes} of ${two.totalBytes} bytes`);

    // Restore the first backup into a new directory and serve it.
    const restoredDir = join(work, 'restored');
    const restored = await runParapet(['restore', '--from', target, '--backup', one.id, '--data-dir', restoredDir, '--keys-from', broker.dataDir]);
    assert.equal(restored.code, 0, `${restored.stdout}${restored.stderr}`);
    await broker.stop();
    const again = await startBrokerProcess(t, { dataDir: restoredDir });
    assert.deepEqual(await consume(adminProperties(restoredDir), again.bootstrap, 'orders', 0), expected0);
    assert.deepEqual(await consume(adminProperties(restoredDir), again.bootstrap, 'orders', 1), expected1);
    const offsets = await (await again.admin()).groups.committedOffsets('billing');
    assert.deepEqual(offsets.map((o) => [o.topic, o.partition, o.offset]).sort(), [
      ['orders', 0, 7000n],
      ['orders', 1, 2900n],
    ]);
    // The user and its ACLs came back: it logs in and reads.
    const appProperties = join(work, 'app.properties');
    writeFileSync(
      appProperties,
      readFileSync(adminProperties(restoredDir), 'utf8').replace(/^sasl\.username=.*$/m, 'sasl.username=billing-app').replace(/^sasl\.password=.*$/m, 'sasl.password=billing-app-password-1'),
      { mode: 0o600 },
    );
    assert.deepEqual(await consume(appProperties, again.bootstrap, 'orders', 1), expected1);
    // The registry came back with its ids, and its id counter: a new schema gets 3, not a reused id.
    const againUrl = /admin endpoint: (\S+)\/metrics/.exec(again.output())?.[1] ?? assert.fail('no admin endpoint after the restore');
    assert.equal((await registry(againUrl, restoredDir, '/schemas/ids/2') as { schema: string }).schema, JSON.stringify({ title: 'OrderV2', type: 'object' }));
    assert.deepEqual(await registry(againUrl, restoredDir, '/subjects/orders-value/versions'), [1, 2]);
    assert.deepEqual(await registry(againUrl, restoredDir, '/subjects/orders-value/versions', { schemaType: 'JSON', schema: JSON.stringify({ title: 'OrderV3', type: 'object' }) }), { id: 3 });

    // Tampering: a flipped byte in one chunk fails verify naming it, and restore refuses.
    const manifest = JSON.parse(readFileSync(join(target, 'backups', one.id, 'manifest.json'), 'utf8')) as { files: { kind: string; chunks: { id: string }[] }[] };
    const chunkId = manifest.files.find((f) => f.kind === 'segment')?.chunks[0]?.id ?? assert.fail('no segment chunk in the manifest');
    const victim = join(target, 'chunks', chunkId.slice(0, 2), chunkId);
    const bytes = readFileSync(victim);
    bytes[bytes.length - 20] = (bytes[bytes.length - 20] ?? 0) ^ 0x01;
    writeFileSync(victim, bytes);
    const tampered = await runParapet(['backup', 'verify', '--from', target, '--backup', one.id, '--data-dir', broker.dataDir]);
    assert.notEqual(tampered.code, 0);
    assert.ok(`${tampered.stdout}${tampered.stderr}`.includes(chunkId), `verify names the chunk ${chunkId}: ${tampered.stdout}${tampered.stderr}`);
    const refused = await runParapet(['restore', '--from', target, '--backup', one.id, '--data-dir', join(work, 'refused'), '--keys-from', broker.dataDir]);
    assert.notEqual(refused.code, 0);
    assert.ok(!existsSync(join(work, 'refused', 'metadata.db')), 'a refused restore leaves no data directory to start');
  });
});
