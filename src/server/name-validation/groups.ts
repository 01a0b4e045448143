/**
 * Names in the group APIs: group ids (INVALID_GROUP_ID, 24, Kafka's code for an unusable group id),
 * member ids and group instance ids of requests that must name a current member (UNKNOWN_MEMBER_ID,
 * 25: no member can have them), a new member's group instance id (INVALID_CONFIG, 40, what Kafka's
 * `JoinGroupRequest.validateGroupInstanceId` throws), assignor protocols (INCONSISTENT_GROUP_PROTOCOL,
 * 23) and the topics of offset requests (INVALID_TOPIC_EXCEPTION, 17).
 */
import { ErrorCode } from '../../protocol/error-codes.js';
import { DeleteGroups } from '../../protocol/messages/delete-groups.js';
import { DescribeGroups, type DescribeGroupsResponse } from '../../protocol/messages/describe-groups.js';
import { FindCoordinator, type FindCoordinatorResponse } from '../../protocol/messages/find-coordinator.js';
import { Heartbeat } from '../../protocol/messages/heartbeat.js';
import { JoinGroup, type JoinGroupRequest, type JoinGroupResponse } from '../../protocol/messages/join-group.js';
import { LeaveGroup, type LeaveGroupResponse } from '../../protocol/messages/leave-group.js';
import { ListGroups } from '../../protocol/messages/list-groups.js';
import { OffsetCommit, type OffsetCommitRequest, type OffsetCommitResponse } from '../../protocol/messages/offset-commit.js';
import { OffsetFetch, type OffsetFetchResponse } from '../../protocol/messages/offset-fetch.js';
import { SyncGroup } from '../../protocol/messages/sync-group.js';
import {
  groupIdProblem,
  groupInstanceIdProblem,
  memberIdProblem,
  protocolNameProblem,
  topicNameProblem,
  transactionalIdProblem,
  type NameLimits,
} from '../../protocol/names.js';
import { mergeInOrder, split } from '../../security/authz/policies/support.js';
import { defineNameCheck } from './types.js';

const INVALID_GROUP = ErrorCode.INVALID_GROUP_ID;
const UNKNOWN_MEMBER = ErrorCode.UNKNOWN_MEMBER_ID;
const validTopic = (name: string) => topicNameProblem(name) === null;
const validGroup = (groupId: string, limits: NameLimits) => groupIdProblem(groupId, limits) === null;

/**
 * Why a request that must come from a current member cannot: its group id (24), or a member id or
 * group instance id no member can have (25). Null when its names are acceptable.
 */
function memberError(req: { groupId: string; memberId?: string; groupInstanceId?: string | null }, limits: NameLimits): number | null {
  if (!validGroup(req.groupId, limits)) return INVALID_GROUP;
  if (req.memberId !== undefined && memberIdProblem(req.memberId, limits) !== null) return UNKNOWN_MEMBER;
  if (req.groupInstanceId != null && groupInstanceIdProblem(req.groupInstanceId) !== null) return UNKNOWN_MEMBER;
  return null;
}

type CommitTopic = OffsetCommitRequest['topics'][number];
type CommitTopicResponse = OffsetCommitResponse['topics'][number];

const refusedCommitTopic = (topic: CommitTopic, errorCode: number): CommitTopicResponse => ({
  name: topic.name,
  partitions: topic.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
});

/** OffsetCommit: a refused group or member fails every partition; an invalid topic its own (17). */
export const offsetCommitNames = defineNameCheck(OffsetCommit, (body, _version, limits) => {
  const error = memberError(body, limits);
  if (error !== null) return { kind: 'respond', response: { throttleTimeMs: 0, topics: body.topics.map((t) => refusedCommitTopic(t, error)) } };
  const { mask, allowed, denied } = split(body.topics, (t) => validTopic(t.name));
  if (denied.length === 0) return { kind: 'forward', body };
  const merge = (handled: readonly CommitTopicResponse[]) => mergeInOrder(body.topics, mask, handled, (t) => refusedCommitTopic(t, ErrorCode.INVALID_TOPIC_EXCEPTION));
  if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, topics: merge([]) } };
  return { kind: 'forward', body: { ...body, topics: allowed }, finish: (response) => ({ ...response, topics: merge(response.topics) }) };
});

interface FetchTopicRequest {
  name?: string;
  partitionIndexes?: number[];
}
type FetchTopicResponse = NonNullable<OffsetFetchResponse['topics']>[number];
type FetchGroupResponse = NonNullable<OffsetFetchResponse['groups']>[number];

const refusedFetchTopic = (topic: FetchTopicRequest, errorCode: number): FetchTopicResponse => ({
  name: topic.name ?? '',
  partitions: (topic.partitionIndexes ?? []).map((partitionIndex) => ({ partitionIndex, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode })),
});

/**
 * One group's requested topics without the invalid ones, and how to put their 17s back into the
 * handler's answer. A group-level error answers the group alone, as Kafka's does.
 */
function fetchTopics(topics: readonly FetchTopicRequest[] | null) {
  if (topics === null) return { forwarded: null, changed: false, finish: (handled: FetchTopicResponse[]) => handled };
  const { mask, allowed, denied } = split(topics, (t) => validTopic(t.name ?? ''));
  return {
    forwarded: allowed,
    changed: denied.length > 0,
    finish: (handled: FetchTopicResponse[], groupError: number = ErrorCode.NONE) =>
      groupError !== ErrorCode.NONE ? handled : mergeInOrder(topics, mask, handled, (t) => refusedFetchTopic(t, ErrorCode.INVALID_TOPIC_EXCEPTION)),
  };
}

/** OffsetFetch: an invalid group id gets 24 (per group from v8); invalid topics 17 on each partition. */
export const offsetFetchNames = defineNameCheck(OffsetFetch, (body, version, limits) => {
  if (version >= 8) {
    const groups = body.groups ?? [];
    const { mask, allowed, denied } = split(groups, (g) => validGroup(g.groupId ?? '', limits));
    const perGroup = allowed.map((g) => fetchTopics(g.topics ?? null));
    if (denied.length === 0 && !perGroup.some((p) => p.changed)) return { kind: 'forward', body };
    const refusedGroup = (g: (typeof groups)[number]): FetchGroupResponse => ({ groupId: g.groupId ?? '', topics: [], errorCode: INVALID_GROUP });
    if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, groups: mergeInOrder(groups, mask, [], refusedGroup) } };
    // The handler answers the groups it is given one for one; should it not, nothing is merged into them.
    const complete = (handled: FetchGroupResponse[]) =>
      handled.length !== allowed.length ? handled : handled.map((g, i) => ({ ...g, topics: perGroup[i]?.finish(g.topics ?? [], g.errorCode ?? ErrorCode.NONE) ?? g.topics ?? [] }));
    return {
      kind: 'forward',
      body: { ...body, groups: allowed.map((g, i) => ({ ...g, topics: perGroup[i]?.forwarded ?? null })) },
      finish: (response) => ({ ...response, groups: mergeInOrder(groups, mask, complete(response.groups ?? []), refusedGroup) }),
    };
  }
  const requested = body.topics ?? null;
  if (!validGroup(body.groupId ?? '', limits)) {
    // v0-1 have no top-level error: the group's error goes on every requested partition, as Kafka does.
    const topics = version < 2 ? (requested ?? []).map((t) => refusedFetchTopic(t, INVALID_GROUP)) : [];
    return { kind: 'respond', response: { throttleTimeMs: 0, errorCode: INVALID_GROUP, topics, groups: [] } };
  }
  const { forwarded, changed, finish } = fetchTopics(requested);
  if (!changed) return { kind: 'forward', body };
  return {
    kind: 'forward',
    body: { ...body, topics: forwarded },
    finish: (response) => ({ ...response, topics: finish(response.topics ?? [], version < 2 ? ErrorCode.NONE : (response.errorCode ?? ErrorCode.NONE)) }),
  };
});

type CoordinatorResponse = NonNullable<FindCoordinatorResponse['coordinators']>[number];

/** A coordinator key's refusal by key type: a group id (24) or a transactional id (42); other types are the policy's. */
function coordinatorKeyRefusal(keyType: number, key: string, limits: NameLimits): { errorCode: number; errorMessage: string } | null {
  const problem = keyType === 0 ? groupIdProblem(key, limits) : keyType === 1 ? transactionalIdProblem(key, limits) : null;
  if (problem === null) return null;
  return { errorCode: keyType === 0 ? INVALID_GROUP : ErrorCode.INVALID_REQUEST, errorMessage: problem };
}

/** FindCoordinator: an invalid key is refused (per key from v4) before anyone looks it up. */
export const findCoordinatorNames = defineNameCheck(FindCoordinator, (body, version, limits) => {
  const keyType = body.keyType ?? 0;
  const noNode = { nodeId: -1, host: '', port: -1 };
  if (version < 4) {
    const refusal = coordinatorKeyRefusal(keyType, body.key ?? '', limits);
    return refusal === null ? { kind: 'forward', body } : { kind: 'respond', response: { throttleTimeMs: 0, ...refusal, ...noNode, coordinators: [] } };
  }
  const keys = body.coordinatorKeys ?? [];
  const { mask, allowed, denied } = split(keys, (key) => coordinatorKeyRefusal(keyType, key, limits) === null);
  if (denied.length === 0) return { kind: 'forward', body };
  const merge = (handled: readonly CoordinatorResponse[]) =>
    mergeInOrder(keys, mask, handled, (key): CoordinatorResponse => ({ key, ...noNode, ...(coordinatorKeyRefusal(keyType, key, limits) ?? { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: null }) }));
  if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, coordinators: merge([]) } };
  return { kind: 'forward', body: { ...body, coordinatorKeys: allowed }, finish: (response) => ({ ...response, coordinators: merge(response.coordinators ?? []) }) };
});

function joinError(body: JoinGroupRequest, limits: NameLimits): number | null {
  if (!validGroup(body.groupId, limits)) return INVALID_GROUP;
  if (memberIdProblem(body.memberId, limits) !== null) return UNKNOWN_MEMBER;
  if (body.groupInstanceId != null && groupInstanceIdProblem(body.groupInstanceId) !== null) return ErrorCode.INVALID_CONFIG;
  if (protocolNameProblem(body.protocolType) !== null || body.protocols.some((p) => protocolNameProblem(p.name) !== null)) return ErrorCode.INCONSISTENT_GROUP_PROTOCOL;
  return null;
}

/** JoinGroup: refused whole, with the fields of the coordinator's own error answers. */
export const joinGroupNames = defineNameCheck(JoinGroup, (body, version, limits) => {
  const errorCode = joinError(body, limits);
  if (errorCode === null) return { kind: 'forward', body };
  const response: JoinGroupResponse = {
    throttleTimeMs: 0,
    errorCode,
    generationId: -1,
    protocolType: null,
    // Nullable only from v7; before, "no protocol" is an empty string.
    protocolName: version >= 7 ? null : '',
    leader: '',
    skipAssignment: false,
    memberId: errorCode === UNKNOWN_MEMBER ? '' : body.memberId,
    members: [],
  };
  return { kind: 'respond', response };
});

/** Heartbeat: a refused group or member, 24 or 25. */
export const heartbeatNames = defineNameCheck(Heartbeat, (body, _version, limits) => {
  const errorCode = memberError(body, limits);
  return errorCode === null ? { kind: 'forward', body } : { kind: 'respond', response: { throttleTimeMs: 0, errorCode } };
});

/**
 * SyncGroup: a refused group or member (24, 25) or protocol (23). An assignment for a member id no
 * member can have is dropped: the coordinator ignores assignments of unknown members anyway.
 */
export const syncGroupNames = defineNameCheck(SyncGroup, (body, _version, limits) => {
  const protocolRefused = [body.protocolType, body.protocolName].some((p) => p != null && protocolNameProblem(p) !== null);
  const errorCode = memberError(body, limits) ?? (protocolRefused ? ErrorCode.INCONSISTENT_GROUP_PROTOCOL : null);
  if (errorCode !== null) {
    return { kind: 'respond', response: { throttleTimeMs: 0, errorCode, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) } };
  }
  const assignments = body.assignments.filter((a) => memberIdProblem(a.memberId, limits) === null);
  return { kind: 'forward', body: assignments.length === body.assignments.length ? body : { ...body, assignments } };
});

type LeaveMember = NonNullable<LeaveGroupResponse['members']>[number];

/** LeaveGroup: a refused group (24) answers the request; from v3, each refused member gets 25. */
export const leaveGroupNames = defineNameCheck(LeaveGroup, (body, version, limits) => {
  if (version < 3) {
    const errorCode = memberError({ groupId: body.groupId, memberId: body.memberId ?? '' }, limits);
    return errorCode === null ? { kind: 'forward', body } : { kind: 'respond', response: { throttleTimeMs: 0, errorCode, members: [] } };
  }
  if (!validGroup(body.groupId, limits)) return { kind: 'respond', response: { throttleTimeMs: 0, errorCode: INVALID_GROUP, members: [] } };
  const members = body.members ?? [];
  const { mask, allowed, denied } = split(members, (m) => memberError({ groupId: body.groupId, memberId: m.memberId ?? '', groupInstanceId: m.groupInstanceId ?? null }, limits) === null);
  if (denied.length === 0) return { kind: 'forward', body };
  const merge = (handled: readonly LeaveMember[]) =>
    mergeInOrder(members, mask, handled, (m): LeaveMember => ({ memberId: m.memberId ?? '', groupInstanceId: m.groupInstanceId ?? null, errorCode: UNKNOWN_MEMBER }));
  if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, errorCode: ErrorCode.NONE, members: merge([]) } };
  return {
    kind: 'forward',
    body: { ...body, members: allowed },
    // A group-level error answers the request: there is no member list to merge into.
    finish: (response) => (response.errorCode !== ErrorCode.NONE ? response : { ...response, members: merge(response.members ?? []) }),
  };
});

type DescribedGroup = DescribeGroupsResponse['groups'][number];

const refusedDescribedGroup = (groupId: string): DescribedGroup => ({
  errorCode: INVALID_GROUP,
  groupId,
  groupState: '',
  protocolType: '',
  protocolData: '',
  members: [],
  authorizedOperations: -2147483648,
});

/** DescribeGroups: 24 for each invalid group id. */
export const describeGroupsNames = defineNameCheck(DescribeGroups, (body, _version, limits) => {
  const { mask, allowed, denied } = split(body.groups, (g) => validGroup(g, limits));
  if (denied.length === 0) return { kind: 'forward', body };
  const merge = (handled: readonly DescribedGroup[]) => mergeInOrder(body.groups, mask, handled, refusedDescribedGroup);
  if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, groups: merge([]) } };
  return { kind: 'forward', body: { ...body, groups: allowed }, finish: (response) => ({ ...response, groups: merge(response.groups) }) };
});

/** DeleteGroups: 24 for each invalid group id. */
export const deleteGroupsNames = defineNameCheck(DeleteGroups, (body, _version, limits) => {
  const { mask, allowed, denied } = split(body.groupsNames, (g) => validGroup(g, limits));
  if (denied.length === 0) return { kind: 'forward', body };
  const merge = (handled: readonly { groupId: string; errorCode: number }[]) =>
    mergeInOrder(body.groupsNames, mask, handled, (groupId) => ({ groupId, errorCode: INVALID_GROUP }));
  if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, results: merge([]) } };
  return { kind: 'forward', body: { ...body, groupsNames: allowed }, finish: (response) => ({ ...response, results: merge(response.results) }) };
});

/** The longest group state name ("CompletingRebalance"), with room to spare. */
const MAX_STATE_FILTER_LENGTH = 64;

/**
 * ListGroups: a states filter longer than any state name matches none (as in Kafka) and is cut, so
 * the handler's set of filters holds only short strings; an empty filter would mean every state, so
 * entries are never dropped.
 */
export const listGroupsNames = defineNameCheck(ListGroups, (body) => {
  const filter = body.statesFilter;
  if (filter === undefined || filter.every((s) => s.length <= MAX_STATE_FILTER_LENGTH)) return { kind: 'forward', body };
  return { kind: 'forward', body: { ...body, statesFilter: filter.map((s) => s.slice(0, MAX_STATE_FILTER_LENGTH + 1)) } };
});

export const GROUP_NAME_CHECKS = [
  offsetCommitNames,
  offsetFetchNames,
  findCoordinatorNames,
  joinGroupNames,
  heartbeatNames,
  syncGroupNames,
  leaveGroupNames,
  describeGroupsNames,
  deleteGroupsNames,
  listGroupsNames,
] as const;
