import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { AdminClient } from '../../../src/client/admin.js';
import { parseClientConfig } from '../../../src/client/client-config.js';
import { partitionKey } from '../../../src/client/partition-offsets.js';
import { ALL_APIS } from '../../../src/protocol/messages/index.js';
import type { ApiSchema } from '../../../src/protocol/messages/schema.js';
import { startFakeBroker, type FakeBrokerOptions } from './fake-broker.js';

/**
 * Routing of the group and offset requests in a cluster of several brokers (scripted fake brokers:
 * Parapet alone is a cluster of one): a group's requests go to its coordinator, ListGroups to every
 * broker, ListOffsets to each partition's leader.
 */

type Handle = (api: ApiSchema, version: number, body: Record<string, unknown>) => object | undefined;

async function admin(t: TestContext, port: number): Promise<AdminClient> {
  const client = await AdminClient.connect(parseClientConfig(`bootstrap.servers=127.0.0.1:${port}`), { requestTimeoutMs: 5000 });
  t.after(() => {
    client.close();
  });
  return client;
}

/** Two fake brokers, node 1 (the bootstrap) and node 2, both answering Metadata for the pair. */
async function twoBrokers(t: TestContext, one: Handle, two: Handle, topics: object[] = [], options: { oneRanges?: FakeBrokerOptions['apiRanges'] } = {}) {
  const ports: number[] = [];
  const metadata = () => ({
    throttleTimeMs: 0,
    brokers: [
      { nodeId: 1, host: '127.0.0.1', port: ports[0], rack: null },
      { nodeId: 2, host: '127.0.0.1', port: ports[1], rack: null },
    ],
    clusterId: 'c',
    controllerId: 1,
    topics,
  });
  const handle =
    (own: Handle): NonNullable<FakeBrokerOptions['handle']> =>
    (api, version, body) =>
      api.name === 'Metadata' ? metadata() : own(api, version, body);
  const b1 = await startFakeBroker(t, { handle: handle(one), ...(options.oneRanges === undefined ? {} : { apiRanges: options.oneRanges }) });
  const b2 = await startFakeBroker(t, { handle: handle(two) });
  ports.push(b1.port, b2.port);
  return { b1, b2, port2: b2.port };
}

/** ConsumerProtocolAssignment v0 of one topic. */
function assignment(topic: string, partitions: readonly number[]): Buffer {
  const head = Buffer.alloc(2 + 4 + 2);
  head.writeInt16BE(0, 0);
  head.writeInt32BE(1, 2);
  head.writeInt16BE(topic.length, 6);
  const list = Buffer.alloc(4 + 4 * partitions.length);
  list.writeInt32BE(partitions.length, 0);
  partitions.forEach((p, i) => list.writeInt32BE(p, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(topic), list, Buffer.from([0xff, 0xff, 0xff, 0xff])]);
}

const member = (memberId: string, bytes: Buffer) => ({ memberId, groupInstanceId: null, clientId: 'app', clientHost: '/10.0.0.7', memberMetadata: Buffer.alloc(0), memberAssignment: bytes });

describe('GroupAdmin routing', () => {
  it("sends a group's requests to the coordinator FindCoordinator names, found once", async (t) => {
    let port2 = 0;
    const { b1, b2 } = await twoBrokers(
      t,
      (api, _v, body) =>
        api.name === 'FindCoordinator'
          ? { throttleTimeMs: 0, coordinators: (body.coordinatorKeys as string[]).map((key) => ({ key, nodeId: 2, host: '127.0.0.1', port: port2, errorCode: 0, errorMessage: null })) }
          : undefined,
      (api, _v, body) => {
        switch (api.name) {
          case 'DescribeGroups':
            return {
              throttleTimeMs: 0,
              groups: [{ errorCode: 0, groupId: 'billing', groupState: 'Stable', protocolType: 'consumer', protocolData: 'range', members: [member('m-1', assignment('orders', [2, 0]))], authorizedOperations: 0 }],
            };
          case 'OffsetFetch':
            return {
              throttleTimeMs: 0,
              groups: [
                {
                  groupId: 'billing',
                  errorCode: 0,
                  topics: [{ name: 'orders', partitions: [0, 1, 2].map((p) => ({ partitionIndex: p, committedOffset: p === 1 ? -1n : BigInt(10 + p), committedLeaderEpoch: -1, metadata: '', errorCode: 0 })) }],
                },
              ],
            };
          case 'OffsetCommit':
            return { throttleTimeMs: 0, topics: (body.topics as { name: string; partitions: { partitionIndex: number }[] }[]).map((tp) => ({ name: tp.name, partitions: tp.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: 0 })) })) };
          case 'DeleteGroups':
            return { throttleTimeMs: 0, results: [{ groupId: 'billing', errorCode: 68 }] };
          default:
            return undefined;
        }
      },
    );
    port2 = b2.port;
    const client = await admin(t, b1.port);

    const described = await client.groups.describe('billing');
    assert.equal(described.state, 'Stable');
    assert.deepEqual(described.coordinator, { nodeId: 2, host: '127.0.0.1', port: b2.port });
    assert.deepEqual(described.members[0]?.assignment, [{ topic: 'orders', partitions: [2, 0] }]);
    assert.deepEqual(await client.groups.committedOffsets('billing'), [
      { topic: 'orders', partition: 0, offset: 10n, metadata: '' },
      { topic: 'orders', partition: 2, offset: 12n, metadata: '' },
    ]);
    await client.groups.commitOffsets('billing', [{ topic: 'orders', partition: 1, offset: 5n }]);
    await assert.rejects(client.groups.delete('billing'), /^KafkaError: delete group "billing" failed: NON_EMPTY_GROUP \(68\)$/);

    const groupApis = [15, 9, 8, 42];
    assert.deepEqual(
      b2.received.map((r) => r.apiKey).filter((k) => k !== 3),
      [18, ...groupApis],
    );
    assert.ok(!b1.received.some((r) => groupApis.includes(r.apiKey)));
    assert.equal(b1.received.filter((r) => r.apiKey === 10).length, 1, 'the coordinator is looked up once');
    const commit = b2.received.find((r) => r.apiKey === 8);
    assert.ok(commit !== undefined);
    // A commit outside the group protocol, as kafka-consumer-groups.sh makes it.
    assert.equal(commit.body.generationIdOrMemberEpoch, -1);
    assert.equal(commit.body.memberId, '');
    assert.equal(commit.body.groupInstanceId, null);
    assert.deepEqual(commit.body.topics, [{ name: 'orders', partitions: [{ partitionIndex: 1, committedOffset: 5n, committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: '' }] }]);
  });

  it('asks FindCoordinator again after COORDINATOR_NOT_AVAILABLE or NOT_COORDINATOR, and gives up on other errors', async (t) => {
    const findErrors = [15, 0, 0];
    const describeErrors = [16, 0];
    let port = 0;
    const broker = await startFakeBroker(t, {
      handle: (api, _v, body) => {
        if (api.name === 'Metadata') return { throttleTimeMs: 0, brokers: [{ nodeId: 1, host: '127.0.0.1', port, rack: null }], clusterId: 'c', controllerId: 1, topics: [] };
        if (api.name === 'FindCoordinator') {
          const errorCode = findErrors.shift() ?? 0;
          return { throttleTimeMs: 0, coordinators: (body.coordinatorKeys as string[]).map((key) => ({ key, nodeId: errorCode === 0 ? 1 : -1, host: errorCode === 0 ? '127.0.0.1' : '', port: errorCode === 0 ? port : -1, errorCode, errorMessage: null })) };
        }
        if (api.name === 'DescribeGroups') {
          const errorCode = describeErrors.shift() ?? 24;
          return { throttleTimeMs: 0, groups: [{ errorCode, groupId: 'g', groupState: 'Empty', protocolType: 'consumer', protocolData: '', members: [], authorizedOperations: 0 }] };
        }
        return undefined;
      },
    });
    port = broker.port;
    const client = await admin(t, broker.port);
    assert.equal((await client.groups.describe('g')).state, 'Empty');
    assert.equal(broker.received.filter((r) => r.apiKey === 10).length, 3);
    assert.equal(broker.received.filter((r) => r.apiKey === 15).length, 2);
    // INVALID_GROUP_ID (24) is not retried.
    await assert.rejects(client.groups.describe('g'), /^KafkaError: describe group "g" failed: INVALID_GROUP_ID \(24\)$/);
    assert.equal(broker.received.filter((r) => r.apiKey === 15).length, 3);
  });

  it('speaks FindCoordinator v3 (one key) to an older broker, and reads an unknown group (GROUP_ID_NOT_FOUND) as Dead', async (t) => {
    const ranges = ALL_APIS.map((a) => ({ apiKey: a.apiKey, minVersion: a.minVersion, maxVersion: a.apiKey === 10 ? 3 : a.maxVersion }));
    let port = 0;
    const broker = await startFakeBroker(t, {
      apiRanges: ranges,
      handle: (api) => {
        if (api.name === 'Metadata') return { throttleTimeMs: 0, brokers: [{ nodeId: 5, host: 'localhost', port, rack: null }], clusterId: 'c', controllerId: 5, topics: [] };
        if (api.name === 'FindCoordinator') return { throttleTimeMs: 0, errorCode: 0, errorMessage: null, nodeId: 5, host: 'localhost', port };
        if (api.name === 'DescribeGroups') return { throttleTimeMs: 0, groups: [{ errorCode: 69, groupId: 'ghost', groupState: '', protocolType: '', protocolData: '', members: [], authorizedOperations: 0 }] };
        return undefined;
      },
    });
    port = broker.port;
    const client = await admin(t, broker.port);
    assert.equal((await client.groups.describe('ghost')).state, 'Dead');
    const find = broker.received.find((r) => r.apiKey === 10);
    assert.ok(find !== undefined);
    assert.equal(find.apiVersion, 3);
    assert.equal(find.body.key, 'ghost');
    // "localhost" is this one broker under another name: no second connection.
    assert.equal(broker.connections(), 1);
  });

  it('lists the groups of every broker, taking states from DescribeGroups where ListGroups has none (before v4)', async (t) => {
    const oneRanges = ALL_APIS.map((a) => ({ apiKey: a.apiKey, minVersion: a.minVersion, maxVersion: a.apiKey === 16 ? 3 : a.maxVersion }));
    const { b1, b2 } = await twoBrokers(
      t,
      (api) => {
        if (api.name === 'ListGroups') return { throttleTimeMs: 0, errorCode: 0, groups: [{ groupId: 'zeta', protocolType: 'consumer' }, { groupId: 'connect-a', protocolType: 'connect' }] };
        if (api.name === 'DescribeGroups') {
          return {
            throttleTimeMs: 0,
            groups: ['zeta', 'connect-a'].map((groupId) => ({ errorCode: 0, groupId, groupState: groupId === 'zeta' ? 'Empty' : 'Stable', protocolType: '', protocolData: '', members: [], authorizedOperations: 0 })),
          };
        }
        return undefined;
      },
      (api) => (api.name === 'ListGroups' ? { throttleTimeMs: 0, errorCode: 0, groups: [{ groupId: 'alpha', protocolType: 'consumer', groupState: 'Stable' }] } : undefined),
      [],
      { oneRanges },
    );
    const client = await admin(t, b1.port);
    assert.deepEqual(await client.groups.list(), [
      { groupId: 'alpha', state: 'Stable', protocolType: 'consumer' },
      { groupId: 'connect-a', state: 'Stable', protocolType: 'connect' },
      { groupId: 'zeta', state: 'Empty', protocolType: 'consumer' },
    ]);
    assert.ok(!b2.received.some((r) => r.apiKey === 15), 'broker 2 reports states itself');
  });

  it("asks each partition's leader for its offsets", async (t) => {
    const answer = (body: Record<string, unknown>, base: bigint) => ({
      throttleTimeMs: 0,
      topics: (body.topics as { name: string; partitions: { partitionIndex: number; timestamp: bigint }[] }[]).map((tp) => ({
        name: tp.name,
        partitions: tp.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: 0, timestamp: -1n, offset: p.timestamp === 1000n ? -1n : base + BigInt(p.partitionIndex), leaderEpoch: 0 })),
      })),
    });
    const partition = (index: number, leader: number) => ({ errorCode: 0, partitionIndex: index, leaderId: leader, leaderEpoch: 0, replicaNodes: [leader], isrNodes: [leader], offlineReplicas: [] });
    const { b1, b2 } = await twoBrokers(
      t,
      (api, _v, body) => (api.name === 'ListOffsets' ? answer(body, 100n) : undefined),
      (api, _v, body) => (api.name === 'ListOffsets' ? answer(body, 200n) : undefined),
      [{ errorCode: 0, name: 'orders', isInternal: false, partitions: [partition(0, 1), partition(1, 2), partition(2, 2)], topicAuthorizedOperations: 0 }],
    );
    const client = await admin(t, b1.port);
    const wanted = [0, 1, 2].map((partition) => ({ topic: 'orders', partition }));
    const latest = await client.listOffsets(wanted, { kind: 'latest' });
    assert.deepEqual([0, 1, 2].map((p) => latest.get(partitionKey('orders', p))), [100n, 201n, 202n]);
    const asked = (b: typeof b1) => b.received.filter((r) => r.apiKey === 2).map((r) => (r.body.topics as { partitions: { partitionIndex: number; timestamp: bigint }[] }[])[0]?.partitions);
    assert.deepEqual(asked(b1)[0]?.map((p) => [p.partitionIndex, p.timestamp]), [[0, -1n]]);
    assert.deepEqual(asked(b2)[0]?.map((p) => [p.partitionIndex, p.timestamp]), [[1, -1n], [2, -1n]]);
    // A time after every record: no offset (the caller decides; reset-offsets takes the end).
    const late = await client.listOffsets(wanted, { kind: 'timestamp', timestampMs: 1000 });
    assert.deepEqual([...late.values()], [null, null, null]);
    await assert.rejects(client.listOffsets([{ topic: 'orders', partition: 9 }], { kind: 'earliest' }), /UNKNOWN_TOPIC_OR_PARTITION/);
  });
});
