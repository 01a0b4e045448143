import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runParapet } from '../helpers/cli-process.js';
import { kcat, writeProperties } from '../interop/security-support.js';
import { startBrokerProcess } from '../security/attack-support.js';
import { until } from './session-support.js';

/**
 * `parapet lockdown` survives a restart of the broker process (issue 16): the broker prints a warning
 * and logs a `lockdown-in-force` event at warn level at the start, still refuses a non-super user, and
 * lets the super user lift it.
 */

const USERS = { bob: 'bob-lockdown-password-1' };

describe('parapet lockdown across a restart', () => {
  it('survives a restart of the broker process: warned about at the start, still refusing bob, lifted by the super user', { timeout: 60_000 }, async (t) => {
    const first = await startBrokerProcess(t);
    const adminUrl = (out: string) => {
      const url = /admin endpoint: (http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(out)?.[1];
      assert.ok(url !== undefined, out);
      return url;
    };
    await first.addUser('bob', USERS.bob);
    const on = await runParapet(['lockdown', 'on', '--reason', 'incident 7', '--data-dir', first.dataDir, '--admin-url', adminUrl(first.output())]);
    assert.equal(on.code, 0, on.stderr);
    assert.equal(await first.stop(), 0);

    const second = await startBrokerProcess(t, { dataDir: first.dataDir });
    await until(() => second.output().includes('lockdown-in-force') && second.output().includes('LOCKDOWN in force'), 'the lockdown warnings in the log and the banner', 10_000);
    assert.match(second.output(), /warning: LOCKDOWN in force since \S+ \(by User:admin: incident 7\): only super users may connect; lift it with `parapet lockdown off`/);
    const warnLine = second.output().split('\n').find((l) => l.includes('"event":"lockdown-in-force"'));
    assert.ok(warnLine !== undefined);
    assert.equal((JSON.parse(warnLine) as { level?: string }).level, 'warn');

    const bobProperties = writeProperties(join(second.dataDir, 'client', 'test-bob.properties'), {
      'bootstrap.servers': second.bootstrap,
      'security.protocol': 'SASL_SSL',
      'sasl.mechanisms': 'SCRAM-SHA-512',
      'sasl.username': 'bob',
      'sasl.password': USERS.bob,
      'ssl.ca.location': second.caFile,
    });
    const refused = await kcat(['-F', bobProperties, '-L', '-m', '3'], { timeoutMs: 15_000 });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /Authentication failed: invalid credentials/);
    const adminProperties = join(second.dataDir, 'client', 'admin.properties');
    const admin = await kcat(['-F', adminProperties, '-b', second.bootstrap, '-L', '-m', '5'], { timeoutMs: 15_000 });
    assert.equal(admin.code, 0, admin.stderr);

    const cli = ['--data-dir', second.dataDir, '--admin-url', adminUrl(second.output())];
    const status = await runParapet(['lockdown', 'status', '--json', ...cli]);
    const state = JSON.parse(status.stdout) as { on: boolean; by: string; reason: string };
    assert.deepEqual([state.on, state.by, state.reason], [true, 'User:admin', 'incident 7']);
    assert.equal((await runParapet(['lockdown', 'off', ...cli])).code, 0);
    const allowed = await kcat(['-F', bobProperties, '-L', '-m', '5'], { timeoutMs: 15_000 });
    assert.equal(allowed.code, 0, allowed.stderr);
  });
});
