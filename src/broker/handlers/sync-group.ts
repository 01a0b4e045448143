import type { GroupCoordinator } from '../../groups/coordinator.js';
import { SyncGroup } from '../../protocol/messages/sync-group.js';
import { ANONYMOUS } from '../../security/types.js';
import { handler, type HandlerEntry } from '../../server/handler.js';

/** SyncGroup over the group coordinator: the leader's assignments in, each member's out. */
export function syncGroupHandler(coordinator: GroupCoordinator): HandlerEntry {
  return handler(SyncGroup, async (body, ctx) => {
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
    // The coordinator copies the assignments (GroupCoordinator.#assign): the frame can be reused.
  }, { releasesFrame: true });
}
