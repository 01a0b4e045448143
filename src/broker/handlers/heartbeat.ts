import type { GroupCoordinator } from '../../groups/coordinator.js';
import { Heartbeat } from '../../protocol/messages/heartbeat.js';
import { handler, type HandlerEntry } from '../../server/handler.js';

/** Heartbeat over the group coordinator. */
export function heartbeatHandler(coordinator: GroupCoordinator): HandlerEntry {
  return handler(Heartbeat, (body) => ({
    throttleTimeMs: 0,
    errorCode: coordinator.heartbeat(body.groupId, body.memberId, body.generationId, body.groupInstanceId ?? null),
  }));
}
