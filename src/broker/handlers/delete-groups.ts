import type { GroupCoordinator } from '../../groups/coordinator.js';
import { DeleteGroups } from '../../protocol/messages/delete-groups.js';
import { handler, type HandlerEntry } from '../../server/handler.js';

/** DeleteGroups over the group coordinator, one result per group named. */
export function deleteGroupsHandler(coordinator: GroupCoordinator): HandlerEntry {
  return handler(DeleteGroups, (body) => ({
    throttleTimeMs: 0,
    results: body.groupsNames.map((groupId) => ({ groupId, errorCode: coordinator.delete(groupId) })),
  }));
}
