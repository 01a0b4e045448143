import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { CreateTopics, Produce } from '../../src/protocol/messages/index.js';
import { buildBatchSync } from '../../src/records/record.js';
import type { BrokerProcess } from './attack-support.js';
import { parseLogLine } from '../helpers/durability.js';

/** Helpers of the storage attack tests (limits-storage*.test.ts): raw requests whose error codes they check. */

export const TOPIC_RESOURCE = 2;

export function createTopics(
  c: KafkaConnection,
  topics: readonly { name: string; partitions: number; configs?: Record<string, string> }[],
  validateOnly: boolean,
): ReturnType<typeof c.request<typeof CreateTopics>> {
  return c.request(CreateTopics, {
    topics: topics.map((t) => ({
      name: t.name,
      numPartitions: t.partitions,
      replicationFactor: -1,
      assignments: [],
      configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
    })),
    timeoutMs: 30_000,
    validateOnly,
  });
}

/** Produces one small batch to each of `partitions` of `topic` in one request; returns each partition's error code. */
export async function produceEach(c: KafkaConnection, topic: string, partitions: readonly number[], acks = 1): Promise<Map<number, number>> {
  const response = await c.request(Produce, {
    transactionalId: null,
    acks,
    timeoutMs: 30_000,
    topicData: [{ name: topic, partitionData: partitions.map((index) => ({ index, records: buildBatchSync({ records: [{ value: `v${index}` }] }) })) }],
  });
  return new Map((response.responses[0]?.partitionResponses ?? []).map((p) => [p.index, p.errorCode]));
}

/** The partition directories in the broker's data directory. */
export function partitionDirs(broker: BrokerProcess): string[] {
  return readdirSync(join(broker.dataDir, 'logs')).sort();
}

/** The broker's JSON log lines so far (warn and above: the harness's log level). */
export function logLines(broker: BrokerProcess): { level: number; msg: string; [key: string]: unknown }[] {
  return broker
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map(parseLogLine);
}

export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** A probe's latency after an attack is within max(2×, +50 ms) of its baseline (medians). */
export function withinProbeBound(baselineMs: number, duringMs: number): boolean {
  return duringMs < Math.max(2 * baselineMs, baselineMs + 50);
}
