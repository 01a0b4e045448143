/**
 * Policies of the consumer group and committed offset APIs, with Apache Kafka's semantics (KafkaApis:
 * handleOffsetCommitRequest, handleOffsetFetchRequest, handleFindCoordinatorRequest, handleJoinGroupRequest
 * and the other group handlers). Group names are GROUP resources.
 */
import { AclOperation, CLUSTER_RESOURCE_NAME, ResourceType } from '../../../protocol/acl.js';
import { ErrorCode } from '../../../protocol/error-codes.js';
import { entryOf, errorEntry, errorResponse } from '../../../protocol/error-responses.js';
import { DeleteGroups } from '../../../protocol/messages/delete-groups.js';
import { DescribeGroups, type DescribeGroupsResponse } from '../../../protocol/messages/describe-groups.js';
import { FindCoordinator, type FindCoordinatorResponse } from '../../../protocol/messages/find-coordinator.js';
import { Heartbeat } from '../../../protocol/messages/heartbeat.js';
import { JoinGroup } from '../../../protocol/messages/join-group.js';
import { LeaveGroup } from '../../../protocol/messages/leave-group.js';
import { ListGroups } from '../../../protocol/messages/list-groups.js';
import { OffsetCommit, type OffsetCommitRequest, type OffsetCommitResponse } from '../../../protocol/messages/offset-commit.js';
import { OffsetFetch, type OffsetFetchResponse } from '../../../protocol/messages/offset-fetch.js';
import { SyncGroup } from '../../../protocol/messages/sync-group.js';
import { definePolicy, denialMessage, mergeInOrder, split } from './support.js';
import type { AuthzCheck } from './types.js';

const { TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID } = ResourceType;
const groupDenied = ErrorCode.GROUP_AUTHORIZATION_FAILED;

type CommitTopic = OffsetCommitRequest['topics'][number];
type CommitTopicResponse = OffsetCommitResponse['topics'][number];

function deniedCommitTopic(topic: CommitTopic, errorCode: number): CommitTopicResponse {
  return { name: topic.name, partitions: topic.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) };
}

/** OffsetCommit: READ on the group, else every partition 30; READ on each topic, else its partitions 29. */
export const offsetCommitPolicy = definePolicy(OffsetCommit, (body, _version, check) => {
  if (!check.allowed(AclOperation.READ, GROUP, body.groupId)) {
    return { kind: 'respond', response: { throttleTimeMs: 0, topics: body.topics.map((t) => deniedCommitTopic(t, groupDenied)) } };
  }
  const { mask, allowed, denied } = split(body.topics, (t) => check.allowed(AclOperation.READ, TOPIC, t.name));
  if (denied.length === 0) return { kind: 'forward', body };
  const merge = (handled: readonly CommitTopicResponse[]) =>
    mergeInOrder(body.topics, mask, handled, (t) => deniedCommitTopic(t, ErrorCode.TOPIC_AUTHORIZATION_FAILED));
  if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, topics: merge([]) } };
  return { kind: 'forward', body: { ...body, topics: allowed }, finish: (response) => ({ ...response, topics: merge(response.topics) }) };
});

/** A requested topic of OffsetFetch (v0-7 top level or a v8 group): its fields exist in those versions only. */
interface FetchTopicRequest {
  name?: string;
  partitionIndexes?: number[];
}
/** A topic of an OffsetFetch response, same shape at v0-7 and in a v8 group. */
interface FetchTopicResponse {
  name?: string;
  partitions?: {
    partitionIndex?: number;
    committedOffset?: bigint;
    committedLeaderEpoch?: number;
    metadata?: string | null;
    errorCode?: number;
  }[];
}

/** Kafka's `OffsetFetchResponse.UNAUTHORIZED_PARTITION` (and the v0-1 group error): no offset. */
function deniedFetchTopic(topic: FetchTopicRequest, errorCode: number): FetchTopicResponse {
  return {
    name: topic.name ?? '',
    partitions: (topic.partitionIndexes ?? []).map((partitionIndex) => ({
      partitionIndex,
      committedOffset: -1n,
      committedLeaderEpoch: -1,
      metadata: '',
      errorCode,
    })),
  };
}

/**
 * What of one group's requested topics may be fetched, and how to complete the handler's answer for
 * them: topics without DESCRIBE get 29 per partition; asked for all topics (null), the answer leaves out
 * the topics the principal may not describe. A group-level error answers the group alone (Kafka's
 * `getErrorResponse`), so nothing is merged into it.
 */
function offsetFetchTopics(
  topics: readonly FetchTopicRequest[] | null,
  check: AuthzCheck,
): { forwarded: FetchTopicRequest[] | null; finish: (handled: FetchTopicResponse[], groupError: number) => FetchTopicResponse[] } {
  if (topics === null) {
    return {
      forwarded: null,
      finish: (handled) => handled.filter((t) => check.allowed(AclOperation.DESCRIBE, TOPIC, t.name ?? '', { logIfDenied: false, role: 'listing' })),
    };
  }
  const { mask, allowed } = split(topics, (t) => check.allowed(AclOperation.DESCRIBE, TOPIC, t.name ?? ''));
  return {
    forwarded: allowed,
    finish: (handled, groupError) =>
      groupError !== ErrorCode.NONE ? handled : mergeInOrder(topics, mask, handled, (t) => deniedFetchTopic(t, ErrorCode.TOPIC_AUTHORIZATION_FAILED)),
  };
}

type FetchGroupResponse = NonNullable<OffsetFetchResponse['groups']>[number];

/**
 * OffsetFetch: DESCRIBE on the group, else 30 (at the top level from v2, on every requested partition
 * at v0-1, which have no top-level error, and per group at v8); DESCRIBE on each topic, see
 * {@link offsetFetchTopics}.
 */
export const offsetFetchPolicy = definePolicy(OffsetFetch, (body, version, check) => {
  if (version >= 8) {
    const groups = body.groups ?? [];
    const { mask, allowed, denied } = split(groups, (g) => check.allowed(AclOperation.DESCRIBE, GROUP, g.groupId ?? ''));
    const deniedGroup = (g: (typeof groups)[number]): FetchGroupResponse => ({
      groupId: g.groupId ?? '',
      topics: [],
      errorCode: groupDenied,
    });
    const perGroup = allowed.map((g) => offsetFetchTopics(g.topics ?? null, check));
    if (allowed.length === 0) {
      return { kind: 'respond', response: { throttleTimeMs: 0, groups: mergeInOrder(groups, mask, [], deniedGroup) } };
    }
    const unchanged = denied.length === 0 && allowed.every((g, i) => g.topics != null && perGroup[i]?.forwarded?.length === g.topics.length);
    if (unchanged) return { kind: 'forward', body };
    // The handler answers the groups it is given one for one; should it not, each group's topics are
    // still cut down to those the principal may describe, so nothing leaks either way.
    const complete = (handled: FetchGroupResponse[]): FetchGroupResponse[] =>
      handled.map((g, i) => {
        const topics = g.topics ?? [];
        const p = handled.length === allowed.length ? perGroup[i] : undefined;
        if (p !== undefined) return { ...g, topics: p.finish(topics, g.errorCode ?? ErrorCode.NONE) };
        return { ...g, topics: topics.filter((t) => check.allowed(AclOperation.DESCRIBE, TOPIC, t.name ?? '', { logIfDenied: false, role: 'listing' })) };
      });
    return {
      kind: 'forward',
      body: { ...body, groups: allowed.map((g, i) => ({ ...g, topics: perGroup[i]?.forwarded ?? null })) },
      finish: (response) => ({ ...response, groups: mergeInOrder(groups, mask, complete(response.groups ?? []), deniedGroup) }),
    };
  }

  const requested = body.topics ?? null;
  if (!check.allowed(AclOperation.DESCRIBE, GROUP, body.groupId ?? '')) {
    const topics = version < 2 ? (requested ?? []).map((t) => deniedFetchTopic(t, groupDenied)) : [];
    return { kind: 'respond', response: { throttleTimeMs: 0, errorCode: groupDenied, topics, groups: [] } };
  }
  const { forwarded, finish } = offsetFetchTopics(requested, check);
  if (requested !== null && forwarded?.length === requested.length) return { kind: 'forward', body };
  return {
    kind: 'forward',
    body: { ...body, topics: forwarded },
    // v0-1 have no group-level error (the handler spreads it over the partitions): merge there too.
    finish: (response) => ({ ...response, topics: finish(response.topics ?? [], version < 2 ? ErrorCode.NONE : (response.errorCode ?? ErrorCode.NONE)) }),
  };
});

/** The resource a FindCoordinator key names, by key type (KIP-98), and the error its denial carries. */
const COORDINATOR_KEY_RESOURCES: ReadonlyMap<number, { readonly resourceType: ResourceType; readonly errorCode: number }> = new Map([
  [0, { resourceType: GROUP, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED }],
  [1, { resourceType: TRANSACTIONAL_ID, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED }],
]);

type CoordinatorResponse = NonNullable<FindCoordinatorResponse['coordinators']>[number];

/**
 * FindCoordinator: DESCRIBE on the group (30) or the transactional id (53), per key from v4. A key type
 * this broker does not know names no resource that could be authorized, so it is refused with
 * INVALID_REQUEST (as Kafka refuses it) rather than handed on unchecked.
 */
export const findCoordinatorPolicy = definePolicy(FindCoordinator, (body, version, check) => {
  const keyType = body.keyType ?? 0;
  const target = COORDINATOR_KEY_RESOURCES.get(keyType);
  const isAllowed = (key: string) => target !== undefined && check.allowed(AclOperation.DESCRIBE, target.resourceType, key);
  const refusal =
    target === undefined
      ? { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `unknown coordinator key type ${keyType}` }
      : { errorCode: target.errorCode, errorMessage: denialMessage(target.errorCode) };
  const noNode = { nodeId: -1, host: '', port: -1 };
  if (version < 4) {
    if (isAllowed(body.key ?? '')) return { kind: 'forward', body };
    return { kind: 'respond', response: { throttleTimeMs: 0, ...refusal, ...noNode, coordinators: [] } };
  }
  const keys = body.coordinatorKeys ?? [];
  const { mask, allowed, denied } = split(keys, isAllowed);
  if (denied.length === 0) return { kind: 'forward', body };
  const merge = (handled: readonly CoordinatorResponse[]) => mergeInOrder(keys, mask, handled, (key): CoordinatorResponse => ({ key, ...noNode, ...refusal }));
  if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, coordinators: merge([]) } };
  return {
    kind: 'forward',
    body: { ...body, coordinatorKeys: allowed },
    finish: (response) => ({ ...response, coordinators: merge(response.coordinators ?? []) }),
  };
});

const mayRead = (check: AuthzCheck, groupId: string) => check.allowed(AclOperation.READ, GROUP, groupId);

/** JoinGroup: READ on the group, else 30 with the fields of the coordinator's own error answers. */
export const joinGroupPolicy = definePolicy(JoinGroup, (body, version, check) =>
  mayRead(check, body.groupId)
    ? { kind: 'forward', body }
    : // Nullable only from v7; before, "no protocol" is an empty string.
      { kind: 'respond', response: errorResponse(JoinGroup, groupDenied, { protocolName: version >= 7 ? null : '', memberId: body.memberId }) },
);

/** Heartbeat: READ on the group, else 30. */
export const heartbeatPolicy = definePolicy(Heartbeat, (body, _version, check) =>
  mayRead(check, body.groupId) ? { kind: 'forward', body } : { kind: 'respond', response: errorResponse(Heartbeat, groupDenied) },
);

/** LeaveGroup: READ on the group, else 30 at the top level with no member results (Kafka's error response). */
export const leaveGroupPolicy = definePolicy(LeaveGroup, (body, _version, check) =>
  mayRead(check, body.groupId) ? { kind: 'forward', body } : { kind: 'respond', response: errorResponse(LeaveGroup, groupDenied) },
);

/** SyncGroup: READ on the group, else 30 with an empty assignment. */
export const syncGroupPolicy = definePolicy(SyncGroup, (body, _version, check) =>
  mayRead(check, body.groupId) ? { kind: 'forward', body } : { kind: 'respond', response: errorResponse(SyncGroup, groupDenied) },
);

type DescribedGroup = DescribeGroupsResponse['groups'][number];

const DESCRIBED_GROUP = entryOf(DescribeGroups.response.fields.groups);

/** Kafka's `DescribeGroupsResponse.groupError`: nothing about the group but its id. */
const deniedDescribedGroup = (groupId: string): DescribedGroup => errorEntry(DESCRIBED_GROUP, groupDenied, { groupId });

/** DescribeGroups: DESCRIBE on each group, else that group's entry with 30. */
export const describeGroupsPolicy = definePolicy(DescribeGroups, (body, _version, check) => {
  const { mask, allowed, denied } = split(body.groups, (g) => check.allowed(AclOperation.DESCRIBE, GROUP, g));
  if (denied.length === 0) return { kind: 'forward', body };
  const merge = (handled: readonly DescribedGroup[]) => mergeInOrder(body.groups, mask, handled, deniedDescribedGroup);
  if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, groups: merge([]) } };
  return { kind: 'forward', body: { ...body, groups: allowed }, finish: (response) => ({ ...response, groups: merge(response.groups) }) };
});

/**
 * ListGroups: everything with DESCRIBE on the cluster; otherwise only the groups the principal may
 * describe. Neither check is audited when denied (Kafka: logIfDenied = false): listing is not asking.
 */
export const listGroupsPolicy = definePolicy(ListGroups, (body, _version, check) => {
  if (check.allowed(AclOperation.DESCRIBE, CLUSTER, CLUSTER_RESOURCE_NAME, { logIfDenied: false, role: 'alternative' })) return { kind: 'forward', body };
  return {
    kind: 'forward',
    body,
    finish: (response) => ({
      ...response,
      groups: response.groups.filter((g) => check.allowed(AclOperation.DESCRIBE, GROUP, g.groupId, { logIfDenied: false, role: 'listing' })),
    }),
  };
});

/** DeleteGroups: DELETE on each group, else 30. */
export const deleteGroupsPolicy = definePolicy(DeleteGroups, (body, _version, check) => {
  const { mask, allowed, denied } = split(body.groupsNames, (g) => check.allowed(AclOperation.DELETE, GROUP, g));
  if (denied.length === 0) return { kind: 'forward', body };
  const merge = (handled: readonly { groupId: string; errorCode: number }[]) =>
    mergeInOrder(body.groupsNames, mask, handled, (groupId) => ({ groupId, errorCode: groupDenied }));
  if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, results: merge([]) } };
  return { kind: 'forward', body: { ...body, groupsNames: allowed }, finish: (response) => ({ ...response, results: merge(response.results) }) };
});

export const GROUP_POLICIES = [
  offsetCommitPolicy,
  offsetFetchPolicy,
  findCoordinatorPolicy,
  joinGroupPolicy,
  heartbeatPolicy,
  leaveGroupPolicy,
  syncGroupPolicy,
  describeGroupsPolicy,
  listGroupsPolicy,
  deleteGroupsPolicy,
] as const;
