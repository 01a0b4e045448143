import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/**
 * EndTxn (26): commit (`committed` true) or abort the producer's ongoing transaction (KIP-98). Not
 * served: v4, which only adds KIP-890's TRANSACTION_ABORTABLE error, and v5 (KIP-890 part 2), whose
 * coordinator bumps the epoch at the end of every transaction and returns the producer id and epoch.
 */
export const EndTxn = api({
  apiKey: 26,
  name: 'EndTxn',
  versions: '0-3',
  flexible: '3+',
  request: {
    transactionalId: f.string('0+'),
    producerId: f.int64('0+'),
    producerEpoch: f.int16('0+'),
    committed: f.bool('0+'),
  },
  response: {
    throttleTimeMs: f.int32('0+'),
    errorCode: f.int16('0+'),
  },
});
export type EndTxnRequest = RequestOf<typeof EndTxn>;
export type EndTxnResponse = ResponseOf<typeof EndTxn>;
