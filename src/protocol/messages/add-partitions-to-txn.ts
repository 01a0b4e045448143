import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/**
 * AddPartitionsToTxn (24): a transactional producer names the partitions it is about to write to in
 * its ongoing transaction (KIP-98), before its first Produce to each. v0-3 are the client's versions
 * and carry one transaction, so their fields keep the spec's `V3AndBelow…` names. v4+ (KIP-890) are
 * broker-to-broker: a batch of transactions, each with a `verifyOnly` flag, and a top-level error
 * code; they need CLUSTER_ACTION and are not served, so a client negotiates down to v3 at most.
 */
export const AddPartitionsToTxn = api({
  apiKey: 24,
  name: 'AddPartitionsToTxn',
  versions: '0-3',
  flexible: '3+',
  request: {
    v3AndBelowTransactionalId: f.string('0-3'),
    v3AndBelowProducerId: f.int64('0-3'),
    v3AndBelowProducerEpoch: f.int16('0-3'),
    v3AndBelowTopics: f.array('0-3', {
      name: f.string('0+'),
      partitions: f.array('0+', 'int32'),
    }),
  },
  response: {
    throttleTimeMs: f.int32('0+'),
    resultsByTopicV3AndBelow: f.array('0-3', {
      name: f.string('0+'),
      resultsByPartition: f.array('0+', {
        partitionIndex: f.int32('0+'),
        partitionErrorCode: f.int16('0+'),
      }),
    }),
  },
});
export type AddPartitionsToTxnRequest = RequestOf<typeof AddPartitionsToTxn>;
export type AddPartitionsToTxnResponse = ResponseOf<typeof AddPartitionsToTxn>;
