import { ErrorCode } from '../protocol/error-codes.js';
import { ListOffsets } from '../protocol/messages/list-offsets.js';
import { Metadata } from '../protocol/messages/metadata.js';
import type { ClusterConnections } from './cluster-connections.js';
import { ClientError, KafkaError, throwIfError } from './errors.js';

/** A topic's partitions and the broker that leads each. */
export interface TopicPartitions {
  readonly topic: string;
  /** Sorted by partition. */
  readonly partitions: readonly { readonly partition: number; readonly leader: number }[];
}

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** What ListOffsets resolves: the log start, the log end, or the first record at or after a time. */
export type OffsetSpec = { readonly kind: 'earliest' } | { readonly kind: 'latest' } | { readonly kind: 'timestamp'; readonly timestampMs: number };

/** ListOffsets' special timestamps (KIP-79). */
const LATEST_TIMESTAMP = -1n;
const EARLIEST_TIMESTAMP = -2n;
/** The consumer's default isolation (read_uncommitted): the log end, as kafka-consumer-groups.sh reports lag. */
const READ_UNCOMMITTED = 0;
/** ListOffsets' replica id for a client that is not a broker. */
const CONSUMER_REPLICA_ID = -1;

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/**
 * The partitions of the named topics, from one Metadata request (which never creates a topic).
 * A topic the broker does not know, or hides from this principal, is left out of the map; any
 * other error (e.g. TOPIC_AUTHORIZATION_FAILED) throws.
 */
export async function describePartitions(cluster: ClusterConnections, topics: readonly string[]): Promise<Map<string, TopicPartitions>> {
  const found = new Map<string, TopicPartitions>();
  if (topics.length === 0) return found;
  const response = await cluster.bootstrap.request(Metadata, { topics: topics.map((name) => ({ name })), allowAutoTopicCreation: false });
  for (const t of response.topics) {
    if (t.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) continue;
    throwIfError(`describe topic "${t.name}"`, t.errorCode);
    found.set(t.name, {
      topic: t.name,
      partitions: t.partitions.map((p) => ({ partition: p.partitionIndex, leader: p.leaderId })).sort((a, b) => a.partition - b.partition),
    });
  }
  return found;
}

/**
 * Resolves `spec` for each partition, asking each partition's leader (as Kafka requires). The
 * result maps {@link partitionKey} to the offset, or to null for a timestamp after every record.
 */
export async function listOffsets(cluster: ClusterConnections, partitions: readonly TopicPartition[], spec: OffsetSpec): Promise<Map<string, bigint | null>> {
  const result = new Map<string, bigint | null>();
  if (partitions.length === 0) return result;
  const topics = await describePartitions(cluster, [...new Set(partitions.map((p) => p.topic))]);
  const { brokers } = await cluster.nodes();
  const byLeader = new Map<number, TopicPartition[]>();
  for (const p of partitions) {
    const leader = topics.get(p.topic)?.partitions.find((q) => q.partition === p.partition)?.leader;
    if (leader === undefined) throw new KafkaError(`list offsets of ${p.topic}:${p.partition}`, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    if (leader < 0) throw new KafkaError(`list offsets of ${p.topic}:${p.partition}`, ErrorCode.LEADER_NOT_AVAILABLE);
    byLeader.set(leader, [...(byLeader.get(leader) ?? []), p]);
  }
  const timestamp = spec.kind === 'earliest' ? EARLIEST_TIMESTAMP : spec.kind === 'latest' ? LATEST_TIMESTAMP : BigInt(spec.timestampMs);
  for (const [leader, asked] of byLeader) {
    const node = brokers.find((b) => b.nodeId === leader);
    if (node === undefined) throw new ClientError(`list offsets: the leader of ${asked[0]?.topic ?? ''}:${asked[0]?.partition ?? ''}, broker ${leader}, is not among the brokers Metadata named`);
    const connection = await cluster.to(node);
    const version = connection.versionFor(ListOffsets);
    if (version === 0 && spec.kind === 'timestamp') {
      throw new ClientError('the broker only offers ListOffsets v0, which cannot look offsets up by time');
    }
    const byTopic = new Map<string, number[]>();
    for (const p of asked) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
    const response = await connection.request(ListOffsets, {
      replicaId: CONSUMER_REPLICA_ID,
      isolationLevel: READ_UNCOMMITTED,
      topics: [...byTopic].map(([name, ps]) => ({ name, partitions: ps.map((partitionIndex) => ({ partitionIndex, timestamp, maxNumOffsets: 1 })) })),
    });
    for (const t of response.topics) {
      for (const p of t.partitions) {
        throwIfError(`list offsets of ${t.name}:${p.partitionIndex}`, p.errorCode);
        const offset = (version === 0 ? p.oldStyleOffsets?.[0] : p.offset) ?? -1n;
        result.set(partitionKey(t.name, p.partitionIndex), offset < 0n ? null : offset);
      }
    }
  }
  for (const p of partitions) {
    if (!result.has(partitionKey(p.topic, p.partition))) throw new ClientError(`list offsets: the broker did not answer for ${p.topic}:${p.partition}`);
  }
  return result;
}
