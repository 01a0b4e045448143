import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/**
 * OffsetFetch (9): read a group's committed offsets (uncommitted → offset -1, no error). v0-7 ask
 * for one group; v8 batches several in `groups[]`. A null topic list (v2+) means all topics.
 */
export const OffsetFetch = api({
  apiKey: 9,
  name: 'OffsetFetch',
  versions: '0-8',
  flexible: '6+',
  request: {
    groupId: f.string('0-7'),
    topics: f.array('0-7', { name: f.string('0-7'), partitionIndexes: f.array('0-7', 'int32') }, { nullable: '2-7' }),
    groups: f.array('8+', {
      groupId: f.string('8+'),
      topics: f.array('8+', { name: f.string('8+'), partitionIndexes: f.array('8+', 'int32') }, { nullable: '8+' }),
    }),
    requireStable: f.bool('7+'),
  },
  response: {
    throttleTimeMs: f.int32('3+'),
    topics: f.array('0-7', {
      name: f.string('0-7'),
      partitions: f.array('0-7', {
        partitionIndex: f.int32('0-7'),
        committedOffset: f.int64('0-7'),
        committedLeaderEpoch: f.int32('5-7', { default: -1 }),
        metadata: f.string('0-7', { nullable: '0-7' }),
        errorCode: f.int16('0-7'),
      }),
    }),
    errorCode: f.int16('2-7'),
    groups: f.array('8+', {
      groupId: f.string('8+'),
      topics: f.array('8+', {
        name: f.string('8+'),
        partitions: f.array('8+', {
          partitionIndex: f.int32('8+'),
          committedOffset: f.int64('8+'),
          committedLeaderEpoch: f.int32('8+', { default: -1 }),
          metadata: f.string('8+', { nullable: '8+' }),
          errorCode: f.int16('8+'),
        }),
      }),
      errorCode: f.int16('8+'),
    }),
  },
});
export type OffsetFetchRequest = RequestOf<typeof OffsetFetch>;
export type OffsetFetchResponse = ResponseOf<typeof OffsetFetch>;
