import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isFault } from '../../../../src/errors.js';
import { ErrorCode } from '../../../../src/protocol/error-codes.js';
import { Fetch, type FetchRequest, type FetchResponse } from '../../../../src/protocol/messages/fetch.js';
import { InitProducerId } from '../../../../src/protocol/messages/init-producer-id.js';
import { ListOffsets, type ListOffsetsRequest, type ListOffsetsResponse } from '../../../../src/protocol/messages/list-offsets.js';
import { Metadata, type MetadataRequest, type MetadataResponse } from '../../../../src/protocol/messages/metadata.js';
import { Produce, type ProduceRequest, type ProduceResponse } from '../../../../src/protocol/messages/produce.js';
import { authorizeRequest } from '../../../../src/security/authz/policies/index.js';
import { decoded, grants, list, serve, versionsOf, wire, type Wire } from './policies-helpers.js';

const TOPIC_DENIED = ErrorCode.TOPIC_AUTHORIZATION_FAILED;

// ---- Produce ----

const RECORDS = Buffer.from('not a real batch: policies never parse records');

function produceRequest(version: number, acks: number, topics: Record<string, number[]>, transactionalId: string | null = null): ProduceRequest {
  return decoded(Produce, version, {
    transactionalId,
    acks,
    timeoutMs: 1000,
    topicData: Object.entries(topics).map(([name, partitions]) => ({ name, partitionData: partitions.map((index) => ({ index, records: RECORDS })) })),
  });
}

/** A handler that appends everything it is given at offset 100 + partition. */
function produceHandler(body: ProduceRequest): ProduceResponse {
  return {
    throttleTimeMs: 0,
    responses: body.topicData.map((t) => ({
      name: t.name,
      partitionResponses: t.partitionData.map((p) => ({ index: p.index, errorCode: 0, baseOffset: BigInt(100 + p.index), logAppendTimeMs: -1n, logStartOffset: 0n, recordErrors: [], errorMessage: null })),
    })),
  };
}

const producedCodes = (response: Record<string, unknown>) =>
  list(response.responses).map((t) => [t.name, list(t.partitionResponses).map((p) => [p.index, p.errorCode, p.baseOffset])]);

describe('Produce policy', () => {
  it('forwards the request itself when every topic may be written', () => {
    const check = grants('WRITE:TOPIC:a', 'WRITE:TOPIC:b');
    const body = produceRequest(9, -1, { a: [0], b: [0, 1] });
    const { outcome } = serve(Produce, 9, body, check, produceHandler);
    assert.equal(outcome.kind, 'forward');
    assert.equal(outcome.body, body);
    assert.equal(outcome.finish, undefined);
    assert.deepEqual(check.asked, ['WRITE:TOPIC:a', 'WRITE:TOPIC:b']);
  });

  it('hands the handler only the allowed topics and merges 29 for each partition of the others, in request order', () => {
    for (const version of versionsOf(Produce)) {
      const body = produceRequest(version, 1, { denied1: [0, 1], ok: [2], denied2: [5] });
      const pristine = produceRequest(version, 1, { denied1: [0, 1], ok: [2], denied2: [5] });
      const { forwarded, response } = serve(Produce, version, body, grants('WRITE:TOPIC:ok'), produceHandler);
      assert.deepEqual(forwarded?.topicData.map((t) => t.name), ['ok']);
      assert.equal(forwarded.topicData[0], body.topicData[1], 'allowed items are forwarded untouched');
      assert.deepEqual(body, pristine, 'the original request is not modified');
      assert.deepEqual(producedCodes(wire(Produce, version, response)), [
        ['denied1', [[0, TOPIC_DENIED, -1n], [1, TOPIC_DENIED, -1n]]],
        ['ok', [[2, 0, 102n]]],
        ['denied2', [[5, TOPIC_DENIED, -1n]]],
      ]);
    }
  });

  it('answers without the handler when no topic may be written, at every version', () => {
    for (const version of versionsOf(Produce)) {
      const { outcome, response } = serve(Produce, version, produceRequest(version, -1, { x: [0], y: [3] }), grants('WRITE:TOPIC:z'));
      assert.equal(outcome.kind, 'respond');
      const w = wire(Produce, version, response);
      assert.deepEqual(producedCodes(w), [['x', [[0, TOPIC_DENIED, -1n]]], ['y', [[3, TOPIC_DENIED, -1n]]]]);
      if (version >= 5) assert.equal(list(list(w.responses)[0]?.partitionResponses)[0]?.logStartOffset, -1n);
    }
  });

  it('closes the connection (PRODUCE_REJECTED) for an acks=0 produce with any denied topic', () => {
    const body = produceRequest(7, 0, { ok: [0], no: [0] });
    assert.throws(
      () => authorizeRequest(Produce.apiKey, body, 7, grants('WRITE:TOPIC:ok')),
      (err) => isFault(err, 'PRODUCE_REJECTED') && err.context.kafkaErrorCode === TOPIC_DENIED && err.message.includes('no'),
    );
    const allowed = authorizeRequest(Produce.apiKey, body, 7, grants('WRITE:TOPIC:ok', 'WRITE:TOPIC:no'));
    assert.equal(allowed.kind, 'forward');
  });

  it('refuses every partition with 53 when the transactional id may not be written, checking no topic', () => {
    for (const version of [3, 9]) {
      const check = grants('WRITE:TOPIC:a');
      const { outcome, response } = serve(Produce, version, produceRequest(version, -1, { a: [0, 1] }, 'txn-1'), check);
      assert.equal(outcome.kind, 'respond');
      assert.deepEqual(producedCodes(wire(Produce, version, response)), [['a', [[0, 53, -1n], [1, 53, -1n]]]]);
      assert.deepEqual(check.asked, ['WRITE:TRANSACTIONAL_ID:txn-1']);
    }
    assert.throws(
      () => authorizeRequest(Produce.apiKey, produceRequest(9, 0, { a: [0] }, 'txn-1'), 9, grants('WRITE:TOPIC:a')),
      (err) => isFault(err, 'PRODUCE_REJECTED') && err.context.kafkaErrorCode === ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    );
  });

  it('checks topics as usual once the transactional id is allowed', () => {
    const { response } = serve(Produce, 9, produceRequest(9, -1, { a: [0], b: [0] }, 'txn-1'), grants('WRITE:TRANSACTIONAL_ID:txn-1', 'WRITE:TOPIC:a'), produceHandler);
    assert.deepEqual(producedCodes(wire(Produce, 9, response)), [['a', [[0, 0, 100n]]], ['b', [[0, TOPIC_DENIED, -1n]]]]);
  });

  it('asks once per topic however often the request names it', () => {
    const check = grants();
    const body = decoded(Produce, 9, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 1,
      topicData: [{ name: 't', partitionData: [{ index: 0, records: null }] }, { name: 't', partitionData: [{ index: 1, records: null }] }],
    });
    const { response } = serve(Produce, 9, body, check);
    assert.deepEqual(check.asked, ['WRITE:TOPIC:t']);
    assert.deepEqual(producedCodes(wire(Produce, 9, response)), [['t', [[0, TOPIC_DENIED, -1n]]], ['t', [[1, TOPIC_DENIED, -1n]]]]);
  });
});

// ---- Fetch ----

function fetchRequest(version: number, topics: Record<string, number[]>, extra: { replicaId?: number; isolationLevel?: number; sessionId?: number } = {}): FetchRequest {
  return decoded(Fetch, version, {
    replicaId: extra.replicaId ?? -1,
    maxWaitMs: 500,
    minBytes: 1,
    maxBytes: 1 << 20,
    isolationLevel: extra.isolationLevel ?? 0,
    sessionId: extra.sessionId ?? 0,
    sessionEpoch: -1,
    topics: Object.entries(topics).map(([topic, partitions]) => ({
      topic,
      partitions: partitions.map((partition) => ({ partition, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1000 })),
    })),
    forgottenTopicsData: [],
    rackId: '',
  });
}

const FETCHED = Buffer.from('batches');

function fetchHandler(body: FetchRequest): FetchResponse {
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 0,
    responses: body.topics.map((t) => ({
      topic: t.topic,
      partitions: t.partitions.map((p) => ({ partitionIndex: p.partition, errorCode: 0, highWatermark: 10n, lastStableOffset: 10n, logStartOffset: 0n, abortedTransactions: null, records: FETCHED })),
    })),
  };
}

const fetchedPartitions = (response: Wire): Wire[] => list(response.responses).flatMap((t) => list(t.partitions).map((p): Wire => ({ topic: t.topic, ...p })));

describe('Fetch policy', () => {
  it('merges 29 with no offsets and no records for topics without READ, at every version', () => {
    for (const version of versionsOf(Fetch)) {
      const { forwarded, response } = serve(Fetch, version, fetchRequest(version, { secret: [0], mine: [0, 1] }), grants('READ:TOPIC:mine'), fetchHandler);
      assert.deepEqual(forwarded?.topics.map((t) => t.topic), ['mine']);
      const parts = fetchedPartitions(wire(Fetch, version, response));
      assert.deepEqual(parts.map((p) => [p.topic, p.partitionIndex, p.errorCode]), [['secret', 0, TOPIC_DENIED], ['mine', 0, 0], ['mine', 1, 0]]);
      const denied = parts[0];
      assert.equal(denied?.highWatermark, -1n);
      assert.equal(denied.lastStableOffset, -1n);
      assert.equal(denied.logStartOffset, -1n);
      assert.deepEqual(denied.records, Buffer.alloc(0), 'an empty record set, never null (librdkafka)');
      assert.deepEqual(parts[1]?.records, FETCHED);
    }
  });

  it('gives read_committed consumers an empty aborted-transactions list, as the handler does', () => {
    const { response } = serve(Fetch, 11, fetchRequest(11, { secret: [0], mine: [0] }, { isolationLevel: 1 }), grants('READ:TOPIC:mine'), fetchHandler);
    assert.deepEqual(fetchedPartitions(wire(Fetch, 11, response))[0]?.abortedTransactions, []);
  });

  it('answers at once, without the handler, when no topic may be read', () => {
    for (const version of versionsOf(Fetch)) {
      const { outcome, response } = serve(Fetch, version, fetchRequest(version, { a: [0, 1] }), grants());
      assert.equal(outcome.kind, 'respond');
      const w = wire(Fetch, version, response);
      if (version >= 7) assert.deepEqual([w.errorCode, w.sessionId], [0, 0]);
      assert.deepEqual(fetchedPartitions(w).map((p) => p.errorCode), [TOPIC_DENIED, TOPIC_DENIED]);
    }
  });

  it('leaves a top-level error (an unknown fetch session) alone', () => {
    const { response } = serve(Fetch, 12, fetchRequest(12, { a: [0], b: [0] }, { sessionId: 5 }), grants('READ:TOPIC:a'), () => ({
      throttleTimeMs: 0,
      errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND,
      sessionId: 0,
      responses: [],
    }));
    assert.deepEqual(response.responses, []);
    assert.equal(response.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  });

  it('lets a follower with CLUSTER_ACTION fetch without per-topic checks', () => {
    const check = grants('CLUSTER_ACTION:CLUSTER:kafka-cluster');
    const body = fetchRequest(12, { a: [0] }, { replicaId: 2 });
    const { outcome } = serve(Fetch, 12, body, check, fetchHandler);
    assert.equal(outcome.kind === 'forward' ? outcome.body : null, body);
    assert.deepEqual(check.asked, ['CLUSTER_ACTION:CLUSTER:kafka-cluster']);
  });

  it('refuses every partition of a follower fetch without CLUSTER_ACTION, even with READ', () => {
    const { outcome, response } = serve(Fetch, 12, fetchRequest(12, { a: [0], b: [1] }, { replicaId: 0 }), grants('READ:TOPIC:a', 'READ:TOPIC:b'));
    assert.equal(outcome.kind, 'respond');
    assert.deepEqual(fetchedPartitions(wire(Fetch, 12, response)).map((p) => p.errorCode), [TOPIC_DENIED, TOPIC_DENIED]);
  });
});

// ---- ListOffsets ----

function listOffsetsHandler(body: ListOffsetsRequest): ListOffsetsResponse {
  return {
    throttleTimeMs: 0,
    topics: body.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: 0, oldStyleOffsets: [42n], timestamp: -1n, offset: 42n, leaderEpoch: 0 })),
    })),
  };
}

describe('ListOffsets policy', () => {
  it('merges 29 for topics without DESCRIBE at every version, and answers itself when none is allowed', () => {
    for (const version of versionsOf(ListOffsets)) {
      const request = (topics: string[]) =>
        decoded(ListOffsets, version, {
          replicaId: -1,
          isolationLevel: 0,
          topics: topics.map((name) => ({ name, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 }] })),
        });
      const { response } = serve(ListOffsets, version, request(['no', 'yes']), grants('DESCRIBE:TOPIC:yes'), listOffsetsHandler);
      const parts = list(wire(ListOffsets, version, response).topics).map((t): Wire => ({ name: t.name, ...list(t.partitions)[0] }));
      assert.deepEqual(parts.map((p) => [p.name, p.errorCode]), [['no', TOPIC_DENIED], ['yes', 0]]);
      if (version === 0) assert.deepEqual(parts[0]?.oldStyleOffsets, []);
      else assert.deepEqual([parts[0]?.offset, parts[0]?.timestamp], [-1n, -1n]);

      const alone = serve(ListOffsets, version, request(['no']), grants());
      assert.equal(alone.outcome.kind, 'respond');
      wire(ListOffsets, version, alone.response);
    }
  });
});

// ---- Metadata ----

const ALL_TOPICS = ['public', 'secret', 'shared'];

/** The handler: lists every topic when asked for all, else each requested one (unknown ones with 3), and records auto-creation. */
function metadataHandler(version: number, created: string[] = []) {
  const entry = (name: string) => ({
    errorCode: 0,
    name,
    isInternal: false,
    partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 1, leaderEpoch: 0, replicaNodes: [1], isrNodes: [1], offlineReplicas: [] }],
  });
  return (body: MetadataRequest): MetadataResponse => {
    const all = body.topics === null || (version === 0 && body.topics.length === 0);
    const topics = all
      ? ALL_TOPICS.map(entry)
      : (body.topics ?? []).map(({ name }) => {
          if (ALL_TOPICS.includes(name)) return entry(name);
          if (body.allowAutoTopicCreation ?? true) {
            created.push(name);
            return entry(name);
          }
          return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name, isInternal: false, partitions: [] };
        });
    return { throttleTimeMs: 0, brokers: [{ nodeId: 1, host: 'localhost', port: 9092, rack: null }], clusterId: 'c', controllerId: 1, topics };
  };
}

const metadataRequest = (version: number, topics: string[] | null, allowAutoTopicCreation = true) =>
  decoded(Metadata, version, {
    topics: topics?.map((name) => ({ name })) ?? null,
    allowAutoTopicCreation,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  });

const metadataTopics = (version: number, response: MetadataResponse) =>
  list(wire(Metadata, version, response).topics).map((t) => [t.name, t.errorCode, list(t.partitions).length]);

describe('Metadata policy', () => {
  it('leaves out of "all topics" what may not be described, without auditing those denials', () => {
    for (const version of versionsOf(Metadata)) {
      const check = grants('DESCRIBE:TOPIC:public', 'DESCRIBE:TOPIC:shared');
      const { response } = serve(Metadata, version, metadataRequest(version, version === 0 ? [] : null), check, metadataHandler(version));
      assert.deepEqual(metadataTopics(version, response), [['public', 0, 1], ['shared', 0, 1]]);
      assert.ok(check.asked.every((q) => q.endsWith('(quiet)')), check.asked.join());
    }
  });

  it('answers named topics without DESCRIBE with 29 and no partitions, in request order', () => {
    for (const version of versionsOf(Metadata)) {
      const check = grants('DESCRIBE:TOPIC:public', 'CREATE:CLUSTER:kafka-cluster');
      const { response } = serve(Metadata, version, metadataRequest(version, ['secret', 'public', 'shared']), check, metadataHandler(version));
      assert.deepEqual(metadataTopics(version, response), [['secret', TOPIC_DENIED, 0], ['public', 0, 1], ['shared', TOPIC_DENIED, 0]]);
      assert.ok(check.asked.includes('DESCRIBE:TOPIC:secret'), 'a requested topic is an audited check');
    }
  });

  it('never turns a v0 request whose topics are all denied into "all topics"', () => {
    const { forwarded, response } = serve(Metadata, 0, metadataRequest(0, ['secret']), grants(), metadataHandler(0));
    assert.deepEqual(forwarded?.topics, []);
    assert.deepEqual(metadataTopics(0, response), [['secret', TOPIC_DENIED, 0]]);
  });

  it('forwards an empty list (v1+: no topics) unchanged', () => {
    const body = metadataRequest(4, []);
    const { outcome } = serve(Metadata, 4, body, grants(), metadataHandler(4));
    assert.equal(outcome.kind === 'forward' ? outcome.body : null, body);
  });

  it('lets the handler auto-create only with CREATE on the cluster or on every requested topic', () => {
    const cases: [string[], boolean][] = [
      [['CREATE:CLUSTER:kafka-cluster'], true],
      [['CREATE:TOPIC:new1', 'CREATE:TOPIC:new2'], true],
      [['CREATE:TOPIC:new1'], false],
      [[], false],
    ];
    for (const version of [0, 3, 4, 9]) {
      for (const [extra, creates] of cases) {
        const created: string[] = [];
        const check = grants('DESCRIBE:TOPIC:new1', 'DESCRIBE:TOPIC:new2', ...extra);
        const { forwarded, response } = serve(Metadata, version, metadataRequest(version, ['new1', 'new2']), check, metadataHandler(version, created));
        assert.equal(forwarded?.allowAutoTopicCreation, creates, `v${version} ${extra.join()}`);
        assert.deepEqual(created, creates ? ['new1', 'new2'] : []);
        const codes = metadataTopics(version, response).map(([, code]) => code);
        assert.deepEqual(codes, creates ? [0, 0] : [3, 3]);
        assert.ok(check.asked.filter((q) => q.startsWith('CREATE')).every((q) => q.endsWith('(quiet)')));
      }
    }
  });

  it('asks nothing about creation when the client did not ask for it', () => {
    const check = grants('DESCRIBE:TOPIC:new1');
    const body = metadataRequest(9, ['new1'], false);
    const { outcome } = serve(Metadata, 9, body, check, metadataHandler(9));
    assert.equal(outcome.kind === 'forward' ? outcome.body : null, body);
    assert.deepEqual(check.asked, ['DESCRIBE:TOPIC:new1']);
  });
});

// ---- InitProducerId ----

describe('InitProducerId policy', () => {
  const request = (version: number, transactionalId: string | null) =>
    decoded(InitProducerId, version, { transactionalId, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });

  it('lets an idempotent producer in with IDEMPOTENT_WRITE on the cluster or WRITE on some topic (KIP-679)', () => {
    for (const grant of ['IDEMPOTENT_WRITE:CLUSTER:kafka-cluster', 'WRITE:TOPIC:anything']) {
      const body = request(4, null);
      const outcome = authorizeRequest(InitProducerId.apiKey, body, 4, grants(grant));
      assert.equal(outcome.kind === 'forward' ? outcome.body : null, body, grant);
    }
  });

  it('refuses an idempotent producer with neither with 31, at every version', () => {
    for (const version of versionsOf(InitProducerId)) {
      const { outcome, response } = serve(InitProducerId, version, request(version, null), grants('READ:TOPIC:x'));
      assert.equal(outcome.kind, 'respond');
      const w = wire(InitProducerId, version, response);
      assert.deepEqual([w.errorCode, w.producerId, w.producerEpoch], [ErrorCode.CLUSTER_AUTHORIZATION_FAILED, -1n, -1]);
    }
  });

  it('needs WRITE on a transactional id, else 53', () => {
    const allowed = authorizeRequest(InitProducerId.apiKey, request(4, 'tx'), 4, grants('WRITE:TRANSACTIONAL_ID:tx'));
    assert.equal(allowed.kind, 'forward');
    for (const version of versionsOf(InitProducerId)) {
      const check = grants('IDEMPOTENT_WRITE:CLUSTER:kafka-cluster', 'WRITE:TRANSACTIONAL_ID:other');
      const { response } = serve(InitProducerId, version, request(version, 'tx'), check);
      assert.equal(wire(InitProducerId, version, response).errorCode, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
      assert.deepEqual(check.asked, ['WRITE:TRANSACTIONAL_ID:tx']);
    }
  });
});
