import { ErrorCode } from '../protocol/error-codes.js';
import { DeleteGroups } from '../protocol/messages/delete-groups.js';
import { DescribeGroups } from '../protocol/messages/describe-groups.js';
import { FindCoordinator } from '../protocol/messages/find-coordinator.js';
import { Heartbeat } from '../protocol/messages/heartbeat.js';
import { JoinGroup } from '../protocol/messages/join-group.js';
import { LeaveGroup } from '../protocol/messages/leave-group.js';
import { ListGroups } from '../protocol/messages/list-groups.js';
import { SyncGroup } from '../protocol/messages/sync-group.js';
import { handler, type HandlerEntry } from '../server/handler.js';
import type { GroupCoordinator } from '../groups/coordinator.js';
import { ANONYMOUS } from '../security/types.js';

/** FindCoordinator key types (KIP-98). */
const CoordinatorKeyType = { GROUP: 0, TRANSACTION: 1 } as const;

/**
 * The group APIs over the coordinator: FindCoordinator (always this broker), JoinGroup, SyncGroup,
 * Heartbeat, LeaveGroup, DescribeGroups, ListGroups, DeleteGroups.
 */
export function groupHandlers(coordinator: GroupCoordinator, nodeId: number): HandlerEntry[] {
  const findCoordinator = handler(FindCoordinator, (body, ctx) => {
    const { host, port } = ctx.listener;
    const answer = (keyType: number) =>
      keyType === CoordinatorKeyType.GROUP
        ? { errorCode: ErrorCode.NONE, errorMessage: null, nodeId, host, port }
        : // Transactions are not implemented: a clear, non-retriable refusal instead of a coordinator.
          { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'transactions are not supported by this broker', nodeId: -1, host: '', port: -1 };
    const keyType = body.keyType ?? CoordinatorKeyType.GROUP;
    const single = answer(keyType);
    return {
      throttleTimeMs: 0,
      ...single,
      coordinators: (body.coordinatorKeys ?? []).map((key) => ({ key, ...answer(keyType) })),
    };
  });

  const joinGroup = handler(JoinGroup, async (body, ctx) => {
    const version = ctx.header.apiVersion;
    const outcome = await coordinator.join({
      groupId: body.groupId,
      // Only ApiVersions and SASL come before authentication: every JoinGroup has a principal.
      principal: ctx.principal ?? ANONYMOUS,
      memberId: body.memberId,
      groupInstanceId: body.groupInstanceId ?? null,
      clientId: ctx.header.clientId ?? '',
      clientHost: ctx.clientHost,
      sessionTimeoutMs: body.sessionTimeoutMs,
      rebalanceTimeoutMs: body.rebalanceTimeoutMs ?? -1,
      protocolType: body.protocolType,
      protocols: body.protocols,
      requireKnownMemberId: version >= 4,
    });
    return {
      throttleTimeMs: 0,
      errorCode: outcome.errorCode,
      generationId: outcome.generationId,
      protocolType: outcome.protocolType,
      // Nullable only from v7; before, an unknown protocol is an empty string.
      protocolName: outcome.protocolName ?? (version >= 7 ? null : ''),
      leader: outcome.leader,
      skipAssignment: false,
      memberId: outcome.memberId,
      members: outcome.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadata })),
    };
    // The coordinator keeps copies of the protocol metadata (limits.ts ownedCopy), never views of the
    // frame, so the frame goes back to the pool once answered.
  }, { releasesFrame: true });

  const syncGroup = handler(SyncGroup, async (body, ctx) => {
    const outcome = await coordinator.sync({
      groupId: body.groupId,
      principal: ctx.principal ?? ANONYMOUS,
      memberId: body.memberId,
      generationId: body.generationId,
      groupInstanceId: body.groupInstanceId ?? null,
      protocolType: body.protocolType ?? null,
      protocolName: body.protocolName ?? null,
      assignments: body.assignments,
    });
    return { throttleTimeMs: 0, ...outcome };
    // Assignments are copied too (GroupCoordinator.#assign).
  }, { releasesFrame: true });

  const heartbeat = handler(Heartbeat, (body) => ({
    throttleTimeMs: 0,
    errorCode: coordinator.heartbeat(body.groupId, body.memberId, body.generationId, body.groupInstanceId ?? null),
  }));

  const leaveGroup = handler(LeaveGroup, (body, ctx) => {
    // v0–2 name one member; v3+ a batch with per-member errors (KIP-345). Chosen by version: the
    // decoder fills a field absent from the version with its default, so v0–2 bodies carry `members: []`.
    if (ctx.header.apiVersion < 3) {
      return { throttleTimeMs: 0, errorCode: coordinator.leave(body.groupId, body.memberId ?? '', null), members: [] };
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      members: (body.members ?? []).map((m) => ({
        memberId: m.memberId ?? '',
        groupInstanceId: m.groupInstanceId ?? null,
        errorCode: coordinator.leave(body.groupId, m.memberId ?? '', m.groupInstanceId ?? null),
      })),
    };
  });

  const describeGroups = handler(DescribeGroups, (body) => {
    // Each group's members' metadata and assignments (up to groupMaxMetadataBytes) are sent once per
    // request: a group named again gets DUPLICATE_RESOURCE (92, as Kafka answers a user named twice in
    // DescribeUserScramCredentials), so a small request cannot ask for the same megabytes many times.
    // Kafka's admin clients name each group once (librdkafka refuses duplicates itself).
    const seen = new Set<string>();
    return {
      throttleTimeMs: 0,
      groups: body.groups.map((groupId) => {
        if (seen.has(groupId)) {
          return { errorCode: ErrorCode.DUPLICATE_RESOURCE, groupId, groupState: '', protocolType: '', protocolData: '', members: [], authorizedOperations: -2147483648 };
        }
        seen.add(groupId);
        const g = coordinator.describe(groupId);
        return {
          errorCode: groupId.length === 0 ? ErrorCode.INVALID_GROUP_ID : ErrorCode.NONE,
          groupId,
          groupState: g.state,
          protocolType: g.protocolType,
          protocolData: g.protocolName,
          members: g.members.map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            clientId: m.clientId,
            clientHost: m.clientHost,
            memberMetadata: m.metadata,
            memberAssignment: m.assignment,
          })),
          authorizedOperations: -2147483648,
        };
      }),
    };
  });

  const listGroups = handler(ListGroups, (body) => {
    // KIP-518: states are matched case-insensitively; an empty filter lists every group.
    const filter = new Set((body.statesFilter ?? []).map((s) => s.toLowerCase()));
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      groups: coordinator
        .list()
        .filter((g) => filter.size === 0 || filter.has(g.state.toLowerCase()))
        .map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, groupState: g.state })),
    };
  });

  const deleteGroups = handler(DeleteGroups, (body) => ({
    throttleTimeMs: 0,
    results: body.groupsNames.map((groupId) => ({ groupId, errorCode: coordinator.delete(groupId) })),
  }));

  return [findCoordinator, joinGroup, syncGroup, heartbeat, leaveGroup, describeGroups, listGroups, deleteGroups];
}
