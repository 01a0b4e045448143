import type { GroupCoordinator } from '../../groups/coordinator.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { LeaveGroup } from '../../protocol/messages/leave-group.js';
import { handler, type HandlerEntry } from '../../server/handler.js';

/** LeaveGroup over the group coordinator. */
export function leaveGroupHandler(coordinator: GroupCoordinator): HandlerEntry {
  return handler(LeaveGroup, (body, ctx) => {
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
}
