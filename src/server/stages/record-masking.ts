/**
 * The record-masking stage (issue 18; docs/governance/masking.md): on the way back of a Fetch, the
 * records of each partition of a topic under a masking policy that applies to the fetching principal
 * are rewritten with the policy's fields masked (src/governance/masking/batch-rewriter.ts), so that
 * nothing the policy covers leaves the broker in clear for that principal. Topics under no policy for
 * the principal, and principals under none, cost a lookup and no copy.
 *
 * It is a response record stage: after the handler, innermost on the way back, so it sees the records
 * exactly as read and every stage outside it (audit, metrics) sees the masked response. A partition
 * whose records cannot be read for masking answers CORRUPT_MESSAGE (2) and no records: never its raw bytes.
 *
 * Cost (docs/governance/masking.md#bounds-and-cost): decompressing, parsing, masking, encoding and
 * compressing every record of the masked partitions, in the event loop, synchronously for every codec
 * but zstd (whose decoder here is asynchronous: those batches take turns across all connections, one
 * decompressed batch at a time). A fetch is bounded by the broker's maxFetchBytes, so is its work.
 */
import { OneAtATime } from '../../one-at-a-time.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { Fetch, type FetchResponse } from '../../protocol/messages/fetch.js';
import { rewriteRecords, type RewriteCounts, type RewriteResult } from '../../governance/masking/batch-rewriter.js';
import type { MaskingPolicySet, TopicMasking } from '../../governance/masking/policy.js';
import type { FailReason } from '../../governance/masking/record-masker.js';
import type { SchemaLookup } from '../../schemas/types.js';
import type { Stage, StageFactory, StageRequest } from './stage.js';

export interface RecordMaskingDeps {
  /** The policies in force, read at every fetch (MaskingRegistry.current): a change applies to the next fetch. */
  readonly policies: () => MaskingPolicySet;
  /** The schema registry, for records in Confluent's wire format; absent: such records are masked whole. */
  readonly lookup?: SchemaLookup;
  /** Largest decompressed batch masked; a larger one refuses its partition. Default 32 MiB. */
  readonly maxBatchBytes?: number;
  /** Hears, per topic of each fetch with masking work, what was done (metrics, audit). Must not throw. */
  readonly onMasked?: (report: MaskingReport) => void;
}

export interface MaskingReport {
  readonly principal: string;
  readonly topic: string;
  /** The policies that applied. */
  readonly policies: readonly string[];
  /** Data records read from the masked partitions. */
  readonly records: number;
  /** Records sent with fields masked. */
  readonly masked: number;
  /** Records whose key or value was replaced whole (fail closed), and why. */
  readonly failedClosed: number;
  readonly reasons: Readonly<Partial<Record<FailReason, number>>>;
  /** Partitions answered CORRUPT_MESSAGE because their batches could not be read for masking. */
  readonly refusedPartitions: number;
}

type TopicResponse = FetchResponse['responses'][number];
type PartitionResponse = TopicResponse['partitions'][number];

interface Job {
  readonly topic: number;
  readonly partition: number;
  readonly masking: TopicMasking;
  readonly records: Buffer;
}

export function recordMasking(deps: RecordMaskingDeps): StageFactory {
  // Asynchronous decompressions (zstd) one at a time, in the order they come, for every connection together.
  const queue = new OneAtATime();
  const serial = <T>(task: () => Promise<T>): Promise<T> => queue.run(task);
  const options = {
    ...(deps.lookup === undefined ? {} : { lookup: deps.lookup }),
    ...(deps.maxBatchBytes === undefined ? {} : { maxBatchBytes: deps.maxBatchBytes }),
    serial,
  };
  const stage: Stage = {
    name: 'record-masking',
    after(request: StageRequest, response: object | null): object | null | Promise<object | null> {
      if (request.api.apiKey !== Fetch.apiKey || response === null) return response;
      const who = request.context.principal;
      const set = deps.policies();
      if (who === null || set.isEmpty) return response;
      const principal: string = who;
      const forTopic = set.forPrincipal(principal);
      if (forTopic === null) return response;
      const fetch = response as FetchResponse;
      const jobs: Job[] = [];
      fetch.responses.forEach((t, ti) => {
        const masking = forTopic(t.topic);
        if (masking === undefined) return;
        t.partitions.forEach((p, pi) => {
          if (p.records !== null && p.records.length > 0) jobs.push({ topic: ti, partition: pi, masking, records: p.records });
        });
      });
      if (jobs.length === 0) return response;
      const results: RewriteResult[] = [];
      // Synchronously as long as every rewrite is; from the first one that is not, one after the other.
      for (let i = 0; i < jobs.length; i++) {
        const job = jobs[i] as Job;
        const result = rewriteRecords(job.records, job.masking, options);
        if (result instanceof Promise) return finishAsync(result, i);
        results.push(result);
      }
      return assemble(fetch, principal, jobs, results);

      async function finishAsync(pending: Promise<RewriteResult>, from: number): Promise<object> {
        results.push(await pending);
        for (let i = from + 1; i < jobs.length; i++) {
          const job = jobs[i] as Job;
          results.push(await rewriteRecords(job.records, job.masking, options));
        }
        return assemble(fetch, principal, jobs, results);
      }
    },
  };

  /** The response with the rewritten partitions in place (new objects; the handler's are not changed). */
  function assemble(fetch: FetchResponse, principal: string, jobs: readonly Job[], results: readonly RewriteResult[]): FetchResponse {
    const responses = fetch.responses.map((t) => ({ ...t, partitions: [...t.partitions] }));
    const reports = new Map<number, { masking: TopicMasking; counts: RewriteCounts; refused: number }>();
    jobs.forEach((job, i) => {
      const result = results[i] as RewriteResult;
      const topic = responses[job.topic] as TopicResponse;
      const original = topic.partitions[job.partition] as PartitionResponse;
      const report = reports.get(job.topic) ?? { masking: job.masking, counts: { records: 0, masked: 0, failedClosed: 0, reasons: {} }, refused: 0 };
      reports.set(job.topic, report);
      if (result.kind === 'unreadable') {
        topic.partitions[job.partition] = { ...original, errorCode: ErrorCode.CORRUPT_MESSAGE, records: null };
        report.refused++;
        return;
      }
      topic.partitions[job.partition] = { ...original, records: result.records };
      report.counts.records += result.counts.records;
      report.counts.masked += result.counts.masked;
      report.counts.failedClosed += result.counts.failedClosed;
      for (const [reason, n] of Object.entries(result.counts.reasons) as [FailReason, number][]) report.counts.reasons[reason] = (report.counts.reasons[reason] ?? 0) + n;
    });
    if (deps.onMasked !== undefined) {
      for (const [ti, r] of reports) {
        deps.onMasked({
          principal,
          topic: (fetch.responses[ti] as TopicResponse).topic,
          policies: r.masking.policies,
          records: r.counts.records,
          masked: r.counts.masked,
          failedClosed: r.counts.failedClosed,
          reasons: r.counts.reasons,
          refusedPartitions: r.refused,
        });
      }
    }
    return { ...fetch, responses };
  }

  return () => stage;
}
