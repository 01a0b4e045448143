import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/**
 * AddOffsetsToTxn (25): a transactional producer tells its coordinator that the transaction will
 * commit offsets of this consumer group (KIP-98), before it sends them with TxnOffsetCommit. v4 only
 * adds the TRANSACTION_ABORTABLE error of KIP-890 and is not served.
 */
export const AddOffsetsToTxn = api({
  apiKey: 25,
  name: 'AddOffsetsToTxn',
  versions: '0-3',
  flexible: '3+',
  request: {
    transactionalId: f.string('0+'),
    producerId: f.int64('0+'),
    producerEpoch: f.int16('0+'),
    groupId: f.string('0+'),
  },
  response: {
    throttleTimeMs: f.int32('0+'),
    errorCode: f.int16('0+'),
  },
});
export type AddOffsetsToTxnRequest = RequestOf<typeof AddOffsetsToTxn>;
export type AddOffsetsToTxnResponse = ResponseOf<typeof AddOffsetsToTxn>;
