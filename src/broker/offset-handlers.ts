import { OffsetManager, type FetchResult, type OffsetManagerDeps } from '../groups/offsets.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { OffsetCommit } from '../protocol/messages/offset-commit.js';
import { OffsetFetch, type OffsetFetchResponse } from '../protocol/messages/offset-fetch.js';
import { handler, type HandlerEntry } from '../server/handler.js';
import { ANONYMOUS } from '../security/types.js';

/**
 * Either what an {@link OffsetManager} is built from, or the broker's own manager (the one whose
 * `expireOffsets` it calls periodically, which must be the same instance the handlers use).
 */
export type OffsetHandlerDeps = OffsetManagerDeps | { readonly offsets: OffsetManager };

/** OffsetCommit (v0-8) and OffsetFetch (v0-8) over the committed offsets of consumer groups. */
export function offsetHandlers(deps: OffsetHandlerDeps): HandlerEntry[] {
  const offsets = 'offsets' in deps ? deps.offsets : new OffsetManager(deps);

  const offsetCommit = handler(OffsetCommit, (body, ctx) => ({
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

  // requireStable (v7+) asks to wait for pending transactional commits; there are no transactions.
  const offsetFetch = handler(OffsetFetch, (body, ctx): OffsetFetchResponse => {
    const version = ctx.header.apiVersion;
    if (version >= 8) {
      // A group named again gets DUPLICATE_RESOURCE: its offsets are sent once per request.
      const seen = new Set<string>();
      return {
        throttleTimeMs: 0,
        groups: (body.groups ?? []).map((g) => {
          const groupId = g.groupId ?? '';
          if (seen.has(groupId)) return { groupId, topics: [], errorCode: ErrorCode.DUPLICATE_RESOURCE };
          seen.add(groupId);
          const result = offsets.fetch(groupId, requestedTopics(g.topics));
          return { groupId, topics: result.topics, errorCode: result.errorCode };
        }),
      };
    }
    // v0-1 cannot ask for all topics (the field is not nullable there), so null only comes from v2+.
    const topics = requestedTopics(body.topics);
    const result = offsets.fetch(body.groupId ?? '', topics);
    return { throttleTimeMs: 0, errorCode: result.errorCode, topics: version < 2 ? withPartitionErrors(result, topics) : result.topics };
  });

  return [offsetCommit, offsetFetch];
}

type RequestedTopics = readonly { name: string; partitionIndexes: readonly number[] }[] | null;

/** The decoder fills every field of the request's version; the types only say a field is per version. */
function requestedTopics(topics: readonly { name?: string; partitionIndexes?: number[] }[] | null | undefined): RequestedTopics {
  return topics === null || topics === undefined ? null : topics.map((t) => ({ name: t.name ?? '', partitionIndexes: t.partitionIndexes ?? [] }));
}

/**
 * v0-1 have no top-level error code: Kafka (OffsetFetchRequest.getErrorResponse) then reports a
 * group-level error on every requested partition, with offset −1.
 */
function withPartitionErrors(
  result: FetchResult,
  requested: RequestedTopics,
): FetchResult['topics'] {
  if (result.errorCode === 0 || requested === null) return result.topics;
  return requested.map((t) => ({
    name: t.name,
    partitions: t.partitionIndexes.map((partitionIndex) => ({
      partitionIndex,
      committedOffset: -1n,
      committedLeaderEpoch: -1,
      metadata: '',
      errorCode: result.errorCode,
    })),
  }));
}
