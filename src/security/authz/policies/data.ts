/**
 * Policies of the data APIs: Produce, Fetch, ListOffsets, Metadata and InitProducerId, with Apache
 * Kafka's semantics (KafkaApis.handleProduceRequest, handleFetchRequest, handleListOffsetRequest,
 * handleTopicMetadataRequest, handleInitProducerIdRequest).
 */
import { ParapetError } from '../../../errors.js';
import { AclOperation, CLUSTER_RESOURCE_NAME, ResourceType } from '../../../protocol/acl.js';
import { ErrorCode } from '../../../protocol/error-codes.js';
import { entryOf, errorEntry, errorResponse, emptyFetchPartition, failedProducePartition } from '../../../protocol/error-responses.js';
import { Fetch, type FetchRequest, type FetchResponse } from '../../../protocol/messages/fetch.js';
import { InitProducerId } from '../../../protocol/messages/init-producer-id.js';
import { ListOffsets, type ListOffsetsRequest, type ListOffsetsResponse } from '../../../protocol/messages/list-offsets.js';
import { Metadata } from '../../../protocol/messages/metadata.js';
import { Produce, type ProduceRequest, type ProduceResponse } from '../../../protocol/messages/produce.js';
import { definePolicy, mergeInOrder, split } from './support.js';
import type { AuthzCheck } from './types.js';

const { TOPIC, CLUSTER, TRANSACTIONAL_ID } = ResourceType;

type ProduceTopic = ProduceRequest['topicData'][number];
type ProduceTopicResponse = ProduceResponse['responses'][number];

function deniedProduceTopic(topic: ProduceTopic, errorCode: number): ProduceTopicResponse {
  return { name: topic.name, partitionResponses: topic.partitionData.map((p) => failedProducePartition(p.index, errorCode)) };
}

/**
 * Produce: WRITE on each topic (29). A transactional id needs WRITE on it, else every partition is
 * refused with 53. An acks=0 produce has no response to carry a denial, so any denial closes the
 * connection, as Kafka does (the client sees the disconnect and refreshes its metadata).
 */
export const producePolicy = definePolicy(Produce, (body, version, check) => {
  const transactionalId = body.transactionalId ?? null;
  const transactionDenied = transactionalId !== null && !check.allowed(AclOperation.WRITE, TRANSACTIONAL_ID, transactionalId);
  const deniedCode = transactionDenied ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED : ErrorCode.TOPIC_AUTHORIZATION_FAILED;
  const { mask, allowed, denied } = split(body.topicData, (t) => !transactionDenied && check.allowed(AclOperation.WRITE, TOPIC, t.name));
  if (denied.length === 0) return { kind: 'forward', body };
  if (body.acks === 0) {
    const what = transactionDenied ? `transactional id ${transactionalId}` : `topic ${denied[0]?.name ?? ''}`;
    throw new ParapetError('PRODUCE_REJECTED', `acks=0 produce refused: not authorized to write to ${what}`, {
      api: Produce.name,
      version,
      kafkaErrorCode: deniedCode,
    });
  }
  const merge = (handled: readonly ProduceTopicResponse[]) => mergeInOrder(body.topicData, mask, handled, (t) => deniedProduceTopic(t, deniedCode));
  if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, responses: merge([]) } };
  return {
    kind: 'forward',
    body: { ...body, topicData: allowed },
    finish: (response) => ({ ...response, responses: merge(response.responses) }),
  };
});

type FetchTopic = FetchRequest['topics'][number];
type FetchTopicResponse = FetchResponse['responses'][number];

function deniedFetchTopic(topic: FetchTopic, isolationLevel: number): FetchTopicResponse {
  return { topic: topic.topic, partitions: topic.partitions.map((p) => emptyFetchPartition(p.partition, ErrorCode.TOPIC_AUTHORIZATION_FAILED, isolationLevel)) };
}

/**
 * Fetch: a consumer needs READ on each topic (29 per partition). A follower (replicaId ≥ 0) needs
 * CLUSTER_ACTION on the cluster and is then not checked per topic; without it every partition gets
 * 29, as Kafka answers. When nothing is allowed the answer is immediate: there is nothing to wait for.
 */
export const fetchPolicy = definePolicy(Fetch, (body, _version, check) => {
  const isolationLevel = body.isolationLevel ?? 0;
  const answerAllDenied = (): { kind: 'respond'; response: FetchResponse } => ({
    kind: 'respond',
    response: { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses: body.topics.map((t) => deniedFetchTopic(t, isolationLevel)) },
  });
  if ((body.replicaId ?? -1) >= 0) {
    return check.allowed(AclOperation.CLUSTER_ACTION, CLUSTER, CLUSTER_RESOURCE_NAME) ? { kind: 'forward', body } : answerAllDenied();
  }
  const { mask, allowed, denied } = split(body.topics, (t) => check.allowed(AclOperation.READ, TOPIC, t.topic));
  if (denied.length === 0) return { kind: 'forward', body };
  if (allowed.length === 0) return answerAllDenied();
  return {
    kind: 'forward',
    body: { ...body, topics: allowed },
    // A top-level error (an unknown fetch session) answers the whole request: nothing to merge into.
    finish: (response) =>
      (response.errorCode ?? ErrorCode.NONE) !== ErrorCode.NONE
        ? response
        : { ...response, responses: mergeInOrder(body.topics, mask, response.responses, (t) => deniedFetchTopic(t, isolationLevel)) },
  };
});

type ListOffsetsTopic = ListOffsetsRequest['topics'][number];
type ListOffsetsTopicResponse = ListOffsetsResponse['topics'][number];

const LIST_OFFSETS_PARTITION = entryOf(entryOf(ListOffsets.response.fields.topics).partitions);

function deniedListOffsetsTopic(topic: ListOffsetsTopic): ListOffsetsTopicResponse {
  return {
    name: topic.name,
    partitions: topic.partitions.map((p) => errorEntry(LIST_OFFSETS_PARTITION, ErrorCode.TOPIC_AUTHORIZATION_FAILED, { partitionIndex: p.partitionIndex })),
  };
}

/** ListOffsets: DESCRIBE on each topic (29 per partition). */
export const listOffsetsPolicy = definePolicy(ListOffsets, (body, _version, check) => {
  const { mask, allowed, denied } = split(body.topics, (t) => check.allowed(AclOperation.DESCRIBE, TOPIC, t.name));
  if (denied.length === 0) return { kind: 'forward', body };
  const merge = (handled: readonly ListOffsetsTopicResponse[]) => mergeInOrder(body.topics, mask, handled, deniedListOffsetsTopic);
  if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, topics: merge([]) } };
  return { kind: 'forward', body: { ...body, topics: allowed }, finish: (response) => ({ ...response, topics: merge(response.topics) }) };
});

const METADATA_TOPIC = entryOf(Metadata.response.fields.topics);

/** As the handler's unknown-topic entry: no partitions, nothing disclosed. */
const deniedMetadataTopic = (name: string) => errorEntry(METADATA_TOPIC, ErrorCode.TOPIC_AUTHORIZATION_FAILED, { name });

/**
 * Metadata: DESCRIBE on each topic. Asked for all topics (null from v1, empty at v0), the answer just
 * leaves out the topics the principal may not describe, without a denial in the audit log (Kafka
 * does not log those). Asked by name, a denied topic is answered with 29 and no partitions, so its
 * existence is not disclosed. Auto-creation needs CREATE on the cluster or on every topic the request
 * would create; without it the handler is told not to create anything.
 */
export const metadataPolicy = definePolicy(Metadata, (body, version, check) => {
  const requested = body.topics;
  if (requested === null || (version === 0 && requested.length === 0)) {
    return {
      kind: 'forward',
      body,
      finish: (response) => ({
        ...response,
        topics: response.topics.filter((t) => check.allowed(AclOperation.DESCRIBE, TOPIC, t.name, { logIfDenied: false, role: 'listing' })),
      }),
    };
  }
  const { mask, allowed, denied } = split(requested, (t) => check.allowed(AclOperation.DESCRIBE, TOPIC, t.name));
  // Probes, not requests of the principal's: their denials are not audited (Kafka: logIfDenied = false).
  const leaveAutoCreation =
    !(body.allowAutoTopicCreation ?? true) ||
    allowed.length === 0 ||
    check.allowed(AclOperation.CREATE, CLUSTER, CLUSTER_RESOURCE_NAME, { logIfDenied: false, role: 'probe' }) ||
    allowed.every((t) => check.allowed(AclOperation.CREATE, TOPIC, t.name, { logIfDenied: false, role: 'probe' }));
  if (denied.length === 0 && leaveAutoCreation) return { kind: 'forward', body };
  const forwarded = { ...body, topics: allowed, ...(leaveAutoCreation ? {} : { allowAutoTopicCreation: false }) };
  return {
    kind: 'forward',
    body: forwarded,
    // With nothing allowed the forwarded list is empty, which at v0 means "all topics": the handler's
    // topics are then never used, so nothing it lists can leak.
    finish: (response) => ({
      ...response,
      topics: mergeInOrder(requested, mask, allowed.length === 0 ? [] : response.topics, (t) => deniedMetadataTopic(t.name)),
    }),
  };
});

/**
 * InitProducerId: a transactional id needs WRITE on it (53); an idempotent producer needs
 * IDEMPOTENT_WRITE on the cluster or WRITE on some topic (KIP-679), else 31.
 */
export const initProducerIdPolicy = definePolicy(InitProducerId, (body, _version, check) => {
  const errorCode = initProducerIdDenial(body.transactionalId, check);
  if (errorCode === null) return { kind: 'forward', body };
  return { kind: 'respond', response: errorResponse(InitProducerId, errorCode) };
});

function initProducerIdDenial(transactionalId: string | null, check: AuthzCheck): number | null {
  if (transactionalId !== null) {
    return check.allowed(AclOperation.WRITE, TRANSACTIONAL_ID, transactionalId) ? null : ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
  }
  // The cluster check is not audited when denied: WRITE on a topic may still allow the producer.
  const allowed =
    check.allowed(AclOperation.IDEMPOTENT_WRITE, CLUSTER, CLUSTER_RESOURCE_NAME, { logIfDenied: false, role: 'alternative' }) ||
    check.allowedAny(AclOperation.WRITE, TOPIC);
  return allowed ? null : ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
}

export const DATA_POLICIES = [producePolicy, fetchPolicy, listOffsetsPolicy, metadataPolicy, initProducerIdPolicy] as const;
