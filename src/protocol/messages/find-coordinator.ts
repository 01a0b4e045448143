import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/**
 * FindCoordinator (10): locate the group (keyType 0) or transaction (1) coordinator; a single
 * broker always answers with itself. v0-3 carry one key, v4 a batch of `coordinatorKeys`.
 */
export const FindCoordinator = api({
  apiKey: 10,
  name: 'FindCoordinator',
  versions: '0-4',
  flexible: '3+',
  request: {
    key: f.string('0-3'),
    keyType: f.int8('1+'),
    coordinatorKeys: f.array('4+', 'string'),
  },
  response: {
    throttleTimeMs: f.int32('1+'),
    errorCode: f.int16('0-3'),
    errorMessage: f.string('1-3', { nullable: '1-3' }),
    nodeId: f.int32('0-3'),
    host: f.string('0-3'),
    port: f.int32('0-3'),
    coordinators: f.array('4+', {
      key: f.string('4+'),
      nodeId: f.int32('4+'),
      host: f.string('4+'),
      port: f.int32('4+'),
      errorCode: f.int16('4+'),
      errorMessage: f.string('4+', { nullable: '4+' }),
    }),
  },
});
export type FindCoordinatorRequest = RequestOf<typeof FindCoordinator>;
export type FindCoordinatorResponse = ResponseOf<typeof FindCoordinator>;
