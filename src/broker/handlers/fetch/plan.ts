import type { FetchRequest } from '../../../protocol/messages/fetch.js';
import type { LogStore, PartitionLookup, PartitionView } from '../../../storage/log-store.js';

/** One partition of a Fetch request, as the handler works on it. */
export interface PlannedPartition {
  readonly topic: string;
  readonly partition: number;
  fetchOffset: bigint;
  partitionMaxBytes: number;
  currentLeaderEpoch: number;
  /** The partition's log when the request arrived (undefined: no such partition). */
  readonly log: PartitionView | undefined;
}

/** The log when it could be opened; an unknown or unavailable one is answered when the fetch is read. */
function logOf(found: PartitionLookup): PartitionView | undefined {
  return found.kind === 'log' ? found.log : undefined;
}

/**
 * The partitions of a Fetch request, each once. Kafka collects them in a map keyed by topic-partition
 * (FetchRequest.fetchData builds a LinkedHashMap), so a partition named twice is fetched once, with
 * the parameters of its last mention, in the place of its first, and the response names it once. A
 * request naming one partition thousands of times therefore costs what naming it once costs: one
 * entry, one log lookup, at most one read.
 */
export function planFetch(logs: LogStore, topics: FetchRequest['topics']): PlannedPartition[] {
  const planned: PlannedPartition[] = [];
  // Keyed by the request's own topic names, and dropped with the request: bounded by its frame.
  const byTopic = new Map<string, Map<number, PlannedPartition>>();
  for (const topic of topics) {
    let byPartition = byTopic.get(topic.topic);
    if (byPartition === undefined) {
      byPartition = new Map();
      byTopic.set(topic.topic, byPartition);
    }
    for (const p of topic.partitions) {
      const seen = byPartition.get(p.partition);
      if (seen !== undefined) {
        seen.fetchOffset = p.fetchOffset;
        seen.partitionMaxBytes = p.partitionMaxBytes;
        seen.currentLeaderEpoch = p.currentLeaderEpoch ?? -1;
        continue;
      }
      const entry: PlannedPartition = {
        topic: topic.topic,
        partition: p.partition,
        fetchOffset: p.fetchOffset,
        partitionMaxBytes: p.partitionMaxBytes,
        currentLeaderEpoch: p.currentLeaderEpoch ?? -1,
        log: logOf(logs.lookup(topic.topic, p.partition)),
      };
      byPartition.set(p.partition, entry);
      planned.push(entry);
    }
  }
  return planned;
}

/**
 * Groups per-partition answers into the response's topic list as Kafka does (FetchResponse.toMessage):
 * in the plan's order, consecutive partitions of one topic under one topic entry.
 */
export function groupByTopic<P>(planned: readonly PlannedPartition[], answer: (p: PlannedPartition) => P): { topic: string; partitions: P[] }[] {
  const topics: { topic: string; partitions: P[] }[] = [];
  let current: { topic: string; partitions: P[] } | undefined;
  for (const p of planned) {
    if (current?.topic !== p.topic) {
      current = { topic: p.topic, partitions: [] };
      topics.push(current);
    }
    current.partitions.push(answer(p));
  }
  return topics;
}
