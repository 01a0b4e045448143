/**
 * The transactional producer's APIs (KIP-98) over the transaction coordinator (src/transactions/):
 * AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, and the operators' DescribeTransactions and
 * ListTransactions. Authorization is the dispatcher's (src/security/authz/policies/transactions.ts).
 */
import type { Logger } from '../../logger.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { AddOffsetsToTxn } from '../../protocol/messages/add-offsets-to-txn.js';
import { AddPartitionsToTxn } from '../../protocol/messages/add-partitions-to-txn.js';
import { DescribeTransactions } from '../../protocol/messages/describe-transactions.js';
import { EndTxn } from '../../protocol/messages/end-txn.js';
import { ListTransactions } from '../../protocol/messages/list-transactions.js';
import { handler, type HandlerEntry } from '../../server/handler.js';
import { TRANSACTION_STATES } from '../../storage/transaction-store.js';
import type { TopicPartitionRef, TransactionCoordinator } from '../../transactions/transaction-coordinator.js';

/** Partition counts of the topics, to refuse unknown partitions before they join a transaction. */
export interface PartitionCounts {
  get(name: string): { readonly partitions: number } | undefined;
}

export interface TransactionHandlerDeps {
  readonly transactions: TransactionCoordinator;
  readonly topics: PartitionCounts;
  readonly logger: Logger;
}

/** The versions from which a fenced producer is answered PRODUCER_FENCED (KIP-588), else INVALID_PRODUCER_EPOCH. */
function fencedCode(version: number, fromVersion: number): number {
  return version >= fromVersion ? ErrorCode.PRODUCER_FENCED : ErrorCode.INVALID_PRODUCER_EPOCH;
}

/**
 * AddPartitionsToTxn (v0-3): every partition must exist, else the unknown ones are answered
 * UNKNOWN_TOPIC_OR_PARTITION and the others OPERATION_NOT_ATTEMPTED, nothing added (Kafka's
 * handleAddPartitionToTxnRequest); then one coordinator answer for them all.
 */
export function addPartitionsToTxnHandler(deps: TransactionHandlerDeps): HandlerEntry {
  return handler(AddPartitionsToTxn, (body, ctx) => {
    const topics = body.v3AndBelowTopics ?? [];
    const known = (topic: string, partition: number) => partition >= 0 && partition < (deps.topics.get(topic)?.partitions ?? 0);
    const anyUnknown = topics.some((t) => t.partitions.some((p) => !known(t.name, p)));
    const answer = (code: (topic: string, partition: number) => number) => ({
      throttleTimeMs: 0,
      resultsByTopicV3AndBelow: topics.map((t) => ({
        name: t.name,
        resultsByPartition: t.partitions.map((p) => ({ partitionIndex: p, partitionErrorCode: code(t.name, p) })),
      })),
    });
    if (anyUnknown) return answer((t, p) => (known(t, p) ? ErrorCode.OPERATION_NOT_ATTEMPTED : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
    const partitions: TopicPartitionRef[] = topics.flatMap((t) => t.partitions.map((partition) => ({ topic: t.name, partition })));
    const errorCode = deps.transactions.addPartitions(
      {
        transactionalId: body.v3AndBelowTransactionalId ?? '',
        producerId: body.v3AndBelowProducerId ?? -1n,
        producerEpoch: body.v3AndBelowProducerEpoch ?? -1,
        fencedCode: fencedCode(ctx.header.apiVersion, 2),
      },
      partitions,
    );
    return answer(() => errorCode);
  });
}

/** AddOffsetsToTxn (v0-3): the transaction will commit offsets of the group (TxnOffsetCommit). */
export function addOffsetsToTxnHandler(deps: TransactionHandlerDeps): HandlerEntry {
  return handler(AddOffsetsToTxn, (body, ctx) => {
    const errorCode =
      body.groupId === ''
        ? ErrorCode.INVALID_GROUP_ID
        : deps.transactions.addOffsets({ transactionalId: body.transactionalId, producerId: body.producerId, producerEpoch: body.producerEpoch, fencedCode: fencedCode(ctx.header.apiVersion, 2) }, body.groupId);
    return { throttleTimeMs: 0, errorCode };
  });
}

/** EndTxn (v0-3): commit or abort; answered once the markers are durable on every partition. */
export function endTxnHandler(deps: TransactionHandlerDeps): HandlerEntry {
  return handler(EndTxn, async (body, ctx) => {
    const ref = { transactionalId: body.transactionalId, producerId: body.producerId, producerEpoch: body.producerEpoch, fencedCode: fencedCode(ctx.header.apiVersion, 2) };
    const outcome = await deps.transactions.endTransaction(ref, body.committed);
    if (outcome.errorCode !== ErrorCode.NONE && outcome.errorCode !== ErrorCode.CONCURRENT_TRANSACTIONS) {
      deps.logger.warn({ transactionalId: body.transactionalId, committed: body.committed, errorCode: outcome.errorCode, reason: outcome.reason, clientId: ctx.header.clientId }, 'EndTxn refused');
    }
    return { throttleTimeMs: 0, errorCode: outcome.errorCode };
  });
}

/** DescribeTransactions (v0): each id's state, or TRANSACTIONAL_ID_NOT_FOUND. */
export function describeTransactionsHandler(deps: TransactionHandlerDeps): HandlerEntry {
  return handler(DescribeTransactions, (body) => ({
    throttleTimeMs: 0,
    transactionStates: body.transactionalIds.map((transactionalId) => {
      const d = deps.transactions.describe(transactionalId);
      if (d === undefined) {
        return { errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, transactionalId, transactionState: '', transactionTimeoutMs: 0, transactionStartTimeMs: -1n, producerId: -1n, producerEpoch: -1, topics: [] };
      }
      const byTopic = new Map<string, number[]>();
      for (const p of d.partitions) {
        let list = byTopic.get(p.topic);
        if (list === undefined) byTopic.set(p.topic, (list = []));
        list.push(p.partition);
      }
      return {
        errorCode: ErrorCode.NONE,
        transactionalId,
        transactionState: d.state,
        transactionTimeoutMs: d.timeoutMs,
        transactionStartTimeMs: BigInt(d.startedMs),
        producerId: d.producerId,
        producerEpoch: d.producerEpoch,
        topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
      };
    }),
  }));
}

/** ListTransactions (v0-1): filtered by state, producer id and (v1, KIP-994) how long they have run. */
export function listTransactionsHandler(deps: TransactionHandlerDeps): HandlerEntry {
  return handler(ListTransactions, (body) => {
    const known: readonly string[] = TRANSACTION_STATES;
    const unknownStateFilters = body.stateFilters.filter((s) => !known.includes(s));
    const states = body.stateFilters.filter((s) => known.includes(s));
    // Only unknown states asked for: nothing can match (Kafka answers none, naming the unknown filters).
    const transactionStates = body.stateFilters.length > 0 && states.length === 0 ? [] : deps.transactions.list(states, body.producerIdFilters, Number(body.durationFilter ?? -1n));
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, unknownStateFilters, transactionStates: transactionStates.map((t) => ({ transactionalId: t.transactionalId, producerId: t.producerId, transactionState: t.state })) };
  });
}
