import type { FetchResult, OffsetManager } from '../../groups/offsets.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { entryOf, errorEntry } from '../../protocol/error-responses.js';
import { OffsetFetch, type OffsetFetchResponse } from '../../protocol/messages/offset-fetch.js';
import { handler, type HandlerEntry } from '../../server/handler.js';

const GROUP = entryOf(OffsetFetch.response.fields.groups);
const V0_PARTITION = entryOf(entryOf(OffsetFetch.response.fields.topics).partitions);

/** Whether an open transaction committed an offset of the group's partition (TxnOffsetCommit). */
export type PendingOffsetCheck = (groupId: string, topic: string, partition: number) => boolean;

/**
 * OffsetFetch (v0-8) over the committed offsets of consumer groups. With requireStable (v7+, KIP-447:
 * read_committed consumers send it) a partition whose offset an open transaction has committed answers
 * UNSTABLE_OFFSET_COMMIT (88), which clients retry until the transaction ends, instead of an offset about
 * to change.
 */
export function offsetFetchHandler(offsets: OffsetManager, pending: PendingOffsetCheck = () => false): HandlerEntry {
  return handler(OffsetFetch, (body, ctx): OffsetFetchResponse => {
    const version = ctx.header.apiVersion;
    const fetch = (groupId: string, topics: RequestedTopics): FetchResult => {
      const result = offsets.fetch(groupId, topics);
      if (body.requireStable !== true) return result;
      for (const t of result.topics) {
        for (const p of t.partitions) {
          if (pending(groupId, t.name, p.partitionIndex)) Object.assign(p, { committedOffset: -1n, errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT });
        }
      }
      return result;
    };
    if (version >= 8) {
      // A group named again gets DUPLICATE_RESOURCE: its offsets are sent once per request.
      const seen = new Set<string>();
      return {
        throttleTimeMs: 0,
        groups: (body.groups ?? []).map((g) => {
          const groupId = g.groupId ?? '';
          if (seen.has(groupId)) return errorEntry(GROUP, ErrorCode.DUPLICATE_RESOURCE, { groupId });
          seen.add(groupId);
          const result = fetch(groupId, requestedTopics(g.topics));
          return { groupId, topics: result.topics, errorCode: result.errorCode };
        }),
      };
    }
    // v0-1 cannot ask for all topics (the field is not nullable there), so null only comes from v2+.
    const topics = requestedTopics(body.topics);
    const result = fetch(body.groupId ?? '', topics);
    return { throttleTimeMs: 0, errorCode: result.errorCode, topics: version < 2 ? withPartitionErrors(result, topics) : result.topics };
  });
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
function withPartitionErrors(result: FetchResult, requested: RequestedTopics): NonNullable<OffsetFetchResponse['topics']> {
  if (result.errorCode === 0 || requested === null) return result.topics;
  return requested.map((t) => ({
    name: t.name,
    partitions: t.partitionIndexes.map((partitionIndex) => errorEntry(V0_PARTITION, result.errorCode, { partitionIndex })),
  }));
}
