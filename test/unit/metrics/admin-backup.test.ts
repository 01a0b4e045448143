import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { CaptureError, CaptureErrorCodes } from '../../../src/backup/capture/index.js';
import type { Capture } from '../../../src/backup/contracts.js';
import { AdminServer } from '../../../src/metrics/admin-server.js';
import { AclOperation } from '../../../src/protocol/acl.js';
import { BrokerMetrics } from '../../../src/metrics/broker-metrics.js';
import type { SecurityEvent } from '../../../src/security/events.js';
import type { AuthorizationRequest } from '../../../src/security/types.js';
import { TEST_ADMIN_ENDPOINT } from '../../helpers/admin-endpoint.js';
import { recordingLogger } from '../../helpers/broker.js';

const ID = '20261207T171500Z-3f9a';
const CAPTURE: Capture = { id: ID, takenAtMs: 1, productVersion: '0.1.0', files: [], partitions: [] };

/**
 * An admin endpoint with the backup routes over a stand-in for the broker's captures (the broker's own
 * are tested in test/integration/backup-capture.test.ts): `root` may ALTER the CLUSTER, `bob` may not.
 */
async function start(t: TestContext, take: () => Promise<{ capture: Capture; leaseExpiresAtMs: number }>) {
  const events: SecurityEvent[] = [];
  const asked: AuthorizationRequest[] = [];
  const calls: string[] = [];
  const server = new AdminServer({
    config: TEST_ADMIN_ENDPOINT,
    metrics: new BrokerMetrics({ processMetrics: false }),
    checks: () => [],
    logger: recordingLogger(),
    routes: {
      guard: {
        verifyPassword: (user, password) => Promise.resolve(password === `${user}-password-1` ? (`User:${user}` as const) : null),
        authorizer: {
          authorize: (request) => {
            asked.push(request);
            return request.principal === 'User:root';
          },
          authorizeAny: () => false,
        },
        events: { emit: (e) => events.push(e) },
        ratePerSecond: 1000,
      },
      backup: {
        take: (by) => {
          calls.push(`take ${by.principal}`);
          return take();
        },
        renew: (id) => {
          calls.push(`renew ${id}`);
          if (id !== ID) throw new CaptureError(CaptureErrorCodes.UNKNOWN, `no backup capture ${id} is held`);
          return 42;
        },
        release: (id, by) => {
          calls.push(`release ${id} ${by.principal}`);
        },
      },
    },
  });
  await server.start();
  t.after(() => server.close());
  return { url: server.url ?? '', events, asked, calls };
}

const as = (user: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${user}-password-1`).toString('base64')}` });

describe('the /v1/backup routes', () => {
  it('need ALTER on the CLUSTER: 403 for bob (audited, nothing taken), the capture for root', async (t) => {
    const s = await start(t, () => Promise.resolve({ capture: CAPTURE, leaseExpiresAtMs: 99 }));
    const refused = await fetch(`${s.url}/v1/backup/capture`, { method: 'POST', headers: as('bob') });
    assert.equal(refused.status, 403);
    assert.deepEqual(s.calls, []);
    assert.ok(s.events.some((e) => e.type === 'admin-request' && e.status === 403 && e.principal === 'User:bob'));
    assert.equal(s.asked[0]?.operation, AclOperation.ALTER);
    const taken = await fetch(`${s.url}/v1/backup/capture`, { method: 'POST', headers: as('root') });
    assert.equal(taken.status, 200);
    assert.deepEqual(await taken.json(), { capture: CAPTURE, leaseExpiresAtMs: 99 });
    const renewed = await fetch(`${s.url}/v1/backup/renew`, { method: 'POST', headers: as('root'), body: JSON.stringify({ id: ID }) });
    assert.deepEqual(await renewed.json(), { id: ID, leaseExpiresAtMs: 42 });
    const released = await fetch(`${s.url}/v1/backup/release`, { method: 'POST', headers: as('root'), body: JSON.stringify({ id: ID }) });
    assert.deepEqual(await released.json(), { id: ID, released: true });
    assert.deepEqual(s.calls, ['take User:root', `renew ${ID}`, `release ${ID} User:root`]);
  });

  it('answers a bad id 400, an unknown one 404, a third capture 409, a failed one 500 with its reason, GET 405', async (t) => {
    let failure: CaptureError = new CaptureError(CaptureErrorCodes.TOO_MANY, '2 backup captures are held already');
    const s = await start(t, () => Promise.reject(failure));
    const post = (path: string, body?: string) => fetch(`${s.url}${path}`, { method: 'POST', headers: as('root'), ...(body === undefined ? {} : { body }) });
    const bad = await post('/v1/backup/renew', '{"id":"../../etc"}');
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /"id" must be a capture id/);
    assert.equal((await post('/v1/backup/release', 'not json')).status, 400);
    assert.equal((await post('/v1/backup/renew', JSON.stringify({ id: '20200101T000000Z-0000' }))).status, 404);
    const busy = await post('/v1/backup/capture');
    assert.equal(busy.status, 409);
    assert.match(((await busy.json()) as { error: string }).error, /held already/);
    failure = new CaptureError(CaptureErrorCodes.FAILED, 'partition t-0 cannot be captured: partition t-0 is offline');
    const failed = await post('/v1/backup/capture');
    assert.equal(failed.status, 500);
    assert.match(((await failed.json()) as { error: string }).error, /t-0 is offline/);
    assert.equal((await fetch(`${s.url}/v1/backup/capture`, { headers: as('root') })).status, 405);
    assert.equal((await post('/v1/backup/other')).status, 404);
    assert.ok(s.events.some((e) => e.type === 'admin-request' && e.status === 409));
  });
});
