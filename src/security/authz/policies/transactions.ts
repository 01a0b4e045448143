/**
 * Policies of the transaction APIs (KIP-98, KIP-447, KIP-664), with Apache Kafka's semantics
 * (KafkaApis: handleAddPartitionsToTxnRequest, handleAddOffsetsToTxnRequest, handleEndTxnRequest,
 * handleTxnOffsetCommitRequest, handleDescribeTransactionsRequest, handleListTransactionsRequest).
 * A transactional id is a TRANSACTIONAL_ID resource: WRITE on it lets a producer run transactions
 * under it, DESCRIBE lets an admin see them. InitProducerId and Produce check the same WRITE
 * (policies/data.ts), FindCoordinator the DESCRIBE of the transaction coordinator's key (groups.ts).
 */
import { AclOperation, ResourceType } from '../../../protocol/acl.js';
import { ErrorCode } from '../../../protocol/error-codes.js';
import { addPartitionsToTxnErrorResponse, entryOf, errorEntry, errorResponse, txnOffsetCommitErrorResponse } from '../../../protocol/error-responses.js';
import { AddOffsetsToTxn } from '../../../protocol/messages/add-offsets-to-txn.js';
import { AddPartitionsToTxn } from '../../../protocol/messages/add-partitions-to-txn.js';
import { DescribeTransactions, type DescribeTransactionsResponse } from '../../../protocol/messages/describe-transactions.js';
import { EndTxn } from '../../../protocol/messages/end-txn.js';
import { ListTransactions } from '../../../protocol/messages/list-transactions.js';
import { TxnOffsetCommit, type TxnOffsetCommitRequest, type TxnOffsetCommitResponse } from '../../../protocol/messages/txn-offset-commit.js';
import { definePolicy, mergeInOrder, split } from './support.js';
import type { AuthzCheck, CheckOptions } from './types.js';

const { TOPIC, GROUP, TRANSACTIONAL_ID } = ResourceType;
const txnDenied = ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;

/** Checks that only cut down what an answer shows: not audited as denials (Kafka: logIfDenied = false for listings). */
const LISTING: CheckOptions = { logIfDenied: false, role: 'listing' };

const mayWriteTxn = (check: AuthzCheck, transactionalId: string) => check.allowed(AclOperation.WRITE, TRANSACTIONAL_ID, transactionalId);

/**
 * AddPartitionsToTxn (v0-3, a client's): WRITE on the transactional id, else every partition 53. Then
 * WRITE on each topic; a transaction adds all its partitions or none, so when any topic is denied
 * nothing is forwarded: the denied topics' partitions get 29 and every other partition 55
 * OPERATION_NOT_ATTEMPTED, as Kafka answers. Kafka also gives unknown topics 3 in that answer; here
 * the handler, which knows which topics exist, is not reached, so they get 55 and nothing is disclosed.
 * Kafka never lets a transaction add an internal topic; refusing the broker's own topics is the
 * protected-topics stage's (src/server/stages/protected-topics.ts), which runs a request's policy
 * with a check that denies WRITE on them, once it lists this API.
 */
export const addPartitionsToTxnPolicy = definePolicy(AddPartitionsToTxn, (body, _version, check) => {
  if (!mayWriteTxn(check, body.v3AndBelowTransactionalId ?? '')) return { kind: 'respond', response: addPartitionsToTxnErrorResponse(body, txnDenied) };
  const { mask, denied } = split(body.v3AndBelowTopics ?? [], (t) => check.allowed(AclOperation.WRITE, TOPIC, t.name));
  if (denied.length === 0) return { kind: 'forward', body };
  const codeOf = (i: number) => (mask[i] === true ? ErrorCode.OPERATION_NOT_ATTEMPTED : ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  return { kind: 'respond', response: addPartitionsToTxnErrorResponse(body, codeOf) };
});

/** AddOffsetsToTxn: WRITE on the transactional id (53), then READ on the group whose offsets the transaction will commit (30). */
export const addOffsetsToTxnPolicy = definePolicy(AddOffsetsToTxn, (body, _version, check) => {
  if (!mayWriteTxn(check, body.transactionalId)) return { kind: 'respond', response: errorResponse(AddOffsetsToTxn, txnDenied) };
  if (!check.allowed(AclOperation.READ, GROUP, body.groupId)) {
    return { kind: 'respond', response: errorResponse(AddOffsetsToTxn, ErrorCode.GROUP_AUTHORIZATION_FAILED) };
  }
  return { kind: 'forward', body };
});

/** EndTxn: WRITE on the transactional id, else 53. */
export const endTxnPolicy = definePolicy(EndTxn, (body, _version, check) =>
  mayWriteTxn(check, body.transactionalId) ? { kind: 'forward', body } : { kind: 'respond', response: errorResponse(EndTxn, txnDenied) },
);

type TxnCommitTopic = TxnOffsetCommitRequest['topics'][number];
type TxnCommitTopicResponse = TxnOffsetCommitResponse['topics'][number];

function deniedTxnCommitTopic(topic: TxnCommitTopic, errorCode: number): TxnCommitTopicResponse {
  return { name: topic.name, partitions: topic.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) };
}

/**
 * TxnOffsetCommit: WRITE on the transactional id, else every partition 53; READ on the group, else
 * every partition 30 (producer id authorization is implied by the transactional id's, as in Kafka);
 * READ on each topic, else its partitions 29 and the others are committed.
 */
export const txnOffsetCommitPolicy = definePolicy(TxnOffsetCommit, (body, _version, check) => {
  const refuseAll = (errorCode: number) => ({ kind: 'respond' as const, response: txnOffsetCommitErrorResponse(body, errorCode) });
  if (!mayWriteTxn(check, body.transactionalId)) return refuseAll(txnDenied);
  if (!check.allowed(AclOperation.READ, GROUP, body.groupId)) return refuseAll(ErrorCode.GROUP_AUTHORIZATION_FAILED);
  const { mask, allowed, denied } = split(body.topics, (t) => check.allowed(AclOperation.READ, TOPIC, t.name));
  if (denied.length === 0) return { kind: 'forward', body };
  const merge = (handled: readonly TxnCommitTopicResponse[]) =>
    mergeInOrder(body.topics, mask, handled, (t) => deniedTxnCommitTopic(t, ErrorCode.TOPIC_AUTHORIZATION_FAILED));
  if (allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, topics: merge([]) } };
  return { kind: 'forward', body: { ...body, topics: allowed }, finish: (response) => ({ ...response, topics: merge(response.topics) }) };
});

type TransactionState = DescribeTransactionsResponse['transactionStates'][number];

const TRANSACTION_STATE = entryOf(DescribeTransactions.response.fields.transactionStates);

/** A denied id: its name and 53, nothing of its state (no producer, no partitions). */
const deniedTransactionState = (transactionalId: string): TransactionState => errorEntry(TRANSACTION_STATE, txnDenied, { transactionalId });

/**
 * DescribeTransactions: DESCRIBE on each transactional id, else its entry with 53, in request order.
 * A described transaction shows only the topics the principal may describe: Kafka drops the others
 * from the answer. They are dropped here without an audited denial, as a listing is filtered: the
 * principal asked about the transaction, not about those topics.
 */
export const describeTransactionsPolicy = definePolicy(DescribeTransactions, (body, _version, check) => {
  const ids = body.transactionalIds;
  const { mask, allowed } = split(ids, (id) => check.allowed(AclOperation.DESCRIBE, TRANSACTIONAL_ID, id));
  const describable = (state: TransactionState): TransactionState => ({
    ...state,
    topics: state.topics.filter((t) => check.allowed(AclOperation.DESCRIBE, TOPIC, t.topic, LISTING)),
  });
  const merge = (handled: readonly TransactionState[]) => mergeInOrder(ids, mask, handled.map(describable), deniedTransactionState);
  if (ids.length > 0 && allowed.length === 0) return { kind: 'respond', response: { throttleTimeMs: 0, transactionStates: merge([]) } };
  return {
    kind: 'forward',
    body: allowed.length === ids.length ? body : { ...body, transactionalIds: allowed },
    finish: (response) => ({ ...response, transactionStates: merge(response.transactionStates) }),
  };
});

/**
 * ListTransactions: the coordinator lists, and the answer keeps only the transactional ids the
 * principal may describe. Kafka has no cluster-wide grant here (unlike ListGroups). The ids left out
 * are not audited as denials: listing is not asking.
 */
export const listTransactionsPolicy = definePolicy(ListTransactions, (body, _version, check) => ({
  kind: 'forward',
  body,
  finish: (response) => ({
    ...response,
    transactionStates: response.transactionStates.filter((s) => check.allowed(AclOperation.DESCRIBE, TRANSACTIONAL_ID, s.transactionalId, LISTING)),
  }),
}));

export const TRANSACTION_POLICIES = [
  addPartitionsToTxnPolicy,
  addOffsetsToTxnPolicy,
  endTxnPolicy,
  txnOffsetCommitPolicy,
  describeTransactionsPolicy,
  listTransactionsPolicy,
] as const;
