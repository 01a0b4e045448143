import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { AdminServer } from '../../../src/metrics/admin-server.js';
import { BrokerMetrics } from '../../../src/metrics/broker-metrics.js';
import { Containment } from '../../../src/security/containment/containment.js';
import type { SecurityEvent } from '../../../src/security/events.js';
import { MetadataStore } from '../../../src/storage/metadata-store.js';
import { TEST_ADMIN_ENDPOINT } from '../../helpers/admin-endpoint.js';
import { recordingLogger } from '../../helpers/broker.js';

const TOKEN = '7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d';

/**
 * The incident-response routes of the admin endpoint over a real Containment and metadata store:
 * `root` (a super user) may everything, `ops` is allowed ALTER and DESCRIBE on the CLUSTER but is no
 * super user, `viewer` only DESCRIBE.
 */
async function start(t: TestContext, clock?: () => number) {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-admin-containment-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, TOKEN, { mode: 0o600 });
  const store = new MetadataStore(dir);
  t.after(() => {
    store.close();
  });
  const events: SecurityEvent[] = [];
  const emit = { emit: (e: SecurityEvent) => events.push(e) };
  const containment = new Containment({ store: store.containment, superUsers: ['User:root'], events: emit, closeRefused: () => 0 });
  const passwords: Record<string, string> = { root: 'root-password-1', ops: 'ops-password-1', viewer: 'viewer-password-1' };
  const server = new AdminServer({
    config: { ...TEST_ADMIN_ENDPOINT, bearerToken: `\${file:${tokenFile}}` },
    metrics: new BrokerMetrics({ processMetrics: false }),
    checks: () => [],
    logger: recordingLogger(),
    routes: {
      guard: {
        verifyPassword: (user, password) => Promise.resolve(passwords[user] === password ? (`User:${user}` as const) : null),
        authorizer: {
          authorize: (r) => r.principal === 'User:root' || r.principal === 'User:ops' || (r.principal === 'User:viewer' && r.operation === 8),
          authorizeAny: () => false,
        },
        events: emit,
        ...(clock === undefined ? {} : { clock }),
      },
      containment: { containment, superUsers: ['User:root'] },
    },
  });
  await server.start();
  t.after(() => server.close());
  return { url: server.url ?? '', events, containment };
}

const as = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`, 'content-type': 'application/json' });
const post = (url: string, headers: Record<string, string>, body: string) => fetch(url, { method: 'POST', headers, body });

describe('the incident-response routes (/v1/principals, /v1/lockdown)', () => {
  it('authorizes by the CLUSTER ACLs, refuses what must not be done with 409, and audits every answered request', async (t) => {
    // A clock that moves 10 s at each look: the rate bound (its own test below) never applies here.
    let now = 0;
    const { url, events, containment } = await start(t, () => (now += 10_000));
    const root = as('root', 'root-password-1');
    assert.equal((await fetch(`${url}/v1/principals/disabled`)).status, 401);
    assert.equal((await fetch(`${url}/v1/principals/disabled`, { headers: as('viewer', 'viewer-password-1') })).status, 200);
    assert.equal((await post(`${url}/v1/principals/disable`, as('viewer', 'viewer-password-1'), '{"principal":"User:alice"}')).status, 403);
    assert.equal((await post(`${url}/v1/principals/disable`, root, '{"principal":"alice"}')).status, 409);
    assert.equal((await post(`${url}/v1/principals/disable`, root, '{"principal":"User:root"}')).status, 409, 'not oneself');
    assert.equal((await post(`${url}/v1/principals/disable`, root, 'not json')).status, 400);
    assert.equal((await post(`${url}/v1/principals/disable`, root, JSON.stringify({ principal: 'User:alice', reason: 'x'.repeat(5000) }))).status, 400, 'past the body bound');
    assert.equal((await fetch(`${url}/v1/principals/disable`, { headers: root })).status, 405);
    assert.equal((await fetch(`${url}/v1/principals/other`, { headers: root })).status, 404);
    assert.deepEqual(containment.disabled(), []);

    const ok = await post(`${url}/v1/principals/disable`, as('ops', 'ops-password-1'), '{"principal":"User:alice","reason":"leak"}');
    assert.equal(ok.status, 200);
    assert.deepEqual(((await ok.json()) as { principal: string; by: string; closed: number }).by, 'User:ops');
    const listed = (await (await fetch(`${url}/v1/principals/disabled`, { headers: root })).json()) as { disabled: { principal: string; reason: string }[] };
    assert.deepEqual(listed.disabled.map((d) => [d.principal, d.reason]), [['User:alice', 'leak']]);

    // ops may ALTER the CLUSTER but is no super user: a lockdown would shut it out, so it may not start one.
    const refused = await post(`${url}/v1/lockdown`, as('ops', 'ops-password-1'), '{"on":true}');
    assert.equal(refused.status, 409);
    assert.match(((await refused.json()) as { error: string }).error, /User:ops is not a super user/);
    assert.equal((await post(`${url}/v1/lockdown`, root, '{"on":"yes"}')).status, 400);
    // The bearer token's holder may (it has no Kafka login to lose).
    const byToken = await post(`${url}/v1/lockdown`, { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, '{"on":true,"reason":"drill"}');
    assert.equal(byToken.status, 200);
    const status = (await (await fetch(`${url}/v1/lockdown`, { headers: root })).json()) as { on: boolean; by: string; reason: string; superUsers: string[] };
    assert.deepEqual([status.on, status.by, status.reason, status.superUsers], [true, 'User:admin-endpoint-token', 'drill', ['User:root']]);
    assert.equal((await post(`${url}/v1/lockdown`, root, '{"on":false}')).status, 200);

    const audited = events.flatMap((e) => (e.type === 'admin-request' ? [`${e.method} ${e.path} ${e.status} ${e.principal ?? '-'}`] : []));
    assert.deepEqual(audited, [
      'GET /v1/principals/disabled 401 -',
      'GET /v1/principals/disabled 200 User:viewer',
      'POST /v1/principals/disable 403 User:viewer',
      'POST /v1/principals/disable 409 User:root',
      'POST /v1/principals/disable 409 User:root',
      'POST /v1/principals/disable 400 User:root',
      'POST /v1/principals/disable 400 User:root',
      'POST /v1/principals/disable 200 User:ops',
      'GET /v1/principals/disabled 200 User:root',
      'POST /v1/lockdown 409 User:ops',
      'POST /v1/lockdown 400 User:root',
      'POST /v1/lockdown 200 User:admin-endpoint-token',
      'GET /v1/lockdown 200 User:root',
      'POST /v1/lockdown 200 User:root',
    ]);
    assert.deepEqual(
      events.flatMap((e) => (e.type === 'principal-disabled' || e.type === 'lockdown-on' || e.type === 'lockdown-off' ? [`${e.type} ${e.principal}`] : [])),
      ['principal-disabled User:ops', 'lockdown-on User:admin-endpoint-token', 'lockdown-off User:root'],
    );
    assert.ok(!JSON.stringify(events).includes('password-1') && !JSON.stringify(events).includes(TOKEN), 'no credential in any event');
  });

  it('bounds the request rate of all clients together (429, not audited one by one)', async (t) => {
    let now = 0;
    const { url, events } = await start(t, () => now);
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await fetch(`${url}/v1/lockdown`)).status);
    assert.deepEqual(statuses, [...Array<number>(10).fill(401), 429, 429]);
    assert.equal(events.length, 10);
    now += 1000;
    assert.equal((await fetch(`${url}/v1/lockdown`)).status, 401, 'refilled after a second');
  });
});
