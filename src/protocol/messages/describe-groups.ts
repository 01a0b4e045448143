import { api, type RequestOf, type ResponseOf } from './schema.js';

// TODO(schema): fields not written yet.
export const DescribeGroups = api({
  apiKey: 15,
  name: 'DescribeGroups',
  versions: '0-5',
  flexible: '5+',
  request: {},
  response: {},
});
export type DescribeGroupsRequest = RequestOf<typeof DescribeGroups>;
export type DescribeGroupsResponse = ResponseOf<typeof DescribeGroups>;
