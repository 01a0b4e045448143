import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { runParapet } from '../helpers/cli-process.js';
import { tempDataDir } from '../helpers/durability.js';
import { startBrokerProcess } from '../security/attack-support.js';

/**
 * "Someone deleted a topic" (issue 17, docs/operations/backup-and-recovery.md#restoring-one-topic):
 * `parapet restore --topic NAME[=NEW]` puts a topic of a backup back into the stopped broker's own data
 * directory, with its records, configs and the committed offsets groups had on it; what the directory
 * already uses (a name, the topic's id) is refused, and so is a directory whose broker runs.
 */

const run = promisify(execFile);

/** `parapet ARGS`, its two outputs together (what a person at a terminal reads). */
async function parapet(args: readonly string[]): Promise<{ code: number; out: string }> {
  const { code, stdout, stderr } = await runParapet(args, { timeoutMs: 120_000 });
  return { code, out: stdout + stderr };
}

async function consume(properties: string, bootstrap: string, topic: string, partition: number): Promise<string[]> {
  const { stdout } = await run('kcat', ['-F', properties, '-b', bootstrap, '-C', '-t', topic, '-p', String(partition), '-o', 'beginning', '-e', '-q', '-f', '%o %k %s\\n'], { timeout: 60_000 });
  return stdout.split('\n').filter((l) => l !== '');
}


describe('parapet restore --topic', { timeout: 180_000 }, () => {
  it('brings a deleted topic back into the broker\'s own data directory, under a new name, with its group offsets', async (t) => {
    const broker = await startBrokerProcess(t);
    const properties = join(broker.dataDir, 'client', 'admin.properties');
    const target = join(tempDataDir(t, 'parapet-restore-topic-'), 'backups');
    const admin = await broker.admin();
    await admin.createTopic('orders', 2, { 'retention.ms': '604800000' });
    for (const p of [0, 1]) {
      const kcat = spawn('kcat', ['-F', properties, '-b', broker.bootstrap, '-P', '-t', 'orders', '-p', String(p), '-K', ':', '-X', 'acks=all']);
      kcat.stdin.end(`${Array.from({ length: 100 }, (_, i) => `k${i}:order-${p}-${i}`).join('\n')}\n`);
      assert.equal(await new Promise((resolve) => kcat.once('exit', resolve)), 0);
    }
    const expected = [await consume(properties, broker.bootstrap, 'orders', 0), await consume(properties, broker.bootstrap, 'orders', 1)];
    await admin.groups.commitOffsets('billing', [{ topic: 'orders', partition: 1, offset: 60n }]);
    const adminUrl = /admin endpoint: (\S+)\/metrics/.exec(broker.output())?.[1] ?? assert.fail('no admin endpoint');
    const backup = await parapet(['backup', 'create', '--to', target, '--data-dir', broker.dataDir, '--admin-url', adminUrl]);
    assert.equal(backup.code, 0, backup.out);

    await admin.deleteTopic('orders');
    const live = await parapet(['restore', '--from', target, '--data-dir', broker.dataDir, '--keys-from', broker.dataDir, '--topic', 'orders']);
    assert.notEqual(live.code, 0);
    assert.match(live.out, /in use by parapet start/, 'refused while the broker runs');
    await broker.stop();

    const restored = await parapet(['restore', '--from', target, '--data-dir', broker.dataDir, '--keys-from', broker.dataDir, '--topic', 'orders=orders-restored']);
    assert.equal(restored.code, 0, restored.out);
    assert.match(restored.out, /restored topic orders as orders-restored \(id \S+, 2 partition\(s\), 1 committed group offset\(s\)\)/);
    const again = await parapet(['restore', '--from', target, '--data-dir', broker.dataDir, '--keys-from', broker.dataDir, '--topic', 'orders=orders-restored']);
    assert.equal(again.code, 2);
    assert.match(again.out, /has a topic orders-restored already/);
    const sameId = await parapet(['restore', '--from', target, '--data-dir', broker.dataDir, '--keys-from', broker.dataDir, '--topic', 'orders']);
    assert.equal(sameId.code, 2);
    assert.match(sameId.out, /id \S+ is in use/);

    const back = await startBrokerProcess(t, { dataDir: broker.dataDir });
    assert.deepEqual([await consume(properties, back.bootstrap, 'orders-restored', 0), await consume(properties, back.bootstrap, 'orders-restored', 1)], expected);
    const offsets = await (await back.admin()).groups.committedOffsets('billing');
    assert.deepEqual(offsets.map((o) => [o.topic, o.partition, o.offset]), [['orders-restored', 1, 60n]]);
    const described = await (await back.admin()).describeTopic('orders-restored');
    assert.equal(described.configs.find((c) => c.name === 'retention.ms')?.value, '604800000', 'its configs came back');
  });
});
