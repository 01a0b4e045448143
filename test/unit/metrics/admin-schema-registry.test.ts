import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { AdminServer } from '../../../src/metrics/admin-server.js';
import { BrokerMetrics } from '../../../src/metrics/broker-metrics.js';
import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../../../src/protocol/acl.js';
import { jsonSchemaFormat } from '../../../src/schemas/formats/json-schema.js';
import { SchemaRegistry } from '../../../src/schemas/registry.js';
import type { RegistryLimits } from '../../../src/schemas/registry-limits.js';
import type { AclBinding } from '../../../src/security/authz/acl-store.js';
import { AclAuthorizer } from '../../../src/security/authz/authorizer.js';
import type { SecurityEvent } from '../../../src/security/events.js';
import type { Principal } from '../../../src/security/types.js';
import { MetadataStore } from '../../../src/storage/metadata-store.js';
import { TEST_ADMIN_ENDPOINT } from '../../helpers/admin-endpoint.js';
import { recordingLogger } from '../../helpers/broker.js';
import { createTlsFixture, type TlsFixture } from '../../helpers/tls-fixtures.js';
import { fields, fieldsFormat } from '../schemas/test-format.js';

const TOKEN = 'c2f1e0d9b8a7968574635241302f1e0d';
const CT = 'application/vnd.schemaregistry.v1+json';

const allow = (principal: string, operation: AclOperation, resourceType: number, resourceName: string, patternType: 3 | 4 = PatternType.LITERAL): AclBinding => ({
  resourceType: resourceType as AclBinding['resourceType'],
  resourceName,
  patternType,
  principal: principal as Principal,
  host: '*',
  operation,
  permission: AclPermissionType.ALLOW,
});

/**
 * `bob` may WRITE (so also DESCRIBE) and READ the subjects prefixed `orders-`; `carol` may READ
 * `payments-value` only; `root` is a super user. Passwords are `<user>-password-1`.
 */
const BINDINGS: AclBinding[] = [
  allow('User:bob', AclOperation.WRITE, ResourceType.SUBJECT, 'orders-', PatternType.PREFIXED),
  allow('User:bob', AclOperation.READ, ResourceType.SUBJECT, 'orders-', PatternType.PREFIXED),
  allow('User:carol', AclOperation.READ, ResourceType.SUBJECT, 'payments-value'),
  allow('User:alice', AclOperation.ALL, ResourceType.SUBJECT, '*'),
];

interface Started {
  readonly port: number;
  readonly fixture: TlsFixture;
  readonly events: SecurityEvent[];
  readonly registry: SchemaRegistry;
}

/** A real admin endpoint over TLS with the registry's routes, over a real metadata store: JSON Schema as JSON, the test format as AVRO. */
async function start(t: TestContext, options: { limits?: Partial<RegistryLimits>; clock?: () => number; mtls?: boolean } = {}): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-sr-routes-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, TOKEN, { mode: 0o600 });
  const store = new MetadataStore(join(dir, 'data'));
  t.after(() => {
    store.close();
  });
  const registry = new SchemaRegistry({ store: store.schemaRegistry, formatOf: (type) => (type === 'JSON' ? jsonSchemaFormat : type === 'AVRO' ? fieldsFormat : undefined), ...(options.limits === undefined ? {} : { limits: options.limits }) });
  const fixture = await createTlsFixture(t);
  const events: SecurityEvent[] = [];
  const server = new AdminServer({
    config: { ...TEST_ADMIN_ENDPOINT, bearerToken: `\${file:${tokenFile}}`, tls: { ...fixture.tlsFiles, clientAuth: options.mtls === true ? 'required' : 'none' } },
    metrics: new BrokerMetrics({ processMetrics: false }),
    checks: () => [],
    logger: recordingLogger(),
    routes: {
      guard: {
        verifyPassword: (user, password) => Promise.resolve(password === `${user}-password-1` ? (`User:${user}` as const) : null),
        authorizer: new AclAuthorizer({ acls: { generation: 0, bindings: () => BINDINGS }, superUsers: ['User:root'] }),
        events: { emit: (e) => events.push(e) },
        ...(options.clock === undefined ? {} : { clock: options.clock }),
        ...(options.mtls === true ? { certificatePrincipal: (socket): Principal => `User:${String(socket.getPeerCertificate().subject.CN)}` } : {}),
      },
      schemaRegistry: { registry },
    },
  });
  const { port } = await server.start();
  t.after(() => server.close());
  return { port, fixture, events, registry };
}

interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly text: string;
  readonly headers: IncomingHttpHeaders;
}

/** One request as `as` (a user with its password, `token`, or nobody), over TLS with the fixture's CA. */
function call(s: Started, method: string, path: string, options: { as?: string; body?: unknown; raw?: string; cert?: boolean } = {}): Promise<Reply> {
  const headers: Record<string, string> = { accept: CT };
  if (options.as === 'token') headers.authorization = `Bearer ${TOKEN}`;
  else if (options.as !== undefined) headers.authorization = `Basic ${Buffer.from(`${options.as}:${options.as}-password-1`).toString('base64')}`;
  const payload = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  if (payload !== undefined) headers['content-type'] = CT;
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port: s.port, method, path, headers, ca: s.fixture.ca.certPem, ...(options.cert === true ? { cert: s.fixture.client.certPem, key: s.fixture.client.keyPem } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body, text, headers: res.headers });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const JSON_SCHEMA = JSON.stringify({ type: 'object', properties: { id: { type: 'integer' } }, required: ['id'] });

describe('schema registry routes: Confluent’s shapes', () => {
  it('register, read back by subject, version and id, look up; JSON has schemaType, AVRO leaves it out', async (t) => {
    const s = await start(t);
    const registered = await call(s, 'POST', '/subjects/orders-value/versions', { as: 'root', body: { schema: JSON_SCHEMA, schemaType: 'JSON' } });
    assert.equal(registered.status, 200);
    assert.equal(registered.headers['content-type'], CT);
    assert.deepEqual(registered.body, { id: 1 });
    assert.deepEqual((await call(s, 'POST', '/subjects/orders-value/versions', { as: 'root', body: { schema: JSON_SCHEMA, schemaType: 'JSON' } })).body, { id: 1 }, 'the same schema again: its id');
    const expected = { subject: 'orders-value', version: 1, id: 1, schema: JSON_SCHEMA, schemaType: 'JSON' };
    for (const v of ['1', 'latest', '-1']) assert.deepEqual((await call(s, 'GET', `/subjects/orders-value/versions/${v}`, { as: 'root' })).body, expected, v);
    assert.equal((await call(s, 'GET', '/subjects/orders-value/versions/1/schema', { as: 'root' })).text, JSON_SCHEMA, 'the schema itself, not a JSON string of it');
    assert.deepEqual((await call(s, 'GET', '/schemas/ids/1', { as: 'root' })).body, { schema: JSON_SCHEMA, schemaType: 'JSON' });
    assert.equal((await call(s, 'GET', '/schemas/ids/1/schema', { as: 'root' })).text, JSON_SCHEMA);
    assert.deepEqual((await call(s, 'GET', '/schemas/ids/1/versions', { as: 'root' })).body, [{ subject: 'orders-value', version: 1 }]);
    assert.deepEqual((await call(s, 'GET', '/subjects/orders-value/versions', { as: 'root' })).body, [1]);
    assert.deepEqual((await call(s, 'POST', '/subjects/orders-value', { as: 'root', body: { schema: JSON_SCHEMA, schemaType: 'JSON' } })).body, expected);
    assert.deepEqual((await call(s, 'GET', '/schemas/types', { as: 'root' })).body, ['AVRO', 'JSON']);

    // No schemaType: AVRO (here the test format), answered without schemaType; references shown when any.
    assert.deepEqual((await call(s, 'POST', '/subjects/common/versions', { as: 'root', body: { schema: fields({ a: 'required' }) } })).body, { id: 2 });
    const ref = { name: 'common.avsc', subject: 'common', version: 1 };
    assert.deepEqual((await call(s, 'POST', '/subjects/with-ref/versions', { as: 'root', body: { schema: fields({ b: 'optional' }), references: [ref] } })).body, { id: 3 });
    assert.deepEqual((await call(s, 'GET', '/schemas/ids/2', { as: 'root' })).body, { schema: fields({ a: 'required' }) });
    assert.deepEqual((await call(s, 'GET', '/schemas/ids/3', { as: 'root' })).body, { schema: fields({ b: 'optional' }), references: [ref] });
    assert.deepEqual((await call(s, 'GET', '/subjects', { as: 'root' })).body, ['common', 'orders-value', 'with-ref']);
    assert.deepEqual((await call(s, 'GET', '/subjects/with-ref/versions/latest', { as: 'root' })).body, { subject: 'with-ref', version: 1, id: 3, schema: fields({ b: 'optional' }), references: [ref] });
  });

  it('errors are {"error_code","message"} with Confluent’s codes and statuses', async (t) => {
    const s = await start(t);
    const err = async (method: string, path: string, status: number, code: number, body?: unknown) => {
      const r = await call(s, method, path, { as: 'root', ...(body === undefined ? {} : { body }) });
      assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
      assert.equal((r.body as { error_code: number }).error_code, code, `${method} ${path}: ${r.text}`);
      assert.equal(typeof (r.body as { message: unknown }).message, 'string');
      return (r.body as { message: string }).message;
    };
    await err('GET', '/subjects/nope/versions', 404, 40401);
    await err('GET', '/schemas/ids/42', 404, 40403);
    await err('POST', '/subjects/a/versions', 422, 42201, { schema: '{"type": 12}', schemaType: 'JSON' });
    assert.match(await err('POST', '/subjects/a/versions', 422, 42201, { schema: 'syntax = "proto3";', schemaType: 'PROTOBUF' }), /unsupported schema type PROTOBUF/);
    await err('POST', '/subjects/a/versions', 422, 42201, { schemaType: 'JSON' });
    await call(s, 'POST', '/subjects/a/versions', { as: 'root', body: { schema: fields({ a: 'required' }) } });
    await err('GET', '/subjects/a/versions/abc', 422, 42202);
    await err('GET', '/subjects/a/versions/0', 422, 42202);
    await err('GET', '/subjects/a/versions/7', 404, 40402);
    await err('PUT', '/config/a', 422, 42203, { compatibility: 'SIDEWAYS' });
    await err('GET', '/config/a', 404, 40408);
    await err('PUT', '/mode', 422, 42204, { mode: 'IMPORT' });
    await err('DELETE', '/subjects/a?permanent=true', 404, 40405);
    const incompatible = await err('POST', '/subjects/a/versions', 409, 409, { schema: fields({ a: 'required', b: 'required' }) });
    assert.match(incompatible, /^Schema being registered is incompatible with an earlier schema for subject "a", details: \[/);
    await err('GET', '/subjects/a/versions/1/nothing', 404, 404);
    await err('PATCH', '/subjects', 405, 405);
    const raw = await call(s, 'POST', '/subjects/a/versions', { as: 'root', raw: '{nope' });
    assert.equal(raw.status, 400);
  });

  it('delete: soft, then permanent (40405 / 40407 before the soft one), listings with ?deleted=true', async (t) => {
    const s = await start(t);
    await call(s, 'PUT', '/config', { as: 'root', body: { compatibility: 'NONE' } });
    for (const f of ['a', 'b']) await call(s, 'POST', '/subjects/x/versions', { as: 'root', body: { schema: fields({ [f]: 'required' }) } });
    const early = await call(s, 'DELETE', '/subjects/x/versions/1?permanent=true', { as: 'root' });
    assert.equal(early.status, 404);
    assert.equal((early.body as { error_code: number }).error_code, 40407);
    assert.deepEqual((await call(s, 'DELETE', '/subjects/x/versions/1', { as: 'root' })).body, 1);
    assert.equal(((await call(s, 'DELETE', '/subjects/x/versions/1', { as: 'root' })).body as { error_code: number }).error_code, 40406);
    assert.equal(((await call(s, 'DELETE', '/subjects/x?permanent=true', { as: 'root' })).body as { error_code: number }).error_code, 40405);
    assert.deepEqual((await call(s, 'DELETE', '/subjects/x', { as: 'root' })).body, [2]);
    assert.equal(((await call(s, 'DELETE', '/subjects/x', { as: 'root' })).body as { error_code: number }).error_code, 40404);
    assert.deepEqual((await call(s, 'GET', '/subjects', { as: 'root' })).body, []);
    assert.deepEqual((await call(s, 'GET', '/subjects?deleted=true', { as: 'root' })).body, ['x']);
    assert.deepEqual((await call(s, 'GET', '/subjects/x/versions?deleted=true', { as: 'root' })).body, [1, 2]);
    assert.deepEqual((await call(s, 'DELETE', '/subjects/x?permanent=true', { as: 'root' })).body, [1, 2]);
    assert.equal(((await call(s, 'GET', '/schemas/ids/1', { as: 'root' })).body as { error_code: number }).error_code, 40403);
  });

  it('compatibility tests, config and mode: GET/PUT shapes, defaultToGlobal, READONLY refuses a registration with 42205', async (t) => {
    const s = await start(t);
    await call(s, 'POST', '/subjects/c/versions', { as: 'root', body: { schema: fields({ a: 'required' }) } });
    const candidate = { schema: fields({ a: 'required', b: 'required' }) };
    assert.deepEqual((await call(s, 'POST', '/compatibility/subjects/c/versions/latest', { as: 'root', body: candidate })).body, { is_compatible: false });
    const verbose = (await call(s, 'POST', '/compatibility/subjects/c/versions?verbose=true', { as: 'root', body: candidate })).body as { is_compatible: boolean; messages: string[] };
    assert.equal(verbose.is_compatible, false);
    assert.ok(verbose.messages.some((m) => m.includes('field b')), JSON.stringify(verbose));
    assert.deepEqual((await call(s, 'GET', '/config', { as: 'root' })).body, { compatibilityLevel: 'BACKWARD' });
    assert.deepEqual((await call(s, 'PUT', '/config/c', { as: 'root', body: { compatibility: 'none' } })).body, { compatibility: 'NONE' });
    assert.deepEqual((await call(s, 'GET', '/config/c', { as: 'root' })).body, { compatibilityLevel: 'NONE' });
    assert.deepEqual((await call(s, 'POST', '/compatibility/subjects/c/versions/1', { as: 'root', body: candidate })).body, { is_compatible: true });
    assert.deepEqual((await call(s, 'DELETE', '/config/c', { as: 'root' })).body, { compatibilityLevel: 'NONE' });
    assert.deepEqual((await call(s, 'GET', '/config/c?defaultToGlobal=true', { as: 'root' })).body, { compatibilityLevel: 'BACKWARD' });
    assert.deepEqual((await call(s, 'GET', '/mode', { as: 'root' })).body, { mode: 'READWRITE' });
    assert.deepEqual((await call(s, 'PUT', '/mode/c', { as: 'root', body: { mode: 'READONLY' } })).body, { mode: 'READONLY' });
    const refused = await call(s, 'POST', '/subjects/c/versions', { as: 'root', body: { schema: fields({}) } });
    assert.equal(refused.status, 422);
    assert.equal((refused.body as { error_code: number }).error_code, 42205);
    assert.deepEqual((await call(s, 'DELETE', '/mode/c', { as: 'root' })).body, { mode: 'READONLY' });
    assert.equal((await call(s, 'POST', '/subjects/c/versions', { as: 'root', body: { schema: fields({}) } })).status, 200);
  });
});

describe('schema registry routes: who may do what', () => {
  it('401 (40101) without valid credentials; the bearer token may do anything', async (t) => {
    const s = await start(t);
    const nobody = await call(s, 'GET', '/subjects');
    assert.equal(nobody.status, 401);
    assert.equal((nobody.body as { error_code: number }).error_code, 40101);
    assert.match(String(nobody.headers['www-authenticate']), /^Basic/);
    const wrong = await call(s, 'GET', '/subjects', { as: 'mallory' });
    assert.equal(wrong.status, 200, 'mallory-password-1 is right for the stand-in verifier: mallory is authenticated, and sees nothing');
    assert.deepEqual(wrong.body, []);
    const bad = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port: s.port, path: '/subjects', headers: { authorization: `Basic ${Buffer.from('bob:guess').toString('base64')}` }, ca: s.fixture.ca.certPem }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(bad, 401);
    assert.equal((await call(s, 'POST', '/subjects/anything/versions', { as: 'token', body: { schema: JSON_SCHEMA, schemaType: 'JSON' } })).status, 200);
    assert.equal((await call(s, 'PUT', '/config', { as: 'token', body: { compatibility: 'FULL' } })).status, 200);
  });

  it('SUBJECT ACLs, prefixed: bob writes orders-*, not payments-value (403, 40301, audited); listings show only what the caller may describe', async (t) => {
    const s = await start(t);
    assert.deepEqual((await call(s, 'POST', '/subjects/orders-value/versions', { as: 'bob', body: { schema: JSON_SCHEMA, schemaType: 'JSON' } })).body, { id: 1 });
    const denied = await call(s, 'POST', '/subjects/payments-value/versions', { as: 'bob', body: { schema: JSON_SCHEMA, schemaType: 'JSON' } });
    assert.equal(denied.status, 403);
    assert.deepEqual(denied.body, { error_code: 40301, message: "Forbidden: User:bob may not WRITE subject 'payments-value' (an ACL on it, or a super user, is needed)" });
    assert.ok(s.events.some((e) => e.type === 'admin-request' && e.status === 403 && e.principal === 'User:bob' && e.detail === "WRITE on subject 'payments-value' is not allowed"));
    const other = JSON.stringify({ type: 'string' });
    await call(s, 'POST', '/subjects/payments-value/versions', { as: 'root', body: { schema: other, schemaType: 'JSON' } });
    assert.deepEqual((await call(s, 'GET', '/subjects', { as: 'bob' })).body, ['orders-value']);
    assert.deepEqual((await call(s, 'GET', '/subjects', { as: 'carol' })).body, ['payments-value'], 'READ implies DESCRIBE');
    assert.deepEqual((await call(s, 'GET', '/subjects', { as: 'root' })).body, ['orders-value', 'payments-value']);
    assert.equal((await call(s, 'GET', '/schemas/ids/2', { as: 'bob' })).status, 403, 'id 2 is only under payments-value');
    assert.equal((await call(s, 'GET', '/schemas/ids/2', { as: 'carol' })).status, 200);
    assert.equal((await call(s, 'GET', '/subjects/orders-value/versions/1', { as: 'carol' })).status, 403);
    assert.equal((await call(s, 'DELETE', '/subjects/orders-value', { as: 'bob' })).status, 403, 'WRITE does not grant DELETE');
    assert.equal((await call(s, 'PUT', '/config/orders-value', { as: 'bob', body: { compatibility: 'NONE' } })).status, 403, 'nor ALTER');
    assert.equal((await call(s, 'PUT', '/config', { as: 'bob', body: { compatibility: 'NONE' } })).status, 403, 'the global config needs ALTER_CONFIGS on the CLUSTER');
    assert.equal((await call(s, 'GET', '/config', { as: 'bob' })).status, 403);
    assert.deepEqual((await call(s, 'GET', '/config/orders-value?defaultToGlobal=true', { as: 'bob' })).body, { compatibilityLevel: 'BACKWARD' });
  });

  it('audits every change with the subject and id, never the schema text', async (t) => {
    const s = await start(t);
    await call(s, 'POST', '/subjects/orders-value/versions', { as: 'bob', body: { schema: JSON_SCHEMA, schemaType: 'JSON' } });
    await call(s, 'PUT', '/config', { as: 'root', body: { compatibility: 'FULL' } });
    await call(s, 'GET', '/subjects/orders-value/versions/1', { as: 'bob' });
    const audited = s.events.flatMap((e) => (e.type === 'admin-request' ? [`${e.status} ${e.principal ?? '-'} ${e.path} ${e.detail ?? ''}`] : []));
    assert.deepEqual(audited, [
      "200 User:bob /subjects/orders-value/versions register under subject 'orders-value': version 1 id 1 registered",
      '200 User:root /config compatibility of the registry set: to FULL',
    ]);
    assert.ok(!audited.join().includes('integer'), 'the schema text is not in the trail');
  });

  it('its own rate: past requestBurst, 429 (42901) with Retry-After; refused unaudited', async (t) => {
    const s = await start(t, { limits: { requestsPerSecond: 1, requestBurst: 3 }, clock: () => 0 });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await call(s, 'GET', '/schemas/types', { as: 'root' })).status);
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    const limited = await call(s, 'GET', '/schemas/types', { as: 'root' });
    assert.equal((limited.body as { error_code: number }).error_code, 42901);
    assert.equal(limited.headers['retry-after'], '1');
    assert.equal(s.events.length, 0);
  });

  it('a body over maxRequestBytes is refused with 413 before it is parsed', async (t) => {
    const s = await start(t, { limits: { maxRequestBytes: 1024 } });
    const big = await call(s, 'POST', '/subjects/a/versions', { as: 'root', body: { schema: JSON.stringify({ description: 'x'.repeat(2000) }), schemaType: 'JSON' } });
    assert.equal(big.status, 413);
    assert.deepEqual((await call(s, 'GET', '/subjects', { as: 'root' })).body, []);
  });

  it('with mTLS, a request without an Authorization header is the certificate’s principal', async (t) => {
    const s = await start(t, { mtls: true });
    const r = await call(s, 'POST', '/subjects/anything-value/versions', { cert: true, body: { schema: JSON_SCHEMA, schemaType: 'JSON' } });
    assert.equal(r.status, 200, r.text);
    assert.ok(s.events.some((e) => e.type === 'admin-request' && e.principal === 'User:alice'));
  });
});
