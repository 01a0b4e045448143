import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { AdminClient, formatAclBinding, MATCH_ALL_ACLS, type AclBinding } from '../../../src/client/admin.js';
import { parseClientConfig } from '../../../src/client/client-config.js';
import { ClientError, KafkaError } from '../../../src/client/errors.js';
import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../../../src/protocol/acl.js';
import { ALL_APIS } from '../../../src/protocol/messages/index.js';
import { saltedPassword } from '../../../src/security/credentials/scram-keys.js';
import { startFakeBroker, type FakeBrokerOptions } from './fake-broker.js';

async function admin(t: TestContext, port: number): Promise<AdminClient> {
  const client = await AdminClient.connect(parseClientConfig(`bootstrap.servers=127.0.0.1:${port}`), { requestTimeoutMs: 5000 });
  t.after(() => {
    client.close();
  });
  return client;
}

/** A fake broker that is its own controller, with `handle` for everything but Metadata. */
function selfController(handle: NonNullable<FakeBrokerOptions['handle']>, port: () => number): FakeBrokerOptions {
  return {
    handle: (api, version, body, cid, socket) =>
      api.name === 'Metadata'
        ? { throttleTimeMs: 0, brokers: [{ nodeId: 1, host: '127.0.0.1', port: port(), rack: null }], clusterId: 'c', controllerId: 1, topics: [] }
        : handle(api, version, body, cid, socket),
  };
}

const READ_ORDERS: AclBinding = {
  resourceType: ResourceType.TOPIC,
  resourceName: 'orders',
  patternType: PatternType.LITERAL,
  principal: 'User:alice',
  host: '*',
  operation: AclOperation.READ,
  permission: AclPermissionType.ALLOW,
};

describe('KafkaError', () => {
  it('names the error, its code and the broker message', () => {
    assert.equal(new KafkaError('create topic "x"', 29, 'not allowed').message, 'create topic "x" failed: TOPIC_AUTHORIZATION_FAILED (29): not allowed');
    assert.equal(new KafkaError('describe ACLs', 31).message, 'describe ACLs failed: CLUSTER_AUTHORIZATION_FAILED (31)');
    assert.equal(new KafkaError('x', 999, '').message, 'x failed: UNKNOWN_ERROR_CODE (999)');
    assert.equal(new KafkaError('x', 36).errorName, 'TOPIC_ALREADY_EXISTS');
  });
});

describe('AdminClient SCRAM credentials', () => {
  it('sends only salted passwords, each with its own random salt, one request per mechanism (Kafka refuses a user twice in one)', async (t) => {
    let port = 0;
    const broker = await startFakeBroker(
      t,
      selfController(() => ({ throttleTimeMs: 0, results: [{ user: 'alice', errorCode: 0, errorMessage: null }] }), () => port),
    );
    port = broker.port;
    const client = await admin(t, broker.port);
    const password = 'correct horse battery staple';
    await client.upsertScramCredentials('alice', password, [
      { mechanism: 'SCRAM-SHA-256', iterations: 4096 },
      { mechanism: 'SCRAM-SHA-512', iterations: 8192 },
    ]);
    const requests = broker.received.filter((r) => r.apiKey === 51);
    assert.equal(requests.length, 2);
    for (const request of requests) {
      assert.ok(!request.frame.includes(Buffer.from(password)), 'the password went over the wire');
      assert.deepEqual(request.body.deletions, []);
    }
    const upsertions = requests.flatMap((r) => r.body.upsertions as { name: string; mechanism: number; iterations: number; salt: Buffer; saltedPassword: Buffer }[]);
    assert.deepEqual(
      upsertions.map((u) => [u.name, u.mechanism, u.iterations, u.salt.length]),
      [
        ['alice', 1, 4096, 32],
        ['alice', 2, 8192, 32],
      ],
    );
    assert.ok(!upsertions[0]?.salt.equals(upsertions[1]?.salt ?? Buffer.alloc(0)));
    for (const u of upsertions) {
      const mechanism = u.mechanism === 1 ? 'SCRAM-SHA-256' : 'SCRAM-SHA-512';
      assert.ok(u.saltedPassword.equals(saltedPassword(mechanism, password, u.salt, u.iterations)));
    }
  });

  it('refuses iteration counts outside Kafka\'s 4096-16384 before sending anything', async (t) => {
    const broker = await startFakeBroker(t);
    const client = await admin(t, broker.port);
    for (const iterations of [4095, 16385, 5000.5]) {
      await assert.rejects(client.upsertScramCredential('a', 'SCRAM-SHA-256', 'p', iterations), /SCRAM iterations must be an integer from 4096 to 16384/);
    }
    assert.ok(!broker.received.some((r) => r.apiKey === 51));
  });

  it('turns a per-user error into a KafkaError and deletes by mechanism', async (t) => {
    let port = 0;
    const broker = await startFakeBroker(
      t,
      selfController(
        (_api, _v, body) => {
          const deleting = (body.deletions as unknown[]).length > 0;
          return {
            throttleTimeMs: 0,
            results: [{ user: 'alice', errorCode: deleting ? 0 : 93, errorMessage: deleting ? null : 'iterations too low for policy' }],
          };
        },
        () => port,
      ),
    );
    port = broker.port;
    const client = await admin(t, broker.port);
    await assert.rejects(client.upsertScramCredential('alice', 'SCRAM-SHA-512', 'p', 4096), (err: unknown) => {
      assert.ok(err instanceof KafkaError);
      assert.equal(err.message, 'set SCRAM-SHA-512 credential of "alice" failed: UNACCEPTABLE_CREDENTIAL (93): iterations too low for policy');
      return true;
    });
    await client.deleteScramCredentials('alice', ['SCRAM-SHA-256', 'SCRAM-SHA-512']);
    assert.deepEqual(
      broker.received.slice(-2).map((r) => r.body.deletions),
      [[{ name: 'alice', mechanism: 1 }], [{ name: 'alice', mechanism: 2 }]],
    );
  });

  it('describes users sorted, leaving out named users that have no credentials', async (t) => {
    const broker = await startFakeBroker(t, {
      handle: (_api, _v, body) => ({
        throttleTimeMs: 0,
        errorCode: 0,
        errorMessage: null,
        results: [
          { user: 'zed', errorCode: 0, errorMessage: null, credentialInfos: [{ mechanism: 2, iterations: 8192 }, { mechanism: 9, iterations: 1 }] },
          { user: 'ghost', errorCode: 91, errorMessage: 'no such user', credentialInfos: [] },
          { user: 'amy', errorCode: 0, errorMessage: null, credentialInfos: [{ mechanism: 2, iterations: 4096 }, { mechanism: 1, iterations: 4096 }] },
        ].filter((r) => body.users === null || (body.users as { name: string }[]).some((u) => u.name === r.user)),
      }),
    });
    const client = await admin(t, broker.port);
    assert.deepEqual(await client.describeScramUsers(null), [
      { user: 'amy', credentials: [{ mechanism: 'SCRAM-SHA-256', iterations: 4096 }, { mechanism: 'SCRAM-SHA-512', iterations: 4096 }] },
      { user: 'zed', credentials: [{ mechanism: 'SCRAM-SHA-512', iterations: 8192 }] },
    ]);
    assert.deepEqual(await client.describeScramUsers(['ghost']), []);
    assert.deepEqual(broker.received.at(-1)?.body.users, [{ name: 'ghost' }]);
  });
});

describe('AdminClient ACLs', () => {
  it('creates, describes and deletes bindings with Kafka\'s wire codes', async (t) => {
    let port = 0;
    const stored: AclBinding[] = [];
    const broker = await startFakeBroker(
      t,
      selfController((api, _v, body) => {
        if (api.name === 'CreateAcls') {
          const creations = body.creations as Record<string, number | string>[];
          for (const c of creations) {
            stored.push({
              resourceType: c.resourceType,
              resourceName: c.resourceName,
              patternType: c.resourcePatternType,
              principal: c.principal,
              host: c.host,
              operation: c.operation,
              permission: c.permissionType,
            } as AclBinding);
          }
          return { throttleTimeMs: 0, results: creations.map(() => ({ errorCode: 0, errorMessage: null })) };
        }
        if (api.name === 'DescribeAcls') {
          return {
            throttleTimeMs: 0,
            errorCode: 0,
            errorMessage: null,
            resources: stored.map((b) => ({
              resourceType: b.resourceType,
              resourceName: b.resourceName,
              patternType: b.patternType,
              acls: [{ principal: b.principal, host: b.host, operation: b.operation, permissionType: b.permission }],
            })),
          };
        }
        if (api.name === 'DeleteAcls') {
          const matching = stored.splice(0).map((b) => ({ errorCode: 0, errorMessage: null, ...b, permissionType: b.permission }));
          return { throttleTimeMs: 0, filterResults: [{ errorCode: 0, errorMessage: null, matchingAcls: matching }] };
        }
        return undefined;
      }, () => port),
    );
    port = broker.port;
    const client = await admin(t, broker.port);
    const denyGroup: AclBinding = { ...READ_ORDERS, resourceType: ResourceType.GROUP, resourceName: 'app-', patternType: PatternType.PREFIXED, permission: AclPermissionType.DENY, host: '10.0.0.0/8' };
    await client.createAcls([denyGroup, READ_ORDERS]);
    const creations = broker.received.find((r) => r.apiKey === 30)?.body.creations;
    assert.deepEqual(creations, [
      { resourceType: 3, resourceName: 'app-', resourcePatternType: 4, principal: 'User:alice', host: '10.0.0.0/8', operation: 3, permissionType: 2 },
      { resourceType: 2, resourceName: 'orders', resourcePatternType: 3, principal: 'User:alice', host: '*', operation: 3, permissionType: 3 },
    ]);
    // Sorted by resource type: TOPIC (2) before GROUP (3).
    assert.deepEqual(await client.describeAcls(), [READ_ORDERS, denyGroup]);
    assert.deepEqual(broker.received.find((r) => r.apiKey === 29)?.body, {
      resourceTypeFilter: 1,
      resourceNameFilter: null,
      patternTypeFilter: 1,
      principalFilter: null,
      hostFilter: null,
      operation: 1,
      permissionType: 1,
    });
    assert.deepEqual(await client.deleteAcls(MATCH_ALL_ACLS), [READ_ORDERS, denyGroup]);
    assert.equal(
      formatAclBinding(denyGroup),
      'principal=User:alice permission=DENY operation=READ resource=GROUP name=app- pattern=PREFIXED host=10.0.0.0/8',
    );
  });

  it('reports authorization failures by name', async (t) => {
    let port = 0;
    const broker = await startFakeBroker(
      t,
      selfController(
        (api) =>
          api.name === 'CreateAcls'
            ? { throttleTimeMs: 0, results: [{ errorCode: 31, errorMessage: 'User:bob may not alter the cluster' }] }
            : { throttleTimeMs: 0, errorCode: 31, errorMessage: null, resources: [] },
        () => port,
      ),
    );
    port = broker.port;
    const client = await admin(t, broker.port);
    await assert.rejects(
      client.createAcl(READ_ORDERS),
      new RegExp(`^KafkaError: create ACL \\(${formatAclBinding(READ_ORDERS).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\) failed: CLUSTER_AUTHORIZATION_FAILED \\(31\\): User:bob may not alter the cluster$`),
    );
    await assert.rejects(client.describeAcls(), /^KafkaError: describe ACLs failed: CLUSTER_AUTHORIZATION_FAILED \(31\)$/);
  });

  it('refuses prefixed ACLs on a broker that only speaks the v0 ACL APIs', async (t) => {
    const ranges = ALL_APIS.map((a) => ({ apiKey: a.apiKey, minVersion: a.minVersion, maxVersion: [29, 30, 31].includes(a.apiKey) ? 0 : a.maxVersion }));
    const broker = await startFakeBroker(t, { apiRanges: ranges, handle: () => undefined });
    const client = await admin(t, broker.port);
    await assert.rejects(client.describeAcls({ ...MATCH_ALL_ACLS, patternType: PatternType.PREFIXED }), /only supports DescribeAcls v0, which has no prefixed ACLs/);
  });
});

describe('AdminClient routing', () => {
  it('sends changes to the controller that Metadata names', async (t) => {
    let controllerPort = 0;
    const controller = await startFakeBroker(t, {
      handle: (api) => (api.name === 'DeleteTopics' ? { throttleTimeMs: 0, responses: [{ name: 'gone', errorCode: 0, errorMessage: null }] } : undefined),
    });
    controllerPort = controller.port;
    const bootstrap = await startFakeBroker(t, {
      handle: (api) =>
        api.name === 'Metadata'
          ? {
              throttleTimeMs: 0,
              brokers: [
                { nodeId: 1, host: '127.0.0.1', port: 1, rack: null },
                { nodeId: 2, host: '127.0.0.1', port: controllerPort, rack: null },
              ],
              clusterId: 'c',
              controllerId: 2,
              topics: [],
            }
          : undefined,
    });
    const client = await admin(t, bootstrap.port);
    await client.deleteTopic('gone');
    assert.deepEqual(
      controller.received.map((r) => r.apiKey),
      [18, 20],
    );
    assert.deepEqual(controller.received[1]?.body.topics, [{ name: 'gone', topicId: '00000000-0000-0000-0000-000000000000' }]);
    assert.ok(!bootstrap.received.some((r) => r.apiKey === 20));
  });

  it('falls back to the bootstrap broker when the advertised controller is unreachable', async (t) => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const address = closed.address();
    closed.close();
    await once(closed, 'close');
    const deadPort = address !== null && typeof address !== 'string' ? address.port : 1;
    const broker = await startFakeBroker(t, {
      handle: (api) => {
        if (api.name === 'Metadata') {
          return { throttleTimeMs: 0, brokers: [{ nodeId: 7, host: '127.0.0.1', port: deadPort, rack: null }], clusterId: 'c', controllerId: 7, topics: [] };
        }
        if (api.name === 'CreateTopics') {
          return { throttleTimeMs: 0, topics: [{ name: 't', topicId: '00000000-0000-0000-0000-000000000000', errorCode: 36, errorMessage: "Topic 't' already exists." }] };
        }
        return undefined;
      },
    });
    const client = await admin(t, broker.port);
    await assert.rejects(client.createTopic('t', 3, { 'retention.ms': '1000' }), /^KafkaError: create topic "t" failed: TOPIC_ALREADY_EXISTS \(36\): Topic 't' already exists\.$/);
    const [sent] = broker.received.find((r) => r.apiKey === 19)?.body.topics as Record<string, unknown>[];
    assert.ok(sent);
    assert.deepEqual(sent.configs, [{ name: 'retention.ms', value: '1000' }]);
    assert.equal(sent.numPartitions, 3);
    assert.equal(sent.replicationFactor, -1);
  });

  it('asks for explicit counts from a broker without KIP-464 defaults', async (t) => {
    const ranges = ALL_APIS.map((a) => ({ apiKey: a.apiKey, minVersion: a.minVersion, maxVersion: a.apiKey === 19 ? 3 : a.maxVersion }));
    let port = 0;
    const broker = await startFakeBroker(t, { apiRanges: ranges, ...selfController(() => undefined, () => port) });
    port = broker.port;
    const client = await admin(t, broker.port);
    await assert.rejects(client.createTopic('t'), ClientError);
    await assert.rejects(client.createTopic('t', 3), /give both explicitly/);
  });
});
