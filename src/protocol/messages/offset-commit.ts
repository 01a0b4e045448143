import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/**
 * OffsetCommit (8): store a consumer group's committed offsets. Generation -1 with an empty member id
 * is a standalone (non-group) commit, allowed only while the group is Empty
 * (docs/consumer-groups.md#committed-offsets).
 */
export const OffsetCommit = api({
  apiKey: 8,
  name: 'OffsetCommit',
  versions: '0-8',
  flexible: '8+',
  request: {
    groupId: f.string('0+'),
    generationIdOrMemberEpoch: f.int32('1+', { default: -1 }),
    memberId: f.string('1+'),
    groupInstanceId: f.string('7+', { nullable: '7+', default: null }),
    retentionTimeMs: f.int64('2-4', { default: -1n }),
    topics: f.array('0+', {
      name: f.string('0+'),
      partitions: f.array('0+', {
        partitionIndex: f.int32('0+'),
        committedOffset: f.int64('0+'),
        committedLeaderEpoch: f.int32('6+', { default: -1 }),
        commitTimestamp: f.int64('1', { default: -1n }),
        committedMetadata: f.string('0+', { nullable: '0+' }),
      }),
    }),
  },
  response: {
    throttleTimeMs: f.int32('3+'),
    topics: f.array('0+', {
      name: f.string('0+'),
      partitions: f.array('0+', {
        partitionIndex: f.int32('0+'),
        errorCode: f.int16('0+'),
      }),
    }),
  },
});
export type OffsetCommitRequest = RequestOf<typeof OffsetCommit>;
export type OffsetCommitResponse = ResponseOf<typeof OffsetCommit>;
