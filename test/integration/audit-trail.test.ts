import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { listAuditFiles, readHead } from '../../src/audit/audit-files.js';
import { AUDIT_UNAVAILABLE_MESSAGE } from '../../src/audit/admin-requests.js';
import { loadAuditSigningKey, publicKeyOf } from '../../src/audit/signing-key.js';
import { verifyAuditFiles } from '../../src/audit/verify.js';
import { AdminClient } from '../../src/client/admin.js';
import { readClientConfig } from '../../src/client/client-config.js';
import { KafkaError } from '../../src/client/errors.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../../src/protocol/acl.js';
import { AlterConfigs } from '../../src/protocol/messages/alter-configs.js';
import { CreatePartitions } from '../../src/protocol/messages/create-partitions.js';
import { DeleteTopics } from '../../src/protocol/messages/delete-topics.js';
import { Fetch } from '../../src/protocol/messages/fetch.js';
import { Metadata } from '../../src/protocol/messages/metadata.js';
import { Produce } from '../../src/protocol/messages/produce.js';
import { buildBatchSync, readRecordsSync } from '../../src/records/record.js';
import { auditEventsOf, ofType } from '../helpers/audit.js';
import { waitFor } from '../helpers/durability.js';
import { FaultyFs } from '../helpers/faulty-audit-fs.js';
import { SaslTestConnection } from '../helpers/sasl-client.js';
import { startSecureBroker, type SecureBroker, type SecureBrokerOptions } from '../helpers/secure-broker.js';

/**
 * The audit trail of a broker set up by `parapet init`: what each security-relevant action leaves in
 * the audit file (OCSF class, activity, actor, outcome), the `__audit` topic no client may change, and
 * failing closed when the file cannot be written.
 */

const USERS = { alice: 'alice-audit-password-1' };

async function login(t: TestContext, b: SecureBroker, user: string, password: string): Promise<SaslTestConnection> {
  const conn = await SaslTestConnection.open(t, b.port, b.caFile);
  const { result } = await conn.scram('SCRAM-SHA-512', user, password);
  assert.equal(result.errorCode, 0, `${user} authenticates`);
  return conn;
}

async function admin(t: TestContext, b: SecureBroker): Promise<AdminClient> {
  const client = await AdminClient.connect(readClientConfig(b.adminProperties));
  t.after(() => {
    client.close();
  });
  return client;
}

async function produce(conn: SaslTestConnection, topic: string, value = 'v'): Promise<number> {
  const response = (await conn.request(Produce, 8, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records: buildBatchSync({ records: [{ value }] }) }] }],
  })) as { responses: { partitionResponses: { errorCode: number }[] }[] };
  return response.responses[0]?.partitionResponses[0]?.errorCode ?? -100;
}

async function fetchAll(conn: SaslTestConnection, topic: string): Promise<{ errorCode: number; values: string[] }> {
  const response = (await conn.request(Fetch, 11, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 8 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 8 << 20 }] }],
    forgottenTopicsData: [],
    rackId: '',
  })) as { responses: { partitions: { errorCode: number; records: Buffer | null }[] }[] };
  const p = response.responses[0]?.partitions[0];
  const values: string[] = [];
  let rest = p?.records ?? Buffer.alloc(0);
  while (rest.length >= 12) {
    const size = 12 + rest.readInt32BE(8);
    for (const r of readRecordsSync(rest.subarray(0, size))) values.push(r.value?.toString('utf8') ?? '');
    rest = rest.subarray(size);
  }
  return { errorCode: p?.errorCode ?? -100, values };
}

function errorCodeOf(err: unknown): number | undefined {
  return err instanceof KafkaError ? err.code : undefined;
}

async function secureBroker(t: TestContext, options: SecureBrokerOptions = {}): Promise<SecureBroker> {
  return startSecureBroker(t, {
    users: USERS,
    acls: [{ resourceType: ResourceType.TOPIC, resourceName: 'orders', patternType: PatternType.LITERAL, principal: 'User:alice', host: '*', operation: AclOperation.READ, permission: AclPermissionType.ALLOW }],
    ...options,
  });
}

describe('the audit trail', () => {
  it('records start, logins, a failed login, denials, topic, config, ACL and user changes, data access and the stop; the file verifies', async (t) => {
    const b = await secureBroker(t, { audit: { dataAccessIntervalMs: 1000 } });
    const client = await admin(t, b);
    await client.createTopic('orders', 1, { 'retention.ms': '3600000' });
    await client.alterTopicConfigs('orders', { 'retention.ms': '7200000' });
    await client.createPartitions('orders', 2);
    await client.createAcl({ resourceType: ResourceType.TOPIC, resourceName: 'orders', patternType: PatternType.LITERAL, principal: 'User:alice', host: '*', operation: AclOperation.DESCRIBE, permission: AclPermissionType.ALLOW });
    await client.upsertScramCredential('carol', 'SCRAM-SHA-256', 'carol-password-123');
    await assert.rejects(client.createTopic('orders'), (err) => errorCodeOf(err) === ErrorCode.TOPIC_ALREADY_EXISTS);

    const alice = await login(t, b, 'alice', USERS.alice);
    assert.equal(await produce(alice, 'orders'), ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    const sa = await SaslTestConnection.open(t, b.port, b.caFile);
    assert.notEqual((await sa.scram('SCRAM-SHA-512', 'alice', 'wrong-password')).result.errorCode, 0);

    const admins = await login(t, b, 'admin', b.adminPassword);
    assert.equal(await produce(admins, 'orders', 'hello'), 0);
    assert.deepEqual((await fetchAll(admins, 'orders')).values, ['hello']);
    await client.deleteTopic('orders');
    await b.broker.close();

    const events = await auditEventsOf(b.dataDir);
    const started = ofType(events, 'broker-started')[0];
    assert.equal(started?.class_name, 'Application Lifecycle');
    assert.equal(started.activity_name, 'Start');
    assert.equal((started.unmapped.settings as { listener: { protocol: string } }).listener.protocol, 'SASL_SSL');

    const logins = ofType(events, 'authentication-succeeded');
    const adminLogin = logins.find((e) => e.actor?.user?.name === 'User:admin');
    assert.ok(adminLogin, 'the admin’s login');
    assert.equal(adminLogin.class_uid, 3002);
    assert.equal(adminLogin.status, 'Success');
    assert.match((adminLogin.tls as { version: string }).version, /^TLSv1\.[23]$/);
    assert.match(String(adminLogin.actor?.app_name), /^parapet-admin \d/, 'the client software it named in ApiVersions');
    const failed = ofType(events, 'authentication-failed');
    assert.deepEqual(
      failed.map((e) => [e.class_uid, e.status, e.status_detail, (e.user as { name: string } | undefined)?.name]),
      [[3002, 'Failure', 'BAD_CREDENTIALS', 'User:alice']],
    );

    const denied = ofType(events, 'authorization-denied').find((e) => e.actor?.user?.name === 'User:alice');
    assert.equal(denied?.class_uid, 6003);
    assert.equal(denied.activity_name, 'Create');
    assert.equal(denied.status, 'Failure');
    assert.deepEqual(denied.resources, [{ type: 'topic', name: 'orders' }]);

    const changes = ofType(events, 'admin-change').map((e) => [e.class_name, e.activity_name, e.actor?.user?.name, e.status, e.unmapped.action]);
    assert.deepEqual(changes, [
      ['Entity Management', 'Create', 'User:admin', 'Success', 'create-topics'],
      ['Entity Management', 'Update', 'User:admin', 'Success', 'incremental-alter-configs'],
      ['Entity Management', 'Create', 'User:admin', 'Success', 'create-partitions'],
      ['Entity Management', 'Create', 'User:admin', 'Success', 'create-acls'],
      ['Account Change', 'Password Change', 'User:admin', 'Success', 'alter-user-scram-credentials'],
      ['Entity Management', 'Create', 'User:admin', 'Failure', 'create-topics'],
      ['Entity Management', 'Delete', 'User:admin', 'Success', 'delete-topics'],
    ]);

    // The account the credential belongs to, as the message and `audit search --principal carol` name it.
    const credential = ofType(events, 'admin-change').find((e) => e.unmapped.action === 'alter-user-scram-credentials');
    assert.deepEqual([(credential?.user as { name: string } | undefined)?.name, credential?.message], ['User:carol', 'User:admin set the SCRAM-SHA-256 credential of User:carol']);

    const access = ofType(events, 'data-access').filter((e) => e.actor?.user?.name === 'User:admin');
    assert.deepEqual(access.map((e) => [e.activity_name, (e.resources as { name: string }[])[0]?.name, e.count]).sort(), [
      ['Create', 'orders', 1],
      ['Read', 'orders', 1],
    ]);
    assert.equal(ofType(events, 'broker-stopped')[0]?.activity_name, 'Stop');
    assert.doesNotMatch(JSON.stringify(events), /alice-audit-password|wrong-password|carol-password|admin-password/i, 'no password in the trail');
    assert.doesNotMatch(JSON.stringify(events), new RegExp(b.adminPassword), 'not even the admin’s');

    const dir = join(b.dataDir, 'audit');
    const files = await listAuditFiles(dir);
    const key = publicKeyOf(loadAuditSigningKey(b.config.audit.signingKey ?? ''));
    const head = await readHead(join(dir, 'head.json'));
    assert.ok(head !== undefined, 'the signed head');
    const report = await verifyAuditFiles(files, key, { head });
    assert.deepEqual(report.problems, []);
    assert.equal(report.ok, true);
  });

  it('__audit holds the trail’s lines for a reader with an ACL, and no client, super users included, may write, delete or alter it', async (t) => {
    const b = await secureBroker(t);
    const admins = await login(t, b, 'admin', b.adminPassword);
    const metadata = (await admins.request(Metadata, 9, { topics: [{ name: '__audit' }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false })) as {
      topics: { name: string; errorCode: number; isInternal: boolean }[];
    };
    assert.deepEqual(metadata.topics.map((x) => [x.name, x.errorCode, x.isInternal]), [['__audit', 0, true]]);

    assert.equal(await produce(admins, '__audit', '{"forged":true}'), ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'a super user’s produce');
    const deleted = (await admins.request(DeleteTopics, 4, { topicNames: ['__audit'], timeoutMs: 1000 })) as { responses: { name: string; errorCode: number }[] };
    assert.deepEqual(deleted.responses.map((r) => [r.name, r.errorCode]), [['__audit', ErrorCode.TOPIC_AUTHORIZATION_FAILED]]);
    const partitions = (await admins.request(CreatePartitions, 1, { topics: [{ name: '__audit', count: 4, assignments: null }], timeoutMs: 1000, validateOnly: false })) as {
      results: { errorCode: number }[];
    };
    assert.equal(partitions.results[0]?.errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    const altered = (await admins.request(AlterConfigs, 1, { resources: [{ resourceType: 2, resourceName: '__audit', configs: [{ name: 'retention.ms', value: '1' }] }], validateOnly: false })) as {
      responses: { errorCode: number }[];
    };
    assert.equal(altered.responses[0]?.errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);

    // The refusals are themselves in the trail, and the topic carries the file's lines (hash chain included).
    await waitFor(() => b.events.filter((e) => e.type === 'authorization-denied' && e.resources.some((r) => r.endsWith(':__audit'))).length >= 4, 'the refusals reported');
    let values: string[] = [];
    for (let i = 0; i < 50; i++) {
      values = (await fetchAll(admins, '__audit')).values;
      if (values.some((v) => v.includes('DELETE TOPIC:__audit'))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const lines = values.map((v) => JSON.parse(v) as { seq: number; prev: string; event?: { class_name: string; unmapped: { parapet_type: string } } });
    assert.ok(lines.some((l) => l.event?.unmapped.parapet_type === 'broker-started'), 'the start event');
    assert.ok(values.some((v) => v.includes('DELETE TOPIC:__audit')), 'the refused deletion');
    assert.ok(lines.every((l, i) => i === 0 || l.seq === (lines[i - 1] as { seq: number }).seq + 1), 'consecutive lines of the chain');
    assert.doesNotMatch(values.join('\n'), /forged/, 'the forged record is nowhere');

    const alice = await login(t, b, 'alice', USERS.alice);
    assert.equal((await fetchAll(alice, '__audit')).errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'reading it takes an ACL');
  });

  it('fails closed when the audit file cannot be written: admin changes and new logins are refused, produce and fetch go on; it recovers', async (t) => {
    const fs = new FaultyFs();
    const b = await secureBroker(t, { deps: { auditFs: fs } });
    const client = await admin(t, b);
    await client.createTopic('orders', 1);
    const admins = await login(t, b, 'admin', b.adminPassword);

    fs.writeError = 'ENOSPC';
    fs.syncError = 'ENOSPC';
    // The next event (this produce's sums come later; a denial is immediate) meets the full disk.
    const alice = await login(t, b, 'alice', USERS.alice);
    assert.equal(await produce(alice, 'orders'), ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    await waitFor(() => b.logger.entries.some((e) => (e.obj as { event?: string }).event === 'audit-write-failed'), 'the failed write logged');

    await assert.rejects(client.createTopic('payments', 1), (err) => errorCodeOf(err) === ErrorCode.POLICY_VIOLATION && (err as Error).message.includes('audit trail cannot be written'));
    await assert.rejects(client.createAcl({ resourceType: ResourceType.TOPIC, resourceName: 'x', patternType: PatternType.LITERAL, principal: 'User:alice', host: '*', operation: AclOperation.READ, permission: AclPermissionType.ALLOW }), (err) => errorCodeOf(err) === ErrorCode.POLICY_VIOLATION);
    const late = await SaslTestConnection.open(t, b.port, b.caFile);
    const refused = await late.scram('SCRAM-SHA-512', 'admin', b.adminPassword);
    assert.equal(refused.result.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
    assert.equal(refused.result.errorMessage, AUDIT_UNAVAILABLE_MESSAGE);

    assert.equal(await produce(admins, 'orders', 'during'), 0, 'an established connection still produces');
    assert.deepEqual((await fetchAll(admins, 'orders')).values, ['during'], 'and fetches');

    fs.writeError = undefined;
    fs.syncError = undefined;
    await waitFor(() => b.logger.entries.some((e) => (e.obj as { event?: string }).event === 'audit-write-failed') && !refusing(b), 'the trail writable again', 10_000);
    await client.createTopic('payments', 1);
    await b.broker.close();
    const events = await auditEventsOf(b.dataDir);
    assert.ok(ofType(events, 'authorization-denied').some((e) => e.actor?.user?.name === 'User:alice'), 'the denial queued during the fault was written after it');
    assert.ok(ofType(events, 'admin-change').some((e) => (e.entity as { name: string } | undefined)?.name === 'payments'));
  });

  it('with audit.allowInsecureFailOpen the changes go on while the file cannot be written, and the setting is reported as insecure', async (t) => {
    const fs = new FaultyFs();
    const b = await secureBroker(t, { deps: { auditFs: fs }, audit: { allowInsecureFailOpen: true } });
    assert.ok(b.events.some((e) => e.type === 'insecure-setting' && e.setting === 'audit.allowInsecureFailOpen'));
    const client = await admin(t, b);
    fs.writeError = 'EIO';
    fs.syncError = 'EIO';
    await client.createTopic('a', 1);
    await waitFor(() => b.logger.entries.some((e) => (e.obj as { event?: string }).event === 'audit-write-failed'), 'the failed write logged');
    await client.createTopic('b', 1);
    fs.writeError = undefined;
    fs.syncError = undefined;
  });
});

function refusing(b: SecureBroker): boolean {
  return !b.broker.auditWritable;
}
