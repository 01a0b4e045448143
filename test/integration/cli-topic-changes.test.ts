import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { fails, ok, parapet } from '../helpers/admin-cli.js';
import { startBroker } from '../helpers/broker.js';
import { runFile } from '../interop/support.js';

/** `parapet topic alter|add-partitions`, each checked by describing the topic afterwards. */

async function setup(t: TestContext): Promise<{ bootstrap: string; flags: string[] }> {
  const { bootstrap } = await startBroker(t);
  const dir = mkdtempSync(join(tmpdir(), 'parapet-cli-topics-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const file = join(dir, 'admin.properties');
  writeFileSync(file, `bootstrap.servers=${bootstrap}\nsecurity.protocol=PLAINTEXT\n`, { mode: 0o600 });
  return { bootstrap, flags: ['--client-config', file] };
}

/** The `configs:` part of `topic describe`: the configs that differ from the defaults. */
async function overrides(flags: readonly string[], topic: string): Promise<string[]> {
  const lines = ok(await parapet(['topic', 'describe', topic, ...flags])).trimEnd().split('\n');
  return lines.slice(lines.findIndex((l) => l.startsWith('configs:'))).map((l) => l.trim());
}

describe('parapet topic alter', () => {
  it('sets and deletes single configs, leaving the others alone', async (t) => {
    const { flags } = await setup(t);
    ok(await parapet(['topic', 'create', 'orders', '--config', 'segment.ms=3600000', ...flags]));
    assert.equal(
      ok(await parapet(['topic', 'alter', 'orders', '--config', 'retention.ms=86400000', '--config', 'max.message.bytes=2000000', ...flags])),
      'altered topic "orders": set retention.ms=86400000, set max.message.bytes=2000000\n',
    );
    assert.deepEqual(await overrides(flags, 'orders'), ['configs:', 'max.message.bytes=2000000', 'retention.ms=86400000', 'segment.ms=3600000']);

    assert.equal(
      ok(await parapet(['topic', 'alter', 'orders', '--delete-config', 'retention.ms', '--config', 'segment.ms=7200000', ...flags])),
      'altered topic "orders": set segment.ms=7200000, deleted retention.ms\n',
    );
    assert.deepEqual(await overrides(flags, 'orders'), ['configs:', 'max.message.bytes=2000000', 'segment.ms=7200000']);
    ok(await parapet(['topic', 'alter', 'orders', '--delete-config', 'max.message.bytes', '--delete-config', 'segment.ms', ...flags]));
    assert.deepEqual(await overrides(flags, 'orders'), ['configs: (all default)']);
  });

  it("shows the broker's refusal of an unknown key, a bad value or an unknown topic on one line; usage mistakes exit 2", async (t) => {
    const { flags } = await setup(t);
    ok(await parapet(['topic', 'create', 'orders', ...flags]));
    fails(
      await parapet(['topic', 'alter', 'orders', '--config', 'retention.milliseconds=5', ...flags]),
      1,
      /^parapet: alter configs of topic "orders" failed: INVALID_CONFIG \(40\): .*retention\.milliseconds/,
    );
    fails(
      await parapet(['topic', 'alter', 'orders', '--delete-config', 'no.such.key', ...flags]),
      1,
      /^parapet: alter configs of topic "orders" failed: INVALID_CONFIG \(40\): unknown topic config no\.such\.key\n$/,
    );
    fails(await parapet(['topic', 'alter', 'orders', '--config', 'retention.ms=soon', ...flags]), 1, /INVALID_CONFIG \(40\): .*retention\.ms/);
    fails(await parapet(['topic', 'alter', 'nope', '--config', 'retention.ms=1000', ...flags]), 1, /^parapet: alter configs of topic "nope" failed: UNKNOWN_TOPIC_OR_PARTITION \(3\)/);
    assert.deepEqual(await overrides(flags, 'orders'), ['configs: (all default)']);

    for (const [args, message] of [
      [['orders'], /give --config KEY=VALUE or --delete-config KEY/],
      [['orders', '--config', 'retention.ms'], /--config expects key=value/],
      [['orders', '--config', 'retention.ms=1', '--delete-config', 'retention.ms'], /retention\.ms is both set with --config and deleted with --delete-config/],
      [[], /missing required argument/],
    ] as const) {
      fails(await parapet(['topic', 'alter', ...args, ...flags]), 2, message);
    }
  });
});

describe('parapet topic add-partitions', () => {
  it('grows a topic to the new total, which producers can then write to', async (t) => {
    const { bootstrap, flags } = await setup(t);
    ok(await parapet(['topic', 'create', 'orders', '--partitions', '3', ...flags]));
    assert.equal(ok(await parapet(['topic', 'add-partitions', 'orders', '--count', '5', ...flags])), 'topic "orders" now has 5 partitions (2 added)\n');
    const described = ok(await parapet(['topic', 'describe', 'orders', ...flags]));
    assert.match(described, /^partitions: 5$/m);
    assert.match(described, /^ {2}partition 4: leader=/m);
    await runFile('sh', ['-c', `printf 'on the new partition\\n' | kcat -b ${bootstrap} -P -t orders -p 4`]);
    const { stdout } = await runFile('kcat', ['-b', bootstrap, '-C', '-t', 'orders', '-p', '4', '-o', 'beginning', '-e', '-q']);
    assert.equal(stdout, 'on the new partition\n');
  });

  it('refuses a count that is not more than the current one, and an unknown topic, on one line', async (t) => {
    const { flags } = await setup(t);
    ok(await parapet(['topic', 'create', 'orders', '--partitions', '3', ...flags]));
    for (const count of ['3', '2']) {
      fails(
        await parapet(['topic', 'add-partitions', 'orders', '--count', count, ...flags]),
        1,
        /^parapet: topic "orders" already has 3 partitions: --count is the new total and must be more than 3 \(partitions can be added, never removed\)\n$/,
      );
    }
    fails(await parapet(['topic', 'add-partitions', 'nope', '--count', '4', ...flags]), 1, /^parapet: add partitions to topic "nope" failed: UNKNOWN_TOPIC_OR_PARTITION \(3\)\n$/);
    assert.match(ok(await parapet(['topic', 'describe', 'orders', ...flags])), /^partitions: 3$/m);
    fails(await parapet(['topic', 'add-partitions', 'orders', '--count', '0', ...flags]), 2, /--count must be an integer from 1/);
    fails(await parapet(['topic', 'add-partitions', 'orders', ...flags]), 2, /required option '--count <n>' not specified/);
  });
});
