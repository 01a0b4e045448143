import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../../src/protocol/acl.js';
import { Fetch } from '../../src/protocol/messages/fetch.js';
import { Metadata } from '../../src/protocol/messages/metadata.js';
import { Produce } from '../../src/protocol/messages/produce.js';
import { buildBatchSync } from '../../src/records/record.js';
import type { AclBindingInput } from '../../src/security/authz/acl-store.js';
import { createTopic } from '../helpers/client.js';
import { SaslTestConnection } from '../helpers/sasl-client.js';
import { startSecureBroker, type SecureBroker } from '../helpers/secure-broker.js';

const USERS = { alice: 'alice-password-1', bob: 'bob-password-22' };

function acl(fields: Partial<AclBindingInput> & Pick<AclBindingInput, 'resourceName' | 'operation'>): AclBindingInput {
  return { resourceType: ResourceType.TOPIC, patternType: PatternType.LITERAL, principal: 'User:alice', host: '*', permission: AclPermissionType.ALLOW, ...fields };
}

async function login(t: TestContext, b: SecureBroker, user: string, password: string): Promise<SaslTestConnection> {
  const conn = await SaslTestConnection.open(t, b.port, b.caFile);
  const { result } = await conn.scram('SCRAM-SHA-512', user, password);
  assert.equal(result.errorCode, 0, `${user} authenticates`);
  return conn;
}

async function visibleTopics(conn: SaslTestConnection): Promise<string[]> {
  const response = (await conn.request(Metadata, 9, { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false })) as {
    topics: { name: string }[];
  };
  return response.topics.map((x) => x.name).sort();
}

async function describeTopic(conn: SaslTestConnection, name: string): Promise<number> {
  const response = (await conn.request(Metadata, 9, { topics: [{ name }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false })) as {
    topics: { name: string; errorCode: number }[];
  };
  return response.topics[0]?.errorCode ?? -100;
}

async function produce(conn: SaslTestConnection, topic: string): Promise<number> {
  const response = (await conn.request(Produce, 8, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records: buildBatchSync({ records: [{ value: 'v' }] }) }] }],
  })) as { responses: { partitionResponses: { errorCode: number }[] }[] };
  return response.responses[0]?.partitionResponses[0]?.errorCode ?? -100;
}

async function fetchError(conn: SaslTestConnection, topic: string): Promise<number> {
  const response = (await conn.request(Fetch, 11, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
    forgottenTopicsData: [],
    rackId: '',
  })) as { responses: { partitions: { errorCode: number }[] }[] };
  return response.responses[0]?.partitions[0]?.errorCode ?? -100;
}

describe('authorization with Kafka ACL semantics (default deny)', () => {
  it('a principal without ACLs cannot see a topic in Metadata; the super user sees it', async (t) => {
    const b = await startSecureBroker(t, { users: USERS });
    await createTopic(b.adminProperties, ['payments']);
    const alice = await login(t, b, 'alice', USERS.alice);
    assert.deepEqual(await visibleTopics(alice), []);
    assert.equal(await describeTopic(alice, 'payments'), 29);
    assert.equal(await produce(alice, 'payments'), 29);
    const admin = await login(t, b, 'admin', b.adminPassword);
    assert.deepEqual(await visibleTopics(admin), ['__audit', 'payments'], 'the super user sees every topic, the audit trail’s included');
    const denied = b.events.filter((e) => e.type === 'authorization-denied');
    assert.ok(denied.some((e) => e.principal === 'User:alice' && e.api === 'Produce' && e.resources.includes('WRITE TOPIC:payments')));
  });

  it('a client retrying a denied request in a loop is reported once a second, not once a request', async (t) => {
    const b = await startSecureBroker(t, { users: USERS });
    await createTopic(b.adminProperties, ['locked']);
    const alice = await login(t, b, 'alice', USERS.alice);
    for (let i = 0; i < 20; i++) assert.equal(await produce(alice, 'locked'), 29);
    const denials = () => b.events.filter((e) => e.type === 'authorization-denied' && e.api === 'Produce');
    assert.equal(denials().length, 1);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.equal(await produce(alice, 'locked'), 29);
    assert.equal(denials().length, 2);
    assert.equal((denials()[1] as { repeated?: number }).repeated, 19);
  });

  it('DENY beats ALLOW, and READ implies DESCRIBE', async (t) => {
    const b = await startSecureBroker(t, {
      users: USERS,
      acls: [
        acl({ resourceName: 'orders', operation: AclOperation.ALL }),
        acl({ resourceName: 'orders', operation: AclOperation.WRITE, permission: AclPermissionType.DENY }),
        acl({ resourceName: 'audit', operation: AclOperation.READ }),
      ],
    });
    await createTopic(b.adminProperties, ['orders', 'audit', 'hidden']);
    const alice = await login(t, b, 'alice', USERS.alice);
    assert.equal(await produce(alice, 'orders'), 29, 'DENY WRITE wins over ALLOW ALL');
    assert.equal(await fetchError(alice, 'orders'), 0, 'READ is still allowed by ALL');
    assert.deepEqual(await visibleTopics(alice), ['audit', 'orders'], 'READ on audit implies DESCRIBE');
    assert.equal(await produce(alice, 'audit'), 29);
  });

  it('PREFIXED patterns and User:* match as in Kafka', async (t) => {
    const b = await startSecureBroker(t, {
      users: USERS,
      acls: [
        acl({ resourceName: 'team-a.', patternType: PatternType.PREFIXED, operation: AclOperation.WRITE }),
        acl({ resourceName: 'public', principal: 'User:*', operation: AclOperation.DESCRIBE }),
      ],
    });
    await createTopic(b.adminProperties, ['team-a.orders', 'team-b.orders', 'team-a', 'public']);
    const alice = await login(t, b, 'alice', USERS.alice);
    assert.equal(await produce(alice, 'team-a.orders'), 0);
    assert.equal(await produce(alice, 'team-b.orders'), 29);
    assert.equal(await produce(alice, 'team-a'), 29, 'the prefix includes the dot');
    assert.deepEqual(await visibleTopics(alice), ['public', 'team-a.orders']);
    const bob = await login(t, b, 'bob', USERS.bob);
    assert.deepEqual(await visibleTopics(bob), ['public']);
  });

  it('CIDR host patterns: a rule for another network does not apply, one for the client network does', async (t) => {
    const b = await startSecureBroker(t, {
      users: USERS,
      acls: [
        acl({ resourceName: 'remote-only', operation: AclOperation.WRITE, host: '10.0.0.0/8' }),
        acl({ resourceName: 'loopback', operation: AclOperation.WRITE, host: '127.0.0.0/8' }),
        acl({ resourceName: 'loopback', operation: AclOperation.WRITE, host: '127.0.0.2', permission: AclPermissionType.DENY }),
      ],
    });
    await createTopic(b.adminProperties, ['remote-only', 'loopback']);
    const alice = await login(t, b, 'alice', USERS.alice);
    assert.equal(await produce(alice, 'remote-only'), 29);
    assert.equal(await produce(alice, 'loopback'), 0, 'the DENY for 127.0.0.2 does not match 127.0.0.1');
  });
});
