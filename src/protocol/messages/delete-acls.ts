import { api, type RequestOf, type ResponseOf } from './schema.js';

// TODO(schema): fields not written yet.
export const DeleteAcls = api({
  apiKey: 31,
  name: 'DeleteAcls',
  versions: '0-3',
  flexible: '2+',
  request: {},
  response: {},
});
export type DeleteAclsRequest = RequestOf<typeof DeleteAcls>;
export type DeleteAclsResponse = ResponseOf<typeof DeleteAcls>;
