import { api, type RequestOf, type ResponseOf } from './schema.js';

// TODO(schema): fields not written yet.
export const ListGroups = api({
  apiKey: 16,
  name: 'ListGroups',
  versions: '0-4',
  flexible: '3+',
  request: {},
  response: {},
});
export type ListGroupsRequest = RequestOf<typeof ListGroups>;
export type ListGroupsResponse = ResponseOf<typeof ListGroups>;
