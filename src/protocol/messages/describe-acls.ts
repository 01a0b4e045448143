import { api, type RequestOf, type ResponseOf } from './schema.js';

// TODO(schema): fields not written yet.
export const DescribeAcls = api({
  apiKey: 29,
  name: 'DescribeAcls',
  versions: '0-3',
  flexible: '2+',
  request: {},
  response: {},
});
export type DescribeAclsRequest = RequestOf<typeof DescribeAcls>;
export type DescribeAclsResponse = ResponseOf<typeof DescribeAcls>;
