/**
 * Names in the data APIs: topics (INVALID_TOPIC_EXCEPTION, 17, per topic, which Kafka's clients treat
 * as permanent) and transactional ids (INVALID_REQUEST, 42, what Kafka answers an unusable one).
 */
import { ParapetError } from '../../errors.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { Fetch, type FetchRequest, type FetchResponse } from '../../protocol/messages/fetch.js';
import { InitProducerId } from '../../protocol/messages/init-producer-id.js';
import { ListOffsets, type ListOffsetsRequest, type ListOffsetsResponse } from '../../protocol/messages/list-offsets.js';
import { Metadata, type MetadataResponse } from '../../protocol/messages/metadata.js';
import { Produce, type ProduceRequest, type ProduceResponse } from '../../protocol/messages/produce.js';
import { topicNameProblem, transactionalIdProblem } from '../../protocol/names.js';
import { mergeInOrder, split } from '../../security/authz/policies/support.js';
import { defineNameCheck } from './types.js';

const INVALID_TOPIC = ErrorCode.INVALID_TOPIC_EXCEPTION;
const validTopic = (name: string) => topicNameProblem(name) === null;

type ProduceTopic = ProduceRequest['topicData'][number];
type ProduceTopicResponse = ProduceResponse['responses'][number];

function refusedProduceTopic(topic: ProduceTopic, errorCode: number, errorMessage: string): ProduceTopicResponse {
  return {
    name: topic.name,
    partitionResponses: topic.partitionData.map((p) => ({
      index: p.index,
      errorCode,
      baseOffset: -1n,
      logAppendTimeMs: -1n,
      logStartOffset: -1n,
      recordErrors: [],
      errorMessage,
    })),
  };
}

/**
 * Produce: an invalid transactional id refuses every partition (42); an invalid topic its own (17).
 * An acks=0 produce has no response to carry either, so the connection is closed, as Kafka does.
 */
export const produceNames = defineNameCheck(Produce, (body, version, limits) => {
  const transactionProblem = body.transactionalId == null ? null : transactionalIdProblem(body.transactionalId, limits);
  const { mask, allowed, denied } = split(body.topicData, (t) => transactionProblem === null && validTopic(t.name));
  if (denied.length === 0) return { kind: 'forward', body };
  const refusal = (t: ProduceTopic) =>
    transactionProblem !== null
      ? refusedProduceTopic(t, ErrorCode.INVALID_REQUEST, transactionProblem)
      : refusedProduceTopic(t, INVALID_TOPIC, topicNameProblem(t.name) ?? '');
  if (body.acks === 0) {
    const first = denied[0];
    throw new ParapetError('PRODUCE_REJECTED', `acks=0 produce refused: ${transactionProblem ?? topicNameProblem(first?.name ?? '') ?? ''}`, {
      api: Produce.name,
      version,
      kafkaErrorCode: transactionProblem === null ? INVALID_TOPIC : ErrorCode.INVALID_REQUEST,
    });
  }
  const merge = (handled: readonly ProduceTopicResponse[]) => mergeInOrder(body.topicData, mask, handled, refusal);
  if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, responses: merge([]) } };
  return { kind: 'forward', body: { ...body, topicData: allowed }, finish: (response) => ({ ...response, responses: merge(response.responses) }) };
});

type FetchTopic = FetchRequest['topics'][number];
type FetchTopicResponse = FetchResponse['responses'][number];

function refusedFetchTopic(topic: FetchTopic, isolationLevel: number): FetchTopicResponse {
  return {
    topic: topic.topic,
    partitions: topic.partitions.map((p) => ({
      partitionIndex: p.partition,
      errorCode: INVALID_TOPIC,
      highWatermark: -1n,
      lastStableOffset: -1n,
      logStartOffset: -1n,
      // As the handler answers: KafkaJS (read_committed) expects a list, and librdkafka 2.0 an empty record set.
      abortedTransactions: isolationLevel === 0 ? null : [],
      preferredReadReplica: -1,
      records: Buffer.alloc(0),
    })),
  };
}

/** Fetch: an invalid topic gets 17 on each of its partitions. Forgotten topics only matter to fetch sessions, which are not served. */
export const fetchNames = defineNameCheck(Fetch, (body) => {
  const isolationLevel = body.isolationLevel ?? 0;
  const { mask, allowed, denied } = split(body.topics, (t) => validTopic(t.topic));
  if (denied.length === 0) return { kind: 'forward', body };
  const merge = (handled: readonly FetchTopicResponse[]) => mergeInOrder(body.topics, mask, handled, (t) => refusedFetchTopic(t, isolationLevel));
  if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses: merge([]) } };
  return {
    kind: 'forward',
    body: { ...body, topics: allowed },
    // A top-level error (an unknown fetch session) answers the whole request: nothing to merge into.
    finish: (response) => ((response.errorCode ?? ErrorCode.NONE) !== ErrorCode.NONE ? response : { ...response, responses: merge(response.responses) }),
  };
});

type ListOffsetsTopic = ListOffsetsRequest['topics'][number];
type ListOffsetsTopicResponse = ListOffsetsResponse['topics'][number];

const refusedListOffsetsTopic = (topic: ListOffsetsTopic): ListOffsetsTopicResponse => ({
  name: topic.name,
  partitions: topic.partitions.map((p) => ({
    partitionIndex: p.partitionIndex,
    errorCode: INVALID_TOPIC,
    oldStyleOffsets: [],
    timestamp: -1n,
    offset: -1n,
    leaderEpoch: -1,
  })),
});

/** ListOffsets: 17 on each partition of an invalid topic. */
export const listOffsetsNames = defineNameCheck(ListOffsets, (body) => {
  const { mask, allowed, denied } = split(body.topics, (t) => validTopic(t.name));
  if (denied.length === 0) return { kind: 'forward', body };
  const merge = (handled: readonly ListOffsetsTopicResponse[]) => mergeInOrder(body.topics, mask, handled, refusedListOffsetsTopic);
  if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, topics: merge([]) } };
  return { kind: 'forward', body: { ...body, topics: allowed }, finish: (response) => ({ ...response, topics: merge(response.topics) }) };
});

type MetadataTopicResponse = MetadataResponse['topics'][number];

const refusedMetadataTopic = (name: string): MetadataTopicResponse => ({ errorCode: INVALID_TOPIC, name, isInternal: false, partitions: [] });

/**
 * Metadata: an invalid topic named is answered with 17 (Kafka's `getTopicMetadata` does the same for a
 * name `Topic.validate` refuses), and never reaches auto-creation. The broker list and cluster id come
 * from the handler, so the request always goes on, with only the valid names; when none is left, the
 * handler's topics are dropped (at v0 an empty list means every topic, which must not leak).
 */
export const metadataNames = defineNameCheck(Metadata, (body) => {
  const requested = body.topics;
  if (requested === null) return { kind: 'forward', body };
  const { mask, allowed, denied } = split(requested, (t) => validTopic(t.name));
  if (denied.length === 0) return { kind: 'forward', body };
  return {
    kind: 'forward',
    body: { ...body, topics: allowed },
    finish: (response) => ({
      ...response,
      topics: mergeInOrder(requested, mask, allowed.length === 0 ? [] : response.topics, (t) => refusedMetadataTopic(t.name)),
    }),
  };
});

/** InitProducerId: an invalid transactional id is refused with 42, as Kafka refuses an empty one. */
export const initProducerIdNames = defineNameCheck(InitProducerId, (body, _version, limits) => {
  if (body.transactionalId === null || transactionalIdProblem(body.transactionalId, limits) === null) return { kind: 'forward', body };
  return { kind: 'respond', response: { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, producerId: -1n, producerEpoch: -1 } };
});

export const DATA_NAME_CHECKS = [produceNames, fetchNames, listOffsetsNames, metadataNames, initProducerIdNames] as const;
