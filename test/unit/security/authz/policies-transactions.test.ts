import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../../../src/protocol/error-codes.js';
import { AddOffsetsToTxn } from '../../../../src/protocol/messages/add-offsets-to-txn.js';
import { AddPartitionsToTxn, type AddPartitionsToTxnRequest, type AddPartitionsToTxnResponse } from '../../../../src/protocol/messages/add-partitions-to-txn.js';
import { DescribeTransactions, type DescribeTransactionsRequest, type DescribeTransactionsResponse } from '../../../../src/protocol/messages/describe-transactions.js';
import { EndTxn } from '../../../../src/protocol/messages/end-txn.js';
import { ListTransactions, type ListTransactionsResponse } from '../../../../src/protocol/messages/list-transactions.js';
import { TxnOffsetCommit, type TxnOffsetCommitRequest, type TxnOffsetCommitResponse } from '../../../../src/protocol/messages/txn-offset-commit.js';
import { decoded, grants, list, serve, versionsOf, wire } from './policies-helpers.js';

const TXN_DENIED = ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
const TOPIC_DENIED = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
const GROUP_DENIED = ErrorCode.GROUP_AUTHORIZATION_FAILED;
const NOT_ATTEMPTED = ErrorCode.OPERATION_NOT_ATTEMPTED;

// ---- AddPartitionsToTxn ----

function addPartitionsRequest(version: number, transactionalId: string, topics: Record<string, number[]>): AddPartitionsToTxnRequest {
  return decoded(AddPartitionsToTxn, version, {
    v3AndBelowTransactionalId: transactionalId,
    v3AndBelowProducerId: 7n,
    v3AndBelowProducerEpoch: 0,
    v3AndBelowTopics: Object.entries(topics).map(([name, partitions]) => ({ name, partitions })),
  });
}

const addPartitionsHandler = (body: AddPartitionsToTxnRequest): AddPartitionsToTxnResponse => ({
  throttleTimeMs: 0,
  resultsByTopicV3AndBelow: (body.v3AndBelowTopics ?? []).map((t) => ({ name: t.name, resultsByPartition: t.partitions.map((partitionIndex) => ({ partitionIndex, partitionErrorCode: 0 })) })),
});

/** `[[topic, [[partition, errorCode], …]], …]` of a decoded AddPartitionsToTxn response. */
const addedCodes = (response: Record<string, unknown>) =>
  list(response.resultsByTopicV3AndBelow).map((t) => [t.name, list(t.resultsByPartition).map((p) => [p.partitionIndex, p.partitionErrorCode])]);

describe('AddPartitionsToTxn policy', () => {
  it('refuses every partition with 53 without WRITE on the transactional id, checking no topic, at every version', () => {
    for (const version of versionsOf(AddPartitionsToTxn)) {
      const check = grants('WRITE:TOPIC:a', 'WRITE:TOPIC:b');
      const { outcome, response } = serve(AddPartitionsToTxn, version, addPartitionsRequest(version, 'tx', { a: [0, 1], b: [2] }), check);
      assert.equal(outcome.kind, 'respond');
      assert.deepEqual(addedCodes(wire(AddPartitionsToTxn, version, response)), [['a', [[0, TXN_DENIED], [1, TXN_DENIED]]], ['b', [[2, TXN_DENIED]]]]);
      assert.deepEqual(check.asked, ['WRITE:TRANSACTIONAL_ID:tx']);
    }
  });

  it('forwards the whole request when every topic may be written', () => {
    const body = addPartitionsRequest(3, 'tx', { a: [0], b: [1] });
    const { forwarded, response } = serve(AddPartitionsToTxn, 3, body, grants('WRITE:TRANSACTIONAL_ID:tx', 'WRITE:TOPIC:a', 'WRITE:TOPIC:b'), addPartitionsHandler);
    assert.equal(forwarded, body);
    assert.deepEqual(addedCodes(wire(AddPartitionsToTxn, 3, response)), [['a', [[0, 0]]], ['b', [[1, 0]]]]);
  });

  it('adds nothing when one topic is denied: its partitions get 29, every other partition 55', () => {
    for (const version of versionsOf(AddPartitionsToTxn)) {
      const check = grants('WRITE:TRANSACTIONAL_ID:tx', 'WRITE:TOPIC:a', 'WRITE:TOPIC:c');
      // No handler: the policy must answer itself, so that no partition joins the transaction.
      const { outcome, response } = serve(AddPartitionsToTxn, version, addPartitionsRequest(version, 'tx', { a: [0, 1], secret: [0], c: [4] }), check);
      assert.equal(outcome.kind, 'respond');
      assert.deepEqual(addedCodes(wire(AddPartitionsToTxn, version, response)), [
        ['a', [[0, NOT_ATTEMPTED], [1, NOT_ATTEMPTED]]],
        ['secret', [[0, TOPIC_DENIED]]],
        ['c', [[4, NOT_ATTEMPTED]]],
      ]);
    }
  });
});

// ---- AddOffsetsToTxn ----

describe('AddOffsetsToTxn policy', () => {
  const request = (version: number) => decoded(AddOffsetsToTxn, version, { transactionalId: 'tx', producerId: 7n, producerEpoch: 0, groupId: 'g' });

  it('needs WRITE on the transactional id (53), then READ on the group (30), at every version', () => {
    for (const version of versionsOf(AddOffsetsToTxn)) {
      const noTxn = grants('READ:GROUP:g');
      const first = serve(AddOffsetsToTxn, version, request(version), noTxn);
      assert.equal(wire(AddOffsetsToTxn, version, first.response).errorCode, TXN_DENIED);
      assert.deepEqual(noTxn.asked, ['WRITE:TRANSACTIONAL_ID:tx'], 'the group is not asked about once the id is denied');

      const second = serve(AddOffsetsToTxn, version, request(version), grants('WRITE:TRANSACTIONAL_ID:tx'));
      assert.equal(wire(AddOffsetsToTxn, version, second.response).errorCode, GROUP_DENIED);

      const body = request(version);
      const both = serve(AddOffsetsToTxn, version, body, grants('WRITE:TRANSACTIONAL_ID:tx', 'READ:GROUP:g'), () => ({ throttleTimeMs: 0, errorCode: 0 }));
      assert.equal(both.forwarded, body);
    }
  });
});

// ---- EndTxn ----

describe('EndTxn policy', () => {
  it('needs WRITE on the transactional id, else 53, at every version', () => {
    for (const version of versionsOf(EndTxn)) {
      const body = decoded(EndTxn, version, { transactionalId: 'tx', producerId: 7n, producerEpoch: 0, committed: true });
      const denied = serve(EndTxn, version, body, grants('WRITE:TRANSACTIONAL_ID:other', 'DESCRIBE:TRANSACTIONAL_ID:tx'));
      assert.equal(denied.outcome.kind, 'respond');
      assert.equal(wire(EndTxn, version, denied.response).errorCode, TXN_DENIED);
      const allowed = serve(EndTxn, version, body, grants('WRITE:TRANSACTIONAL_ID:tx'), () => ({ throttleTimeMs: 0, errorCode: 0 }));
      assert.equal(allowed.forwarded, body);
    }
  });
});

// ---- TxnOffsetCommit ----

function txnCommitRequest(version: number, topics: Record<string, number[]>): TxnOffsetCommitRequest {
  return decoded(TxnOffsetCommit, version, {
    transactionalId: 'tx',
    groupId: 'g',
    producerId: 7n,
    producerEpoch: 0,
    generationId: 3,
    memberId: 'm-1',
    groupInstanceId: null,
    topics: Object.entries(topics).map(([name, partitions]) => ({
      name,
      partitions: partitions.map((partitionIndex) => ({ partitionIndex, committedOffset: 5n, committedLeaderEpoch: -1, committedMetadata: null })),
    })),
  });
}

const txnCommitHandler = (body: TxnOffsetCommitRequest): TxnOffsetCommitResponse => ({
  throttleTimeMs: 0,
  topics: body.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: 0 })) })),
});

const committedCodes = (response: Record<string, unknown>) => list(response.topics).map((t) => [t.name, list(t.partitions).map((p) => [p.partitionIndex, p.errorCode])]);

describe('TxnOffsetCommit policy', () => {
  it('refuses every partition with 53 without WRITE on the transactional id, then with 30 without READ on the group', () => {
    for (const version of versionsOf(TxnOffsetCommit)) {
      const noTxn = grants('READ:GROUP:g', 'READ:TOPIC:a');
      const first = serve(TxnOffsetCommit, version, txnCommitRequest(version, { a: [0, 1], b: [2] }), noTxn);
      assert.deepEqual(committedCodes(wire(TxnOffsetCommit, version, first.response)), [['a', [[0, TXN_DENIED], [1, TXN_DENIED]]], ['b', [[2, TXN_DENIED]]]]);
      assert.deepEqual(noTxn.asked, ['WRITE:TRANSACTIONAL_ID:tx']);

      const noGroup = grants('WRITE:TRANSACTIONAL_ID:tx', 'READ:TOPIC:a');
      const second = serve(TxnOffsetCommit, version, txnCommitRequest(version, { a: [0, 1], b: [2] }), noGroup);
      assert.deepEqual(committedCodes(wire(TxnOffsetCommit, version, second.response)), [['a', [[0, GROUP_DENIED], [1, GROUP_DENIED]]], ['b', [[2, GROUP_DENIED]]]]);
      assert.deepEqual(noGroup.asked, ['WRITE:TRANSACTIONAL_ID:tx', 'READ:GROUP:g']);
    }
  });

  it('commits the topics it may read, merges 29 for the others in request order, and answers itself when none may be committed', () => {
    for (const version of versionsOf(TxnOffsetCommit)) {
      const check = grants('WRITE:TRANSACTIONAL_ID:tx', 'READ:GROUP:g', 'READ:TOPIC:a');
      const { forwarded, response } = serve(TxnOffsetCommit, version, txnCommitRequest(version, { b: [2], a: [0] }), check, txnCommitHandler);
      assert.deepEqual(forwarded?.topics.map((t) => t.name), ['a']);
      assert.equal(forwarded.transactionalId, 'tx');
      assert.deepEqual(committedCodes(wire(TxnOffsetCommit, version, response)), [['b', [[2, TOPIC_DENIED]]], ['a', [[0, 0]]]]);
    }
    const alone = serve(TxnOffsetCommit, 3, txnCommitRequest(3, { b: [2] }), grants('WRITE:TRANSACTIONAL_ID:tx', 'READ:GROUP:g'));
    assert.equal(alone.outcome.kind, 'respond');
    assert.deepEqual(committedCodes(wire(TxnOffsetCommit, 3, alone.response)), [['b', [[2, TOPIC_DENIED]]]]);
  });
});

// ---- DescribeTransactions ----

/** The fake coordinator: every id it is given is Ongoing, with partitions of `orders` and `secret`. */
const describeHandler = (body: DescribeTransactionsRequest): DescribeTransactionsResponse => ({
  throttleTimeMs: 0,
  transactionStates: body.transactionalIds.map((transactionalId) => ({
    errorCode: 0,
    transactionalId,
    transactionState: 'Ongoing',
    transactionTimeoutMs: 60_000,
    transactionStartTimeMs: 1_000n,
    producerId: 7n,
    producerEpoch: 1,
    topics: [
      { topic: 'orders', partitions: [0, 1] },
      { topic: 'secret', partitions: [0] },
    ],
  })),
});

describe('DescribeTransactions policy', () => {
  const request = (ids: string[]) => decoded(DescribeTransactions, 0, { transactionalIds: ids });

  it('answers ids without DESCRIBE with 53 and nothing of their state, describes the others, in request order', () => {
    const check = grants('DESCRIBE:TRANSACTIONAL_ID:t1', 'DESCRIBE:TRANSACTIONAL_ID:t3', 'DESCRIBE:TOPIC:orders', 'DESCRIBE:TOPIC:secret');
    const { forwarded, response } = serve(DescribeTransactions, 0, request(['t1', 'hidden', 't3']), check, describeHandler);
    assert.deepEqual(forwarded?.transactionalIds, ['t1', 't3']);
    const states = list(wire(DescribeTransactions, 0, response).transactionStates);
    assert.deepEqual(
      states.map((s) => [s.transactionalId, s.errorCode, s.transactionState]),
      [['t1', 0, 'Ongoing'], ['hidden', TXN_DENIED, ''], ['t3', 0, 'Ongoing']],
    );
    const hidden = states[1];
    assert.deepEqual([hidden?.producerId, hidden?.producerEpoch, hidden?.topics], [-1n, -1, []]);
  });

  it('answers itself when no id may be described', () => {
    const { outcome, response } = serve(DescribeTransactions, 0, request(['a', 'b']), grants());
    assert.equal(outcome.kind, 'respond');
    assert.deepEqual(list(wire(DescribeTransactions, 0, response).transactionStates).map((s) => [s.transactionalId, s.errorCode]), [['a', TXN_DENIED], ['b', TXN_DENIED]]);
  });

  it('shows, in a described transaction, only the topics the principal may describe, without auditing the others', () => {
    const check = grants('DESCRIBE:TRANSACTIONAL_ID:t1', 'DESCRIBE:TOPIC:orders');
    const { response } = serve(DescribeTransactions, 0, request(['t1']), check, describeHandler);
    const [state] = list(wire(DescribeTransactions, 0, response).transactionStates);
    assert.deepEqual(list(state?.topics).map((t) => [t.topic, t.partitions]), [['orders', [0, 1]]]);
    assert.ok(check.asked.includes('DESCRIBE:TOPIC:secret (quiet)'), check.asked.join());
  });
});

// ---- ListTransactions ----

describe('ListTransactions policy', () => {
  const listed: ListTransactionsResponse = {
    throttleTimeMs: 0,
    errorCode: 0,
    unknownStateFilters: ['Bogus'],
    transactionStates: ['app-1', 'other', 'app-2'].map((transactionalId, i) => ({ transactionalId, producerId: BigInt(i), transactionState: 'Ongoing' })),
  };

  it('forwards the request and keeps only the ids the principal may describe, without auditing the others, at every version', () => {
    for (const version of versionsOf(ListTransactions)) {
      const check = grants('DESCRIBE:TRANSACTIONAL_ID:app-1', 'DESCRIBE:TRANSACTIONAL_ID:app-2');
      const body = decoded(ListTransactions, version, { stateFilters: ['Ongoing', 'Bogus'], producerIdFilters: [], durationFilter: 5000n });
      const { forwarded, response } = serve(ListTransactions, version, body, check, () => listed);
      assert.equal(forwarded, body, 'the filters reach the coordinator unchanged');
      const answer = wire(ListTransactions, version, response);
      assert.deepEqual(list(answer.transactionStates).map((s) => s.transactionalId), ['app-1', 'app-2']);
      assert.deepEqual(answer.unknownStateFilters, ['Bogus']);
      assert.ok(check.asked.length === 3 && check.asked.every((q) => q.endsWith('(quiet)')), check.asked.join());
    }
  });
});
