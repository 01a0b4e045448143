import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fails, ok, parapet, type CliRun } from '../helpers/admin-cli.js';
import { startSecureBroker } from '../helpers/secure-broker.js';

/**
 * `acl add` warns (on stderr, exit 0, the binding still created) about a `*` that is not Kafka's
 * wildcard, and about a User principal without SCRAM credentials.
 */

function warned(run: CliRun): string[] {
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^added /);
  return run.stderr
    .trimEnd()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      assert.match(l, /^parapet: warning: /);
      return l.slice('parapet: warning: '.length);
    });
}

describe('parapet acl add warnings', () => {
  it('warns about a LITERAL or PREFIXED group or transactional id with "*" in it, and shows the prefixed form meant; creates the binding anyway', async (t) => {
    const sb = await startSecureBroker(t, { users: { alice: 'alice-secret-1' } });
    const flags = ['--client-config', sb.adminProperties];
    const add = (...args: string[]) => parapet(['acl', 'add', '--principal', 'User:alice', '--allow', '--operation', 'READ', ...args, ...flags]);

    assert.deepEqual(warned(await add('--group', 'orders-*')), [
      'the LITERAL binding on group "orders-*" matches only a group named exactly "orders-*": "*" is a wildcard only as the whole name. ' +
        'You probably meant --group orders- --prefixed, which matches every group whose name starts with "orders-".',
    ]);
    assert.match(warned(await add('--transactional-id', '*-eu'))[0] ?? '', /Kafka ACLs match a whole name, a prefix \(--prefixed\) or every name \(--transactional-id '\*'\), nothing else\.$/);
    assert.deepEqual(warned(await add('--group', 'team a*', '--prefixed')), [
      `the PREFIXED binding on "team a*" matches group names that start with "team a*", "*" included: a prefix takes no wildcard. ` +
        `You probably meant --group 'team a' --prefixed, which matches every group whose name starts with "team a".`,
    ]);

    // Kafka's wildcard, and a plain prefix: nothing to say.
    ok(await add('--topic', '*'));
    ok(await add('--group', 'orders-', '--prefixed'));

    const listed = ok(await parapet(['acl', 'list', '--principal', 'User:alice', ...flags]));
    for (const [resource, name, pattern] of [
      ['GROUP', 'orders-*', 'LITERAL'],
      ['TRANSACTIONAL_ID', '*-eu', 'LITERAL'],
      ['GROUP', '"team a*"', 'PREFIXED'],
      ['TOPIC', '*', 'LITERAL'],
      ['GROUP', 'orders-', 'PREFIXED'],
    ] as const) {
      assert.ok(listed.includes(`operation=READ resource=${resource} name=${name} pattern=${pattern} host=*`), `${resource} ${name} ${pattern} in:\n${listed}`);
    }
  });

  it('refuses a topic binding no topic could match (a "*" inside a topic name or prefix), before connecting, and says what was meant', async (t) => {
    const sb = await startSecureBroker(t, { users: { alice: 'alice-secret-1' } });
    const flags = ['--client-config', sb.adminProperties];
    const add = (...args: string[]) => parapet(['acl', 'add', '--principal', 'User:alice', '--allow', '--operation', 'READ', ...args, ...flags]);
    fails(
      await add('--topic', 'logs.*.eu'),
      2,
      /--topic "logs\.\*\.eu": a topic name may only contain ASCII letters, digits, "\.", "_" and "-", so the binding could never apply\. You probably meant --topic logs\. --prefixed, which matches every topic whose name starts with "logs\."\.$/m,
    );
    fails(await add('--topic', '*', '--prefixed'), 2, /You probably meant --topic '\*' without --prefixed, which matches every topic\.$/m);
    fails(await add('--topic', 'x'.repeat(250)), 2, /at most 249 characters/);
    assert.equal(ok(await parapet(['acl', 'list', '--principal', 'User:alice', ...flags])), '');
  });

  it('warns about a User principal without SCRAM credentials, but not about one that has them, User:* or a prefixed principal', async (t) => {
    const sb = await startSecureBroker(t, { users: { alice: 'alice-secret-1' } });
    const flags = ['--client-config', sb.adminProperties, '--data-dir', sb.dataDir];
    const add = (principal: string) => parapet(['acl', 'add', '--principal', principal, '--allow', '--operation', 'WRITE', '--topic', 'orders', ...flags]);

    assert.deepEqual(warned(await add('User:alicee')), [
      'there is no SCRAM user "alicee": the binding applies only once a client logs in as User:alicee. ' +
        'That is as intended for a principal that logs in with a client certificate (mTLS) or an OAUTHBEARER token; ' +
        'otherwise check the name, or create the user: parapet user add alicee',
    ]);
    ok(await add('User:alice'));
    ok(await add('User:*'));
    // A prefixed certificate or OAUTHBEARER principal can never be a SCRAM user: nothing to warn about.
    ok(await add('User:cert:alice'));
    // The admin user exists (parapet init made it); a name with shell characters is quoted in the hint.
    ok(await add('User:admin'));
    assert.match(warned(await add('User:o\'brien x'))[0] ?? '', /create the user: parapet user add 'o'\\''brien x'$/);
    assert.match(ok(await parapet(['acl', 'list', '--principal', 'User:alicee', ...flags])), /^principal=User:alicee permission=ALLOW operation=WRITE resource=TOPIC name=orders/);

    // Once the user exists, the same binding draws no warning.
    ok(await parapet(['user', 'add', 'alicee', '--password-stdin', ...flags], 'alicee-secret-1\n'));
    ok(await add('User:alicee'));
  });
});
