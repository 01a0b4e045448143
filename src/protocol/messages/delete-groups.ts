import { api, type RequestOf, type ResponseOf } from './schema.js';

// TODO(schema): fields not written yet.
export const DeleteGroups = api({
  apiKey: 42,
  name: 'DeleteGroups',
  versions: '0-2',
  flexible: '2+',
  request: {},
  response: {},
});
export type DeleteGroupsRequest = RequestOf<typeof DeleteGroups>;
export type DeleteGroupsResponse = ResponseOf<typeof DeleteGroups>;
