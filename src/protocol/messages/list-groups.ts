import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/** ListGroups (16): every group the broker coordinates; v4 can filter by state (empty filter = all). */
export const ListGroups = api({
  apiKey: 16,
  name: 'ListGroups',
  versions: '0-4',
  flexible: '3+',
  request: {
    statesFilter: f.array('4+', 'string'),
  },
  response: {
    throttleTimeMs: f.int32('1+'),
    errorCode: f.int16('0+'),
    groups: f.array('0+', {
      groupId: f.string('0+'),
      protocolType: f.string('0+'),
      groupState: f.string('4+'),
    }),
  },
});
export type ListGroupsRequest = RequestOf<typeof ListGroups>;
export type ListGroupsResponse = ResponseOf<typeof ListGroups>;
