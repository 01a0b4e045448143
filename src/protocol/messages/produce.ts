import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/**
 * Produce (0): append record batches to partitions. `records` stay raw bytes the codec never parses
 * (the log layer validates them: src/storage/log/append-validation.ts). A request with acks=0 gets no
 * response at all.
 */
export const Produce = api({
  apiKey: 0,
  name: 'Produce',
  versions: '0-9',
  flexible: '9+',
  request: {
    transactionalId: f.string('3+', { nullable: '3+', default: null }),
    acks: f.int16('0+'),
    timeoutMs: f.int32('0+'),
    topicData: f.array('0+', {
      name: f.string('0+'),
      partitionData: f.array('0+', {
        index: f.int32('0+'),
        records: f.records('0+', { nullable: '0+' }),
      }),
    }),
  },
  response: {
    responses: f.array('0+', {
      name: f.string('0+'),
      partitionResponses: f.array('0+', {
        index: f.int32('0+'),
        errorCode: f.int16('0+'),
        baseOffset: f.int64('0+'),
        logAppendTimeMs: f.int64('2+', { default: -1n }),
        logStartOffset: f.int64('5+', { default: -1n }),
        recordErrors: f.array('8+', {
          batchIndex: f.int32('8+'),
          batchIndexErrorMessage: f.string('8+', { nullable: '8+', default: null }),
        }),
        errorMessage: f.string('8+', { nullable: '8+', default: null }),
      }),
    }),
    throttleTimeMs: f.int32('1+'),
  },
});
export type ProduceRequest = RequestOf<typeof Produce>;
export type ProduceResponse = ResponseOf<typeof Produce>;
