import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/**
 * CreateTopics (19): create topics with a partition count and replication factor (−1 = broker
 * default) or explicit assignments. v5+ echoes the resulting settings and configs; v7 the topic id.
 */
export const CreateTopics = api({
  apiKey: 19,
  name: 'CreateTopics',
  versions: '0-7',
  flexible: '5+',
  request: {
    topics: f.array('0+', {
      name: f.string('0+'),
      numPartitions: f.int32('0+'),
      replicationFactor: f.int16('0+'),
      assignments: f.array('0+', {
        partitionIndex: f.int32('0+'),
        brokerIds: f.array('0+', 'int32'),
      }),
      configs: f.array('0+', {
        name: f.string('0+'),
        value: f.string('0+', { nullable: '0+' }),
      }),
    }),
    // The spec spells these two in camelCase already.
    timeoutMs: f.int32('0+', { default: 60000 }),
    validateOnly: f.bool('1+'),
  },
  response: {
    throttleTimeMs: f.int32('2+'),
    topics: f.array('0+', {
      name: f.string('0+'),
      topicId: f.uuid('7+'),
      errorCode: f.int16('0+'),
      errorMessage: f.string('1+', { nullable: '1+' }),
      topicConfigErrorCode: f.int16('5+', { tag: 0, taggedVersions: '5+' }),
      numPartitions: f.int32('5+', { default: -1 }),
      replicationFactor: f.int16('5+', { default: -1 }),
      configs: f.array(
        '5+',
        {
          name: f.string('5+'),
          value: f.string('5+', { nullable: '5+' }),
          readOnly: f.bool('5+'),
          configSource: f.int8('5+', { default: -1 }),
          isSensitive: f.bool('5+'),
        },
        { nullable: '5+' },
      ),
    }),
  },
});
export type CreateTopicsRequest = RequestOf<typeof CreateTopics>;
export type CreateTopicsResponse = ResponseOf<typeof CreateTopics>;
