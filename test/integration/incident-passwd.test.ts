import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CloseReasons } from '../../src/close-reasons.js';
import { runParapet } from '../helpers/cli-process.js';
import { createTopic } from '../helpers/client.js';
import { startSecureBroker } from '../helpers/secure-broker.js';
import { appAcls, kcat } from '../interop/security-support.js';
import { closedWith, kcatConsumer, sessionsOf, until } from './session-support.js';

/**
 * Forced password changes after a credential leak (issue 16): `parapet user passwd NAME --generate`
 * and `parapet user passwd --all --generate --out-dir DIR`. Each change ends the live sessions made
 * with the old password (CREDENTIALS_REVOKED) and is audited; the new passwords exist only in 0600
 * files (DIR 0700), never on the terminal.
 */

const USERS = { alice: 'alice-passwd-password-1', bob: 'bob-passwd-password-1' };
const TOPIC = 'passwd-orders';

const passwordIn = (file: string) => /^sasl\.password=(.*)$/m.exec(readFileSync(file, 'utf8'))?.[1];

describe('forced password changes', () => {
  it('passwd --generate for one user, then --all: live consumers are cut, the new files work, no password is printed', { timeout: 60_000 }, async (t) => {
    const b = await startSecureBroker(t, { users: USERS, acls: [...appAcls('User:alice', TOPIC, 'g-alice'), ...appAcls('User:bob', TOPIC, 'g-bob')] });
    await createTopic(b.adminProperties, TOPIC);
    assert.equal((await kcat(['-F', b.adminProperties, '-P', '-t', TOPIC, '-p', '0'], { input: Buffer.from('x\n') })).code, 0);
    const alice = kcatConsumer(t, b.clientConfig('alice', USERS.alice), TOPIC);
    const bob = kcatConsumer(t, b.clientConfig('bob', USERS.bob), TOPIC);
    await until(() => alice.lines().length === 1 && bob.lines().length === 1, 'both consumers to read');
    const root = mkdtempSync(join(tmpdir(), 'parapet-passwd-'));
    t.after(() => {
      rmSync(root, { recursive: true, force: true });
    });

    await t.test('passwd alice --generate: her connections close, her new settings file (0600) logs in, bob is untouched', async () => {
      const aliceIds = sessionsOf(b, 'User:alice').map((s) => s.id);
      const bobIds = sessionsOf(b, 'User:bob').map((s) => s.id);
      const eventsBefore = b.events.length;
      const changed = await runParapet(['user', 'passwd', 'alice', '--generate', '--data-dir', b.dataDir]);
      assert.equal(changed.code, 0, changed.stderr);
      const file = join(b.dataDir, 'client', 'alice.properties');
      assert.match(changed.stdout, /^changed the password of "alice": /);
      assert.ok(changed.stdout.includes(file));
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const password = passwordIn(file);
      assert.ok(password !== undefined && password.length >= 32);
      assert.ok(!changed.stdout.includes(password) && !changed.stderr.includes(password), 'the password is not printed');
      await until(() => aliceIds.every((id) => !b.broker.sessions.list().some((s) => s.id === id)), 'alice’s connections to close', 2000, 5);
      // kcat's reconnection, if it was logging in with the old password when the change landed, is closed too.
      const revoked = closedWith(b.events.slice(eventsBefore), CloseReasons.CREDENTIALS_REVOKED);
      assert.ok(aliceIds.every((id) => revoked.includes(id)), `${revoked.join(',')} ⊇ ${aliceIds.join(',')}`);
      assert.deepEqual(sessionsOf(b, 'User:bob').map((s) => s.id), bobIds);
      assert.equal((await kcat(['-F', file, '-L', '-m', '5'])).code, 0);
      assert.notEqual((await kcat(['-F', b.clientConfig('alice', USERS.alice), '-L', '-m', '5'])).code, 0, 'the old password is refused');
    });

    await t.test('passwd --all --generate --out-dir: every user but the one running it, each file 0600 in a 0700 directory', async () => {
      const bobIds = sessionsOf(b, 'User:bob').map((s) => s.id);
      assert.ok(bobIds.length > 0);
      const out = join(root, 'new-passwords');
      const eventsBefore = b.events.length;
      const all = await runParapet(['user', 'passwd', '--all', '--generate', '--out-dir', out, '--data-dir', b.dataDir]);
      assert.equal(all.code, 0, all.stderr);
      assert.match(all.stdout, /^skipped "admin": this command logs in as it; change it with `parapet user passwd admin`$/m);
      assert.match(all.stdout, /^changed the password of "alice": .* -> .*new-passwords\/alice\.properties$/m);
      assert.match(all.stdout, /^changed the password of "bob": .* -> .*new-passwords\/bob\.properties$/m);
      assert.equal(statSync(out).mode & 0o777, 0o700);
      for (const user of ['alice', 'bob']) {
        const file = join(out, `${user}.properties`);
        assert.equal(statSync(file).mode & 0o777, 0o600);
        const password = passwordIn(file);
        assert.ok(password !== undefined && !all.stdout.includes(password));
        const listed = await kcat(['-F', file, '-L', '-m', '5']);
        assert.equal(listed.code, 0, listed.stderr);
      }
      await until(() => bobIds.every((id) => !b.broker.sessions.list().some((s) => s.id === id)), 'bob’s connections to close', 2000, 5);
      const later = b.events.slice(eventsBefore);
      const revoked = closedWith(later, CloseReasons.CREDENTIALS_REVOKED);
      assert.ok(bobIds.every((id) => revoked.includes(id)), `${revoked.join(',')} ⊇ ${bobIds.join(',')}`);
      const audited = later.flatMap((e) => (e.type === 'admin-change' && e.action === 'alter-user-scram-credentials' ? [JSON.stringify(e.detail)] : []));
      assert.ok(audited.some((d) => d.includes('"alice"')) && audited.some((d) => d.includes('"bob"')), audited.join('\n'));
      assert.equal((await kcat(['-F', b.adminProperties, '-L', '-m', '5'])).code, 0, 'the admin’s own settings still work');
    });

    await t.test('refuses bad usage (exit 2) before changing anything: no --out-dir, a name with --all, an out-dir open to others, --generate with --password-stdin', async () => {
      const open = join(root, 'open');
      mkdirSync(open, { mode: 0o755 });
      const cases: [string[], RegExp][] = [
        [['user', 'passwd', '--all', '--generate'], /--all needs --out-dir DIR/],
        [['user', 'passwd', 'alice', '--all', '--out-dir', join(root, 'x')], /give a user name or --all, not both/],
        [['user', 'passwd', '--all', '--out-dir', open], /is open to other accounts \(mode 755\)/],
        [['user', 'passwd', 'alice', '--generate', '--password-stdin'], /cannot be used with option/],
        [['user', 'passwd'], /give a user name, or --all/],
      ];
      for (const [args, message] of cases) {
        const run = await runParapet([...args, '--data-dir', b.dataDir]);
        assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
        assert.match(run.stderr, message);
      }
    });
  });
});
