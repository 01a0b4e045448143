import type { GroupCoordinator } from '../../groups/coordinator.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { ListGroups } from '../../protocol/messages/list-groups.js';
import { handler, type HandlerEntry } from '../../server/handler.js';

/** ListGroups over the group coordinator, optionally only groups in some states. */
export function listGroupsHandler(coordinator: GroupCoordinator): HandlerEntry {
  return handler(ListGroups, (body) => {
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
}
