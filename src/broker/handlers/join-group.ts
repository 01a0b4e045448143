import type { GroupCoordinator } from '../../groups/coordinator.js';
import { JoinGroup } from '../../protocol/messages/join-group.js';
import { ANONYMOUS } from '../../security/types.js';
import { handler, type HandlerEntry } from '../../server/handler.js';

/** JoinGroup over the group coordinator. */
export function joinGroupHandler(coordinator: GroupCoordinator): HandlerEntry {
  return handler(JoinGroup, async (body, ctx) => {
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
}
