import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { Broker, DEFAULT_BROKER_CONFIG } from '../../../src/broker/broker.js';
import { ConfigError } from '../../../src/config-error.js';
import { checkAdminEndpoint, DEFAULT_ADMIN_ENDPOINT, type AdminEndpointConfig } from '../../../src/metrics/admin-endpoint-config.js';
import { AdminServer, DEFAULT_ADMIN_SERVER_LIMITS, type AdminServerLimits } from '../../../src/metrics/admin-server.js';
import { BrokerMetrics } from '../../../src/metrics/broker-metrics.js';
import type { ReadinessCheck } from '../../../src/metrics/readiness.js';
import { INSECURE_DEV_SECURITY } from '../../../src/security/config.js';
import type { SecurityEvent } from '../../../src/security/events.js';
import { recordingLogger, startBroker } from '../../helpers/broker.js';
import { TEST_ADMIN_ENDPOINT } from '../../helpers/admin-endpoint.js';
import { TEST_ENCRYPTION_AT_REST } from '../../helpers/test-keys.js';
import { createTlsFixture, waitFor } from '../../helpers/tls-fixtures.js';

const TOKEN = 'c2f1e0d9b8a7968574635241302f1e0d';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-admin-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** A token file readable by its owner only, as secret references require. */
function tokenFile(t: TestContext, token = TOKEN): string {
  const file = join(tempDir(t), 'admin.token');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return file;
}

async function startServer(t: TestContext, config: Partial<AdminEndpointConfig>, options: { checks?: ReadinessCheck[]; limits?: AdminServerLimits } = {}) {
  const logger = recordingLogger();
  const server = new AdminServer({
    config: { ...TEST_ADMIN_ENDPOINT, ...config },
    metrics: new BrokerMetrics({ processMetrics: false }),
    checks: () => options.checks ?? [],
    logger,
    ...(options.limits === undefined ? {} : { limits: options.limits }),
  });
  const { port } = await server.start();
  t.after(() => server.close());
  return { server, port, logger, url: server.url ?? '' };
}

describe('admin endpoint: paths and methods', () => {
  it('on loopback without TLS: /healthz, /metrics, /readyz answer; other paths 404, other methods 405', async (t) => {
    const { url } = await startServer(t, {});
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(await health.text(), 'ok\n');
    const metrics = await fetch(`${url}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /^# TYPE parapet_requests_total counter$/m);
    assert.equal((await fetch(`${url}/readyz`)).status, 200);
    assert.equal((await fetch(`${url}/admin`)).status, 404);
    const post = await fetch(`${url}/metrics`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  });

  it('/readyz is 503 naming the failing checks, and 200 again once they pass', async (t) => {
    let auditWritable = false;
    const { url } = await startServer(t, {}, { checks: [{ name: 'listeners-up', ready: () => true }, { name: 'audit-writable', ready: () => auditWritable || 'the audit file cannot be written (ENOSPC)' }] });
    const failing = await fetch(`${url}/readyz`);
    assert.equal(failing.status, 503);
    assert.deepEqual(await failing.json(), { ready: false, failing: [{ check: 'audit-writable', reason: 'the audit file cannot be written (ENOSPC)' }] });
    assert.equal((await fetch(`${url}/healthz`)).status, 200, 'alive, though not ready');
    auditWritable = true;
    assert.equal((await fetch(`${url}/readyz`)).status, 200);
  });
});

describe('admin endpoint: who may connect', () => {
  it('a non-loopback address is refused without TLS and a token or client certificates, unless allowInsecureAdminEndpoint', () => {
    const remote = { ...DEFAULT_ADMIN_ENDPOINT, host: '0.0.0.0' };
    assert.match(checkAdminEndpoint(remote, false).errors.join(), /without TLS \(adminEndpoint\.tls\) and a bearer token/);
    const tls = { certFile: 'server.crt', keyFile: 'server.key' };
    assert.match(checkAdminEndpoint({ ...remote, tls }, false).errors.join(), /without a bearer token/);
    assert.match(checkAdminEndpoint({ ...remote, bearerToken: '${env:T}' }, false).errors.join(), /without TLS/);
    assert.deepEqual(checkAdminEndpoint({ ...remote, tls, bearerToken: '${env:T}' }, false), { errors: [], warnings: [] });
    assert.deepEqual(checkAdminEndpoint({ ...remote, tls: { ...tls, caFile: 'ca.crt', clientAuth: 'required' } }, false), { errors: [], warnings: [] });
    assert.match(checkAdminEndpoint({ ...remote, tls: { ...tls, clientAuth: 'required' } }, false).errors.join(), /needs adminEndpoint\.tls\.caFile/);
    const allowed = checkAdminEndpoint(remote, true);
    assert.deepEqual(allowed.errors, []);
    assert.equal(allowed.warnings[0]?.setting, 'allowInsecureAdminEndpoint');
    // Loopback needs nothing; a disabled endpoint is never checked.
    assert.deepEqual(checkAdminEndpoint(DEFAULT_ADMIN_ENDPOINT, false), { errors: [], warnings: [] });
    assert.deepEqual(checkAdminEndpoint({ ...remote, enabled: false }, false), { errors: [], warnings: [] });
  });

  it('the broker refuses to start so, and warns with an insecure-setting event when allowed by name', async (t) => {
    const dataDir = tempDir(t);
    const config = { ...DEFAULT_BROKER_CONFIG, listener: { host: '127.0.0.1', port: 0, protocol: 'PLAINTEXT' as const }, security: INSECURE_DEV_SECURITY, encryptionAtRest: TEST_ENCRYPTION_AT_REST, dataDir };
    assert.throws(() => new Broker({ ...config, adminEndpoint: { ...DEFAULT_ADMIN_ENDPOINT, host: '0.0.0.0', port: 0 } }, recordingLogger()), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /allowInsecureAdminEndpoint/);
      return true;
    });
    const { events, broker } = await startBroker(t, { adminEndpoint: { ...DEFAULT_ADMIN_ENDPOINT, host: '0.0.0.0', port: 0 }, allowInsecureAdminEndpoint: true });
    const warning = events.find((e): e is Extract<SecurityEvent, { type: 'insecure-setting' }> => e.type === 'insecure-setting' && e.setting === 'allowInsecureAdminEndpoint');
    assert.match(warning?.detail ?? '', /reachable from other machines/);
    assert.equal(broker.adminAddress?.host, '0.0.0.0');
  });

  it('with a bearer token: none or a wrong one is 401, the right one passes; the token is never logged', async (t) => {
    const { url, logger } = await startServer(t, { bearerToken: `\${file:${tokenFile(t)}}` });
    const missing = await fetch(`${url}/metrics`);
    assert.equal(missing.status, 401);
    assert.equal(missing.headers.get('www-authenticate'), 'Bearer realm="parapet"');
    assert.equal((await fetch(`${url}/healthz`, { headers: { authorization: `Bearer ${TOKEN.slice(0, -1)}x` } })).status, 401);
    assert.equal((await fetch(`${url}/healthz`, { headers: { authorization: `Bearer ${TOKEN}extra` } })).status, 401, 'a longer token is no match');
    assert.equal((await fetch(`${url}/healthz`, { headers: { authorization: `Basic ${TOKEN}` } })).status, 401);
    const ok = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(ok.status, 200);
    // An unknown path is 401 too before the token is shown: nothing is told to a client without it.
    assert.equal((await fetch(`${url}/nope`)).status, 401);
    assert.ok(!JSON.stringify(logger.entries).includes(TOKEN));
  });

  it('a token shorter than 16 characters, or in a file others may read, is refused at construction', (t) => {
    const short = tokenFile(t, 'short');
    assert.throws(() => new AdminServer({ config: { ...TEST_ADMIN_ENDPOINT, bearerToken: `\${file:${short}}` }, metrics: new BrokerMetrics({ processMetrics: false }), checks: () => [], logger: recordingLogger() }), /at least 16 characters/);
    const open = join(tempDir(t), 'open.token');
    writeFileSync(open, TOKEN, { mode: 0o644 });
    assert.throws(() => new AdminServer({ config: { ...TEST_ADMIN_ENDPOINT, bearerToken: `\${file:${open}}` }, metrics: new BrokerMetrics({ processMetrics: false }), checks: () => [], logger: recordingLogger() }), /may be read by other accounts/);
  });

  it('with TLS and required client certificates (mTLS): a client without one is refused, with one it is served', async (t) => {
    const fixture = await createTlsFixture(t);
    const { port } = await startServer(t, { tls: { ...fixture.tlsFiles, clientAuth: 'required' } });
    const get = (withCertificate: boolean) =>
      new Promise<number>((resolve, reject) => {
        const req = httpsRequest(
          {
            host: '127.0.0.1',
            port,
            path: '/healthz',
            ca: fixture.ca.certPem,
            ...(withCertificate ? { cert: fixture.client.certPem, key: fixture.client.keyPem } : {}),
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      });
    assert.equal(await get(true), 200);
    await assert.rejects(get(false), /certificate required|socket hang up|ECONNRESET|alert/i);
  });
});

describe('admin endpoint: bounded resources', () => {
  const limits: AdminServerLimits = { ...DEFAULT_ADMIN_SERVER_LIMITS, maxConnections: 4, headersTimeoutMs: 400, requestTimeoutMs: 800, idleTimeoutMs: 400 };

  /** Opens a socket and resolves once connected; `closed` says when the server closed it. */
  function openSocket(port: number): Promise<{ socket: Socket; closed: () => boolean }> {
    return new Promise((resolve, reject) => {
      let closed = false;
      const socket = connect(port, '127.0.0.1', () => {
        resolve({ socket, closed: () => closed });
      });
      socket.on('error', () => undefined);
      socket.on('close', () => (closed = true));
      socket.once('error', reject);
    });
  }

  it('idle sockets beyond maxConnections are closed at once, the others after the idle timeout; a scrape then works', async (t) => {
    const { port, url } = await startServer(t, {}, { limits });
    const sockets = await Promise.all(Array.from({ length: 12 }, () => openSocket(port)));
    t.after(() => {
      for (const s of sockets) s.socket.destroy();
    });
    await waitFor(() => sockets.filter((s) => s.closed()).length >= 8, 'the sockets beyond maxConnections to be closed', 2000);
    const started = performance.now();
    await waitFor(() => sockets.every((s) => s.closed()), 'idle sockets to be cut', 5000);
    assert.ok(performance.now() - started < 4000);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
  });

  it('a client sending its headers a byte at a time (slowloris) is cut after headersTimeout', async (t) => {
    const { port } = await startServer(t, {}, { limits });
    const { socket, closed } = await openSocket(port);
    t.after(() => socket.destroy());
    const slow = 'GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(100);
    let i = 0;
    const drip = setInterval(() => {
      if (!socket.destroyed && i < slow.length) socket.write(slow[i++] ?? '');
    }, 50);
    t.after(() => { clearInterval(drip); });
    const started = performance.now();
    await waitFor(() => closed(), 'the slow client to be cut', 5000);
    clearInterval(drip);
    assert.ok(i < slow.length, 'cut before it finished its headers');
    assert.ok(performance.now() - started < 3000);
  });
});
