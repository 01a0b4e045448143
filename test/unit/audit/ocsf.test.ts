import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OcsfClasses } from '../../../src/audit/audit-event.js';
import { endpoint, toAuditEvents } from '../../../src/audit/ocsf.js';
import type { ScramCredentialChangeEvent } from '../../../src/broker/handlers/scram-credentials.js';
import type { SecurityEvent } from '../../../src/security/events.js';

const common = { time: 1_700_000_000_000, productVersion: '9.9.9' };
const one = (event: SecurityEvent) => {
  const out = toAuditEvents(event, common);
  assert.equal(out.length, 1);
  return out[0] as NonNullable<(typeof out)[0]>;
};

describe('OCSF audit events', () => {
  it('a login: Authentication/Logon, success, the principal, mechanism, TLS session and client software', () => {
    const e = one({
      type: 'authentication-succeeded',
      connection: 7,
      remote: '10.1.2.3:5555',
      mechanism: 'SCRAM-SHA-512',
      principal: 'User:alice',
      tls: { version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' },
      client: { name: 'librdkafka', version: '2.3.0' },
    });
    assert.equal(e.class_uid, OcsfClasses.AUTHENTICATION.uid);
    assert.equal(e.type_uid, 300201);
    assert.equal(e.activity_name, 'Logon');
    assert.equal(e.status, 'Success');
    assert.equal(e.severity_id, 1);
    assert.deepEqual(e.actor, { user: { name: 'User:alice' }, app_name: 'librdkafka 2.3.0' });
    assert.equal(e.auth_protocol, 'SCRAM-SHA-512');
    assert.deepEqual(e.src_endpoint, { ip: '10.1.2.3', port: 5555 });
    assert.deepEqual(e.tls, { version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' });
    assert.equal(e.time, common.time);
    assert.equal(e.metadata.product.version, '9.9.9');
    assert.equal(e.unmapped.parapet_type, 'authentication-succeeded');
  });

  it('a failed login: failure, medium severity, the reason and the claimed user', () => {
    const e = one({ type: 'authentication-failed', connection: 1, remote: '[::1]:4000', mechanism: 'PLAIN', reason: 'BAD_CREDENTIALS', claimedUser: 'mallory' });
    assert.equal(e.status, 'Failure');
    assert.equal(e.status_id, 2);
    assert.equal(e.severity_id, 3);
    assert.equal(e.status_detail, 'BAD_CREDENTIALS');
    assert.deepEqual(e.user, { name: 'User:mallory' });
    assert.deepEqual(e.src_endpoint, { ip: '::1', port: 4000 });
  });

  it('a denial: API Activity with the operation’s activity, the resources and how often it repeated', () => {
    const e = one({ type: 'authorization-denied', connection: 2, remote: '1.2.3.4:1', principal: 'User:bob', api: 'Produce', resources: ['WRITE TOPIC:orders'], repeated: 4 });
    assert.equal(e.class_uid, OcsfClasses.API_ACTIVITY.uid);
    assert.equal(e.activity_name, 'Create');
    assert.equal(e.status, 'Failure');
    assert.deepEqual(e.resources, [{ type: 'topic', name: 'orders' }]);
    assert.deepEqual(e.api, { operation: 'Produce', service: { name: 'kafka' } });
    assert.equal(e.count, 5);
  });

  it('topic changes are Entity Management; a refused one carries its error', () => {
    const created = one({ type: 'admin-change', principal: 'User:admin', remote: '/127.0.0.1', action: 'create-topics', resource: { type: 'topic', name: 't' }, detail: {} });
    assert.equal(created.class_uid, OcsfClasses.ENTITY_MANAGEMENT.uid);
    assert.equal(created.activity_name, 'Create');
    assert.deepEqual(created.entity, { type: 'topic', name: 't' });
    assert.deepEqual(created.src_endpoint, { ip: '127.0.0.1' });
    const refused = one({ type: 'admin-change', principal: 'User:admin', remote: '/127.0.0.1', action: 'delete-topics', resource: { type: 'topic', name: 't' }, detail: {}, error: 'UNKNOWN_TOPIC_OR_PARTITION' });
    assert.equal(refused.activity_name, 'Delete');
    assert.equal(refused.status, 'Failure');
    assert.equal(refused.status_detail, 'UNKNOWN_TOPIC_OR_PARTITION');
  });

  it('SCRAM changes are Account Change, one event per user', () => {
    const events = toAuditEvents(
      {
        type: 'admin-change',
        principal: 'User:admin',
        remote: '/127.0.0.1',
        action: 'alter-user-scram-credentials',
        // The detail as the AlterUserScramCredentials handler emits it (typed, so that a renamed field fails here).
        detail: { upserted: [{ user: 'carol', mechanism: 'SCRAM-SHA-256', iterations: 8192 }], deleted: [{ user: 'dave', mechanism: 'SCRAM-SHA-512' }] } satisfies Pick<ScramCredentialChangeEvent, 'upserted' | 'deleted'>,
      },
      common,
    );
    assert.deepEqual(
      events.map((e) => [e.class_uid, e.activity_name, (e.user as { name: string }).name, e.message]),
      [
        [OcsfClasses.ACCOUNT_CHANGE.uid, 'Password Change', 'User:carol', 'User:admin set the SCRAM-SHA-256 credential of User:carol'],
        [OcsfClasses.ACCOUNT_CHANGE.uid, 'Delete', 'User:dave', 'User:admin deleted the SCRAM-SHA-512 credential of User:dave'],
      ],
    );
  });

  it('start and stop are Application Lifecycle; an insecure start is high severity and lists the settings', () => {
    const started = one({ type: 'broker-started', version: '1.0.0', settings: { listener: 'SASL_SSL' }, insecure: ['allowInsecurePlaintext'] });
    assert.equal(started.class_uid, OcsfClasses.APPLICATION_LIFECYCLE.uid);
    assert.equal(started.activity_name, 'Start');
    assert.equal(started.severity_id, 4);
    assert.deepEqual(started.unmapped.insecure, ['allowInsecurePlaintext']);
    assert.equal(one({ type: 'broker-stopped', reason: 'SIGTERM' }).activity_name, 'Stop');
    const finding = one({ type: 'insecure-setting', setting: 'allowInsecureAnonymous', detail: 'anyone may do anything' });
    assert.equal(finding.class_uid, OcsfClasses.COMPLIANCE_FINDING.uid);
    assert.equal(finding.severity_id, 4);
  });

  it('data access is one aggregated API Activity event: count, interval and bytes', () => {
    const e = one({ type: 'data-access', principal: 'User:svc', topic: 'orders', operation: 'read', requests: 12, bytes: 4096, from: 1000, to: 61_000 });
    assert.equal(e.activity_name, 'Read');
    assert.equal(e.count, 12);
    assert.equal(e.start_time, 1000);
    assert.equal(e.end_time, 61_000);
    assert.equal(e.unmapped.bytes, 4096);
    assert.equal(one({ type: 'data-access', principal: 'User:svc', topic: 'orders', operation: 'write', requests: 1, bytes: 1, from: 0, to: 1 }).activity_name, 'Create');
  });

  it('logins the login guard refused: Authentication/Logon failures with LOGIN_BLOCKED, the reason, the source and the count', () => {
    const e = one({ type: 'login-refused', remote: '10.9.0.3:41000', source: '10.9.0.3', reason: 'user-guarded', mechanism: 'PLAIN', count: 42, claimedUser: 'alice', connection: 9 });
    assert.equal(e.type_uid, 300201);
    assert.equal(e.status, 'Failure');
    assert.equal(e.status_detail, 'LOGIN_BLOCKED');
    assert.equal(e.count, 42);
    assert.deepEqual(e.user, { name: 'User:alice' });
    assert.deepEqual(e.src_endpoint, { ip: '10.9.0.3', port: 41000 });
    assert.deepEqual(e.unmapped, { parapet_type: 'login-refused', reason: 'user-guarded', source: '10.9.0.3', connection: 9 });
    const engaged = one({ type: 'login-guard-engaged', scope: 'source', source: '10.9.0.3', remote: '10.9.0.3:41001', mechanism: 'SCRAM-SHA-512', failures: 30, until: common.time + 60_000 });
    assert.equal(engaged.status_detail, 'SOURCE_BLOCKED');
    assert.equal(engaged.severity, 'High');
    assert.match(engaged.message, /source 10\.9\.0\.3 blocked after 30 failed logins, until 2023-11-14T22:14:20\.000Z/);
  });

  it('a quota throttle is a successful API Activity with THROTTLED, the user, the client id and the throttles folded into it', () => {
    const e = one({ type: 'quota-throttled', connection: 4, remote: '10.0.0.9:5000', principal: 'User:greedy', clientId: 'loader', api: 'Produce', quota: 'producer_byte_rate', throttleMs: 900, repeated: 41, maxRepeatedMs: 1100 });
    assert.equal(e.class_name, 'API Activity');
    assert.equal(e.status, 'Success');
    assert.equal(e.status_detail, 'THROTTLED');
    assert.equal(e.actor?.user?.name, 'User:greedy');
    assert.equal(e.count, 42);
    assert.match(e.message, /User:greedy \(client id loader\) was throttled 900 ms on Produce by its producer_byte_rate quota, and 41 time\(s\) more/);
  });

  it('every event carries the OCSF base fields consistently', () => {
    const samples: SecurityEvent[] = [
      { type: 'connection-refused', remote: '1.1.1.1:1', reason: 'TLS_HANDSHAKE_FAILED', detail: 'no shared cipher' },
      { type: 'certificate-reloaded', ok: false, detail: 'the key does not match the certificate' },
      { type: 'quota-throttled', connection: 1, remote: '1.1.1.1:1', principal: 'User:a', clientId: 'c', api: 'Fetch', quota: 'consumer_byte_rate', throttleMs: 5 },
      { type: 'admin-change', principal: 'User:a', remote: 'local', action: 'create-acls', detail: { bindings: [] } },
    ];
    for (const s of samples) {
      for (const e of toAuditEvents(s, common)) {
        assert.equal(e.type_uid, e.class_uid * 100 + e.activity_id, s.type);
        assert.equal(e.metadata.version, '1.3.0');
        assert.ok(e.message.length > 0);
        assert.ok(['Informational', 'Medium', 'High'].includes(e.severity));
      }
    }
  });

  it('parses the address forms the broker uses', () => {
    assert.deepEqual(endpoint('10.0.0.1:9092'), { ip: '10.0.0.1', port: 9092 });
    assert.deepEqual(endpoint('/10.0.0.1'), { ip: '10.0.0.1' });
    assert.deepEqual(endpoint('::1:0'), { ip: '::1' });
  });
  it('a backup capture taken and released: Entity Management Create and Delete of the capture, with who did it', () => {
    const taken = one({ type: 'backup-capture-taken', principal: 'User:admin', remote: '127.0.0.1:4000', id: '20261207T171500Z-3f9a', partitions: 3, files: 12, bytes: 4096, leaseExpiresAtMs: 1_700_003_600_000 });
    assert.equal(taken.class_uid, OcsfClasses.ENTITY_MANAGEMENT.uid);
    assert.equal(taken.activity_name, 'Create');
    assert.deepEqual(taken.entity, { type: 'backup-capture', name: '20261207T171500Z-3f9a' });
    assert.deepEqual(taken.actor, { user: { name: 'User:admin' } });
    assert.match(taken.message, /User:admin took backup capture 20261207T171500Z-3f9a: 3 partition\(s\), 12 file\(s\), 4096 bytes/);
    assert.equal(taken.unmapped.parapet_type, 'backup-capture-taken');
    const expired = one({ type: 'backup-capture-released', id: '20261207T171500Z-3f9a', reason: 'expired' });
    assert.equal(expired.activity_name, 'Delete');
    assert.equal(expired.actor, undefined);
    assert.match(expired.message, /lease expired/);
    const released = one({ type: 'backup-capture-released', id: '20261207T171500Z-3f9a', reason: 'released', principal: 'User:admin', remote: '127.0.0.1:4000' });
    assert.deepEqual(released.actor, { user: { name: 'User:admin' } });
    assert.equal(released.unmapped.reason, 'released');
  });
});
