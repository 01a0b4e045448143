import { ErrorCode } from '../protocol/error-codes.js';
import { Fetch, type FetchRequest, type FetchResponse } from '../protocol/messages/fetch.js';
import { handler, type HandlerEntry } from '../server/dispatcher.js';
import type { LogManager } from '../storage/log/log-manager.js';
import { LEADER_EPOCH, type PartitionLog } from '../storage/log/partition-log.js';

type TopicResponse = FetchResponse['responses'][number];
type PartitionResponse = TopicResponse['partitions'][number];

export interface FetchDeps {
  readonly logs: LogManager;
  /** Upper bound on one response's record bytes, whatever the client asks (Kafka's fetch.max.bytes). */
  readonly maxResponseBytes: number;
  /** Aborted when the broker shuts down, so long polls end at once instead of after max_wait. */
  readonly shutdown: AbortSignal;
}

const NO_RECORDS = Buffer.alloc(0);

/**
 * Fetch: whole batches from each partition, the first one whole even when over the limits (KIP-74),
 * long-polling until min_bytes have arrived or max_wait has passed. Fetch sessions (KIP-227) are
 * declined by answering session id 0, so every request is a full fetch; with no transactions the last
 * stable offset is the high watermark and there are no aborted transactions.
 */
export function fetchHandler(deps: FetchDeps): HandlerEntry {
  return handler(Fetch, async (body) => {
    if (body.sessionId !== 0) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [] };
    }
    const deadline = Date.now() + Math.max(0, body.maxWaitMs);
    for (;;) {
      const { responses, bytes, failed } = readAll(deps, body);
      const remaining = deadline - Date.now();
      if (bytes >= body.minBytes || failed || remaining <= 0 || deps.shutdown.aborted) {
        return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses };
      }
      await appendOrTimeout(deps, watchedLogs(deps, body), remaining);
    }
  });
}

function readAll(deps: FetchDeps, body: FetchRequest): { responses: TopicResponse[]; bytes: number; failed: boolean } {
  let budget = Math.min(body.maxBytes ?? deps.maxResponseBytes, deps.maxResponseBytes);
  let bytes = 0;
  let failed = false;
  const responses = body.topics.map((topic) => ({
    topic: topic.topic,
    partitions: topic.partitions.map((p): PartitionResponse => {
      const found = deps.logs.lookup(topic.topic, p.partition);
      const log = found.kind === 'log' ? found.log : undefined;
      const base = partitionResponse(p.partition, log, body.isolationLevel ?? 0);
      if (log === undefined) {
        failed = true;
        // A log that cannot be opened now (out of descriptors) is retriable, an unknown partition is not.
        return { ...base, errorCode: found.kind === 'unavailable' ? ErrorCode.KAFKA_STORAGE_ERROR : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
      }
      if ((p.currentLeaderEpoch ?? -1) > LEADER_EPOCH) {
        failed = true;
        return { ...base, errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH };
      }
      // The first batch of the first partition with data is sent whole even above the limits (KIP-74).
      const read = log.read(p.fetchOffset, Math.min(p.partitionMaxBytes, budget), bytes === 0);
      if (read.kind === 'out-of-range') {
        failed = true;
        return { ...base, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE };
      }
      if (read.kind === 'corrupt') {
        failed = true;
        return { ...base, errorCode: ErrorCode.CORRUPT_MESSAGE };
      }
      if (read.kind === 'offline' || read.kind === 'unavailable') {
        failed = true;
        return { ...base, errorCode: ErrorCode.KAFKA_STORAGE_ERROR };
      }
      bytes += read.records.length;
      budget = Math.max(0, budget - read.records.length);
      return { ...base, records: read.records };
    }),
  }));
  return { responses, bytes, failed };
}

function partitionResponse(partition: number, log: PartitionLog | undefined, isolationLevel: number): PartitionResponse {
  const hw = log?.logEndOffset ?? -1n;
  return {
    partitionIndex: partition,
    errorCode: ErrorCode.NONE,
    highWatermark: hw,
    lastStableOffset: hw,
    logStartOffset: log?.logStartOffset ?? -1n,
    divergingEpoch: { epoch: -1, endOffset: -1n },
    currentLeader: { leaderId: -1, leaderEpoch: -1 },
    snapshotId: { endOffset: -1n, epoch: -1 },
    // KafkaJS reads with isolation_level=1 and expects a list (notes: aborted_transactions=[]).
    abortedTransactions: isolationLevel === 0 ? null : [],
    preferredReadReplica: -1,
    records: NO_RECORDS,
  };
}

function watchedLogs(deps: FetchDeps, body: FetchRequest): Set<PartitionLog> {
  const logs = new Set<PartitionLog>();
  for (const topic of body.topics) {
    for (const p of topic.partitions) {
      const found = deps.logs.lookup(topic.topic, p.partition);
      if (found.kind === 'log') logs.add(found.log);
    }
  }
  return logs;
}

/** Resolves on the first append to one of `logs`, after `timeoutMs`, or at shutdown. */
function appendOrTimeout(deps: FetchDeps, logs: Set<PartitionLog>, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      stop();
      deps.shutdown.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    const stop = deps.logs.onAppend((log) => {
      if (logs.has(log)) done();
    });
    deps.shutdown.addEventListener('abort', done);
  });
}
