import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/** DeleteGroups (42): deletes empty consumer groups and their offsets (NON_EMPTY_GROUP 68 otherwise). */
export const DeleteGroups = api({
  apiKey: 42,
  name: 'DeleteGroups',
  versions: '0-2',
  flexible: '2+',
  request: {
    // Sic: the spec's field is "GroupsNames".
    groupsNames: f.array('0+', 'string'),
  },
  response: {
    throttleTimeMs: f.int32('0+'),
    results: f.array('0+', {
      groupId: f.string('0+'),
      errorCode: f.int16('0+'),
    }),
  },
});
export type DeleteGroupsRequest = RequestOf<typeof DeleteGroups>;
export type DeleteGroupsResponse = ResponseOf<typeof DeleteGroups>;
