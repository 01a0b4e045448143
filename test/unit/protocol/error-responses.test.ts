import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import {
  addPartitionsToTxnErrorResponse,
  emptyFetchPartition,
  entryOf,
  errorEntry,
  errorResponse,
  failedProducePartition,
  txnOffsetCommitErrorResponse,
} from '../../../src/protocol/error-responses.js';
import { decodeResponse, encodeResponse } from '../../../src/protocol/frames.js';
import { ALL_APIS, AddPartitionsToTxn, TxnOffsetCommit } from '../../../src/protocol/messages/index.js';
import { CreateTopics } from '../../../src/protocol/messages/create-topics.js';
import { DescribeGroups } from '../../../src/protocol/messages/describe-groups.js';
import { JoinGroup } from '../../../src/protocol/messages/join-group.js';
import { inRange, type ApiSchema } from '../../../src/protocol/messages/schema.js';

const wire = (api: ApiSchema, version: number, body: object) => decodeResponse(api, version, Buffer.concat(encodeResponse(api, version, 1, body)).subarray(4)).body;

describe('error answers from the schema', () => {
  it('an entry has no value but its keys and error: declared defaults, −1, empty, false, the zero UUID; the message from the error table', () => {
    assert.deepEqual(errorEntry(entryOf(CreateTopics.response.fields.topics), ErrorCode.TOPIC_AUTHORIZATION_FAILED, { name: 'orders' }), {
      name: 'orders',
      topicId: '00000000-0000-0000-0000-000000000000',
      errorCode: 29,
      errorMessage: 'The principal is not authorized for this operation on the topic.',
      // topicConfigErrorCode is tagged: left to the codec, which sends none equal to its default.
      numPartitions: -1,
      replicationFactor: -1,
      configs: [],
    });
    assert.deepEqual(errorEntry(entryOf(DescribeGroups.response.fields.groups), ErrorCode.GROUP_AUTHORIZATION_FAILED, { groupId: 'g' }), {
      errorCode: 30,
      groupId: 'g',
      groupState: '',
      protocolType: '',
      protocolData: '',
      members: [],
      authorizedOperations: -2147483648,
    });
  });

  it('a whole response: the error at the top level, unthrottled, and what the caller says differently', () => {
    assert.deepEqual(errorResponse(JoinGroup, ErrorCode.GROUP_AUTHORIZATION_FAILED, { memberId: 'm-1' }), {
      throttleTimeMs: 0,
      errorCode: 30,
      generationId: -1,
      protocolType: null,
      protocolName: '',
      leader: '',
      skipAssignment: false,
      memberId: 'm-1',
      members: [],
    });
  });

  it('every API’s error response encodes at every version it serves (a new API gets one for free)', () => {
    for (const api of ALL_APIS) {
      for (let version = api.minVersion; version <= api.maxVersion; version++) {
        const body = wire(api, version, errorResponse(api, ErrorCode.CLUSTER_AUTHORIZATION_FAILED));
        // Where the version has a top-level error code (InitProducerId, JoinGroup; Fetch from v7; not Produce).
        if (inRange(api.response.fields.errorCode?.versions, version)) assert.equal(body.errorCode, 31, `${api.name} v${version}`);
      }
    }
  });

  it('a Produce partition that was not written, a Fetch partition without records', () => {
    assert.deepEqual(failedProducePartition(3, ErrorCode.MESSAGE_TOO_LARGE, 'too big'), {
      index: 3,
      errorCode: 10,
      baseOffset: -1n,
      logAppendTimeMs: -1n,
      logStartOffset: -1n,
      recordErrors: [],
      errorMessage: 'too big',
    });
    const fetched = emptyFetchPartition(2, ErrorCode.TOPIC_AUTHORIZATION_FAILED, 0);
    assert.equal(fetched.abortedTransactions, null);
    assert.deepEqual(fetched.records, Buffer.alloc(0), 'an empty record set, never a null one (librdkafka 2.0)');
    assert.deepEqual([fetched.highWatermark, fetched.lastStableOffset, fetched.logStartOffset, fetched.preferredReadReplica], [-1n, -1n, -1n, -1]);
    assert.deepEqual(emptyFetchPartition(2, ErrorCode.NONE, 1).abortedTransactions, [], 'read_committed: a list (KafkaJS)');
  });

  it('AddPartitionsToTxn and TxnOffsetCommit, which have no top-level error, answer a whole-request error on every partition', () => {
    const added = addPartitionsToTxnErrorResponse(
      { v3AndBelowTransactionalId: 't', v3AndBelowProducerId: 1n, v3AndBelowProducerEpoch: 0, v3AndBelowTopics: [{ name: 'a', partitions: [0, 1] }, { name: 'b', partitions: [4] }] },
      (topic) => (topic === 1 ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : ErrorCode.OPERATION_NOT_ATTEMPTED),
    );
    for (let version = AddPartitionsToTxn.minVersion; version <= AddPartitionsToTxn.maxVersion; version++) {
      const body = wire(AddPartitionsToTxn, version, added) as { resultsByTopicV3AndBelow: { name: string; resultsByPartition: { partitionIndex: number; partitionErrorCode: number }[] }[] };
      assert.deepEqual(
        body.resultsByTopicV3AndBelow.map((t) => [t.name, t.resultsByPartition.map((p) => [p.partitionIndex, p.partitionErrorCode])]),
        [['a', [[0, 55], [1, 55]]], ['b', [[4, 29]]]],
      );
    }
    const committed = txnOffsetCommitErrorResponse(
      { transactionalId: 't', groupId: 'g', producerId: 1n, producerEpoch: 0, topics: [{ name: 'a', partitions: [{ partitionIndex: 2, committedOffset: 5n, committedMetadata: null }] }] },
      ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
    );
    for (let version = TxnOffsetCommit.minVersion; version <= TxnOffsetCommit.maxVersion; version++) {
      assert.deepEqual(wire(TxnOffsetCommit, version, committed), { throttleTimeMs: 0, topics: [{ name: 'a', partitions: [{ partitionIndex: 2, errorCode: 14 }] }] });
    }
  });
});
