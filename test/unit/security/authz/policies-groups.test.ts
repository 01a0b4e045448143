import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../../../src/protocol/error-codes.js';
import { DeleteGroups } from '../../../../src/protocol/messages/delete-groups.js';
import { DescribeGroups, type DescribeGroupsRequest, type DescribeGroupsResponse } from '../../../../src/protocol/messages/describe-groups.js';
import { FindCoordinator, type FindCoordinatorRequest, type FindCoordinatorResponse } from '../../../../src/protocol/messages/find-coordinator.js';
import { Heartbeat } from '../../../../src/protocol/messages/heartbeat.js';
import { JoinGroup } from '../../../../src/protocol/messages/join-group.js';
import { LeaveGroup } from '../../../../src/protocol/messages/leave-group.js';
import { ListGroups, type ListGroupsResponse } from '../../../../src/protocol/messages/list-groups.js';
import { OffsetCommit, type OffsetCommitRequest, type OffsetCommitResponse } from '../../../../src/protocol/messages/offset-commit.js';
import { OffsetFetch, type OffsetFetchRequest, type OffsetFetchResponse } from '../../../../src/protocol/messages/offset-fetch.js';
import { SyncGroup } from '../../../../src/protocol/messages/sync-group.js';
import { authorizeRequest } from '../../../../src/security/authz/policies/index.js';
import { decoded, grants, list, serve, versionsOf, wire, type Wire } from './policies-helpers.js';

const TOPIC_DENIED = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
const GROUP_DENIED = ErrorCode.GROUP_AUTHORIZATION_FAILED;

/** `[[topic, [[partition, errorCode], …]], …]` of a decoded response's topic list. */
const partitionCodes = (topics: unknown, partitionKey = 'partitionIndex') =>
  list(topics).map((t) => [t.name, list(t.partitions).map((p) => [p[partitionKey], p.errorCode])]);

// ---- OffsetCommit ----

function commitRequest(version: number, group: string, topics: Record<string, number[]>): OffsetCommitRequest {
  return decoded(OffsetCommit, version, {
    groupId: group,
    generationIdOrMemberEpoch: 1,
    memberId: 'm-1',
    groupInstanceId: null,
    retentionTimeMs: -1n,
    topics: Object.entries(topics).map(([name, partitions]) => ({
      name,
      partitions: partitions.map((partitionIndex) => ({ partitionIndex, committedOffset: 5n, committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: null })),
    })),
  });
}

const commitHandler = (body: OffsetCommitRequest): OffsetCommitResponse => ({
  throttleTimeMs: 0,
  topics: body.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: 0 })) })),
});

describe('OffsetCommit policy', () => {
  it('refuses every partition with 30 without READ on the group, at every version', () => {
    for (const version of versionsOf(OffsetCommit)) {
      const check = grants('READ:TOPIC:a');
      const { outcome, response } = serve(OffsetCommit, version, commitRequest(version, 'g', { a: [0, 1], b: [2] }), check);
      assert.equal(outcome.kind, 'respond');
      assert.deepEqual(partitionCodes(wire(OffsetCommit, version, response).topics), [['a', [[0, GROUP_DENIED], [1, GROUP_DENIED]]], ['b', [[2, GROUP_DENIED]]]]);
      assert.deepEqual(check.asked, ['READ:GROUP:g']);
    }
  });

  it('merges 29 for topics without READ, and answers itself when none may be committed', () => {
    for (const version of versionsOf(OffsetCommit)) {
      const check = grants('READ:GROUP:g', 'READ:TOPIC:a');
      const { forwarded, response } = serve(OffsetCommit, version, commitRequest(version, 'g', { b: [2], a: [0] }), check, commitHandler);
      assert.deepEqual(forwarded?.topics.map((t) => t.name), ['a']);
      assert.equal(forwarded.groupId, 'g');
      assert.deepEqual(partitionCodes(wire(OffsetCommit, version, response).topics), [['b', [[2, TOPIC_DENIED]]], ['a', [[0, 0]]]]);
    }
    const alone = serve(OffsetCommit, 8, commitRequest(8, 'g', { b: [2] }), grants('READ:GROUP:g'));
    assert.equal(alone.outcome.kind, 'respond');
    assert.deepEqual(partitionCodes(wire(OffsetCommit, 8, alone.response).topics), [['b', [[2, TOPIC_DENIED]]]]);
  });
});

// ---- OffsetFetch ----

type Topics = Record<string, number[]> | null;
const requestedTopics = (topics: Topics) => (topics === null ? null : Object.entries(topics).map(([name, partitionIndexes]) => ({ name, partitionIndexes })));

function fetchRequest(version: number, group: string, topics: Topics): OffsetFetchRequest {
  return decoded(OffsetFetch, version, { groupId: group, topics: requestedTopics(topics), requireStable: false });
}

/** Committed offsets the fake coordinator holds: every topic below, offset 7 for each partition. */
const STORED: Record<string, number[]> = { a: [0], b: [0, 1], secret: [0] };

function offsetsOf(topics: { name?: string; partitionIndexes?: number[] }[] | null) {
  const entries = topics === null ? Object.entries(STORED) : topics.map((t): [string, number[]] => [t.name ?? '', t.partitionIndexes ?? []]);
  return entries.map(([name, partitions]) => ({
    name,
    partitions: partitions.map((partitionIndex) => ({ partitionIndex, committedOffset: 7n, committedLeaderEpoch: -1, metadata: 'm', errorCode: 0 })),
  }));
}

function offsetFetchHandler(version: number, groupError = 0) {
  return (body: OffsetFetchRequest): OffsetFetchResponse =>
    version >= 8
      ? { throttleTimeMs: 0, groups: (body.groups ?? []).map((g) => ({ groupId: g.groupId ?? '', topics: offsetsOf(g.topics ?? null), errorCode: 0 })) }
      : { throttleTimeMs: 0, errorCode: groupError, topics: groupError === 0 ? offsetsOf(body.topics ?? null) : [] };
}

describe('OffsetFetch policy', () => {
  it('refuses a group without DESCRIBE with 30: per partition at v0-1, at the top level from v2', () => {
    for (const version of versionsOf(OffsetFetch).filter((v) => v < 8)) {
      const { outcome, response } = serve(OffsetFetch, version, fetchRequest(version, 'g', { a: [0, 1] }), grants('DESCRIBE:TOPIC:a'));
      assert.equal(outcome.kind, 'respond');
      const w = wire(OffsetFetch, version, response);
      if (version < 2) {
        assert.deepEqual(partitionCodes(w.topics), [['a', [[0, GROUP_DENIED], [1, GROUP_DENIED]]]]);
        assert.equal(list(list(w.topics)[0]?.partitions)[0]?.committedOffset, -1n);
      } else {
        assert.equal(w.errorCode, GROUP_DENIED);
        assert.deepEqual(w.topics, []);
      }
    }
  });

  it('merges 29 with offset -1 for requested topics without DESCRIBE', () => {
    for (const version of versionsOf(OffsetFetch).filter((v) => v < 8)) {
      const check = grants('DESCRIBE:GROUP:g', 'DESCRIBE:TOPIC:a');
      const { forwarded, response } = serve(OffsetFetch, version, fetchRequest(version, 'g', { secret: [0], a: [0] }), check, offsetFetchHandler(version));
      assert.deepEqual(forwarded?.topics?.map((t) => t.name), ['a']);
      const w = wire(OffsetFetch, version, response);
      assert.deepEqual(partitionCodes(w.topics), [['secret', [[0, TOPIC_DENIED]]], ['a', [[0, 0]]]]);
      const denied = list(list(w.topics)[0]?.partitions)[0];
      assert.deepEqual([denied?.committedOffset, denied?.metadata], [-1n, '']);
    }
  });

  it('leaves topics without DESCRIBE out of "all topics" (v2+)', () => {
    for (const version of [2, 5, 7]) {
      const check = grants('DESCRIBE:GROUP:g', 'DESCRIBE:TOPIC:a', 'DESCRIBE:TOPIC:b');
      const { response } = serve(OffsetFetch, version, fetchRequest(version, 'g', null), check, offsetFetchHandler(version));
      assert.deepEqual(list(wire(OffsetFetch, version, response).topics).map((t) => t.name), ['a', 'b']);
      assert.ok(check.asked.includes('DESCRIBE:TOPIC:secret (quiet)'));
    }
  });

  it('adds nothing to a group-level error from the coordinator', () => {
    const { response } = serve(OffsetFetch, 7, fetchRequest(7, 'g', { secret: [0], a: [0] }), grants('DESCRIBE:GROUP:g', 'DESCRIBE:TOPIC:a'), offsetFetchHandler(7, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS));
    const w = wire(OffsetFetch, 7, response);
    assert.deepEqual([w.errorCode, w.topics], [ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, []]);
  });

  it('v8: 30 per denied group, 29 per denied topic, "all topics" filtered, in request order', () => {
    const check = grants('DESCRIBE:GROUP:g1', 'DESCRIBE:GROUP:g3', 'DESCRIBE:TOPIC:a');
    const body = decoded(OffsetFetch, 8, {
      groups: [
        { groupId: 'g1', topics: requestedTopics({ secret: [0], a: [0] }) },
        { groupId: 'g2', topics: requestedTopics({ a: [0] }) },
        { groupId: 'g3', topics: null },
      ],
      requireStable: false,
    });
    const { forwarded, response } = serve(OffsetFetch, 8, body, check, offsetFetchHandler(8));
    assert.deepEqual(forwarded?.groups?.map((g) => [g.groupId, g.topics?.map((t) => t.name) ?? null]), [['g1', ['a']], ['g3', null]]);
    assert.equal(body.groups?.[0]?.topics?.length, 2, 'the original group keeps its topics');
    const groups = list(wire(OffsetFetch, 8, response).groups);
    assert.deepEqual(
      groups.map((g) => [g.groupId, g.errorCode, partitionCodes(g.topics)]),
      [
        ['g1', 0, [['secret', [[0, TOPIC_DENIED]]], ['a', [[0, 0]]]]],
        ['g2', GROUP_DENIED, []],
        ['g3', 0, [['a', [[0, 0]]]]],
      ],
    );
  });

  it('v8: answers itself when no group may be described', () => {
    const body = decoded(OffsetFetch, 8, { groups: [{ groupId: 'x', topics: null }], requireStable: false });
    const { outcome, response } = serve(OffsetFetch, 8, body, grants());
    assert.equal(outcome.kind, 'respond');
    assert.deepEqual(list(wire(OffsetFetch, 8, response).groups).map((g) => [g.groupId, g.errorCode]), [['x', GROUP_DENIED]]);
  });

  it('forwards the request itself when everything requested may be described', () => {
    const body = decoded(OffsetFetch, 8, { groups: [{ groupId: 'g', topics: requestedTopics({ a: [0] }) }], requireStable: false });
    const outcome = authorizeRequest(OffsetFetch.apiKey, body, 8, grants('DESCRIBE:GROUP:g', 'DESCRIBE:TOPIC:a'));
    assert.equal(outcome.kind === 'forward' ? outcome.body : null, body);
  });
});

// ---- FindCoordinator ----

const coordinatorHandler = (body: FindCoordinatorRequest): FindCoordinatorResponse => ({
  throttleTimeMs: 0,
  errorCode: 0,
  errorMessage: null,
  nodeId: 1,
  host: 'broker',
  port: 9092,
  coordinators: (body.coordinatorKeys ?? []).map((key) => ({ key, nodeId: 1, host: 'broker', port: 9092, errorCode: 0, errorMessage: null })),
});

describe('FindCoordinator policy', () => {
  it('v0-3: DESCRIBE on the group (30) or the transactional id (53), no node when denied', () => {
    for (const version of versionsOf(FindCoordinator).filter((v) => v < 4)) {
      for (const [keyType, code, grant] of [[0, GROUP_DENIED, 'DESCRIBE:GROUP:k'], [1, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 'DESCRIBE:TRANSACTIONAL_ID:k']] as const) {
        if (version === 0 && keyType === 1) continue;
        const body = decoded(FindCoordinator, version, { key: 'k', keyType });
        const allowed = authorizeRequest(FindCoordinator.apiKey, body, version, grants(grant));
        assert.equal(allowed.kind === 'forward' ? allowed.body : null, body);
        const { outcome, response } = serve(FindCoordinator, version, body, grants('DESCRIBE:GROUP:other'));
        assert.equal(outcome.kind, 'respond');
        const w = wire(FindCoordinator, version, response);
        assert.deepEqual([w.errorCode, w.nodeId, w.host, w.port], [code, -1, '', -1]);
      }
    }
  });

  it('refuses a key type that names no resource with INVALID_REQUEST, asking nothing', () => {
    const check = grants('DESCRIBE:GROUP:k');
    const { response } = serve(FindCoordinator, 3, decoded(FindCoordinator, 3, { key: 'k', keyType: 7 }), check);
    assert.equal(wire(FindCoordinator, 3, response).errorCode, ErrorCode.INVALID_REQUEST);
    assert.deepEqual(check.asked, []);
  });

  it('v4: per key, denied keys merged in request order', () => {
    const body = decoded(FindCoordinator, 4, { keyType: 0, coordinatorKeys: ['no', 'yes', 'no2'] });
    const { forwarded, response } = serve(FindCoordinator, 4, body, grants('DESCRIBE:GROUP:yes'), coordinatorHandler);
    assert.deepEqual(forwarded?.coordinatorKeys, ['yes']);
    assert.deepEqual(
      list(wire(FindCoordinator, 4, response).coordinators).map((c) => [c.key, c.errorCode, c.nodeId, c.host, c.port]),
      [['no', GROUP_DENIED, -1, '', -1], ['yes', 0, 1, 'broker', 9092], ['no2', GROUP_DENIED, -1, '', -1]],
    );
    const alone = serve(FindCoordinator, 4, decoded(FindCoordinator, 4, { keyType: 1, coordinatorKeys: ['t'] }), grants());
    assert.equal(alone.outcome.kind, 'respond');
    assert.deepEqual(list(wire(FindCoordinator, 4, alone.response).coordinators).map((c) => c.errorCode), [ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED]);
  });
});

// ---- JoinGroup, Heartbeat, LeaveGroup, SyncGroup ----

describe('group membership policies', () => {
  it('JoinGroup: READ on the group, else 30 echoing the member id, at every version', () => {
    for (const version of versionsOf(JoinGroup)) {
      const body = decoded(JoinGroup, version, {
        groupId: 'g',
        sessionTimeoutMs: 10000,
        rebalanceTimeoutMs: 10000,
        memberId: 'member-7',
        groupInstanceId: null,
        protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
        reason: null,
      });
      const allowed = authorizeRequest(JoinGroup.apiKey, body, version, grants('READ:GROUP:g'));
      assert.equal(allowed.kind === 'forward' ? allowed.body : null, body);
      const { response } = serve(JoinGroup, version, body, grants('DESCRIBE:GROUP:g'));
      const w = wire(JoinGroup, version, response);
      assert.deepEqual([w.errorCode, w.generationId, w.memberId, w.leader, w.members], [GROUP_DENIED, -1, 'member-7', '', []]);
      assert.equal(w.protocolName, version >= 7 ? null : '');
    }
  });

  it('Heartbeat, LeaveGroup and SyncGroup: READ on the group, else 30, at every version', () => {
    const cases = [
      { api: Heartbeat, body: { groupId: 'g', generationId: 1, memberId: 'm', groupInstanceId: null } },
      { api: LeaveGroup, body: { groupId: 'g', memberId: 'm', members: [{ memberId: 'm', groupInstanceId: null, reason: null }] } },
      { api: SyncGroup, body: { groupId: 'g', generationId: 1, memberId: 'm', groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] } },
    ];
    for (const { api, body: fields } of cases) {
      for (const version of versionsOf(api)) {
        const body = decoded(api, version, fields);
        const allowed = authorizeRequest(api.apiKey, body, version, grants('READ:GROUP:g'));
        assert.equal(allowed.kind === 'forward' ? allowed.body : null, body, `${api.name} v${version}`);
        const denied = authorizeRequest(api.apiKey, body, version, grants('READ:GROUP:h'));
        assert.equal(denied.kind, 'respond');
        const w = wire(api, version, denied.response);
        assert.equal(w.errorCode, GROUP_DENIED, `${api.name} v${version}`);
        if (api === LeaveGroup && version >= 3) assert.deepEqual(w.members, []);
      }
    }
  });
});

// ---- DescribeGroups, ListGroups, DeleteGroups ----

const describeHandler = (body: DescribeGroupsRequest): DescribeGroupsResponse => ({
  throttleTimeMs: 0,
  groups: body.groups.map((groupId) => ({ errorCode: 0, groupId, groupState: 'Stable', protocolType: 'consumer', protocolData: 'range', members: [], authorizedOperations: -2147483648 })),
});

describe('group administration policies', () => {
  it('DescribeGroups: 30 for each group without DESCRIBE, nothing about it disclosed', () => {
    for (const version of versionsOf(DescribeGroups)) {
      const body = decoded(DescribeGroups, version, { groups: ['hidden', 'seen'], includeAuthorizedOperations: false });
      const { forwarded, response } = serve(DescribeGroups, version, body, grants('DESCRIBE:GROUP:seen'), describeHandler);
      assert.deepEqual(forwarded?.groups, ['seen']);
      assert.deepEqual(body.groups, ['hidden', 'seen']);
      const groups = list(wire(DescribeGroups, version, response).groups);
      assert.deepEqual(groups.map((g) => [g.groupId, g.errorCode, g.groupState]), [['hidden', GROUP_DENIED, ''], ['seen', 0, 'Stable']]);
    }
    const none = serve(DescribeGroups, 5, decoded(DescribeGroups, 5, { groups: ['x'], includeAuthorizedOperations: false }), grants());
    assert.equal(none.outcome.kind, 'respond');
  });

  it('ListGroups: everything with DESCRIBE on the cluster, else only describable groups, unaudited', () => {
    const listed: ListGroupsResponse = {
      throttleTimeMs: 0,
      errorCode: 0,
      groups: ['g1', 'g2', 'g3'].map((groupId) => ({ groupId, protocolType: 'consumer', groupState: 'Stable' })),
    };
    for (const version of versionsOf(ListGroups)) {
      const body = decoded(ListGroups, version, { statesFilter: [] });
      const admin = serve(ListGroups, version, body, grants('DESCRIBE:CLUSTER:kafka-cluster'), () => listed);
      assert.deepEqual(admin.response.groups.map((g) => g.groupId), ['g1', 'g2', 'g3']);
      const check = grants('DESCRIBE:GROUP:g2', 'READ:GROUP:g3');
      const user = serve(ListGroups, version, body, check, () => listed);
      assert.deepEqual(list(wire(ListGroups, version, user.response).groups).map((g) => g.groupId), ['g2']);
      assert.ok(check.asked.every((q) => q.endsWith('(quiet)')), check.asked.join());
    }
  });

  it('DeleteGroups: 30 for each group without DELETE', () => {
    for (const version of versionsOf(DeleteGroups)) {
      const body = decoded(DeleteGroups, version, { groupsNames: ['a', 'b', 'c'] });
      const { forwarded, response } = serve(DeleteGroups, version, body, grants('DELETE:GROUP:b'), (f) => ({
        throttleTimeMs: 0,
        results: f.groupsNames.map((groupId) => ({ groupId, errorCode: 0 })),
      }));
      assert.deepEqual(forwarded?.groupsNames, ['b']);
      assert.deepEqual(list(wire(DeleteGroups, version, response).results).map((r: Wire) => [r.groupId, r.errorCode]), [['a', GROUP_DENIED], ['b', 0], ['c', GROUP_DENIED]]);
    }
  });
});
