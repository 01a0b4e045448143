import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { callEndpoint } from '../../../src/cli/admin/admin-endpoint-client.js';
import { Secret } from '../../../src/client/client-config.js';
import { AdminServer } from '../../../src/metrics/admin-server.js';
import { BrokerMetrics } from '../../../src/metrics/broker-metrics.js';
import type { SecurityEvent } from '../../../src/security/events.js';
import { SessionRegistry } from '../../../src/server/session-registry.js';
import { TEST_ADMIN_ENDPOINT } from '../../helpers/admin-endpoint.js';
import { recordingLogger } from '../../helpers/broker.js';

/** An endpoint with the session and access routes behind one guard: `root` may DESCRIBE. */
async function start(t: TestContext, clock?: () => number) {
  const events: SecurityEvent[] = [];
  const emit = { emit: (e: SecurityEvent) => events.push(e) };
  const server = new AdminServer({
    config: TEST_ADMIN_ENDPOINT,
    metrics: new BrokerMetrics({ processMetrics: false }),
    checks: () => [],
    logger: recordingLogger(),
    routes: {
      guard: {
        verifyPassword: (user, password) => Promise.resolve(user === 'root' && password === 'root-password-1' ? ('User:root' as const) : null),
        authorizer: { authorize: (r) => r.operation === 8, authorizeAny: () => false },
        events: emit,
        ...(clock === undefined ? {} : { clock }),
      },
      sessions: { registry: new SessionRegistry({ events: emit }), events: emit },
      access: { log: { access: () => [], logins: () => [], state: () => ({ recordingSinceMs: 0, dropped: 0 }) }, superUsers: [] },
    },
  });
  await server.start();
  t.after(() => server.close());
  return { url: server.url ?? '', events };
}

describe('the guard every admin route shares', () => {
  it('bounds all the authenticated routes together: a flood on one leaves no budget for another', async (t) => {
    const { url, events } = await start(t, () => 0);
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await fetch(`${url}${i % 2 === 0 ? '/v1/sessions' : '/v1/logins'}`)).status);
    assert.deepEqual(statuses, Array<number>(10).fill(401));
    const root = { authorization: `Basic ${Buffer.from('root:root-password-1').toString('base64')}` };
    assert.equal((await fetch(`${url}/v1/access`, { headers: root })).status, 429, 'the access routes share the sessions routes’ budget');
    assert.equal((await fetch(`${url}/v1/sessions`, { headers: root })).status, 429);
    assert.equal(events.filter((e) => e.type === 'admin-request').length, 10, 'refused by the bucket: not audited one by one');
  });

  it('the CLI’s client waits out a 429 (Retry-After) and gets its answer, rather than failing', async (t) => {
    const { url } = await start(t);
    for (let i = 0; i < 10; i++) await fetch(`${url}/v1/sessions`);
    const began = Date.now();
    const answer = await callEndpoint({ url: new URL(url) }, { kind: 'basic', user: 'root', password: new Secret('root-password-1') }, 'GET', '/v1/sessions');
    assert.deepEqual(answer, { sessions: [] });
    assert.ok(Date.now() - began >= 150, `answered after ${Date.now() - began} ms: the budget was spent, so it must have waited`);
  });
});
