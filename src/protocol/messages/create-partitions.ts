import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/**
 * CreatePartitions (37): grows topics to `count` partitions in total (not "add count"). Assignments,
 * if not null, give the replicas of each new partition.
 */
export const CreatePartitions = api({
  apiKey: 37,
  name: 'CreatePartitions',
  versions: '0-3',
  flexible: '2+',
  request: {
    topics: f.array('0+', {
      name: f.string('0+'),
      count: f.int32('0+'),
      assignments: f.array('0+', { brokerIds: f.array('0+', 'int32') }, { nullable: '0+' }),
    }),
    timeoutMs: f.int32('0+'),
    validateOnly: f.bool('0+'),
  },
  response: {
    throttleTimeMs: f.int32('0+'),
    results: f.array('0+', {
      name: f.string('0+'),
      errorCode: f.int16('0+'),
      errorMessage: f.string('0+', { nullable: '0+', default: null }),
    }),
  },
});
export type CreatePartitionsRequest = RequestOf<typeof CreatePartitions>;
export type CreatePartitionsResponse = ResponseOf<typeof CreatePartitions>;
