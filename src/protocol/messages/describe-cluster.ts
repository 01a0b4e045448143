import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/**
 * DescribeCluster (60): the admin client's view of cluster id, controller and brokers. v1 adds the
 * endpoint type (1 brokers, 2 controllers); −2147483648 means authorized operations weren't asked for.
 */
export const DescribeCluster = api({
  apiKey: 60,
  name: 'DescribeCluster',
  versions: '0-1',
  flexible: '0+',
  request: {
    includeClusterAuthorizedOperations: f.bool('0+'),
    endpointType: f.int8('1+', { default: 1 }),
  },
  response: {
    throttleTimeMs: f.int32('0+'),
    errorCode: f.int16('0+'),
    errorMessage: f.string('0+', { nullable: '0+', default: null }),
    endpointType: f.int8('1+', { default: 1 }),
    clusterId: f.string('0+'),
    controllerId: f.int32('0+', { default: -1 }),
    brokers: f.array('0+', {
      brokerId: f.int32('0+'),
      host: f.string('0+'),
      port: f.int32('0+'),
      rack: f.string('0+', { nullable: '0+', default: null }),
    }),
    clusterAuthorizedOperations: f.int32('0+', { default: -2147483648 }),
  },
});
export type DescribeClusterRequest = RequestOf<typeof DescribeCluster>;
export type DescribeClusterResponse = ResponseOf<typeof DescribeCluster>;
