import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/**
 * InitProducerId (22): hands an idempotent or transactional producer its id and epoch. v3+ may send
 * its current id/epoch (−1 when it has none) to have the epoch bumped instead (KIP-360).
 */
export const InitProducerId = api({
  apiKey: 22,
  name: 'InitProducerId',
  versions: '0-4',
  flexible: '2+',
  request: {
    transactionalId: f.string('0+', { nullable: '0+' }),
    transactionTimeoutMs: f.int32('0+'),
    producerId: f.int64('3+', { default: -1n }),
    producerEpoch: f.int16('3+', { default: -1 }),
  },
  response: {
    throttleTimeMs: f.int32('0+'),
    errorCode: f.int16('0+'),
    producerId: f.int64('0+', { default: -1n }),
    producerEpoch: f.int16('0+'),
  },
});
export type InitProducerIdRequest = RequestOf<typeof InitProducerId>;
export type InitProducerIdResponse = ResponseOf<typeof InitProducerId>;
