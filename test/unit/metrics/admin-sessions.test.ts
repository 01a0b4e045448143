import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { AdminServer } from '../../../src/metrics/admin-server.js';
import { TOKEN_PRINCIPAL } from '../../../src/metrics/admin-route-guard.js';
import { parseKillTarget } from '../../../src/metrics/admin-sessions.js';
import { BrokerMetrics } from '../../../src/metrics/broker-metrics.js';
import type { SecurityEvent } from '../../../src/security/events.js';
import type { AuthorizationRequest } from '../../../src/security/types.js';
import { SessionRegistry } from '../../../src/server/session-registry.js';
import { TEST_ADMIN_ENDPOINT } from '../../helpers/admin-endpoint.js';
import { recordingLogger } from '../../helpers/broker.js';

const TOKEN = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';

/** An admin endpoint with the session routes: `root` has password `root-password-1`, every user may DESCRIBE, nobody ALTER. */
async function start(t: TestContext, options: { token?: boolean; clock?: () => number } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-admin-sessions-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, TOKEN, { mode: 0o600 });
  const events: SecurityEvent[] = [];
  const asked: AuthorizationRequest[] = [];
  const server = new AdminServer({
    config: { ...TEST_ADMIN_ENDPOINT, ...(options.token === true ? { bearerToken: `\${file:${tokenFile}}` } : {}) },
    metrics: new BrokerMetrics({ processMetrics: false }),
    checks: () => [],
    logger: recordingLogger(),
    routes: {
      guard: {
        verifyPassword: (user, password) => Promise.resolve(user === 'root' && password === 'root-password-1' ? 'User:root' : null),
        authorizer: {
          authorize: (request) => {
            asked.push(request);
            return request.operation === 8; // DESCRIBE
          },
          authorizeAny: () => false,
        },
        events: { emit: (e) => events.push(e) },
        ...(options.clock === undefined ? {} : { clock: options.clock }),
      },
      sessions: { registry: new SessionRegistry({ events: { emit: (e) => events.push(e) } }), events: { emit: (e) => events.push(e) } },
    },
  });
  await server.start();
  t.after(() => server.close());
  return { url: server.url ?? '', events, asked };
}

const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

describe('the /v1/sessions routes', () => {
  it('a SCRAM user is authorized by the ACLs on the CLUSTER: DESCRIBE to list, ALTER to kill', async (t) => {
    const { url, asked } = await start(t);
    assert.equal((await fetch(`${url}/v1/sessions`, { headers: basic('root', 'root-password-1') })).status, 200);
    assert.equal((await fetch(`${url}/v1/sessions/kill`, { method: 'POST', headers: basic('root', 'root-password-1'), body: '{"id":1}' })).status, 403);
    assert.deepEqual(
      asked.map((a) => [a.principal, a.operation, a.resourceType, a.resourceName, a.host]),
      [
        ['User:root', 8, 4, 'kafka-cluster', '127.0.0.1'],
        ['User:root', 7, 4, 'kafka-cluster', '127.0.0.1'],
      ],
    );
    assert.equal((await fetch(`${url}/v1/sessions`, { method: 'POST', headers: basic('root', 'root-password-1') })).status, 405);
    assert.equal((await fetch(`${url}/v1/sessions/other`, { headers: basic('root', 'root-password-1') })).status, 404);
  });

  it('with a bearer token configured: the token works on these routes, Basic too; /metrics still needs the token', async (t) => {
    const { url, events } = await start(t, { token: true });
    const bearer = { authorization: `Bearer ${TOKEN}` };
    const killed = await fetch(`${url}/v1/sessions/kill`, { method: 'POST', headers: bearer, body: '{"principal":"User:nobody"}' });
    assert.equal(killed.status, 200);
    assert.deepEqual(await killed.json(), { closed: 0 });
    assert.equal((await fetch(`${url}/v1/sessions`, { headers: basic('root', 'root-password-1') })).status, 200);
    assert.equal((await fetch(`${url}/v1/sessions`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status, 401);
    assert.equal((await fetch(`${url}/metrics`, { headers: basic('root', 'root-password-1') })).status, 401);
    const first = events[0];
    assert.ok(first?.type === 'admin-request');
    assert.equal(first.principal, TOKEN_PRINCIPAL);
    assert.ok(!JSON.stringify(events).includes(TOKEN));
  });

  it('at most 5 requests a second after a burst of 10, whatever they carry', async (t) => {
    const clock = { now: 0 };
    const { url } = await start(t, { clock: () => clock.now });
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await fetch(`${url}/v1/sessions`)).status);
    assert.deepEqual(statuses, [...Array<number>(10).fill(401), 429, 429]);
    clock.now = 1000;
    const after: number[] = [];
    for (let i = 0; i < 6; i++) after.push((await fetch(`${url}/v1/sessions`)).status);
    assert.deepEqual(after, [401, 401, 401, 401, 401, 429]);
  });
});

describe('parseKillTarget', () => {
  it('takes exactly one of a principal and a positive id; says what is wrong otherwise', () => {
    assert.deepEqual(parseKillTarget({ principal: 'User:alice' }), { principal: 'User:alice' });
    assert.deepEqual(parseKillTarget({ id: 42 }), { id: 42 });
    for (const bad of [{}, { principal: 'User:a', id: 1 }, { id: 0 }, { id: '1' }, { principal: 'alice' }, { principal: 42 }]) {
      assert.equal(typeof parseKillTarget(bad), 'string', JSON.stringify(bad));
    }
  });
});
