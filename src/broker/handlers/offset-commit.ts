import type { OffsetManager } from '../../groups/offsets.js';
import { OffsetCommit } from '../../protocol/messages/offset-commit.js';
import { ANONYMOUS } from '../../security/types.js';
import { handler, type HandlerEntry } from '../../server/handler.js';

/** OffsetCommit (v0-8) over the committed offsets of consumer groups. */
export function offsetCommitHandler(offsets: OffsetManager): HandlerEntry {
  return handler(OffsetCommit, (body, ctx) => ({
    throttleTimeMs: 0,
    topics: offsets.commit({
      groupId: body.groupId,
      // Only ApiVersions and SASL come before authentication: every OffsetCommit has a principal.
      principal: ctx.principal ?? ANONYMOUS,
      // v0 has neither: a v0 commit is a standalone one (generation −1, no member).
      memberId: body.memberId ?? '',
      generationId: body.generationIdOrMemberEpoch ?? -1,
      groupInstanceId: body.groupInstanceId ?? null,
      // commitTimestamp (v1) and retentionTimeMs (v2-4) are ignored: see OffsetManager.
      topics: body.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          offset: p.committedOffset,
          leaderEpoch: p.committedLeaderEpoch ?? -1,
          metadata: p.committedMetadata,
        })),
      })),
    }),
  }));
}
