import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/**
 * Heartbeat (12): a group member's keep-alive; the error code tells it when to rejoin
 * (docs/consumer-groups.md#how-a-rebalance-works).
 */
export const Heartbeat = api({
  apiKey: 12,
  name: 'Heartbeat',
  versions: '0-4',
  flexible: '4+',
  request: {
    groupId: f.string('0+'),
    generationId: f.int32('0+'),
    memberId: f.string('0+'),
    groupInstanceId: f.string('3+', { nullable: '3+', default: null }),
  },
  response: {
    throttleTimeMs: f.int32('1+'),
    errorCode: f.int16('0+'),
  },
});
export type HeartbeatRequest = RequestOf<typeof Heartbeat>;
export type HeartbeatResponse = ResponseOf<typeof Heartbeat>;
