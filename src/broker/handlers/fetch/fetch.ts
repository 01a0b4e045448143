import { ErrorCode } from '../../../protocol/error-codes.js';
import { emptyFetchPartition, errorResponse } from '../../../protocol/error-responses.js';
import { Fetch, type FetchRequest, type FetchResponse } from '../../../protocol/messages/fetch.js';
import { handler, type HandlerEntry } from '../../../server/handler.js';
import { LEADER_EPOCH, type LogStore, type PartitionView } from '../../../storage/log-store.js';
import { groupByTopic, planFetch, type PlannedPartition } from './plan.js';
import { storageErrorCode } from '../../../topics/storage-errors.js';
import type { WaitingFetches, WatchedPartition } from './waiting-fetches.js';

type TopicResponse = FetchResponse['responses'][number];
type PartitionResponse = TopicResponse['partitions'][number];

export interface FetchDeps {
  readonly logs: LogStore;
  /** Upper bound on one response's record bytes, whatever the client asks (Kafka's fetch.max.bytes). */
  readonly maxResponseBytes: number;
  /** Upper bound on a request's max_wait_ms: no fetch waits longer for data than this. */
  readonly maxWaitMs: number;
  /**
   * Response bytes the broker-wide budget has left (docs/security/limits.md#connections): a response
   * spends at most this beyond its first batch, which is always sent (KIP-74).
   */
  readonly responseRoom?: () => number;
  /** Where long polls wait; it ends them all when the broker shuts down. */
  readonly waiting: WaitingFetches;
}

/**
 * Fetch: whole batches from each partition, the first one whole even when over the limits (KIP-74),
 * long-polling until min_bytes have arrived or max_wait (capped by `maxWaitMs`) has passed. A waiting
 * fetch holds no data: it reads once, when it answers, each read sized by what the log holds and by
 * what is left of the response's budget. Fetch sessions (KIP-227) are declined by answering session
 * id 0, so every request is a full fetch; with no transactions the last stable offset is the high
 * watermark and there are no aborted transactions.
 */
export function fetchHandler(deps: FetchDeps): HandlerEntry {
  return handler(Fetch, async (body, ctx) => {
    if (body.sessionId !== 0) {
      return errorResponse(Fetch, ErrorCode.FETCH_SESSION_ID_NOT_FOUND, { sessionId: 0 });
    }
    const planned = planFetch(deps.logs, body.topics);
    const waitMs = Math.min(body.maxWaitMs, deps.maxWaitMs);
    if (body.minBytes > 0 && waitMs > 0) {
      const progress = measure(planned, body.minBytes);
      if (progress !== 'answer') {
        const outcome = await deps.waiting.wait(progress, body.minBytes, waitMs, ctx.connectionClosed);
        // Nobody to answer: nothing is read.
        if (outcome === 'closed') return null;
        // The broker is stopping: an answer without records, at once, whatever the fetch asked for.
        if (outcome === 'shutdown') return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses: await readAll(deps, body, planned, false) };
      }
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses: await readAll(deps, body, planned, true) };
  });
}

/**
 * Whether the fetch can answer now (an error to report, or min_bytes already there), else where each
 * partition's data starts and how much is there: what a wait needs, found without reading any data.
 */
function measure(planned: readonly PlannedPartition[], minBytes: number): 'answer' | WatchedPartition[] {
  // Nothing to wait for (Kafka's ReplicaManager answers a fetch of no partitions at once too).
  if (planned.length === 0) return 'answer';
  const watched: WatchedPartition[] = [];
  let bytes = 0;
  for (const p of planned) {
    const { log } = p;
    if (log === undefined || p.currentLeaderEpoch > LEADER_EPOCH) return 'answer';
    const from = log.locate(p.fetchOffset);
    if (typeof from === 'string') return 'answer';
    const counted = log.bytesAfter(from, p.partitionMaxBytes);
    bytes += counted;
    if (bytes >= minBytes) return 'answer';
    watched.push({ topic: p.topic, partition: p.partition, log, from, maxBytes: p.partitionMaxBytes, counted });
  }
  return watched;
}

/**
 * Reads every partition in the plan's order within the response's budget: the smaller of the broker's
 * and the request's max_bytes (Kafka's fetch.max.bytes), each partition at most its
 * partition_max_bytes. Without `withRecords`, only offsets and errors.
 */
async function readAll(deps: FetchDeps, body: FetchRequest, planned: readonly PlannedPartition[], withRecords: boolean): Promise<TopicResponse[]> {
  let budget = Math.min(body.maxBytes ?? deps.maxResponseBytes, deps.maxResponseBytes, deps.responseRoom?.() ?? Infinity);
  let bytes = 0;
  const answers: PartitionResponse[] = [];
  // One partition after the other: each read is sized by what the ones before it left of the budget.
  for (const p of planned) {
    // Looked up again: the topic may have been deleted (or re-created) while the fetch waited.
    const found = deps.logs.lookup(p.topic, p.partition);
    const log = found.kind === 'log' ? found.log : undefined;
    const base = partitionResponse(p.partition, log, body.isolationLevel ?? 0);
    // A log that cannot be opened now (out of descriptors) is retriable, an unknown partition is not.
    if (found.kind !== 'log') {
      answers.push({ ...base, errorCode: storageErrorCode(found.kind) });
      continue;
    }
    if (p.currentLeaderEpoch > LEADER_EPOCH) {
      answers.push({ ...base, errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH });
      continue;
    }
    // The first batch of the first partition with data is sent whole even above the limits (KIP-74).
    // Sealed batches (encryption at rest) are opened by the read: clients get them as produced.
    const read = await found.log.readRecords(p.fetchOffset, withRecords ? Math.min(p.partitionMaxBytes, budget) : 0, withRecords && bytes === 0);
    if (read.kind !== 'records') {
      answers.push({ ...base, errorCode: storageErrorCode(read.kind) });
      continue;
    }
    bytes += read.records.length;
    budget = Math.max(0, budget - read.records.length);
    answers.push({ ...base, records: read.records });
  }
  let next = 0;
  return groupByTopic(planned, () => answers[next++] as PartitionResponse);
}

function partitionResponse(partition: number, log: PartitionView | undefined, isolationLevel: number): PartitionResponse {
  const response = emptyFetchPartition(partition, ErrorCode.NONE, isolationLevel);
  if (log !== undefined) {
    // With no transactions the last stable offset is the high watermark.
    response.highWatermark = response.lastStableOffset = log.logEndOffset;
    response.logStartOffset = log.logStartOffset;
  }
  return response;
}
