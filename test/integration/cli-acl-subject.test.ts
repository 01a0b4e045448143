import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { ok, parapet } from '../helpers/admin-cli.js';
import { startBroker } from '../helpers/broker.js';

/** A broker (plaintext and anonymous) and a client config for it, as cli-admin.test.ts has. */
async function setup(t: TestContext): Promise<string[]> {
  const { bootstrap } = await startBroker(t);
  const dir = mkdtempSync(join(tmpdir(), 'parapet-cli-subject-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const file = join(dir, 'admin.properties');
  writeFileSync(file, `bootstrap.servers=${bootstrap}\nsecurity.protocol=PLAINTEXT\n`, { mode: 0o600 });
  return ['--client-config', file, '--data-dir', dir];
}

describe('parapet acl --subject (the schema registry’s SUBJECT resource)', () => {
  it('adds, lists (with a filter or without) and removes SUBJECT bindings', async (t) => {
    const flags = await setup(t);
    ok(await parapet(['user', 'add', 'alice', '--password-stdin', ...flags], 'alice-secret-1\n'));
    assert.equal(
      ok(await parapet(['acl', 'add', '--principal', 'User:alice', '--allow', '--operation', 'write', '--subject', 'orders-', '--prefixed', ...flags])),
      'added principal=User:alice permission=ALLOW operation=WRITE resource=SUBJECT name=orders- pattern=PREFIXED host=*\n',
    );
    ok(await parapet(['acl', 'add', '--principal', 'User:alice', '--allow', '--operation', 'read', '--topic', 'orders', ...flags]));
    const line = 'principal=User:alice permission=ALLOW operation=WRITE resource=SUBJECT name=orders- pattern=PREFIXED host=*';
    assert.equal(ok(await parapet(['acl', 'list', '--subject', 'orders-', ...flags])), `${line}\n`);
    const all = ok(await parapet(['acl', 'list', ...flags]));
    assert.ok(all.includes(line) && all.includes('resource=TOPIC name=orders'), all);
    assert.equal(ok(await parapet(['acl', 'remove', '--subject', 'orders-', '--prefixed', ...flags])), `removed ${line}\n`);
    assert.ok(!ok(await parapet(['acl', 'list', ...flags])).includes('SUBJECT'));
  });
});
