import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/**
 * ListTransactions (66): the transactional ids the coordinator knows (KIP-664), filtered by state and
 * producer id (an empty filter matches everything); v1 adds `durationFilter`, only the transactions
 * running longer than that many milliseconds (KIP-994; negative: no filter). The response is the
 * same in both versions.
 */
export const ListTransactions = api({
  apiKey: 66,
  name: 'ListTransactions',
  versions: '0-1',
  flexible: '0+',
  request: {
    stateFilters: f.array('0+', 'string'),
    producerIdFilters: f.array('0+', 'int64'),
    durationFilter: f.int64('1+', { default: -1n }),
  },
  response: {
    throttleTimeMs: f.int32('0+'),
    errorCode: f.int16('0+'),
    unknownStateFilters: f.array('0+', 'string'),
    transactionStates: f.array('0+', {
      transactionalId: f.string('0+'),
      producerId: f.int64('0+'),
      transactionState: f.string('0+'),
    }),
  },
});
export type ListTransactionsRequest = RequestOf<typeof ListTransactions>;
export type ListTransactionsResponse = ResponseOf<typeof ListTransactions>;
