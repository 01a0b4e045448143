import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/**
 * ListOffsets (2): resolve a timestamp (-1 latest, -2 earliest) to an offset per partition.
 * v0 answers with a list of offsets (`oldStyleOffsets`); v1+ with one timestamp/offset pair.
 */
export const ListOffsets = api({
  apiKey: 2,
  name: 'ListOffsets',
  versions: '0-7',
  flexible: '6+',
  request: {
    replicaId: f.int32('0+'),
    isolationLevel: f.int8('2+'),
    topics: f.array('0+', {
      name: f.string('0+'),
      partitions: f.array('0+', {
        partitionIndex: f.int32('0+'),
        currentLeaderEpoch: f.int32('4+', { default: -1 }),
        timestamp: f.int64('0+'),
        maxNumOffsets: f.int32('0', { default: 1 }),
      }),
    }),
  },
  response: {
    throttleTimeMs: f.int32('2+'),
    topics: f.array('0+', {
      name: f.string('0+'),
      partitions: f.array('0+', {
        partitionIndex: f.int32('0+'),
        errorCode: f.int16('0+'),
        oldStyleOffsets: f.array('0', 'int64'),
        timestamp: f.int64('1+', { default: -1n }),
        offset: f.int64('1+', { default: -1n }),
        leaderEpoch: f.int32('4+', { default: -1 }),
      }),
    }),
  },
});
export type ListOffsetsRequest = RequestOf<typeof ListOffsets>;
export type ListOffsetsResponse = ResponseOf<typeof ListOffsets>;
