import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/**
 * TxnOffsetCommit (28): a transactional producer commits a consumer group's offsets as part of its
 * transaction (KIP-98); they become visible when the transaction commits. v3 adds the consumer's
 * generation, member id and instance id (KIP-447), so that the group coordinator can fence a zombie
 * consumer's producer. v4 only adds KIP-890's TRANSACTION_ABORTABLE error and is not served.
 */
export const TxnOffsetCommit = api({
  apiKey: 28,
  name: 'TxnOffsetCommit',
  versions: '0-3',
  flexible: '3+',
  request: {
    transactionalId: f.string('0+'),
    groupId: f.string('0+'),
    producerId: f.int64('0+'),
    producerEpoch: f.int16('0+'),
    generationId: f.int32('3+', { default: -1 }),
    memberId: f.string('3+'),
    groupInstanceId: f.string('3+', { nullable: '3+', default: null }),
    topics: f.array('0+', {
      name: f.string('0+'),
      partitions: f.array('0+', {
        partitionIndex: f.int32('0+'),
        committedOffset: f.int64('0+'),
        committedLeaderEpoch: f.int32('2+', { default: -1 }),
        committedMetadata: f.string('0+', { nullable: '0+' }),
      }),
    }),
  },
  response: {
    throttleTimeMs: f.int32('0+'),
    topics: f.array('0+', {
      name: f.string('0+'),
      partitions: f.array('0+', {
        partitionIndex: f.int32('0+'),
        errorCode: f.int16('0+'),
      }),
    }),
  },
});
export type TxnOffsetCommitRequest = RequestOf<typeof TxnOffsetCommit>;
export type TxnOffsetCommitResponse = ResponseOf<typeof TxnOffsetCommit>;
