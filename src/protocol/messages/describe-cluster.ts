import { api, type RequestOf, type ResponseOf } from './schema.js';

// TODO(schema): fields not written yet.
export const DescribeCluster = api({
  apiKey: 60,
  name: 'DescribeCluster',
  versions: '0-1',
  flexible: '0+',
  request: {},
  response: {},
});
export type DescribeClusterRequest = RequestOf<typeof DescribeCluster>;
export type DescribeClusterResponse = ResponseOf<typeof DescribeCluster>;
