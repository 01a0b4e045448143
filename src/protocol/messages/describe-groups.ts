import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/** DescribeGroups (15): state, protocol and members (with their opaque metadata and assignment) of groups. */
export const DescribeGroups = api({
  apiKey: 15,
  name: 'DescribeGroups',
  versions: '0-5',
  flexible: '5+',
  request: {
    groups: f.array('0+', 'string'),
    includeAuthorizedOperations: f.bool('3+'),
  },
  response: {
    throttleTimeMs: f.int32('1+'),
    groups: f.array('0+', {
      errorCode: f.int16('0+'),
      groupId: f.string('0+'),
      groupState: f.string('0+'),
      protocolType: f.string('0+'),
      protocolData: f.string('0+'),
      members: f.array('0+', {
        memberId: f.string('0+'),
        groupInstanceId: f.string('4+', { nullable: '4+', default: null }),
        clientId: f.string('0+'),
        clientHost: f.string('0+'),
        memberMetadata: f.bytes('0+'),
        memberAssignment: f.bytes('0+'),
      }),
      authorizedOperations: f.int32('3+', { default: -2147483648 }),
    }),
  },
});
export type DescribeGroupsRequest = RequestOf<typeof DescribeGroups>;
export type DescribeGroupsResponse = ResponseOf<typeof DescribeGroups>;
