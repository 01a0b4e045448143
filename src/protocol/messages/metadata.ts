import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/**
 * Metadata (3). Served up to v9: v10+ carries topic IDs, and platformatic's Fetch v12 sends the
 * Metadata topic id as the topic name, so Metadata ≤ 9 pairs with Fetch ≤ 12 (topic IDs are KIP-516).
 */
export const Metadata = api({
  apiKey: 3,
  name: 'Metadata',
  versions: '0-9',
  flexible: '9+',
  request: {
    // v0: an empty array means all topics; v1+: null means all topics, empty means none.
    topics: f.array('0+', { name: f.string('0+') }, { nullable: '1+' }),
    allowAutoTopicCreation: f.bool('4+', { default: true }),
    includeClusterAuthorizedOperations: f.bool('8+'),
    includeTopicAuthorizedOperations: f.bool('8+'),
  },
  response: {
    throttleTimeMs: f.int32('3+'),
    brokers: f.array('0+', {
      nodeId: f.int32('0+'),
      host: f.string('0+'),
      port: f.int32('0+'),
      rack: f.string('1+', { nullable: '1+', default: null }),
    }),
    clusterId: f.string('2+', { nullable: '2+', default: null }),
    controllerId: f.int32('1+', { default: -1 }),
    topics: f.array('0+', {
      errorCode: f.int16('0+'),
      name: f.string('0+'),
      isInternal: f.bool('1+', { default: false }),
      partitions: f.array('0+', {
        errorCode: f.int16('0+'),
        partitionIndex: f.int32('0+'),
        leaderId: f.int32('0+'),
        leaderEpoch: f.int32('7+', { default: -1 }),
        replicaNodes: f.array('0+', 'int32'),
        isrNodes: f.array('0+', 'int32'),
        offlineReplicas: f.array('5+', 'int32'),
      }),
      topicAuthorizedOperations: f.int32('8+', { default: -2147483648 }),
    }),
    clusterAuthorizedOperations: f.int32('8+', { default: -2147483648 }),
  },
});
export type MetadataRequest = RequestOf<typeof Metadata>;
export type MetadataResponse = ResponseOf<typeof Metadata>;
