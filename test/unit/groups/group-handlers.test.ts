import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deleteGroupsHandler } from '../../../src/broker/handlers/delete-groups.js';
import { describeGroupsHandler } from '../../../src/broker/handlers/describe-groups.js';
import { findCoordinatorHandler } from '../../../src/broker/handlers/find-coordinator.js';
import { heartbeatHandler } from '../../../src/broker/handlers/heartbeat.js';
import { joinGroupHandler } from '../../../src/broker/handlers/join-group.js';
import { leaveGroupHandler } from '../../../src/broker/handlers/leave-group.js';
import { listGroupsHandler } from '../../../src/broker/handlers/list-groups.js';
import { syncGroupHandler } from '../../../src/broker/handlers/sync-group.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import { DeleteGroups } from '../../../src/protocol/messages/delete-groups.js';
import { DescribeGroups } from '../../../src/protocol/messages/describe-groups.js';
import { FindCoordinator } from '../../../src/protocol/messages/find-coordinator.js';
import { Heartbeat } from '../../../src/protocol/messages/heartbeat.js';
import { JoinGroup } from '../../../src/protocol/messages/join-group.js';
import { LeaveGroup } from '../../../src/protocol/messages/leave-group.js';
import { ListGroups } from '../../../src/protocol/messages/list-groups.js';
import type { ApiSchema } from '../../../src/protocol/messages/schema.js';
import { SyncGroup } from '../../../src/protocol/messages/sync-group.js';
import { advance, DELAY_MS, GROUP, harness, settle, track, type Harness } from './harness.js';
import { handleOverWire } from '../../helpers/request-context.js';

type Body = Record<string, unknown>;

/**
 * The group handlers over a coordinator on the fake clock: each request is encoded at `version`,
 * decoded as the broker does, handled, and its response decoded again, so version-dependent fields
 * are checked as a client would see them.
 */
function wire(h: Harness): (api: ApiSchema, version: number, body: Body) => Promise<Body> {
  const c = h.coordinator;
  const entries = [
    findCoordinatorHandler(7),
    joinGroupHandler(c),
    syncGroupHandler(c),
    heartbeatHandler(c),
    leaveGroupHandler(c),
    describeGroupsHandler(c),
    listGroupsHandler(c),
    deleteGroupsHandler(c),
  ];
  return (api, version, body) => handleOverWire(entries, api, version, body, { listener: { host: 'broker.local', port: 9093 }, clientId: 'kcat' });
}

const joinBody = (memberId = '', extra: Body = {}): Body => ({
  groupId: 'g',
  sessionTimeoutMs: 10_000,
  rebalanceTimeoutMs: 30_000,
  memberId,
  groupInstanceId: null,
  protocolType: 'consumer',
  protocols: [{ name: 'range', metadata: Buffer.from('meta') }],
  reason: null,
  ...extra,
});

/** Joins one member at `version` and brings the group to Stable; returns its id and generation. */
async function stable(h: Harness, call: ReturnType<typeof wire>, version: number, extra: Body = {}): Promise<{ memberId: string; generationId: number }> {
  let joined = track(call(JoinGroup, version, joinBody('', extra)));
  await settle();
  if (joined.settled && joined.value.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
    joined = track(call(JoinGroup, version, joinBody(joined.value.memberId as string, extra)));
    await settle();
  }
  await advance(h, DELAY_MS);
  const memberId = joined.value.memberId as string;
  const generationId = joined.value.generationId as number;
  const s = await call(SyncGroup, 3, {
    groupId: 'g',
    generationId,
    memberId,
    groupInstanceId: extra.groupInstanceId ?? null,
    assignments: [{ memberId, assignment: Buffer.from('mine') }],
  });
  assert.equal(s.errorCode, ErrorCode.NONE);
  return { memberId, generationId };
}

describe('group handlers', () => {
  it('JoinGroup below v4 joins at once; from v4 an unknown member first gets MEMBER_ID_REQUIRED with a `clientId-uuid` id', async () => {
    const h = harness();
    const call = wire(h);
    const v3 = track(call(JoinGroup, 3, joinBody()));
    await settle();
    assert.equal(v3.settled, false, 'v3: parked in the join phase, no 79');
    await advance(h, DELAY_MS);
    assert.equal(v3.value.errorCode, ErrorCode.NONE);
    assert.match(v3.value.memberId as string, /^kcat-[0-9a-f-]{36}$/);

    const h4 = harness();
    const call4 = wire(h4);
    const first = await call4(JoinGroup, 4, joinBody());
    assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    assert.match(first.memberId as string, /^kcat-[0-9a-f-]{36}$/);
    const rejoin = track(call4(JoinGroup, 4, joinBody(first.memberId as string)));
    await settle();
    await advance(h4, DELAY_MS);
    assert.equal(rejoin.value.errorCode, ErrorCode.NONE);
    assert.equal(rejoin.value.leader, first.memberId);
    assert.deepEqual(rejoin.value.members, [{ memberId: first.memberId, groupInstanceId: null, metadata: Buffer.from('meta') }]);
  });

  it('JoinGroup errors: protocol name is an empty string before v7, null from v7; protocol type null from v7', async () => {
    const h = harness();
    const call = wire(h);
    const v6 = await call(JoinGroup, 6, joinBody('', { sessionTimeoutMs: 1 }));
    assert.equal(v6.errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
    assert.equal(v6.protocolName, '');
    assert.equal(v6.generationId, -1);
    const v7 = await call(JoinGroup, 7, joinBody('', { sessionTimeoutMs: 1 }));
    assert.equal(v7.protocolName, null);
    assert.equal(v7.protocolType, null);
    const v9 = await call(JoinGroup, 9, joinBody('', { groupId: '' }));
    assert.equal(v9.errorCode, ErrorCode.INVALID_GROUP_ID);
    assert.equal(v9.skipAssignment, false);
  });

  it('JoinGroup v5+ carries the instance ids; v7+ the protocol type; SyncGroup v5 checks and echoes the protocol', async () => {
    const h = harness();
    const call = wire(h);
    const joined = track(call(JoinGroup, 7, joinBody('', { groupInstanceId: 'host-1' })));
    await settle();
    await advance(h, DELAY_MS);
    const j = joined.value;
    assert.equal(j.errorCode, ErrorCode.NONE);
    assert.equal(j.protocolType, 'consumer');
    assert.equal(j.protocolName, 'range');
    assert.deepEqual(j.members, [{ memberId: j.memberId, groupInstanceId: 'host-1', metadata: Buffer.from('meta') }]);
    const base = { groupId: 'g', generationId: j.generationId, memberId: j.memberId, groupInstanceId: 'host-1', assignments: [] };
    const wrong = await call(SyncGroup, 5, { ...base, protocolType: 'consumer', protocolName: 'roundrobin' });
    assert.equal(wrong.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    assert.equal(wrong.protocolName, null);
    const right = await call(SyncGroup, 5, { ...base, protocolType: 'consumer', protocolName: 'range' });
    assert.deepEqual(right, { throttleTimeMs: 0, errorCode: ErrorCode.NONE, protocolType: 'consumer', protocolName: 'range', assignment: Buffer.alloc(0) });
  });

  it('Heartbeat answers the coordinator’s code, with the instance id from v3', async () => {
    const h = harness();
    const call = wire(h);
    const { memberId, generationId } = await stable(h, call, 5, { groupInstanceId: 'i' });
    assert.equal((await call(Heartbeat, 3, { groupId: 'g', generationId, memberId, groupInstanceId: 'i' })).errorCode, ErrorCode.NONE);
    assert.equal((await call(Heartbeat, 3, { groupId: 'g', generationId, memberId: 'old', groupInstanceId: 'i' })).errorCode, ErrorCode.FENCED_INSTANCE_ID);
    assert.equal((await call(Heartbeat, 0, { groupId: 'g', generationId: generationId + 1, memberId })).errorCode, ErrorCode.ILLEGAL_GENERATION);
  });

  it('LeaveGroup v0–2 names one member', async () => {
    const h = harness();
    // The group has committed offsets, so it stays (Empty) when its members are gone.
    h.offsets.add(GROUP);
    const call = wire(h);
    const { memberId } = await stable(h, call, 3);
    // v0–2 bodies decode with `members: []` (the default of a v3+ field): the named member must still leave.
    assert.equal((await call(LeaveGroup, 1, { groupId: 'g', memberId: 'ghost' })).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(h.coordinator.describe('g').state, 'Stable');
    const v1 = await call(LeaveGroup, 1, { groupId: 'g', memberId });
    assert.equal(v1.errorCode, ErrorCode.NONE);
    assert.equal(h.coordinator.describe('g').state, 'Empty');
    assert.equal((await call(LeaveGroup, 0, { groupId: 'g', memberId })).errorCode, ErrorCode.UNKNOWN_MEMBER_ID, 'it left already');
  });

  it('LeaveGroup v3+ takes a batch with per-member errors, by member id or by instance id alone', async () => {
    const h = harness();
    // The group has committed offsets, so it stays (Empty) when its members are gone.
    h.offsets.add(GROUP);
    const call = wire(h);
    await stable(h, call, 5, { groupInstanceId: 'i' });
    const v3 = await call(LeaveGroup, 3, {
      groupId: 'g',
      members: [
        { memberId: '', groupInstanceId: 'i' },
        { memberId: 'ghost', groupInstanceId: null },
      ],
    });
    assert.equal(v3.errorCode, ErrorCode.NONE);
    assert.deepEqual(v3.members, [
      { memberId: '', groupInstanceId: 'i', errorCode: ErrorCode.NONE },
      { memberId: 'ghost', groupInstanceId: null, errorCode: ErrorCode.UNKNOWN_MEMBER_ID },
    ]);
    assert.equal(h.coordinator.describe('g').state, 'Empty');
  });

  it('DescribeGroups, ListGroups (KIP-518 filter, case-insensitive) and DeleteGroups', async () => {
    const h = harness();
    const call = wire(h);
    const { memberId } = await stable(h, call, 3);
    // A group from before a restart, known by its offsets and the protocol type saved for it.
    h.offsets.add('old');
    h.saved.set('old', { protocolType: 'consumer', generationId: 4 });
    const d = await call(DescribeGroups, 4, { groups: ['g', 'unknown'], includeAuthorizedOperations: false });
    assert.deepEqual(d.groups, [
      {
        errorCode: ErrorCode.NONE,
        groupId: 'g',
        groupState: 'Stable',
        protocolType: 'consumer',
        protocolData: 'range',
        members: [{ memberId, groupInstanceId: null, clientId: 'kcat', clientHost: '/127.0.0.1', memberMetadata: Buffer.from('meta'), memberAssignment: Buffer.from('mine') }],
        authorizedOperations: -2147483648,
      },
      { errorCode: ErrorCode.NONE, groupId: 'unknown', groupState: 'Dead', protocolType: '', protocolData: '', members: [], authorizedOperations: -2147483648 },
    ]);
    const all = await call(ListGroups, 4, { statesFilter: [] });
    assert.deepEqual(all.groups, [
      { groupId: 'g', protocolType: 'consumer', groupState: 'Stable' },
      { groupId: 'old', protocolType: 'consumer', groupState: 'Empty' },
    ]);
    const stableOnly = await call(ListGroups, 4, { statesFilter: ['STABLE'] });
    assert.deepEqual(stableOnly.groups, [{ groupId: 'g', protocolType: 'consumer', groupState: 'Stable' }]);
    const v0 = await call(ListGroups, 0, {});
    assert.deepEqual(
      (v0.groups as Body[]).map((g) => [g.groupId, g.protocolType]),
      [
        ['g', 'consumer'],
        ['old', 'consumer'],
      ],
    );
    const del = await call(DeleteGroups, 0, { groupsNames: ['g', 'old', 'never'] });
    assert.deepEqual(del.results, [
      { groupId: 'g', errorCode: ErrorCode.NON_EMPTY_GROUP },
      { groupId: 'old', errorCode: ErrorCode.NONE },
      { groupId: 'never', errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
    ]);
  });

  it('DescribeGroups describes a group once per request: a repetition gets DUPLICATE_RESOURCE and no members', async () => {
    const h = harness();
    const call = wire(h);
    await stable(h, call, 3);
    const d = await call(DescribeGroups, 4, { groups: ['g', 'g', 'unknown', 'g'], includeAuthorizedOperations: false });
    assert.deepEqual(
      (d.groups as { groupId: string; errorCode: number; members: unknown[] }[]).map((g) => [g.groupId, g.errorCode, g.members.length]),
      [
        ['g', ErrorCode.NONE, 1],
        ['g', ErrorCode.DUPLICATE_RESOURCE, 0],
        ['unknown', ErrorCode.NONE, 0],
        ['g', ErrorCode.DUPLICATE_RESOURCE, 0],
      ],
    );
  });

  it('FindCoordinator names this broker for groups and transactional ids (one key before v4, a batch from v4), and refuses other key types', async () => {
    const h = harness();
    const call = wire(h);
    const v0 = await call(FindCoordinator, 0, { key: 'g' });
    assert.deepEqual([v0.errorCode, v0.nodeId, v0.host, v0.port], [ErrorCode.NONE, 7, 'broker.local', 9093]);
    const txn = await call(FindCoordinator, 1, { key: 't', keyType: 1 });
    assert.deepEqual([txn.errorCode, txn.nodeId], [ErrorCode.NONE, 7]);
    // Share groups (KIP-932, key type 2) are not served.
    const share = await call(FindCoordinator, 4, { keyType: 2, coordinatorKeys: ['s'] });
    assert.deepEqual((share.coordinators as { errorCode: number }[]).map((c) => c.errorCode), [ErrorCode.INVALID_REQUEST]);
    const v4 = await call(FindCoordinator, 4, { keyType: 0, coordinatorKeys: ['a', 'b'] });
    assert.deepEqual(v4.coordinators, [
      { key: 'a', nodeId: 7, host: 'broker.local', port: 9093, errorCode: ErrorCode.NONE, errorMessage: null },
      { key: 'b', nodeId: 7, host: 'broker.local', port: 9093, errorCode: ErrorCode.NONE, errorMessage: null },
    ]);
  });
});
