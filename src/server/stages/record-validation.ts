/**
 * The record-validation stage (issue 18; docs/governance/validation.md): before a Produce reaches its
 * handler, the records of each partition of a topic with `confluent.key.schema.validation` or
 * `confluent.value.schema.validation` on are checked against the schema registry
 * (src/governance/validation/partition-check.ts). A partition with a bad record is taken out of the
 * request, so nothing of it is appended, and put back in the response with INVALID_RECORD (87), its
 * KIP-467 record errors and an error message (both Produce v8+; older versions carry the code only).
 * The other partitions of the request are appended as usual.
 *
 * It is a request record stage: innermost, after authorization (it only reads what the principal may
 * write) and audit. Synchronous, so a produce still appends in the turn it was read, except when a
 * batch to check is zstd, whose decoder here is asynchronous only: that request waits for it (the
 * connection handles its requests one at a time in order, so ordering and sequences are kept).
 *
 * acks=0: there is no response to carry the refusal. The refused partitions are dropped, counted, and
 * the connection is closed after the rest is appended, as Kafka closes an acks=0 producer's connection
 * on any error (KafkaApis.handleProduceRequest) and as this broker's produce handler does: the client
 * learns of it by the disconnect.
 *
 * A transactional produce is treated the same: the refused partition's error fails the transaction and
 * the producer aborts it.
 */
import { OneAtATime } from '../../one-at-a-time.js';
import { CloseReasons } from '../../close-reasons.js';
import { checkPartition, type PartitionVerdict } from '../../governance/validation/partition-check.js';
import type { RefusalReason } from '../../governance/validation/record-check.js';
import type { TopicValidation } from '../../governance/validation/settings.js';
import { failedProducePartition } from '../../protocol/error-responses.js';
import { Produce, type ProduceRequest, type ProduceResponse } from '../../protocol/messages/produce.js';
import type { SchemaLookup } from '../../schemas/types.js';
import type { Stage, StageFactory, StageRequest, StageStep } from './stage.js';

export interface RecordValidationDeps {
  /**
   * The validation a topic asks for, null when none (topicValidation of its stored configs,
   * src/governance/validation/settings.ts). Read at every produce: a config change applies to the next.
   */
  readonly settings: (topic: string) => TopicValidation | null;
  /** The schema registry, answered from memory. */
  readonly lookup: SchemaLookup;
  /** Hears of every refused partition (metrics: refused records by reason). Must not throw. */
  readonly onRefused?: (report: ValidationRefusal) => void;
}

export interface ValidationRefusal {
  readonly principal: string | null;
  readonly topic: string;
  readonly partition: number;
  readonly errorCode: number;
  /** Every record of the partition, all refused with it. */
  readonly records: number;
  /** The bad records among them, by reason. */
  readonly reasons: Readonly<Partial<Record<RefusalReason, number>>>;
  /** An acks=0 produce: dropped unanswered, the connection closed. */
  readonly unanswered: boolean;
}

type ProduceTopic = ProduceRequest['topicData'][number];
type ProducePartition = ProduceTopic['partitionData'][number];
type TopicResponse = ProduceResponse['responses'][number];
type PartitionResponse = TopicResponse['partitionResponses'][number];
type Refused = Extract<PartitionVerdict, { kind: 'refused' }>;

interface Job {
  readonly topic: number;
  readonly partition: number;
  readonly verdict: PartitionVerdict | Promise<PartitionVerdict>;
}

export function recordValidation(deps: RecordValidationDeps): StageFactory {
  // Asynchronous decompressions (zstd) one at a time, in the order they come, for every connection together.
  const queue = new OneAtATime();
  const serial = <T>(task: () => Promise<T>): Promise<T> => queue.run(task);
  const stage: Stage = {
    name: 'record-validation',
    before(request: StageRequest): StageStep | Promise<StageStep> {
      if (request.api.apiKey !== Produce.apiKey) return undefined;
      const body = request.body as ProduceRequest;
      const options = { produceVersion: request.header.apiVersion, serial };
      const jobs: Job[] = [];
      body.topicData.forEach((t, ti) => {
        const validation = deps.settings(t.name);
        if (validation === null) return;
        t.partitionData.forEach((p, pi) => {
          jobs.push({ topic: ti, partition: pi, verdict: checkPartition(p.records, t.name, validation, deps.lookup, options) });
        });
      });
      if (jobs.length === 0) return undefined;
      if (jobs.some((j) => j.verdict instanceof Promise)) {
        // Each pending check is awaited below in turn; one that fails while an earlier is awaited must not go unhandled.
        for (const job of jobs) if (job.verdict instanceof Promise) job.verdict.catch(() => undefined);
        return (async () => {
          const verdicts: PartitionVerdict[] = [];
          for (const job of jobs) verdicts.push(job.verdict instanceof Promise ? await job.verdict : job.verdict);
          return decide(request, body, jobs, verdicts);
        })();
      }
      return decide(request, body, jobs, jobs.map((j) => j.verdict as PartitionVerdict));
    },
  };

  /** The step for the verdicts: pass the request on, or without the refused partitions. */
  function decide(request: StageRequest, body: ProduceRequest, jobs: readonly Job[], verdicts: readonly PartitionVerdict[]): StageStep {
    const refused = new Map<string, Refused>();
    jobs.forEach((job, i) => {
      const verdict = verdicts[i] as PartitionVerdict;
      if (verdict.kind === 'refused') refused.set(`${job.topic}/${job.partition}`, verdict);
    });
    if (refused.size === 0) return undefined;
    const unanswered = body.acks === 0;
    for (const [place, verdict] of refused) {
      const [ti, pi] = place.split('/').map(Number) as [number, number];
      const topic = body.topicData[ti] as ProduceTopic;
      deps.onRefused?.({
        principal: request.context.principal,
        topic: topic.name,
        partition: (topic.partitionData[pi] as ProducePartition).index,
        errorCode: verdict.errorCode,
        records: verdict.records,
        reasons: verdict.reasons,
        unanswered,
      });
    }
    // What the handler gets: every topic with its partitions that passed; a topic left with none is left out.
    const kept: { topic: number; data: ProduceTopic }[] = [];
    body.topicData.forEach((t, ti) => {
      const partitionData = t.partitionData.filter((_, pi) => !refused.has(`${ti}/${pi}`));
      if (partitionData.length > 0) kept.push({ topic: ti, data: partitionData.length === t.partitionData.length ? t : { ...t, partitionData } });
    });
    if (unanswered) {
      const [place, first] = refused.entries().next().value as [string, Refused];
      const topic = body.topicData[Number(place.split('/')[0])] as ProduceTopic;
      request.context.closeAfterResponse(CloseReasons.PRODUCE_REJECTED, `acks=0 produce to ${topic.name} refused by schema validation: ${first.errorMessage}`);
      if (kept.length === 0) return { kind: 'respond', response: null };
      return { kind: 'forward', body: { ...body, topicData: kept.map((k) => k.data) } };
    }
    const refusal = (ti: number, pi: number): PartitionResponse => {
      const verdict = refused.get(`${ti}/${pi}`) as Refused;
      const index = ((body.topicData[ti] as ProduceTopic).partitionData[pi] as ProducePartition).index;
      return { ...failedProducePartition(index, verdict.errorCode, verdict.errorMessage), recordErrors: verdict.recordErrors.map((e) => ({ ...e })) };
    };
    const finish = (response: object): object => {
      const handled = (response as ProduceResponse).responses;
      return { ...response, responses: merge(body, kept, handled, refused, refusal) };
    };
    if (kept.length === 0) return { kind: 'respond', response: finish({ throttleTimeMs: 0, responses: [] }) };
    return { kind: 'forward', body: { ...body, topicData: kept.map((k) => k.data) }, finish };
  }

  return () => stage;
}

/**
 * The response in request order: each topic's handled partitions with the refused ones back at their
 * places. The handler answers the topics and partitions it was given one for one and in order; should
 * it not, its entries come first and the refusals after them (clients match partitions by index).
 */
function merge(
  body: ProduceRequest,
  kept: readonly { topic: number; data: ProduceTopic }[],
  handled: readonly TopicResponse[],
  refused: ReadonlyMap<string, Refused>,
  refusal: (ti: number, pi: number) => PartitionResponse,
): TopicResponse[] {
  const inOrder = handled.length === kept.length && kept.every((k, i) => handled[i]?.name === k.data.name && handled[i].partitionResponses.length === k.data.partitionData.length);
  if (!inOrder) {
    const extra: TopicResponse[] = [];
    body.topicData.forEach((t, ti) => {
      const partitionResponses = t.partitionData.flatMap((_, pi) => (refused.has(`${ti}/${pi}`) ? [refusal(ti, pi)] : []));
      if (partitionResponses.length > 0) extra.push({ name: t.name, partitionResponses });
    });
    return [...handled, ...extra];
  }
  let next = 0;
  return body.topicData.map((t, ti) => {
    const answer = kept[next]?.topic === ti ? (handled[next++] as TopicResponse) : undefined;
    let from = 0;
    const partitionResponses = t.partitionData.map((_, pi) => (refused.has(`${ti}/${pi}`) ? refusal(ti, pi) : (answer?.partitionResponses[from++] as PartitionResponse)));
    return { ...(answer ?? { name: t.name }), partitionResponses };
  });
}
