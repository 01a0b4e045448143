import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseReasons } from '../../src/close-reasons.js';
import type { SecurityEvent } from '../../src/security/events.js';
import type { SessionInfo } from '../../src/server/session-registry.js';
import { runParapet } from '../helpers/cli-process.js';
import { createTopic } from '../helpers/client.js';
import { startSecureBroker } from '../helpers/secure-broker.js';
import { appAcls, kcat } from '../interop/security-support.js';
import { closedWith, kcatConsumer, sessionsOf, until } from './session-support.js';

/**
 * `parapet sessions list|kill` against a live kcat consumer, through the admin endpoint's /v1/sessions
 * routes; and those routes' refusals: no credentials or a wrong password (401), a user who is neither a
 * super user nor allowed on the CLUSTER (403), a flood (429). Every answered request is audited.
 */

const USERS = { alice: 'alice-not-an-admin-pw', carol: 'carol-sessions-password-1' };
const TOPIC = 'sessions-admin';

function requests(events: readonly SecurityEvent[]): Extract<SecurityEvent, { type: 'admin-request' }>[] {
  return events.flatMap((e) => (e.type === 'admin-request' ? [e] : []));
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('parapet sessions and the /v1/sessions routes', () => {
  it('lists a live kcat session with its client software, kills it by principal and by id; refuses and audits the others', async (t) => {
    const b = await startSecureBroker(t, { users: USERS, acls: appAcls('User:carol', TOPIC, 'g') });
    await createTopic(b.adminProperties, TOPIC);
    const produced = await kcat(['-F', b.adminProperties, '-P', '-t', TOPIC, '-p', '0'], { input: Buffer.from('x\n') });
    assert.equal(produced.code, 0, produced.stderr);
    const url = b.broker.adminUrl;
    assert.ok(url !== undefined);
    const cli = ['--data-dir', b.dataDir, '--admin-url', url];

    const consumer = kcatConsumer(t, b.clientConfig('carol', USERS.carol), TOPIC);
    await until(() => consumer.lines().length === 1, 'kcat to consume');

    await t.test('list: a table with the principal, mechanism and client software; --json the same rows', async () => {
      const listed = await runParapet(['sessions', 'list', ...cli]);
      assert.equal(listed.code, 0, listed.stderr);
      const header = listed.stdout.split('\n')[0] ?? '';
      assert.match(header, /^ID +PRINCIPAL +MECHANISM +REMOTE +LISTENER +CLIENT +AUTHENTICATED +EXPIRES +BYTES-IN +BYTES-OUT$/);
      const carolLine = listed.stdout.split('\n').find((l) => l.includes('User:carol'));
      assert.match(carolLine ?? '', /User:carol +SCRAM-SHA-512 +127\.0\.0\.1:\d+ +SASL_SSL +librdkafka\/2\.0\.2 /);
      const json = await runParapet(['sessions', 'list', '--json', ...cli]);
      assert.equal(json.code, 0, json.stderr);
      const rows = JSON.parse(json.stdout) as SessionInfo[];
      const carol = rows.find((r) => r.principal === 'User:carol');
      assert.ok(carol !== undefined);
      assert.equal(carol.client, 'librdkafka/2.0.2');
      assert.ok(carol.bytesIn > 0 && carol.bytesOut > 0, 'bytes are counted both ways');
      const audited = requests(b.events).filter((e) => e.method === 'GET' && e.status === 200);
      assert.equal(audited.length, 2);
      assert.equal(audited[0]?.principal, 'User:admin');
    });

    await t.test('kill --principal closes every connection of carol (SESSION_KILLED), audited as an admin change', async () => {
      const ids = sessionsOf(b, 'User:carol').map((s) => s.id);
      assert.ok(ids.length > 0);
      const eventsBefore = b.events.length;
      const killed = await runParapet(['sessions', 'kill', '--principal', 'carol', ...cli]);
      assert.equal(killed.code, 0, killed.stderr);
      assert.equal(killed.stdout, `closed ${ids.length} connection(s) of User:carol\n`);
      const later = b.events.slice(eventsBefore);
      assert.deepEqual(closedWith(later, CloseReasons.SESSION_KILLED).sort(), [...ids].sort());
      assert.ok(later.some((e) => e.type === 'admin-change' && e.action === 'kill-sessions' && e.principal === 'User:admin'));
      assert.ok(ids.every((id) => !b.broker.sessions.list().some((s) => s.id === id)));
    });

    await t.test('kill --id closes that one connection; an id that is not open exits 1', async () => {
      // A second consumer of carol's (the first exited: kcat treats "all brokers down" as fatal).
      const second = kcatConsumer(t, b.clientConfig('carol', USERS.carol), TOPIC);
      await until(() => second.lines().length === 1, 'the second kcat to consume');
      const target = sessionsOf(b, 'User:carol')[0];
      assert.ok(target !== undefined);
      const killed = await runParapet(['sessions', 'kill', '--id', String(target.id), ...cli]);
      assert.equal(killed.code, 0, killed.stderr);
      assert.equal(killed.stdout, `closed 1 connection(s) of connection ${target.id}\n`);
      const none = await runParapet(['sessions', 'kill', '--id', '999999', ...cli]);
      assert.equal(none.code, 1);
      assert.equal(none.stderr, 'parapet: no open connection of connection 999999\n');
      const usage = await runParapet(['sessions', 'kill', ...cli]);
      assert.equal(usage.code, 2);
      assert.match(usage.stderr, /give --principal P or --id N/);
    });

    await t.test('no credentials, a wrong password: 401; a user without DESCRIBE/ALTER on the CLUSTER: 403; all audited, no password anywhere', async () => {
      const eventsBefore = b.events.length;
      const anonymous = await fetch(`${url}/v1/sessions`);
      assert.equal(anonymous.status, 401);
      assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Basic /);
      const wrong = await fetch(`${url}/v1/sessions`, { headers: { authorization: basic('admin', 'not-the-password-xyz') } });
      assert.equal(wrong.status, 401);
      const notAdmin = await fetch(`${url}/v1/sessions`, { headers: { authorization: basic('alice', USERS.alice) } });
      assert.equal(notAdmin.status, 403);
      const notAdminKill = await fetch(`${url}/v1/sessions/kill`, { method: 'POST', headers: { authorization: basic('alice', USERS.alice) }, body: '{"principal":"User:admin"}' });
      assert.equal(notAdminKill.status, 403);
      const badBody = await fetch(`${url}/v1/sessions/kill`, { method: 'POST', headers: { authorization: basic('admin', b.adminPassword) }, body: 'x'.repeat(2000) });
      assert.equal(badBody.status, 400);
      const audited = requests(b.events.slice(eventsBefore)).map((e) => [e.method, e.path, e.status, e.principal ?? null]);
      assert.deepEqual(audited, [
        ['GET', '/v1/sessions', 401, null],
        ['GET', '/v1/sessions', 401, null],
        ['GET', '/v1/sessions', 403, 'User:alice'],
        ['POST', '/v1/sessions/kill', 403, 'User:alice'],
        ['POST', '/v1/sessions/kill', 400, 'User:admin'],
      ]);
      const everything = JSON.stringify(b.events) + JSON.stringify(b.logger.entries);
      for (const secret of ['not-the-password-xyz', USERS.alice, b.adminPassword]) assert.ok(!everything.includes(secret), 'no password is logged or audited');
    });

    await t.test('a flood is cut to the routes’ rate (429), and the refused requests are not audited one by one', async () => {
      const eventsBefore = b.events.length;
      const statuses = await Promise.all(Array.from({ length: 30 }, () => fetch(`${url}/v1/sessions`).then((r) => r.status)));
      assert.ok(statuses.includes(429), statuses.join(','));
      assert.ok(statuses.filter((s) => s === 401).length <= 12, statuses.join(','));
      assert.equal(requests(b.events.slice(eventsBefore)).length, statuses.filter((s) => s === 401).length);
    });
  });
});
