import { api, type RequestOf, type ResponseOf } from './schema.js';

// TODO(schema): fields not written yet.
export const CreateAcls = api({
  apiKey: 30,
  name: 'CreateAcls',
  versions: '0-3',
  flexible: '2+',
  request: {},
  response: {},
});
export type CreateAclsRequest = RequestOf<typeof CreateAcls>;
export type CreateAclsResponse = ResponseOf<typeof CreateAcls>;
