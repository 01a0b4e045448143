import { ErrorCode } from '../../../protocol/error-codes.js';
import { emptyFetchPartition, errorResponse } from '../../../protocol/error-responses.js';
import { Fetch, type FetchRequest, type FetchResponse } from '../../../protocol/messages/fetch.js';
import { BatchOffsets, LOG_OVERHEAD } from '../../../records/batch.js';
import { handler, type HandlerEntry } from '../../../server/handler.js';
import { ioErrorCode } from '../../../storage/log/io-faults.js';
import { LEADER_EPOCH, type AbortedTransaction, type LogStore, type PartitionView } from '../../../storage/log-store.js';
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

/** Kafka's IsolationLevel: READ_COMMITTED reads below the last stable offset only (KIP-98). */
const READ_COMMITTED = 1;

/**
 * Fetch: whole batches from each partition, the first one whole even when over the limits (KIP-74),
 * long-polling until min_bytes have arrived or max_wait (capped by `maxWaitMs`) has passed. A waiting
 * fetch holds no data: it reads once, when it answers, each read sized by what the log holds and by
 * what is left of the response's budget. Fetch sessions (KIP-227) are declined by answering session
 * id 0, so every request is a full fetch.
 *
 * Isolation (KIP-98): every partition answers its last stable offset. read_uncommitted reads up to the
 * high watermark; read_committed reads only batches below the last stable offset (a waiting one counts
 * only those bytes, and a marker that moves it wakes the fetch) and answers the aborted transactions
 * of what it read, whose batches the consumer then drops (an empty list when there are none; null for
 * read_uncommitted, as Kafka answers).
 */
export function fetchHandler(deps: FetchDeps): HandlerEntry {
  return handler(Fetch, async (body, ctx) => {
    if (body.sessionId !== 0) {
      return errorResponse(Fetch, ErrorCode.FETCH_SESSION_ID_NOT_FOUND, { sessionId: 0 });
    }
    const planned = planFetch(deps.logs, body.topics);
    const waitMs = Math.min(body.maxWaitMs, deps.maxWaitMs);
    const committed = body.isolationLevel === READ_COMMITTED;
    // The last stable offsets must be known before anything is measured against them.
    if (body.minBytes > 0 && waitMs > 0 && (!committed || (await transactionStatesReady(planned)))) {
      const progress = measure(planned, body.minBytes, committed);
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
 * Loads each partition's transaction state where it waits (an encrypted partition after a restart);
 * false when one cannot be had: the fetch answers at once, with that partition's error.
 */
async function transactionStatesReady(planned: readonly PlannedPartition[]): Promise<boolean> {
  for (const p of planned) {
    if (p.log !== undefined && (await p.log.loadTransactionState()).kind !== 'ready') return false;
  }
  return true;
}

/**
 * Whether the fetch can answer now (an error to report, or min_bytes already there), else where each
 * partition's data starts and how much is there (below the last stable offset for read_committed):
 * what a wait needs, found without reading any data.
 */
function measure(planned: readonly PlannedPartition[], minBytes: number, committed: boolean): 'answer' | WatchedPartition[] {
  // Nothing to wait for (Kafka's ReplicaManager answers a fetch of no partitions at once too).
  if (planned.length === 0) return 'answer';
  const watched: WatchedPartition[] = [];
  let bytes = 0;
  for (const p of planned) {
    const { log } = p;
    if (log === undefined || p.currentLeaderEpoch > LEADER_EPOCH) return 'answer';
    const from = log.locate(p.fetchOffset);
    if (typeof from === 'string') return 'answer';
    const counted = log.bytesAfter(from, p.partitionMaxBytes, committed);
    bytes += counted;
    if (bytes >= minBytes) return 'answer';
    watched.push({ topic: p.topic, partition: p.partition, log, from, maxBytes: p.partitionMaxBytes, counted, stableOnly: committed });
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
  const isolationLevel = body.isolationLevel ?? 0;
  const committed = isolationLevel === READ_COMMITTED;
  const answers: PartitionResponse[] = [];
  // One partition after the other: each read is sized by what the ones before it left of the budget.
  for (const p of planned) {
    // Looked up again: the topic may have been deleted (or re-created) while the fetch waited.
    const found = deps.logs.lookup(p.topic, p.partition);
    // A log that cannot be opened now (out of descriptors) is retriable, an unknown partition is not.
    if (found.kind !== 'log') {
      answers.push(emptyFetchPartition(p.partition, storageErrorCode(found.kind), isolationLevel));
      continue;
    }
    const { log } = found;
    // An encrypted partition's transaction state may wait for its keys: read_committed cannot go on
    // without it; read_uncommitted answers a last stable offset that is low rather than none.
    const state = await log.loadTransactionState();
    if (committed && state.kind !== 'ready') {
      answers.push({ ...partitionResponse(p.partition, log, isolationLevel), errorCode: storageErrorCode(state.kind) });
      continue;
    }
    // The offsets, the cut and the read in one synchronous step: an append cannot come between them.
    const base = partitionResponse(p.partition, log, isolationLevel);
    if (p.currentLeaderEpoch > LEADER_EPOCH) {
      answers.push({ ...base, errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH });
      continue;
    }
    // The first batch of the first partition with data is sent whole even above the limits (KIP-74),
    // for read_committed only a batch below the last stable offset. Sealed batches (encryption at
    // rest) are opened by the read: clients get them as produced.
    const maxBytes = withRecords ? Math.min(p.partitionMaxBytes, budget) : 0;
    // No cut when nothing is unstable (a read never goes past the log end anyway).
    const cut = committed && base.highWatermark > (base.lastStableOffset ?? base.highWatermark) ? base.lastStableOffset : undefined;
    const read = await log.readRecords(p.fetchOffset, maxBytes, withRecords && bytes === 0, cut);
    if (read.kind !== 'records') {
      answers.push({ ...base, errorCode: storageErrorCode(read.kind) });
      continue;
    }
    let abortedTransactions = base.abortedTransactions ?? null;
    if (committed && read.records.length > 0) {
      const found = abortedIn(deps, log, p, read.records);
      if (typeof found === 'number') {
        answers.push({ ...base, errorCode: found });
        continue;
      }
      abortedTransactions = found;
    }
    bytes += read.records.length;
    budget = Math.max(0, budget - read.records.length);
    answers.push({ ...base, records: read.records, abortedTransactions });
  }
  let next = 0;
  return groupByTopic(planned, () => answers[next++] as PartitionResponse);
}

/**
 * The aborted transactions of the records a read_committed fetch read (from its fetch offset to the
 * offset after its last batch), or the error code to answer when the log cannot tell: an I/O error is
 * retriable, a damaged index refuses the read (sending the records without it would hand aborted
 * records to the application as committed ones).
 */
function abortedIn(deps: FetchDeps, log: PartitionView, p: PlannedPartition, records: Buffer): AbortedTransaction[] | number {
  try {
    return log.abortedTransactions(p.fetchOffset, offsetAfter(records)).map(({ producerId, firstOffset }) => ({ producerId, firstOffset }));
  } catch (err) {
    if (ioErrorCode(err) !== undefined) {
      deps.logs.reportIoError(err, 'fetch aborted transactions', `${p.topic}-${p.partition}`);
      return storageErrorCode('unavailable');
    }
    if (err instanceof Error) return storageErrorCode('corrupt');
    throw err;
  }
}

/** The offset after the last batch of whole batches read from a log. */
function offsetAfter(records: Buffer): bigint {
  let last = 0;
  for (let at = 0; at + BatchOffsets.lastOffsetDelta + 4 <= records.length; at += LOG_OVERHEAD + records.readInt32BE(at + BatchOffsets.batchLength)) last = at;
  return records.readBigInt64BE(last + BatchOffsets.baseOffset) + BigInt(records.readInt32BE(last + BatchOffsets.lastOffsetDelta)) + 1n;
}

function partitionResponse(partition: number, log: PartitionView, isolationLevel: number): PartitionResponse {
  const response = emptyFetchPartition(partition, ErrorCode.NONE, isolationLevel);
  // A single replica: the high watermark is the log end.
  response.highWatermark = log.logEndOffset;
  response.lastStableOffset = log.lastStableOffset;
  response.logStartOffset = log.logStartOffset;
  return response;
}
