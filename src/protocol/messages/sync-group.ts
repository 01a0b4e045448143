import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/**
 * SyncGroup (14): the leader hands in every member's assignment and each member gets its own back.
 * Assignment bytes are opaque to the broker.
 */
export const SyncGroup = api({
  apiKey: 14,
  name: 'SyncGroup',
  versions: '0-5',
  flexible: '4+',
  request: {
    groupId: f.string('0+'),
    generationId: f.int32('0+'),
    memberId: f.string('0+'),
    groupInstanceId: f.string('3+', { nullable: '3+', default: null }),
    protocolType: f.string('5+', { nullable: '5+', default: null }),
    protocolName: f.string('5+', { nullable: '5+', default: null }),
    assignments: f.array('0+', {
      memberId: f.string('0+'),
      assignment: f.bytes('0+'),
    }),
  },
  response: {
    throttleTimeMs: f.int32('1+'),
    errorCode: f.int16('0+'),
    protocolType: f.string('5+', { nullable: '5+', default: null }),
    protocolName: f.string('5+', { nullable: '5+', default: null }),
    assignment: f.bytes('0+'),
  },
});
export type SyncGroupRequest = RequestOf<typeof SyncGroup>;
export type SyncGroupResponse = ResponseOf<typeof SyncGroup>;
