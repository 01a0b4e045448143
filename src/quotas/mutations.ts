/**
 * The requests the controller mutation quota (KIP-599) counts: CreateTopics, CreatePartitions and
 * DeleteTopics, each topic by the partitions it creates or deletes. From the versions KIP-599 added
 * (CreateTopics v6, CreatePartitions v3, DeleteTopics v5) a client understands THROTTLING_QUOTA_EXCEEDED:
 * topics past the quota are refused with it, per topic, and the client retries them after the throttle
 * time. Older versions are executed whole and only throttled.
 */
import { ErrorCode } from '../protocol/error-codes.js';
import { entryOf, errorEntry } from '../protocol/error-responses.js';
import { CreatePartitions } from '../protocol/messages/create-partitions.js';
import { CreateTopics } from '../protocol/messages/create-topics.js';
import { DeleteTopics } from '../protocol/messages/delete-topics.js';

/** Where the stage learns how many partitions a topic has (and a created topic gets by default). */
export interface TopicPartitions {
  partitionsOf(topic: string): number | undefined;
  readonly defaultPartitions: number;
  /** A count above this is refused by the handler (INVALID_PARTITIONS) and mutates nothing: it costs nothing. */
  readonly maxPartitionsPerTopic: number;
}

/** One topic of a mutation request: its partitions mutated, and the answer that refuses it. */
export interface MutatedTopic {
  readonly partitions: number;
  readonly refusal: (throttleMs: number) => object;
}

export interface MutationRequest {
  /** The topics in request order (the body's own array). */
  readonly items: readonly unknown[];
  readonly topics: readonly MutatedTopic[];
  /** Whether the version lets a client hear THROTTLING_QUOTA_EXCEEDED (else: only throttled). */
  readonly strict: boolean;
  /** The body with only these items. */
  readonly withItems: (items: readonly unknown[]) => Record<string, unknown>;
  /** The response's array of per-topic results. */
  readonly resultsField: string;
}

const THROTTLED = ErrorCode.THROTTLING_QUOTA_EXCEEDED;
const message = (ms: number) => `the controller mutation quota (partitions created or deleted per second) is exceeded: retry in ${ms} ms`;

type Body = Record<string, unknown>;
const list = (value: unknown): Body[] => (Array.isArray(value) ? (value as Body[]) : []);
const num = (value: unknown): number => (typeof value === 'number' ? value : 0);
const str = (value: unknown): string => (typeof value === 'string' ? value : '');

/** The mutations of a request of one of the three APIs; null for any other, and for a validate-only request (not counted, as in Kafka). */
export function mutationRequest(apiKey: number, version: number, body: Body, topics: TopicPartitions): MutationRequest | null {
  if (body.validateOnly === true) return null;
  // As Kafka counts only what passed validation: a count no topic may have is no mutation.
  const counted = (n: number) => (n > 0 && n <= topics.maxPartitionsPerTopic ? n : 0);
  switch (apiKey) {
    case CreateTopics.apiKey: {
      const items = list(body.topics);
      const entry = entryOf(CreateTopics.response.fields.topics);
      return {
        items,
        strict: version >= 6,
        resultsField: 'topics',
        withItems: (kept) => ({ ...body, topics: kept }),
        topics: items.map((t) => {
          const assigned = list(t.assignments).length;
          const requested = num(t.numPartitions);
          return {
            partitions: counted(assigned > 0 ? assigned : requested === -1 ? topics.defaultPartitions : requested),
            refusal: (ms) => errorEntry(entry, THROTTLED, { name: str(t.name), errorMessage: message(ms) }),
          };
        }),
      };
    }
    case CreatePartitions.apiKey: {
      const items = list(body.topics);
      const entry = entryOf(CreatePartitions.response.fields.results);
      return {
        items,
        strict: version >= 3,
        resultsField: 'results',
        withItems: (kept) => ({ ...body, topics: kept }),
        topics: items.map((t) => ({
          partitions: num(t.count) > topics.maxPartitionsPerTopic ? 0 : Math.max(0, num(t.count) - (topics.partitionsOf(str(t.name)) ?? num(t.count))),
          refusal: (ms) => errorEntry(entry, THROTTLED, { name: str(t.name), errorMessage: message(ms) }),
        })),
      };
    }
    case DeleteTopics.apiKey: {
      const entry = entryOf(DeleteTopics.response.fields.responses);
      // v0-5 name topics in topicNames; v6 in topics, by name or by id (an id alone counts as one partition).
      const named = Array.isArray(body.topicNames);
      const items: unknown[] = named ? (body.topicNames as unknown[]) : list(body.topics);
      return {
        items,
        strict: version >= 5,
        resultsField: 'responses',
        withItems: (kept) => (named ? { ...body, topicNames: kept } : { ...body, topics: kept }),
        topics: items.map((item) => {
          const name = named ? str(item) : (item as Body).name;
          const topicName = typeof name === 'string' ? name : null;
          const topicId = named ? undefined : (item as Body).topicId;
          return {
            partitions: topicName === null ? 1 : (topics.partitionsOf(topicName) ?? 0),
            refusal: (ms) => errorEntry(entry, THROTTLED, { name: topicName, ...(typeof topicId === 'string' ? { topicId } : {}), errorMessage: message(ms) }),
          };
        }),
      };
    }
    default:
      return null;
  }
}
