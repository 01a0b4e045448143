/**
 * Names in the transaction APIs: transactional ids (INVALID_REQUEST, 42, what Kafka answers an unusable
 * one), group ids (INVALID_GROUP_ID, 24), member ids (UNKNOWN_MEMBER_ID, 25) and topics
 * (INVALID_TOPIC_EXCEPTION, 17). AddPartitionsToTxn is all or nothing (Kafka adds no partition of a
 * request with a refused one): the other partitions are answered OPERATION_NOT_ATTEMPTED (55).
 */
import { ErrorCode } from '../../protocol/error-codes.js';
import { addPartitionsToTxnErrorResponse, txnOffsetCommitErrorResponse } from '../../protocol/error-responses.js';
import { AddOffsetsToTxn } from '../../protocol/messages/add-offsets-to-txn.js';
import { AddPartitionsToTxn } from '../../protocol/messages/add-partitions-to-txn.js';
import { DescribeTransactions, type DescribeTransactionsResponse } from '../../protocol/messages/describe-transactions.js';
import { EndTxn } from '../../protocol/messages/end-txn.js';
import { ListTransactions } from '../../protocol/messages/list-transactions.js';
import { TxnOffsetCommit, type TxnOffsetCommitResponse } from '../../protocol/messages/txn-offset-commit.js';
import { groupIdProblem, groupInstanceIdProblem, memberIdProblem, topicNameProblem, transactionalIdProblem, type NameLimits } from '../../protocol/names.js';
import { mergeInOrder, split } from '../../security/authz/policies/support.js';
import { defineNameCheck, noNames } from './types.js';

const validTopic = (name: string) => topicNameProblem(name) === null;
const validId = (id: string, limits: NameLimits) => transactionalIdProblem(id, limits) === null;

export const addPartitionsToTxnNames = defineNameCheck(AddPartitionsToTxn, (body, _version, limits) => {
  const topics = body.v3AndBelowTopics ?? [];
  if (!validId(body.v3AndBelowTransactionalId ?? '', limits)) return { kind: 'respond', response: addPartitionsToTxnErrorResponse(body, ErrorCode.INVALID_REQUEST) };
  if (topics.every((t) => validTopic(t.name))) return { kind: 'forward', body };
  return {
    kind: 'respond',
    response: addPartitionsToTxnErrorResponse(body, (i) => (validTopic(topics[i]?.name ?? '') ? ErrorCode.OPERATION_NOT_ATTEMPTED : ErrorCode.INVALID_TOPIC_EXCEPTION)),
  };
});

export const addOffsetsToTxnNames = defineNameCheck(AddOffsetsToTxn, (body, _version, limits) => {
  const errorCode = !validId(body.transactionalId, limits) ? ErrorCode.INVALID_REQUEST : groupIdProblem(body.groupId, limits) !== null ? ErrorCode.INVALID_GROUP_ID : null;
  return errorCode === null ? { kind: 'forward', body } : { kind: 'respond', response: { throttleTimeMs: 0, errorCode } };
});

export const endTxnNames = defineNameCheck(EndTxn, (body, _version, limits) =>
  validId(body.transactionalId, limits) ? { kind: 'forward', body } : { kind: 'respond', response: { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST } },
);

type CommitTopicResponse = TxnOffsetCommitResponse['topics'][number];

/** TxnOffsetCommit: a refused id, group or member fails every partition; an invalid topic its own (17). */
export const txnOffsetCommitNames = defineNameCheck(TxnOffsetCommit, (body, _version, limits) => {
  const memberProblem = (body.memberId !== undefined && memberIdProblem(body.memberId, limits) !== null) || (body.groupInstanceId != null && groupInstanceIdProblem(body.groupInstanceId) !== null);
  const error = !validId(body.transactionalId, limits)
    ? ErrorCode.INVALID_REQUEST
    : groupIdProblem(body.groupId, limits) !== null
      ? ErrorCode.INVALID_GROUP_ID
      : memberProblem
        ? ErrorCode.UNKNOWN_MEMBER_ID
        : null;
  if (error !== null) return { kind: 'respond', response: txnOffsetCommitErrorResponse(body, error) };
  const { mask, allowed, denied } = split(body.topics, (t) => validTopic(t.name));
  if (denied.length === 0) return { kind: 'forward', body };
  const refused = (t: (typeof body.topics)[number]): CommitTopicResponse => ({
    name: t.name,
    partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION })),
  });
  const merge = (handled: readonly CommitTopicResponse[]) => mergeInOrder(body.topics, mask, handled, refused);
  if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, topics: merge([]) } };
  return { kind: 'forward', body: { ...body, topics: allowed }, finish: (response) => ({ ...response, topics: merge(response.topics) }) };
});

/** DescribeTransactions: an id no transaction can have is answered TRANSACTIONAL_ID_NOT_FOUND, in request order. */
export const describeTransactionsNames = defineNameCheck(DescribeTransactions, (body, _version, limits) => {
  const { mask, allowed, denied } = split(body.transactionalIds, (id) => validId(id, limits));
  if (denied.length === 0) return { kind: 'forward', body };
  type State = DescribeTransactionsResponse['transactionStates'][number];
  const merge = (handled: readonly State[]) => mergeInOrder(body.transactionalIds, mask, handled, notFound);
  if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, transactionStates: merge([]) } };
  return { kind: 'forward', body: { ...body, transactionalIds: allowed }, finish: (response) => ({ ...response, transactionStates: merge(response.transactionStates) }) };
});

function notFound(transactionalId: string): DescribeTransactionsResponse['transactionStates'][number] {
  return { errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, transactionalId, transactionState: '', transactionTimeoutMs: 0, transactionStartTimeMs: -1n, producerId: -1n, producerEpoch: -1, topics: [] };
}

export const TRANSACTION_NAME_CHECKS = [addPartitionsToTxnNames, addOffsetsToTxnNames, endTxnNames, txnOffsetCommitNames, describeTransactionsNames, noNames(ListTransactions)] as const;
