import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { fetchHandler } from '../../../../../src/broker/handlers/fetch/fetch.js';
import { WaitingFetches } from '../../../../../src/broker/handlers/fetch/waiting-fetches.js';
import { ErrorCode } from '../../../../../src/protocol/error-codes.js';
import type { FetchRequest, FetchResponse } from '../../../../../src/protocol/messages/fetch.js';
import { readBatchHeader, splitBatches } from '../../../../../src/records/batch.js';
import { buildBatchSync } from '../../../../../src/records/record.js';
import type { RequestContext } from '../../../../../src/server/handler.js';
import { LogManager } from '../../../../../src/storage/log/log-manager.js';
import { testRequestContext } from '../../../../helpers/request-context.js';
import { T0, appendTo, configSource, defer, makeBatch, recordingLogger, tempDir } from '../../../storage/log/helpers.js';

type FetchPartition = FetchRequest['topics'][number]['partitions'][number];

function entry(partition: number, fetchOffset: bigint, partitionMaxBytes = 1 << 20): FetchPartition {
  return { partition, currentLeaderEpoch: -1, fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes };
}

function request(topics: FetchRequest['topics'], options: { maxWaitMs?: number; minBytes?: number; maxBytes?: number; isolationLevel?: number } = {}): FetchRequest {
  return {
    clusterId: null,
    replicaId: -1,
    maxWaitMs: options.maxWaitMs ?? 0,
    minBytes: options.minBytes ?? 1,
    maxBytes: options.maxBytes ?? 1 << 20,
    isolationLevel: options.isolationLevel ?? 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics,
    forgottenTopicsData: [],
    rackId: '',
  };
}

/** A log manager whose reads are recorded, the fetch handler over it, and a way to call it. */
function setup(t: TestContext, options: { maxWaitMs?: number; maxResponseBytes?: number; responseRoom?: () => number } = {}) {
  const allocated: number[] = [];
  const logs = new LogManager({
    dataDir: tempDir(t),
    logger: recordingLogger(),
    configs: configSource(),
    clock: () => T0,
    allocate: (size) => (allocated.push(size), Buffer.allocUnsafe(size)),
    // Every transactional batch is admitted: the coordinator's part is not under test here.
    transactionGuard: () => null,
  });
  defer(t, () => logs.close());
  const shutdown = new AbortController();
  const waiting = new WaitingFetches(logs, shutdown.signal);
  const limits = { maxResponseBytes: options.maxResponseBytes ?? 55 * 1024 * 1024, maxWaitMs: options.maxWaitMs ?? 5000 };
  const handler = fetchHandler({ logs, waiting, ...limits, ...(options.responseRoom === undefined ? {} : { responseRoom: options.responseRoom }) });
  const fetch = async (body: FetchRequest, connection = new AbortController()): Promise<FetchResponse | null> => {
    const ctx: RequestContext = testRequestContext({
      header: { apiKey: 1, apiVersion: 12, correlationId: 1, clientId: 'test' },
      listener: { host: '127.0.0.1', port: 9092 },
      connectionId: 1,
      clientHost: '/127.0.0.1',
      connectionClosed: connection.signal,
      throttle: () => undefined,
    });
    return (await handler.handle(body, ctx)) as FetchResponse | null;
  };
  return { logs, waiting, allocated, shutdown, fetch };
}

function partitionsOf(response: FetchResponse | null): FetchResponse['responses'][number]['partitions'] {
  assert.ok(response !== null);
  return response.responses.flatMap((r) => r.partitions);
}

function baseOffsets(records: Buffer | null | undefined): bigint[] {
  return splitBatches(records ?? Buffer.alloc(0)).map((b) => readBatchHeader(b).baseOffset);
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('Fetch: a partition named many times is one entry (as Kafka: the fetch data is a map by topic-partition)', () => {
  it('reads a partition named 2,000 times once and answers it once', async (t) => {
    const { logs, allocated, fetch } = setup(t);
    const [p0, p1] = logs.openTopic({ name: 't', id: 'id', partitions: 2 });
    assert.ok(p0 !== undefined && p1 !== undefined);
    const batch = makeBatch(3, { valueBytes: 50 });
    await appendTo(logs, p0, batch);
    await appendTo(logs, p1, makeBatch(1));
    const duplicates = Array.from({ length: 2000 }, () => entry(0, 0n));
    const response = await fetch(request([{ topic: 't', partitions: [...duplicates, entry(1, 0n)] }, { topic: 't', partitions: duplicates }]));
    assert.ok(response !== null);
    assert.equal(response.responses.length, 1, 'one topic entry');
    assert.deepEqual(
      response.responses[0]?.partitions.map((p) => [p.partitionIndex, p.errorCode, baseOffsets(p.records)]),
      [
        [0, 0, [0n]],
        [1, 0, [0n]],
      ],
    );
    assert.equal(allocated.length, 2, 'one read per partition');
    assert.equal(allocated[0], batch.bytes.length, 'sized by the data, not by the 1 MiB asked for');
  });

  it('keeps the last mention’s parameters in the place of the first (FetchRequest.fetchData’s LinkedHashMap)', async (t) => {
    const { logs, fetch } = setup(t);
    const [p0, p1] = logs.openTopic({ name: 't', id: 'id', partitions: 2 });
    const [q0] = logs.openTopic({ name: 'u', id: 'id2', partitions: 1 });
    assert.ok(p0 !== undefined && p1 !== undefined && q0 !== undefined);
    for (let i = 0; i < 3; i++) await appendTo(logs, p0, makeBatch(1));
    await appendTo(logs, p1, makeBatch(1));
    await appendTo(logs, q0, makeBatch(1));
    const response = await fetch(request([{ topic: 't', partitions: [entry(0, 0n), entry(1, 0n)] }, { topic: 'u', partitions: [entry(0, 0n)] }, { topic: 't', partitions: [entry(0, 2n), entry(5, 0n)] }]));
    assert.ok(response !== null);
    assert.deepEqual(
      response.responses.map((r) => [r.topic, r.partitions.map((p) => [p.partitionIndex, p.errorCode, baseOffsets(p.records)])]),
      [
        ['t', [[0, 0, [2n]], [1, 0, [0n]]]],
        ['u', [[0, 0, [0n]]]],
        ['t', [[5, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, []]]],
      ],
    );
  });

  it('spends one response budget over the partitions: the smaller of max_bytes and the broker’s limit', async (t) => {
    const { logs, allocated, fetch } = setup(t, { maxResponseBytes: 2500 });
    const parts = logs.openTopic({ name: 't', id: 'id', partitions: 3 });
    const batch = makeBatch(1, { valueBytes: 1000 });
    const size = batch.bytes.length;
    for (const log of parts) await appendTo(logs, log, makeBatch(1, { valueBytes: 1000 }));
    const all = [entry(0, 0n), entry(1, 0n), entry(2, 0n)];
    const capped = partitionsOf(await fetch(request([{ topic: 't', partitions: all }], { maxBytes: 1 << 30 })));
    assert.deepEqual(capped.map((p) => baseOffsets(p.records).length), [1, 1, 0], 'the broker’s 2500 bytes hold two batches');
    assert.ok(allocated.splice(0).every((n) => n <= size), 'no read larger than the data');
    const asked = partitionsOf(await fetch(request([{ topic: 't', partitions: all }], { maxBytes: 10 })));
    assert.deepEqual(asked.map((p) => baseOffsets(p.records).length), [1, 0, 0], 'KIP-74: the first batch, then nothing');
    assert.deepEqual(allocated.splice(0), [size], 'nothing read once the budget is spent');
  });

  it('spends no more than the broker-wide response budget has left, and still the first batch when it has none', async (t) => {
    let room = 2500;
    const { logs, fetch } = setup(t, { responseRoom: () => room });
    const parts = logs.openTopic({ name: 't', id: 'id', partitions: 3 });
    for (const log of parts) await appendTo(logs, log, makeBatch(1, { valueBytes: 1000 }));
    const all = [entry(0, 0n), entry(1, 0n), entry(2, 0n)];
    const counts = async () => partitionsOf(await fetch(request([{ topic: 't', partitions: all }], { maxBytes: 1 << 30 }))).map((p) => baseOffsets(p.records).length);
    assert.deepEqual(await counts(), [1, 1, 0], '2500 bytes of room hold two batches');
    room = 0;
    assert.deepEqual(await counts(), [1, 0, 0], 'KIP-74: the first batch, then nothing');
    room = 1 << 30;
    assert.deepEqual(await counts(), [1, 1, 1]);
  });
});

describe('Fetch long polling holds no data while it waits', () => {
  it('waits without reading, wakes on the append that brings min_bytes, and reads once', async (t) => {
    const { logs, waiting, allocated, fetch } = setup(t);
    const [p0, p1] = logs.openTopic({ name: 't', id: 'id', partitions: 2 });
    assert.ok(p0 !== undefined && p1 !== undefined);
    const batch = makeBatch(1, { valueBytes: 500 });
    const size = batch.bytes.length;
    const pending = fetch(request([{ topic: 't', partitions: [entry(0, 0n), entry(1, 0n)] }], { minBytes: size + 1, maxWaitMs: 10_000 }));
    await settle();
    assert.equal(waiting.size, 1);
    assert.equal(logs.watcherCount, 2, 'one watcher per partition');
    await appendTo(logs, p0, batch);
    await settle();
    assert.equal(waiting.size, 1, 'one batch is not min_bytes yet');
    assert.deepEqual(allocated, [], 'and nothing was read to find out');
    await appendTo(logs, p1, makeBatch(1, { valueBytes: 500 }));
    const partitions = partitionsOf(await pending);
    assert.deepEqual(partitions.map((p) => baseOffsets(p.records)), [[0n], [0n]]);
    assert.equal(allocated.length, 2, 'read once, when answering');
    assert.deepEqual([waiting.size, logs.watcherCount], [0, 0]);
  });

  it('drops a waiting fetch whose connection closes: no answer, no read, no watcher left, never woken again', async (t) => {
    const { logs, waiting, allocated, fetch } = setup(t);
    const [p0] = logs.openTopic({ name: 't', id: 'id', partitions: 1 });
    assert.ok(p0 !== undefined);
    await appendTo(logs, p0, makeBatch(1));
    const connection = new AbortController();
    const duplicates = Array.from({ length: 2400 }, () => entry(0, 0n));
    const pending = fetch(request([{ topic: 't', partitions: duplicates }], { minBytes: 0x7fffffff, maxWaitMs: 60_000 }), connection);
    await settle();
    assert.deepEqual([waiting.size, logs.watcherCount], [1, 1], 'one entry for 2,400 mentions');
    const started = performance.now();
    connection.abort();
    assert.equal(await pending, null);
    assert.ok(performance.now() - started < 100);
    assert.deepEqual([waiting.size, logs.watcherCount], [0, 0]);
    await appendTo(logs, p0, makeBatch(1));
    assert.deepEqual(allocated, []);
  });

  it('caps max_wait_ms at the broker’s maxFetchWaitMs', async (t) => {
    const { logs, fetch } = setup(t, { maxWaitMs: 150 });
    logs.openTopic({ name: 't', id: 'id', partitions: 1 });
    const started = performance.now();
    const partitions = partitionsOf(await fetch(request([{ topic: 't', partitions: [entry(0, 0n)] }], { minBytes: 1, maxWaitMs: 0x7fffffff })));
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 140 && elapsed < 1000, `answered after ${elapsed} ms`);
    assert.deepEqual(partitions.map((p) => [p.errorCode, p.records?.length ?? 0]), [[0, 0]]);
  });

  it('answers every waiting fetch at once, without records, when the broker shuts down', async (t) => {
    const { logs, waiting, allocated, shutdown, fetch } = setup(t);
    const [p0] = logs.openTopic({ name: 't', id: 'id', partitions: 1 });
    assert.ok(p0 !== undefined);
    await appendTo(logs, p0, makeBatch(1));
    const pending = [1, 2, 3].map(() => fetch(request([{ topic: 't', partitions: [entry(0, 0n)] }], { minBytes: 0x7fffffff, maxWaitMs: 60_000 })));
    await settle();
    assert.equal(waiting.size, 3);
    shutdown.abort();
    for (const response of await Promise.all(pending)) {
      assert.deepEqual(partitionsOf(response).map((p) => [p.errorCode, p.highWatermark, p.records?.length ?? 0]), [[0, 1n, 0]]);
    }
    assert.deepEqual([waiting.size, logs.watcherCount, allocated.length], [0, 0, 0]);
    const after = partitionsOf(await fetch(request([{ topic: 't', partitions: [entry(0, 0n)] }], { minBytes: 0x7fffffff, maxWaitMs: 60_000 })));
    assert.equal(after[0]?.records?.length ?? 0, 0, 'a fetch arriving during shutdown does not wait');
  });

  it('answers a waiting fetch when its topic is deleted, with UNKNOWN_TOPIC_OR_PARTITION', async (t) => {
    const { logs, waiting, fetch } = setup(t);
    logs.openTopic({ name: 't', id: 'id', partitions: 1 });
    const pending = fetch(request([{ topic: 't', partitions: [entry(0, 0n)] }], { minBytes: 1, maxWaitMs: 60_000 }));
    await settle();
    assert.equal(waiting.size, 1);
    await logs.deleteTopic('t');
    assert.deepEqual(partitionsOf(await pending).map((p) => p.errorCode), [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    assert.equal(waiting.size, 0);
  });

  it('answers at once, without waiting, when a partition has an error or there is no partition', async (t) => {
    const { logs, waiting, fetch } = setup(t);
    const [p0] = logs.openTopic({ name: 't', id: 'id', partitions: 1 });
    assert.ok(p0 !== undefined);
    await appendTo(logs, p0, makeBatch(1));
    const started = performance.now();
    const partitions = partitionsOf(await fetch(request([{ topic: 't', partitions: [entry(0, 0n), entry(3, 0n)] }], { minBytes: 0x7fffffff, maxWaitMs: 60_000 })));
    assert.ok(performance.now() - started < 1000);
    assert.deepEqual(partitions.map((p) => p.errorCode), [0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    assert.equal(waiting.size, 0);
    const empty = await fetch(request([], { minBytes: 1, maxWaitMs: 60_000 }));
    assert.deepEqual(empty?.responses, [], 'a fetch of no partitions has nothing to wait for');
    assert.ok(performance.now() - started < 1000);
  });
});

describe('Fetch isolation (KIP-98)', () => {
  const txBatch = (producerId: bigint, baseSequence: number, valueBytes = 20) =>
    buildBatchSync({ records: [{ key: 'k', value: 'v'.padEnd(valueBytes, 'x'), timestamp: T0 }], producerId, producerEpoch: 0, baseSequence, transactional: true });
  const committed = { isolationLevel: 1 };

  async function produced(logs: LogManager, records: Buffer): Promise<void> {
    assert.equal((await logs.append('t', 0, records)).kind, 'appended');
  }
  async function marker(logs: LogManager, producerId: bigint, commit: boolean): Promise<void> {
    assert.equal((await logs.appendMarker('t', 0, { producerId, producerEpoch: 0, commit, coordinatorEpoch: 0 })).kind, 'appended');
  }

  it('read_committed reads below the last stable offset and answers the aborted transactions of what it read', async (t) => {
    const { logs, fetch } = setup(t);
    const [p0] = logs.openTopic({ name: 't', id: 'id', partitions: 1 });
    assert.ok(p0 !== undefined);
    await appendTo(logs, p0, makeBatch(1)); // 0
    await produced(logs, txBatch(1n, 0)); // 1
    await produced(logs, txBatch(2n, 0)); // 2: ongoing, the last stable offset
    await marker(logs, 1n, false); // 3: aborts producer 1's transaction
    await appendTo(logs, p0, makeBatch(1)); // 4
    const one = async (offset: bigint, options: { isolationLevel?: number; partitionMaxBytes?: number } = {}) => {
      const [p] = partitionsOf(await fetch(request([{ topic: 't', partitions: [entry(0, offset, options.partitionMaxBytes)] }], options)));
      assert.ok(p !== undefined);
      return { ...p, offsets: baseOffsets(p.records) };
    };

    const readCommitted = await one(0n, committed);
    assert.deepEqual(readCommitted.offsets, [0n, 1n]);
    assert.deepEqual([readCommitted.highWatermark, readCommitted.lastStableOffset], [5n, 2n]);
    assert.deepEqual(readCommitted.abortedTransactions, [{ producerId: 1n, firstOffset: 1n }]);

    const uncommitted = await one(0n);
    assert.deepEqual(uncommitted.offsets, [0n, 1n, 2n, 3n, 4n]);
    assert.deepEqual([uncommitted.highWatermark, uncommitted.lastStableOffset], [5n, 2n]);
    assert.equal(uncommitted.abortedTransactions, null, 'read_uncommitted: null, as Kafka answers');

    // Nothing at or past the last stable offset, not even KIP-74's first batch.
    const atStable = await one(2n, { ...committed, partitionMaxBytes: 1 });
    assert.deepEqual([atStable.errorCode, atStable.offsets, atStable.abortedTransactions], [0, [], []]);
    assert.deepEqual((await one(2n, { partitionMaxBytes: 1 })).offsets, [2n], 'read_uncommitted keeps KIP-74');

    await marker(logs, 2n, true); // 5: commits producer 2's
    const rest = await one(2n, committed);
    assert.deepEqual(rest.offsets, [2n, 3n, 4n, 5n]);
    assert.equal(rest.lastStableOffset, 6n);
    // Producer 1's abort marker (3) is in the range: listed, though none of its batches are.
    assert.deepEqual(rest.abortedTransactions, [{ producerId: 1n, firstOffset: 1n }]);
    // No abort in the range: an empty list, not null (KafkaJS expects a list).
    assert.deepEqual((await one(4n, committed)).abortedTransactions, []);
  });

  it('a waiting read_committed fetch counts only bytes below the last stable offset and wakes when a marker moves it', async (t) => {
    const { logs, waiting, fetch } = setup(t);
    const [p0] = logs.openTopic({ name: 't', id: 'id', partitions: 1 });
    assert.ok(p0 !== undefined);
    await produced(logs, txBatch(1n, 0, 500)); // 0: ongoing
    const pending = fetch(request([{ topic: 't', partitions: [entry(0, 0n)] }], { ...committed, minBytes: 1, maxWaitMs: 10_000 }));
    await settle();
    assert.equal(waiting.size, 1, 'the ongoing transaction is no data yet');
    await appendTo(logs, p0, makeBatch(1, { valueBytes: 500 })); // 1
    await settle();
    assert.equal(waiting.size, 1, 'nor is what follows it');
    await marker(logs, 1n, true); // 2
    const [p] = partitionsOf(await pending);
    assert.deepEqual(baseOffsets(p?.records), [0n, 1n, 2n]);
    assert.deepEqual([p?.lastStableOffset, p?.abortedTransactions], [3n, []]);
    assert.equal(waiting.size, 0);
  });
});
