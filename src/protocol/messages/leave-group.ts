import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/**
 * LeaveGroup (13): members leave a consumer group. v0-2 name one `memberId`; v3+ a batch of
 * `members` with a per-member error in the response.
 */
export const LeaveGroup = api({
  apiKey: 13,
  name: 'LeaveGroup',
  versions: '0-5',
  flexible: '4+',
  request: {
    groupId: f.string('0+'),
    memberId: f.string('0-2'),
    members: f.array('3+', {
      memberId: f.string('3+'),
      groupInstanceId: f.string('3+', { nullable: '3+', default: null }),
      reason: f.string('5+', { nullable: '5+', default: null }),
    }),
  },
  response: {
    throttleTimeMs: f.int32('1+'),
    errorCode: f.int16('0+'),
    members: f.array('3+', {
      memberId: f.string('3+'),
      groupInstanceId: f.string('3+', { nullable: '3+' }),
      errorCode: f.int16('3+'),
    }),
  },
});
export type LeaveGroupRequest = RequestOf<typeof LeaveGroup>;
export type LeaveGroupResponse = ResponseOf<typeof LeaveGroup>;
