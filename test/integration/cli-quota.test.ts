import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { fails, ok, parapet } from '../helpers/admin-cli.js';
import { startBroker } from '../helpers/broker.js';

async function setup(t: TestContext): Promise<string[]> {
  const { bootstrap } = await startBroker(t);
  const dir = mkdtempSync(join(tmpdir(), 'parapet-cli-quota-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const file = join(dir, 'admin.properties');
  writeFileSync(file, `bootstrap.servers=${bootstrap}\nsecurity.protocol=PLAINTEXT\n`, { mode: 0o600 });
  return ['--client-config', file, '--data-dir', dir];
}

describe('parapet quota', () => {
  it('sets, lists and removes quotas of users, client ids and defaults through AlterClientQuotas/DescribeClientQuotas', async (t) => {
    const flags = await setup(t);
    assert.equal(ok(await parapet(['quota', 'list', ...flags])), 'no quota entities set (the config file’s per-user defaults apply)\n');
    assert.equal(
      ok(await parapet(['quota', 'set', '--user', 'alice', '--producer-byte-rate', '1048576', '--request-percentage', '25', ...flags])),
      'set: user=alice producer_byte_rate=1048576 request_percentage=25\n',
    );
    ok(await parapet(['quota', 'set', '--default-user', '--client-id', 'batch', '--consumer-byte-rate', '2048', ...flags]));
    ok(await parapet(['quota', 'set', '--default-client-id', '--controller-mutation-rate', '5', ...flags]));
    assert.equal(ok(await parapet(['quota', 'set', '--user', 'bob', '--producer-byte-rate', '1', '--validate-only', ...flags])), 'valid (not stored): user=bob producer_byte_rate=1\n');
    assert.equal(
      ok(await parapet(['quota', 'list', ...flags])),
      [
        'ENTITY                          QUOTAS',
        'client-id=<default>             controller_mutation_rate=5',
        'user=<default> client-id=batch  consumer_byte_rate=2048',
        'user=alice                      producer_byte_rate=1048576 request_percentage=25',
        '',
      ].join('\n'),
    );
    assert.match(ok(await parapet(['quota', 'list', '--user', 'alice', ...flags])), /^user=alice +producer_byte_rate=1048576 request_percentage=25$/m);

    assert.equal(ok(await parapet(['quota', 'remove', '--user', 'alice', '--key', 'request_percentage', ...flags])), 'removed: user=alice request_percentage\n');
    assert.equal(ok(await parapet(['quota', 'remove', '--default-client-id', ...flags])), 'removed: client-id=<default> controller_mutation_rate\n');
    const left = ok(await parapet(['quota', 'list', ...flags]));
    assert.doesNotMatch(left, /request_percentage|controller_mutation_rate/);
    assert.match(left, /^user=alice +producer_byte_rate=1048576$/m);
  });

  it('refuses bad usage with exit 2 and what the broker refuses with exit 1, saying why', async (t) => {
    const flags = await setup(t);
    fails(await parapet(['quota', 'set', '--producer-byte-rate', '10', ...flags]), 2, /name the entity/);
    fails(await parapet(['quota', 'set', '--user', 'alice', ...flags]), 2, /give at least one value/);
    fails(await parapet(['quota', 'set', '--user', 'alice', '--producer-byte-rate', '1.5', ...flags]), 2, /--producer-byte-rate must be a positive whole number/);
    fails(await parapet(['quota', 'set', '--user', 'alice', '--default-user', '--producer-byte-rate', '1', ...flags]), 2, /not both/);
    fails(await parapet(['quota', 'remove', '--user', 'nobody', ...flags]), 1, /no quota is set for user=nobody/);
    fails(await parapet(['quota', 'remove', '--user', 'alice', '--key', 'bandwidth', ...flags]), 1, /INVALID_REQUEST \(42\).*unknown quota key "bandwidth"/);
    fails(await parapet(['quota', 'set', '--client-id', 'x'.repeat(300), '--producer-byte-rate', '1', ...flags]), 1, /maxClientIdLength/);
  });
});
