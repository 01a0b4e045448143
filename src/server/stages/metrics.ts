import type { StageFactory, StageRequest } from './stage.js';

/** What a request ended as: answered without an error code, answered with one, or the connection closed. */
export type RequestOutcome = 'ok' | 'error' | 'closed';

/** What the metrics stage reports to (BrokerMetrics). */
export interface RequestMetricsSink {
  request(api: string, outcome: RequestOutcome, seconds: number): void;
  bytesOut(topic: string, bytes: number): void;
}

const FETCH_API_KEY = 1;
const PRODUCE_API_KEY = 0;

/**
 * Requests by API and outcome, with their latency: the outermost stage, so it sees every request
 * (those the authentication gate or authorization answer too) and the final response. It costs one
 * pair of clock reads and one histogram observation per request; the response is walked for error
 * codes, which is bounded by the response's own size. Fetch responses also give the bytes sent per
 * topic (produce bytes are counted where they are appended: the log manager's observer).
 */
export function requestMetrics(sink: RequestMetricsSink): StageFactory {
  return () => {
    // Per connection: a connection may have several requests in flight (a released produce).
    const started = new Map<StageRequest, bigint>();
    return {
      name: 'metrics',
      before(request) {
        started.set(request, process.hrtime.bigint());
        return undefined;
      },
      after(request, response) {
        const seconds = elapsed(started, request);
        const { api, context } = request;
        let outcome: RequestOutcome;
        if (response === null) {
          // Only an acks=0 produce answers nothing and goes on; any other missing answer closed the connection.
          outcome = api.apiKey === PRODUCE_API_KEY && !context.connectionClosed.aborted ? 'ok' : 'closed';
        } else {
          outcome = hasErrorCode(response) ? 'error' : 'ok';
          if (api.apiKey === FETCH_API_KEY) countFetchBytes(sink, response);
        }
        sink.request(api.name, outcome, seconds);
        return response;
      },
      failed(request) {
        sink.request(request.api.name, 'closed', elapsed(started, request));
      },
    };
  };
}

function elapsed(started: Map<StageRequest, bigint>, request: StageRequest): number {
  const start = started.get(request);
  started.delete(request);
  return start === undefined ? 0 : Number(process.hrtime.bigint() - start) / 1e9;
}

/**
 * Whether any `errorCode` in the response (top level or per item) is not NONE. Walks arrays and plain
 * objects only (never record bytes), so the cost is that of the response's structure.
 */
export function hasErrorCode(value: object): boolean {
  if (Array.isArray(value)) {
    for (const item of value as unknown[]) if (typeof item === 'object' && item !== null && hasErrorCode(item)) return true;
    return false;
  }
  if (ArrayBuffer.isView(value)) return false;
  // for…in rather than Object.entries: no array per object walked, on every request's response.
  const fields = value as Record<string, unknown>;
  for (const key in fields) {
    const field = fields[key];
    if (key === 'errorCode') {
      if (typeof field === 'number' && field !== 0) return true;
    } else if (typeof field === 'object' && field !== null && hasErrorCode(field)) {
      return true;
    }
  }
  return false;
}

/** The record bytes of a Fetch response, by topic (topics without records make no series). */
function countFetchBytes(sink: RequestMetricsSink, response: object): void {
  const topics = (response as { responses?: readonly { topic?: string; partitions?: readonly { records?: unknown }[] }[] }).responses;
  if (topics === undefined) return;
  for (const t of topics) {
    let bytes = 0;
    for (const p of t.partitions ?? []) {
      const records = p.records;
      if (records instanceof Uint8Array) bytes += records.length;
    }
    if (bytes > 0 && t.topic !== undefined) sink.bytesOut(t.topic, bytes);
  }
}
