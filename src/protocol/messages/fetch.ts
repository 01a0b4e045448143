import { api, f, type RequestOf, type ResponseOf } from './schema.js';

/**
 * Fetch (1): read record batches from partitions, long-polling up to maxWaitMs. Served as v4-12, so
 * topics go by name (no topic IDs, KIP-516: see metadata.ts); `records` are stored batches sent verbatim.
 */
export const Fetch = api({
  apiKey: 1,
  name: 'Fetch',
  versions: '4-12',
  flexible: '12+',
  request: {
    clusterId: f.string('12+', { nullable: '12+', tag: 0, taggedVersions: '12+', default: null }),
    // Spec: versions 0-14; always present in the versions we serve.
    replicaId: f.int32('0+', { default: -1 }),
    maxWaitMs: f.int32('0+'),
    minBytes: f.int32('0+'),
    maxBytes: f.int32('3+', { default: 2147483647 }),
    isolationLevel: f.int8('4+'),
    sessionId: f.int32('7+'),
    sessionEpoch: f.int32('7+', { default: -1 }),
    topics: f.array('0+', {
      // Spec: versions 0-12 (v13+ replaces it with a topic id).
      topic: f.string('0+'),
      partitions: f.array('0+', {
        partition: f.int32('0+'),
        currentLeaderEpoch: f.int32('9+', { default: -1 }),
        fetchOffset: f.int64('0+'),
        lastFetchedEpoch: f.int32('12+', { default: -1 }),
        logStartOffset: f.int64('5+', { default: -1n }),
        partitionMaxBytes: f.int32('0+'),
      }),
    }),
    forgottenTopicsData: f.array('7+', {
      topic: f.string('7+'),
      partitions: f.array('7+', 'int32'),
    }),
    rackId: f.string('11+'),
  },
  response: {
    throttleTimeMs: f.int32('1+'),
    errorCode: f.int16('7+'),
    sessionId: f.int32('7+'),
    responses: f.array('0+', {
      topic: f.string('0+'),
      partitions: f.array('0+', {
        partitionIndex: f.int32('0+'),
        errorCode: f.int16('0+'),
        highWatermark: f.int64('0+'),
        lastStableOffset: f.int64('4+', { default: -1n }),
        logStartOffset: f.int64('5+', { default: -1n }),
        divergingEpoch: f.struct(
          '12+',
          { epoch: f.int32('12+', { default: -1 }), endOffset: f.int64('12+', { default: -1n }) },
          { tag: 0, taggedVersions: '12+' },
        ),
        currentLeader: f.struct(
          '12+',
          { leaderId: f.int32('12+', { default: -1 }), leaderEpoch: f.int32('12+', { default: -1 }) },
          { tag: 1, taggedVersions: '12+' },
        ),
        snapshotId: f.struct(
          '12+',
          { endOffset: f.int64('12+', { default: -1n }), epoch: f.int32('12+', { default: -1 }) },
          { tag: 2, taggedVersions: '12+' },
        ),
        abortedTransactions: f.array(
          '4+',
          { producerId: f.int64('4+'), firstOffset: f.int64('4+') },
          { nullable: '4+' },
        ),
        preferredReadReplica: f.int32('11+', { default: -1 }),
        records: f.records('0+', { nullable: '0+' }),
      }),
    }),
  },
});
export type FetchRequest = RequestOf<typeof Fetch>;
export type FetchResponse = ResponseOf<typeof Fetch>;
