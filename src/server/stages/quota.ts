/**
 * Client quotas (docs/security/network.md, "Quotas"), with Kafka's semantics: what a request used is
 * counted against its user's and client id's quotas (src/quotas), and a client over one is answered at
 * once with `throttle_time_ms` set, after which its connection reads nothing more for that long
 * (KIP-219: the client backs off by itself; the broker's mute holds one that does not).
 *
 *   produce     the record bytes of the request, against producer_byte_rate
 *   fetch       the record bytes of the response, against consumer_byte_rate
 *   every API   the event-loop time of its synchronous handling, as a percentage of a second, against
 *               request_percentage
 *   CreateTopics, CreatePartitions, DeleteTopics   the partitions they create or delete, against
 *               controller_mutation_rate (KIP-599): topics over it are refused with
 *               THROTTLING_QUOTA_EXCEEDED from the versions that know the error
 *
 * Before authorization: a throttled client costs no ACL lookups. Connections that have not logged in
 * reach no quota (the authentication gate answers them).
 */
import { ErrorCode } from '../../protocol/error-codes.js';
import { errorResponse } from '../../protocol/error-responses.js';
import { Fetch } from '../../protocol/messages/fetch.js';
import { Produce } from '../../protocol/messages/produce.js';
import { QuotaKeys } from '../../quotas/entities.js';
import { mutationRequest, type TopicPartitions } from '../../quotas/mutations.js';
import type { QuotaManager } from '../../quotas/quota-manager.js';
import type { ThrottleReports } from '../../quotas/throttle-reports.js';
import type { StageFactory, StageRequest, StageStep } from './stage.js';

/** Where throttles are counted (BrokerMetrics). */
export interface QuotaMetricsSink {
  throttled(api: string, ms: number): void;
}

export interface QuotaStageDeps {
  readonly quotas: QuotaManager;
  readonly topics: TopicPartitions;
  readonly metrics?: QuotaMetricsSink;
  /** Throttles reported as security events, rate-limited per user. */
  readonly reports?: ThrottleReports;
}

interface Pending {
  /** When the request entered the stage (process.hrtime). */
  readonly start: bigint;
  /** Nanoseconds of its synchronous handling, once measured. */
  syncNs: bigint | undefined;
  /** What the request owes already before its handler: the produce and controller mutation quotas. */
  throttleMs: number;
}

const NS_PER_PERCENT_OF_SECOND = 10_000_000n;

export function quotaStage(deps: QuotaStageDeps): StageFactory {
  const { quotas } = deps;
  return (connection) => {
    // Per connection: a connection may have several requests in flight (a released produce).
    const pending = new Map<StageRequest, Pending>();
    return {
      name: 'quota',
      before(request) {
        const { context, header, api, body } = request;
        if (!quotas.enabled || context.principal === null) return undefined;
        const state: Pending = { start: process.hrtime.bigint(), syncNs: undefined, throttleMs: 0 };
        pending.set(request, state);
        // Runs once the stages after this one and the handler have run up to their first wait: what
        // the request held the event loop for, without its waits (fsync, a long-polling fetch).
        queueMicrotask(() => {
          state.syncNs = process.hrtime.bigint() - state.start;
        });
        if (api.apiKey === Produce.apiKey) {
          // Counted before the handler, and the mute begins now: an acks=all produce releases the
          // connection before it is answered, and the client's next pipelined request must not start
          // while it owes time (Kafka records a produce's bytes as it handles it, too).
          state.throttleMs = quotas.record(QuotaKeys.PRODUCER_BYTE_RATE, userOf(context.principal), header.clientId ?? '', produceBytes(body));
          if (state.throttleMs > 0) context.throttle(state.throttleMs);
          return undefined;
        }
        const mutation = mutationRequest(api.apiKey, header.apiVersion, body, deps.topics);
        if (mutation === null) return undefined;
        const bucket = quotas.mutations(userOf(context.principal), header.clientId ?? '');
        if (!mutation.strict) {
          bucket.take(mutation.topics.reduce((n, t) => n + t.partitions, 0));
          state.throttleMs = bucket.debtMs();
          return undefined;
        }
        // KIP-599's strict mode: each topic is let through while the bucket is not in debt (the one
        // that puts it in debt included); the rest are refused with THROTTLING_QUOTA_EXCEEDED.
        const allowed: boolean[] = [];
        for (const topic of mutation.topics) {
          const ok = bucket.debtMs() === 0;
          if (ok) bucket.take(topic.partitions);
          allowed.push(ok);
        }
        const throttle = bucket.debtMs();
        state.throttleMs = throttle;
        if (allowed.every(Boolean)) return undefined;
        const refusals = mutation.topics.map((t) => t.refusal(throttle));
        const merge = (handled: readonly unknown[]) => {
          let next = 0;
          return allowed.map((ok, i) => (ok ? handled[next++] : refusals[i]));
        };
        const kept = mutation.items.filter((_, i) => allowed[i] === true);
        if (kept.length === 0) {
          return { kind: 'respond', response: { ...errorResponse(api, ErrorCode.NONE), [mutation.resultsField]: merge([]) } } satisfies StageStep;
        }
        return {
          kind: 'forward',
          body: mutation.withItems(kept),
          finish: (response) => {
            const handled = (response as Record<string, unknown>)[mutation.resultsField];
            return { ...response, [mutation.resultsField]: merge(Array.isArray(handled) ? handled : []) };
          },
        } satisfies StageStep;
      },
      after(request, response) {
        const state = pending.get(request);
        if (state === undefined) return response;
        pending.delete(request);
        const { context, header, api } = request;
        const principal = context.principal;
        if (principal === null) return response;
        const user = userOf(principal);
        const clientId = header.clientId ?? '';
        const syncNs = state.syncNs ?? process.hrtime.bigint() - state.start;
        const percent = Number(syncNs) / Number(NS_PER_PERCENT_OF_SECOND);
        const timeMs = quotas.record(QuotaKeys.REQUEST_PERCENTAGE, user, clientId, percent);
        const fetchMs = api.apiKey === Fetch.apiKey && response !== null ? quotas.record(QuotaKeys.CONSUMER_BYTE_RATE, user, clientId, fetchBytes(response)) : 0;
        const throttle = Math.max(state.throttleMs, timeMs, fetchMs);
        if (throttle <= 0) return response;
        // The produce's own throttle began in `before`; a longer one from here extends the mute.
        if (throttle > state.throttleMs || api.apiKey !== Produce.apiKey) context.throttle(throttle);
        deps.metrics?.throttled(api.name, throttle);
        const quota =
          throttle === timeMs ? QuotaKeys.REQUEST_PERCENTAGE
          : throttle === fetchMs ? QuotaKeys.CONSUMER_BYTE_RATE
          : api.apiKey === Produce.apiKey ? QuotaKeys.PRODUCER_BYTE_RATE
          : QuotaKeys.CONTROLLER_MUTATION_RATE;
        deps.reports?.throttled({ connection: connection.id, remote: connection.remote, principal, clientId, api: api.name, quota, throttleMs: throttle });
        if (response === null || !('throttleTimeMs' in api.response.fields)) return response;
        const current = (response as { throttleTimeMs?: unknown }).throttleTimeMs;
        return { ...response, throttleTimeMs: Math.max(throttle, typeof current === 'number' ? current : 0) };
      },
      failed(request) {
        pending.delete(request);
      },
    };
  };
}

/** Kafka's quota user is the principal's name (`alice` of `User:alice`). */
function userOf(principal: string | null): string {
  return principal === null ? '' : principal.slice(principal.indexOf(':') + 1);
}

function produceBytes(body: Record<string, unknown>): number {
  let bytes = 0;
  for (const t of (body as { topicData?: readonly { partitionData?: readonly { records?: unknown }[] }[] }).topicData ?? []) {
    for (const p of t.partitionData ?? []) if (p.records instanceof Uint8Array) bytes += p.records.length;
  }
  return bytes;
}

function fetchBytes(response: object): number {
  let bytes = 0;
  for (const t of (response as { responses?: readonly { partitions?: readonly { records?: unknown }[] }[] }).responses ?? []) {
    for (const p of t.partitions ?? []) if (p.records instanceof Uint8Array) bytes += p.records.length;
  }
  return bytes;
}
