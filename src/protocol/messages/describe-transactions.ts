import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/**
 * DescribeTransactions (65): the coordinator's state of each named transactional id (KIP-664): its
 * state, timeout, start time, producer id and epoch, and the partitions of its ongoing transaction.
 */
export const DescribeTransactions = api({
  apiKey: 65,
  name: 'DescribeTransactions',
  versions: '0',
  flexible: '0+',
  request: {
    transactionalIds: f.array('0+', 'string'),
  },
  response: {
    throttleTimeMs: f.int32('0+'),
    transactionStates: f.array('0+', {
      errorCode: f.int16('0+'),
      transactionalId: f.string('0+'),
      transactionState: f.string('0+'),
      transactionTimeoutMs: f.int32('0+'),
      transactionStartTimeMs: f.int64('0+'),
      producerId: f.int64('0+'),
      producerEpoch: f.int16('0+'),
      topics: f.array('0+', {
        topic: f.string('0+'),
        partitions: f.array('0+', 'int32'),
      }),
    }),
  },
});
export type DescribeTransactionsRequest = RequestOf<typeof DescribeTransactions>;
export type DescribeTransactionsResponse = ResponseOf<typeof DescribeTransactions>;
