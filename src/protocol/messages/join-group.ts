import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/**
 * JoinGroup (11): join a classic consumer group and wait for the rebalance. From v4 an unknown member
 * with an empty id is given one and told MEMBER_ID_REQUIRED (79) to rejoin (KIP-394;
 * docs/consumer-groups.md#how-a-rebalance-works).
 */
export const JoinGroup = api({
  apiKey: 11,
  name: 'JoinGroup',
  versions: '0-9',
  flexible: '6+',
  request: {
    groupId: f.string('0+'),
    sessionTimeoutMs: f.int32('0+'),
    rebalanceTimeoutMs: f.int32('1+', { default: -1 }),
    memberId: f.string('0+'),
    groupInstanceId: f.string('5+', { nullable: '5+', default: null }),
    protocolType: f.string('0+'),
    protocols: f.array('0+', {
      name: f.string('0+'),
      metadata: f.bytes('0+'),
    }),
    reason: f.string('8+', { nullable: '8+', default: null }),
  },
  response: {
    throttleTimeMs: f.int32('2+'),
    errorCode: f.int16('0+'),
    generationId: f.int32('0+', { default: -1 }),
    protocolType: f.string('7+', { nullable: '7+', default: null }),
    protocolName: f.string('0+', { nullable: '7+' }),
    leader: f.string('0+'),
    skipAssignment: f.bool('9+'),
    memberId: f.string('0+'),
    // Filled only in the leader's response.
    members: f.array('0+', {
      memberId: f.string('0+'),
      groupInstanceId: f.string('5+', { nullable: '5+', default: null }),
      metadata: f.bytes('0+'),
    }),
  },
});
export type JoinGroupRequest = RequestOf<typeof JoinGroup>;
export type JoinGroupResponse = ResponseOf<typeof JoinGroup>;
