import type { GroupCoordinator } from '../../groups/coordinator.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { entryOf, errorEntry } from '../../protocol/error-responses.js';
import { DescribeGroups } from '../../protocol/messages/describe-groups.js';
import { handler, type HandlerEntry } from '../../server/handler.js';

const GROUP = entryOf(DescribeGroups.response.fields.groups);

/** DescribeGroups over the group coordinator: state, protocol and members of each group named. */
export function describeGroupsHandler(coordinator: GroupCoordinator): HandlerEntry {
  return handler(DescribeGroups, (body) => {
    // Each group's members' metadata and assignments (up to groupMaxMetadataBytes) are sent once per
    // request: a group named again gets DUPLICATE_RESOURCE (92, as Kafka answers a user named twice in
    // DescribeUserScramCredentials), so a small request cannot ask for the same megabytes many times.
    // Kafka's admin clients name each group once (librdkafka refuses duplicates itself).
    const seen = new Set<string>();
    return {
      throttleTimeMs: 0,
      groups: body.groups.map((groupId) => {
        if (seen.has(groupId)) return errorEntry(GROUP, ErrorCode.DUPLICATE_RESOURCE, { groupId });
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
}
