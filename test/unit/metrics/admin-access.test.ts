import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { parseAccessQuery } from '../../../src/metrics/admin-access.js';
import { AdminServer } from '../../../src/metrics/admin-server.js';
import { BrokerMetrics } from '../../../src/metrics/broker-metrics.js';
import { AclOperation, ResourceType } from '../../../src/protocol/acl.js';
import type { ObservedAccess } from '../../../src/security/access-log/observed-access.js';
import type { SecurityEvent } from '../../../src/security/events.js';
import { TEST_ADMIN_ENDPOINT } from '../../helpers/admin-endpoint.js';
import { recordingLogger } from '../../helpers/broker.js';

const ENTRY: ObservedAccess = {
  principal: 'User:app',
  operation: AclOperation.WRITE,
  resourceType: ResourceType.TOPIC,
  resourceName: 'orders.eu',
  scope: 'named',
  allowed: true,
  firstSeenMs: Date.UTC(2026, 11, 1),
  lastSeenMs: Date.UTC(2026, 11, 7),
  count: 3,
};

/** An endpoint with the access routes: `root` (DESCRIBE allowed) and `alice` (nothing allowed). */
async function start(t: TestContext, log: boolean) {
  const events: SecurityEvent[] = [];
  const asked: { principal: string | null; sinceMs: number | undefined }[] = [];
  const server = new AdminServer({
    config: TEST_ADMIN_ENDPOINT,
    metrics: new BrokerMetrics({ processMetrics: false }),
    checks: () => [],
    logger: recordingLogger(),
    routes: {
      guard: {
        verifyPassword: (user, password) => Promise.resolve(password === `${user}-password-1` ? (`User:${user}` as const) : null),
        authorizer: { authorize: (r) => r.principal === 'User:root' && r.operation === AclOperation.DESCRIBE, authorizeAny: () => false },
        events: { emit: (e) => events.push(e) },
      },
      access: {
        log: log
          ? {
              access: (principal, sinceMs) => {
                asked.push({ principal, sinceMs });
                return [ENTRY];
              },
              logins: () => [{ principal: 'User:app', firstSeenMs: 0, lastSeenMs: 1000, count: 2, lastAddress: '127.0.0.1', lastMechanism: 'SCRAM-SHA-512' }],
              state: () => ({ recordingSinceMs: 0, dropped: 7 }),
            }
          : undefined,
        superUsers: ['User:root'],
      },
    },
  });
  await server.start();
  t.after(() => server.close());
  return { url: server.url ?? '', events, asked };
}

const basic = (user: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${user}-password-1`).toString('base64')}` });

describe('the /v1/access and /v1/logins routes', () => {
  it('answer a principal allowed DESCRIBE on the CLUSTER with the observations, by principal and time; audited', async (t) => {
    const { url, events, asked } = await start(t, true);
    const answer = await fetch(`${url}/v1/access?principal=User:app&since=2026-12-02T00:00:00Z`, { headers: basic('root') });
    assert.equal(answer.status, 200);
    assert.deepEqual(await answer.json(), {
      recordingSince: '1970-01-01T00:00:00.000Z',
      dropped: 7,
      entries: [{ principal: 'User:app', operation: 'WRITE', resourceType: 'TOPIC', resourceName: 'orders.eu', scope: 'named', allowed: true, firstSeen: '2026-12-01T00:00:00.000Z', lastSeen: '2026-12-07T00:00:00.000Z', count: 3 }],
    });
    assert.deepEqual(asked, [{ principal: 'User:app', sinceMs: Date.UTC(2026, 11, 2) }]);
    const logins = (await (await fetch(`${url}/v1/logins`, { headers: basic('root') })).json()) as { superUsers: string[]; logins: { lastAddress: string }[] };
    assert.deepEqual(logins.superUsers, ['User:root']);
    assert.equal(logins.logins[0]?.lastAddress, '127.0.0.1');
    const audited = events.flatMap((e) => (e.type === 'admin-request' ? [[e.path, e.status, e.principal, e.detail]] : []));
    assert.deepEqual(audited, [
      ['/v1/access', 200, 'User:root', '1 observation(s) of User:app listed'],
      ['/v1/logins', 200, 'User:root', '1 principal(s) listed'],
    ]);
  });

  it('refuse without credentials (401), without DESCRIBE on the CLUSTER (403), a bad query (400), another method (405)', async (t) => {
    const { url, events, asked } = await start(t, true);
    assert.equal((await fetch(`${url}/v1/access`)).status, 401);
    assert.equal((await fetch(`${url}/v1/logins`, { headers: basic('alice') })).status, 403);
    assert.equal((await fetch(`${url}/v1/access?principal=alice`, { headers: basic('root') })).status, 400);
    assert.equal((await fetch(`${url}/v1/access?since=yesterday`, { headers: basic('root') })).status, 400);
    assert.equal((await fetch(`${url}/v1/access`, { method: 'POST', headers: basic('root') })).status, 405);
    assert.deepEqual(asked, [], 'nothing was read for a refused request');
    assert.deepEqual(
      events.flatMap((e) => (e.type === 'admin-request' ? [e.status] : [])),
      [401, 403, 400, 400],
    );
    assert.ok(!JSON.stringify(events).includes('password-1'), 'no password is audited');
  });

  it('say so when the access log is off', async (t) => {
    const { url } = await start(t, false);
    const answer = await fetch(`${url}/v1/access`, { headers: basic('root') });
    assert.equal(answer.status, 404);
    assert.match(((await answer.json()) as { error: string }).error, /accessLog\.enabled: false/);
  });
});

describe('parseAccessQuery', () => {
  it('reads principal and since (ISO or ms), and explains what it refuses', () => {
    assert.deepEqual(parseAccessQuery(new URLSearchParams('')), { principal: null, sinceMs: 0 });
    assert.deepEqual(parseAccessQuery(new URLSearchParams('principal=User:a&since=1000')), { principal: 'User:a', sinceMs: 1000 });
    assert.match(JSON.stringify(parseAccessQuery(new URLSearchParams('principal=User:'))), /User:NAME/);
    assert.match(JSON.stringify(parseAccessQuery(new URLSearchParams('since=soon'))), /ISO-8601/);
  });
});
