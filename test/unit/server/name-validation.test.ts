import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AlterConfigs,
  AlterUserScramCredentials,
  CreateAcls,
  CreateTopics,
  DeleteAcls,
  DeleteGroups,
  DeleteTopics,
  DescribeAcls,
  DescribeConfigs,
  DescribeGroups,
  DescribeUserScramCredentials,
  Fetch,
  FindCoordinator,
  Heartbeat,
  InitProducerId,
  JoinGroup,
  LeaveGroup,
  ListGroups,
  ListOffsets,
  Metadata,
  OffsetCommit,
  OffsetFetch,
  Produce,
  SyncGroup,
} from '../../../src/protocol/messages/index.js';
import type { ApiSchema, RequestOf, ResponseOf } from '../../../src/protocol/messages/schema.js';
import { DEFAULT_NAME_LIMITS } from '../../../src/protocol/names.js';
import { API_POLICIES } from '../../../src/security/authz/policies/index.js';
import { NAME_CHECKS, boundHeader, checkRequestNames } from '../../../src/server/name-validation/index.js';
import { decoded, list, wire, type Wire } from '../security/authz/policies-helpers.js';

const LONG = 'x'.repeat(17_000);
const limits = DEFAULT_NAME_LIMITS;

/**
 * Runs the name stage as the dispatcher does: the check, then (when it forwards) `handler` and `finish`.
 * The response goes over the wire at `version`, so a field the version needs and the stage forgot fails.
 */
function run<A extends ApiSchema>(api: A, version: number, fields: object, handler?: (forwarded: RequestOf<A>) => object): { forwarded: RequestOf<A> | undefined; response: Wire } {
  const outcome = checkRequestNames(api.apiKey, decoded(api, version, fields), version, limits);
  if (outcome.kind === 'respond') return { forwarded: undefined, response: wire(api, version, outcome.response) };
  assert.ok(handler !== undefined, `${api.name} v${version} was forwarded; the test expected an answer`);
  const forwarded = outcome.body as RequestOf<A>;
  const handled = handler(forwarded) as ResponseOf<A>;
  const finish = outcome.finish as unknown as ((r: ResponseOf<A>) => ResponseOf<A>) | undefined;
  const finished = finish === undefined ? handled : finish(handled);
  return { forwarded, response: wire(api, version, finished) };
}

const codes = (partitions: unknown) => list(partitions).map((p) => p.errorCode);

describe('the name stage', () => {
  it('has a check for every API that has an authorization policy, and only those', () => {
    assert.deepEqual([...NAME_CHECKS.keys()].sort((a, b) => a - b), [...API_POLICIES.keys()].sort((a, b) => a - b));
    for (const [key, check] of NAME_CHECKS) assert.equal(check.api, API_POLICIES.get(key)?.api);
    assert.throws(() => checkRequestNames(4, {}, 0, limits), /API key 4 has no name check/);
  });

  it('cuts a long client id in the header and leaves others alone', () => {
    const header = { apiKey: 3, apiVersion: 9, correlationId: 1, clientId: LONG };
    assert.equal(boundHeader(header, limits).clientId, 'x'.repeat(255));
    const short = { ...header, clientId: 'rdkafka' };
    assert.equal(boundHeader(short, limits), short);
  });

  it('Metadata: 17 for invalid names, in request order; the rest goes on; none left never lists every topic', () => {
    for (const version of [1, 9]) {
      const { forwarded, response } = run(Metadata, version, { topics: [{ name: 'ok' }, { name: LONG }, { name: 'bad name' }], allowAutoTopicCreation: true }, (body) => {
        assert.deepEqual(body.topics?.map((t) => t.name), ['ok']);
        return { throttleTimeMs: 0, brokers: [], clusterId: 'c', controllerId: 0, topics: [{ errorCode: 0, name: 'ok', isInternal: false, partitions: [] }] };
      });
      assert.ok(forwarded);
      assert.deepEqual(list(response.topics).map((t) => [t.name === LONG ? 'LONG' : t.name, t.errorCode]), [['ok', 0], ['LONG', 17], ['bad name', 17]]);
    }
    // v0: an empty list means every topic; with every name refused, what the handler lists is dropped.
    const { response } = run(Metadata, 0, { topics: [{ name: 'a/b' }] }, () => ({
      brokers: [],
      topics: [{ errorCode: 0, name: 'secret', isInternal: false, partitions: [] }],
    }));
    assert.deepEqual(list(response.topics).map((t) => [t.name, t.errorCode]), [['a/b', 17]]);
  });

  it('Produce: 17 for an invalid topic, 42 on every partition for an invalid transactional id; acks=0 closes', () => {
    const topicData = (name: string) => ({ name, partitionData: [{ index: 0, records: null }, { index: 1, records: null }] });
    const handled = (body: RequestOf<typeof Produce>) => ({
      responses: body.topicData.map((t) => ({ name: t.name, partitionResponses: t.partitionData.map((p) => ({ index: p.index, errorCode: 0, baseOffset: 0n })) })),
      throttleTimeMs: 0,
    });
    const one = run(Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 1000, topicData: [topicData('ok'), topicData(LONG)] }, handled);
    assert.deepEqual(list(one.response.responses).map((t) => codes(t.partitionResponses)), [[0, 0], [17, 17]]);
    const txn = run(Produce, 9, { transactionalId: 't'.repeat(1025), acks: -1, timeoutMs: 1000, topicData: [topicData('ok')] });
    assert.deepEqual(list(txn.response.responses).map((t) => codes(t.partitionResponses)), [[42, 42]]);
    assert.throws(
      () => run(Produce, 9, { transactionalId: null, acks: 0, timeoutMs: 1000, topicData: [topicData(LONG)] }),
      (err: unknown) => err instanceof Error && 'code' in err && err.code === 'PRODUCE_REJECTED',
    );
  });

  it('Fetch and ListOffsets: 17 on each partition of an invalid topic', () => {
    const fetch = run(Fetch, 12, { replicaId: -1, maxWaitMs: 0, minBytes: 1, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, topics: [{ topic: LONG, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 }] }], forgottenTopicsData: [], rackId: '' });
    assert.deepEqual(list(fetch.response.responses).map((t) => codes(t.partitions)), [[17]]);
    const offsets = run(ListOffsets, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: '..', partitions: [{ partitionIndex: 3, timestamp: -1n }] }] });
    assert.deepEqual(list(offsets.response.topics).map((t) => codes(t.partitions)), [[17]]);
  });

  it('InitProducerId and FindCoordinator: 42 for a transactional id, 24 for a group id, per key from v4', () => {
    assert.equal(run(InitProducerId, 4, { transactionalId: 't'.repeat(1025), transactionTimeoutMs: 1000 }).response.errorCode, 42);
    assert.equal(run(FindCoordinator, 3, { key: LONG, keyType: 0 }).response.errorCode, 24);
    assert.equal(run(FindCoordinator, 3, { key: 't'.repeat(1025), keyType: 1 }).response.errorCode, 42);
    const v4 = run(FindCoordinator, 4, { keyType: 0, coordinatorKeys: ['g', LONG, 'a\nb'] }, (body) => ({
      coordinators: (body.coordinatorKeys ?? []).map((key) => ({ key, nodeId: 0, host: 'h', port: 1, errorCode: 0, errorMessage: null })),
    }));
    assert.deepEqual(list(v4.response.coordinators).map((c) => c.errorCode), [0, 24, 24]);
  });

  it('group membership requests: 24 for the group id, 25 for a member or instance id no member can have, 40 and 23 for a new member', () => {
    const join = (fields: object) =>
      run(JoinGroup, 9, { groupId: 'g', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '', groupInstanceId: null, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }], reason: null, ...fields }).response.errorCode;
    assert.equal(join({ groupId: LONG }), 24);
    assert.equal(join({ groupId: 'a\u0000b' }), 24);
    assert.equal(join({ memberId: LONG }), 25);
    assert.equal(join({ groupInstanceId: 'host:1' }), 40);
    assert.equal(join({ protocolType: 'p'.repeat(256) }), 23);
    assert.equal(join({ protocols: [{ name: LONG, metadata: Buffer.alloc(0) }] }), 23);
    assert.equal(run(Heartbeat, 4, { groupId: 'g', generationId: 1, memberId: LONG, groupInstanceId: null }).response.errorCode, 25);
    assert.equal(run(Heartbeat, 4, { groupId: LONG, generationId: 1, memberId: 'm', groupInstanceId: null }).response.errorCode, 24);
    assert.equal(run(SyncGroup, 5, { groupId: 'g', generationId: 1, memberId: 'm', groupInstanceId: 'bad id', protocolType: null, protocolName: null, assignments: [] }).response.errorCode, 25);
    const sync = run(SyncGroup, 5, { groupId: 'g', generationId: 1, memberId: 'm', groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments: [{ memberId: 'm', assignment: Buffer.alloc(0) }, { memberId: LONG, assignment: Buffer.alloc(0) }] }, (body) => {
      assert.deepEqual(body.assignments.map((a) => a.memberId), ['m'], 'an assignment for a member id no member can have is dropped');
      return { throttleTimeMs: 0, errorCode: 0, protocolType: 'consumer', protocolName: 'range', assignment: Buffer.alloc(0) };
    });
    assert.equal(sync.response.errorCode, 0);
    const leave = run(LeaveGroup, 5, { groupId: 'g', members: [{ memberId: 'm1', groupInstanceId: null, reason: null }, { memberId: LONG, groupInstanceId: null, reason: null }] }, (body) => ({
      throttleTimeMs: 0,
      errorCode: 0,
      members: (body.members ?? []).map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode: 0 })),
    }));
    assert.deepEqual(list(leave.response.members).map((m) => m.errorCode), [0, 25]);
  });

  it('offsets: 24 for the group, 25 for the member, 17 for a topic', () => {
    const commit = (fields: object, handler?: (body: RequestOf<typeof OffsetCommit>) => object) =>
      run(OffsetCommit, 8, { groupId: 'g', generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, topics: [{ name: 'ok', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedMetadata: null }] }, { name: LONG, partitions: [{ partitionIndex: 0, committedOffset: 1n, committedMetadata: null }] }], ...fields }, handler).response;
    assert.deepEqual(list(commit({ groupId: LONG }).topics).map((t) => codes(t.partitions)), [[24], [24]]);
    assert.deepEqual(list(commit({ memberId: LONG }).topics).map((t) => codes(t.partitions)), [[25], [25]]);
    const handled = (body: RequestOf<typeof OffsetCommit>) => ({ throttleTimeMs: 0, topics: body.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: 0 })) })) });
    assert.deepEqual(list(commit({}, handled).topics).map((t) => codes(t.partitions)), [[0], [17]]);
    assert.equal(run(OffsetFetch, 7, { groupId: LONG, topics: null, requireStable: false }).response.errorCode, 24);
    assert.deepEqual(list(run(OffsetFetch, 1, { groupId: LONG, topics: [{ name: 't', partitionIndexes: [0, 1] }] }).response.topics).map((t) => codes(t.partitions)), [[24, 24]]);
    const v8 = run(OffsetFetch, 8, { groups: [{ groupId: 'g', topics: [{ name: 'ok', partitionIndexes: [0] }, { name: 'a b', partitionIndexes: [0] }] }, { groupId: LONG, topics: null }], requireStable: false }, (body) => ({
      throttleTimeMs: 0,
      groups: (body.groups ?? []).map((g) => ({ groupId: g.groupId, errorCode: 0, topics: (g.topics ?? []).map((t) => ({ name: t.name, partitions: (t.partitionIndexes ?? []).map((partitionIndex) => ({ partitionIndex, committedOffset: 5n, metadata: null, errorCode: 0 })) })) })),
    }));
    const groups = list(v8.response.groups);
    assert.deepEqual(groups.map((g) => g.errorCode), [0, 24]);
    assert.deepEqual(list(groups[0]?.topics).map((t) => codes(t.partitions)), [[0], [17]]);
  });

  it('DescribeGroups, DeleteGroups and ListGroups', () => {
    const describe = run(DescribeGroups, 5, { groups: ['g', LONG], includeAuthorizedOperations: false }, (body) => ({
      throttleTimeMs: 0,
      groups: body.groups.map((groupId) => ({ errorCode: 0, groupId, groupState: 'Empty', protocolType: '', protocolData: '', members: [] })),
    }));
    assert.deepEqual(list(describe.response.groups).map((g) => g.errorCode), [0, 24]);
    assert.deepEqual(list(run(DeleteGroups, 2, { groupsNames: [LONG] }).response.results).map((r) => r.errorCode), [24]);
    const listed = run(ListGroups, 4, { statesFilter: ['Stable', LONG] }, (body) => {
      assert.deepEqual(body.statesFilter?.map((s) => s.length), [6, 65], 'a filter longer than any state is cut, still matching none');
      return { throttleTimeMs: 0, errorCode: 0, groups: [] };
    });
    assert.equal(listed.response.errorCode, 0);
  });

  it('topic and config admin: 17 for topic names, 24 for group names, 42 for other resources, 40 for config names', () => {
    const created = run(CreateTopics, 7, { topics: [{ name: LONG, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }, { name: 'ok', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'c'.repeat(256), value: '1' }] }], timeoutMs: 1000, validateOnly: false });
    assert.deepEqual(list(created.response.topics).map((t) => t.errorCode), [17, 40]);
    assert.deepEqual(list(run(DeleteTopics, 5, { topicNames: ['a b'], timeoutMs: 1000 }).response.responses).map((t) => t.errorCode), [17]);
    assert.deepEqual(list(run(DeleteTopics, 6, { topics: [{ name: LONG, topicId: '00000000-0000-0000-0000-000000000000' }], timeoutMs: 1000 }).response.responses).map((t) => t.errorCode), [17]);
    const described = run(DescribeConfigs, 4, {
      resources: [
        { resourceType: 2, resourceName: LONG, configurationKeys: null },
        { resourceType: 32, resourceName: LONG, configurationKeys: null },
        { resourceType: 4, resourceName: LONG, configurationKeys: null },
        { resourceType: 2, resourceName: 'ok', configurationKeys: ['retention.ms', LONG] },
      ],
      includeSynonyms: false,
      includeDocumentation: false,
    }, (body) => {
      assert.deepEqual(body.resources.map((r) => r.configurationKeys?.map((k) => k.length)), [[12, 256]]);
      return { throttleTimeMs: 0, results: body.resources.map((r) => ({ errorCode: 0, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName, configs: [] })) };
    });
    assert.deepEqual(list(described.response.results).map((r) => r.errorCode), [17, 24, 42, 0]);
    const altered = run(AlterConfigs, 2, { resources: [{ resourceType: 2, resourceName: 'ok', configs: [{ name: LONG, value: '1' }] }], validateOnly: false });
    assert.deepEqual(list(altered.response.responses).map((r) => r.errorCode), [40]);
  });

  it('ACL bindings and filters: 42 for a name its resource type could not have, or a principal or host beyond bound', () => {
    const creation = (fields: object) => ({ resourceType: 2, resourceName: 'orders', resourcePatternType: 3, principal: 'User:alice', host: '*', operation: 3, permissionType: 3, ...fields });
    const created = run(CreateAcls, 3, { creations: [creation({ resourceName: LONG }), creation({ resourceName: 'a:b' }), creation({ principal: `User:${LONG}` }), creation({ host: LONG }), creation({ resourceType: 3, resourceName: 'g'.repeat(256) })] });
    assert.deepEqual(list(created.response.results).map((r) => r.errorCode), [42, 42, 42, 42, 42]);
    const filter = { resourceTypeFilter: 1, resourceNameFilter: LONG, patternTypeFilter: 1, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1 };
    assert.equal(run(DescribeAcls, 3, filter).response.errorCode, 42);
    assert.deepEqual(list(run(DeleteAcls, 3, { filters: [filter, { ...filter, resourceNameFilter: null, principalFilter: `User:${LONG}` }] }).response.filterResults).map((r) => r.errorCode), [42, 42]);
  });

  it('SCRAM users: 91 for a name no user can have in a description, 93 for a refused name in an alteration', () => {
    assert.deepEqual(list(run(DescribeUserScramCredentials, 0, { users: [{ name: LONG }] }).response.results).map((r) => r.errorCode), [91]);
    const upsertion = (name: string) => ({ name, mechanism: 1, iterations: 4096, salt: Buffer.alloc(32), saltedPassword: Buffer.alloc(32) });
    const names = ['*', 'ANONYMOUS', 'User:admin', 'admin ', 'admin\u200b', 'a\nb', 'x'.repeat(2000)];
    const altered = run(AlterUserScramCredentials, 0, { deletions: [{ name: 'Old Name ', mechanism: 1 }], upsertions: [...names.map(upsertion), upsertion('ok')] }, (body) => {
      assert.deepEqual(body.deletions.map((d) => d.name), ['Old Name '], 'a user named before the rule can still be deleted');
      assert.deepEqual(body.upsertions.map((u) => u.name), ['ok']);
      return { throttleTimeMs: 0, results: [{ user: 'Old Name ', errorCode: 0, errorMessage: null }, { user: 'ok', errorCode: 0, errorMessage: null }] };
    });
    assert.deepEqual(list(altered.response.results).map((r) => [r.user, r.errorCode]), [['Old Name ', 0], ['ok', 0], ...names.map((n) => [n, 93])]);
    // A user whose new credential is refused has none of its alterations applied.
    const mixed = run(AlterUserScramCredentials, 0, { deletions: [{ name: 'ANONYMOUS', mechanism: 2 }], upsertions: [upsertion('ANONYMOUS')] });
    assert.deepEqual(list(mixed.response.results).map((r) => [r.user, r.errorCode]), [['ANONYMOUS', 93]]);
  });
});
