import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { decodeResponse } from '../../src/protocol/frames.js';
import { Fetch, type FetchResponse } from '../../src/protocol/messages/fetch.js';
import { ListOffsets, type ListOffsetsResponse } from '../../src/protocol/messages/list-offsets.js';
import { Produce, type ProduceResponse } from '../../src/protocol/messages/produce.js';
import { BatchOffsets, splitBatches, writeBatchCrc } from '../../src/protocol/records/batch.js';
import { CompressionCodec } from '../../src/protocol/records/compression.js';
import { buildBatch, buildBatchSync, readRecordsSync, type RecordInput } from '../../src/protocol/records/record.js';
import { startBroker } from '../helpers/broker.js';
import { createTopic } from '../helpers/client.js';
import { RawConnection } from '../helpers/raw-client.js';

/**
 * What the broker does with bad or borderline input on the data path, over the raw protocol: every
 * refusal has its Kafka error code, nothing refused is appended, and the broker goes on serving other
 * clients afterwards. Produce goes in at v7 (kafka-python, librdkafka) or v9 (flexible).
 */

type PartitionResult = ProduceResponse['responses'][number]['partitionResponses'][number];

function produceBody(topic: string, partitions: { index: number; records: Buffer | null }[], acks = -1) {
  return { transactionalId: null, acks, timeoutMs: 5000, topicData: [{ name: topic, partitionData: partitions }] };
}

async function produce(session: RawConnection, topic: string, partitions: { index: number; records: Buffer | null }[], version = 7): Promise<PartitionResult[]> {
  const body = (await session.request(Produce, version, produceBody(topic, partitions))) as ProduceResponse;
  return body.responses[0]?.partitionResponses ?? [];
}

function fetchBody(topics: { topic: string; partitions: { partition: number; fetchOffset: bigint; partitionMaxBytes?: number }[] }[], options: { maxWaitMs?: number; minBytes?: number; maxBytes?: number } = {}) {
  return {
    maxWaitMs: options.maxWaitMs ?? 0,
    minBytes: options.minBytes ?? 0,
    maxBytes: options.maxBytes ?? 1024 * 1024,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: topics.map((t) => ({ topic: t.topic, partitions: t.partitions.map((p) => ({ partitionMaxBytes: 1024 * 1024, ...p })) })),
    forgottenTopicsData: [],
    rackId: '',
  };
}

type FetchedPartition = FetchResponse['responses'][number]['partitions'][number];

async function fetchOne(session: RawConnection, topic: string, partition: number, fetchOffset: bigint, options: { maxWaitMs?: number; minBytes?: number; maxBytes?: number; partitionMaxBytes?: number } = {}): Promise<FetchedPartition> {
  const partitionMaxBytes = options.partitionMaxBytes ?? 1024 * 1024;
  const body = (await session.request(Fetch, 12, fetchBody([{ topic, partitions: [{ partition, fetchOffset, partitionMaxBytes }] }], options))) as FetchResponse;
  assert.equal(body.errorCode, 0);
  const p = body.responses[0]?.partitions[0];
  assert.ok(p !== undefined);
  return p;
}

async function endOffset(port: number, topic: string, partition = 0): Promise<bigint> {
  const session = await RawConnection.connect(port);
  try {
    const body = (await session.request(ListOffsets, 1, { replicaId: -1, topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp: -1n }] }] })) as ListOffsetsResponse;
    const p = body.topics[0]?.partitions[0];
    assert.ok(p !== undefined && p.errorCode === 0, `list offsets ${topic}-${partition}`);
    return p.offset ?? -1n;
  } finally {
    session.close();
  }
}

/** A second client can still produce and read back: the broker survived whatever came before. */
async function assertServing(port: number): Promise<void> {
  const topic = `still-serving-${randomBytes(4).toString('hex')}`;
  await createTopic(port, topic);
  const session = await RawConnection.connect(port);
  try {
    const [r] = await produce(session, topic, [{ index: 0, records: buildBatchSync({ records: [{ value: 'alive' }] }) }]);
    assert.deepEqual([r?.errorCode, r?.baseOffset], [0, 0n]);
    const p = await fetchOne(session, topic, 0, 0n);
    assert.deepEqual(readRecordsSync(p.records ?? Buffer.alloc(0)).map((x) => x.value?.toString()), ['alive']);
  } finally {
    session.close();
  }
}

const records = (n: number, prefix = 'r'): RecordInput[] => Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `${prefix}${i}` }));

let crcTable: Uint32Array | undefined;
/** CRC-32 (IEEE), which legacy v0/v1 messages use (v2 batches use CRC-32C). */
function crc32(buf: Buffer): number {
  crcTable ??= Uint32Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  let crc = 0xffffffff;
  for (const byte of buf) crc = (crcTable[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** A legacy message set of one message: `offset, size, crc, magic, attributes, [timestamp], key, value`. */
function legacyMessageSet(magic: 0 | 1, value: string): Buffer {
  const v = Buffer.from(value);
  const body = Buffer.alloc(1 + 1 + (magic === 1 ? 8 : 0) + 4 + 4 + v.length);
  let at = body.writeInt8(magic, 0);
  at = body.writeInt8(0, at);
  if (magic === 1) at = body.writeBigInt64BE(BigInt(Date.now()), at);
  at = body.writeInt32BE(-1, at);
  at = body.writeInt32BE(v.length, at);
  v.copy(body, at);
  const head = Buffer.alloc(16);
  head.writeBigInt64BE(0n, 0);
  head.writeInt32BE(4 + body.length, 8);
  head.writeUInt32BE(crc32(body), 12);
  return Buffer.concat([head, body]);
}

describe('bad input on the data path (raw protocol)', () => {
  it('refuses corrupt, doubled, oversized and legacy batches with Kafka error codes, appending nothing', async (t) => {
    const { port } = await startBroker(t);
    const good = buildBatchSync({ records: records(3) });
    await createTopic(port, 'bad', 1);
    await createTopic(port, 'exact', 1, { 'max.message.bytes': String(good.length) });
    await createTopic(port, 'small', 1, { 'max.message.bytes': String(good.length - 1) });
    const session = await RawConnection.connect(port);
    t.after(() => {
      session.close();
    });

    const flippedCrc = Buffer.from(good);
    flippedCrc[BatchOffsets.crc + 2] = (flippedCrc[BatchOffsets.crc + 2] as number) ^ 0x10;
    const flippedPayload = Buffer.from(good);
    flippedPayload[flippedPayload.length - 3] = (flippedPayload[flippedPayload.length - 3] as number) ^ 0x01;
    const truncated = good.subarray(0, good.length - 5);
    const lying = Buffer.from(good);
    lying.writeInt32BE(lying.readInt32BE(BatchOffsets.batchLength) + 100, BatchOffsets.batchLength);
    const zstd = await buildBatch({ records: records(3), compression: CompressionCodec.zstd });
    // A gzip batch of 3 records claiming lastOffsetDelta 0: stored as is, the next batch would reuse offsets 1 and 2.
    const shortRange = buildBatchSync({ records: records(3), compression: CompressionCodec.gzip });
    shortRange.writeInt32BE(0, BatchOffsets.lastOffsetDelta);
    writeBatchCrc(shortRange);

    const cases: { name: string; topic?: string; records: Buffer | null; version?: number; code: number }[] = [
      { name: 'a flipped CRC byte', records: flippedCrc, code: ErrorCode.CORRUPT_MESSAGE },
      { name: 'a flipped payload byte (CRC mismatch)', records: flippedPayload, code: ErrorCode.CORRUPT_MESSAGE, version: 9 },
      { name: 'a truncated batch', records: truncated, code: ErrorCode.CORRUPT_MESSAGE },
      { name: 'a batch length beyond the bytes sent', records: lying, code: ErrorCode.CORRUPT_MESSAGE },
      { name: 'two batches in one partition', records: Buffer.concat([good, buildBatchSync({ records: records(2) })]), code: ErrorCode.INVALID_RECORD },
      { name: 'null records', records: null, code: ErrorCode.INVALID_RECORD },
      { name: 'an empty batch', records: buildBatchSync({ records: [] }), code: ErrorCode.INVALID_RECORD },
      { name: 'a compressed batch whose offset range disagrees with its count', records: shortRange, code: ErrorCode.INVALID_RECORD },
      { name: 'a batch one byte above max.message.bytes', topic: 'small', records: good, code: ErrorCode.MESSAGE_TOO_LARGE },
      { name: 'a magic-1 legacy message set', records: legacyMessageSet(1, 'old'), code: ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT },
      { name: 'a magic-0 legacy message set', records: legacyMessageSet(0, 'older'), code: ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT },
      { name: 'zstd before Produce v7 (KIP-110)', records: zstd, version: 6, code: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE },
    ];
    for (const c of cases) {
      const topic = c.topic ?? 'bad';
      const [r] = await produce(session, topic, [{ index: 0, records: c.records }], c.version ?? 7);
      assert.equal(r?.errorCode, c.code, `${c.name}: ${r?.errorMessage ?? ''}`);
      assert.equal(r.baseOffset, -1n, c.name);
      assert.equal(await endOffset(port, topic), 0n, `${c.name}: nothing appended`);
    }

    const badAcks = (await session.request(Produce, 7, produceBody('bad', [{ index: 0, records: good }], 2))) as ProduceResponse;
    assert.equal(badAcks.responses[0]?.partitionResponses[0]?.errorCode, ErrorCode.INVALID_REQUIRED_ACKS);
    assert.equal(await endOffset(port, 'bad'), 0n, 'acks=2: nothing appended');

    // Boundaries: exactly max.message.bytes is accepted; zstd at v7 is accepted; the client's baseOffset is overwritten.
    const [exact] = await produce(session, 'exact', [{ index: 0, records: good }]);
    assert.deepEqual([exact?.errorCode, exact?.baseOffset], [0, 0n]);
    const [z] = await produce(session, 'bad', [{ index: 0, records: zstd }]);
    assert.deepEqual([z?.errorCode, z?.baseOffset], [0, 0n]);
    const [far] = await produce(session, 'bad', [{ index: 0, records: buildBatchSync({ records: records(1), baseOffset: 12_345n }) }]);
    assert.deepEqual([far?.errorCode, far?.baseOffset], [0, 3n]);
    assert.equal(await endOffset(port, 'bad'), 4n);
    await assertServing(port);
  });

  it(
    'refuses a control batch from a client',
    async (t) => {
      const { port } = await startBroker(t);
      await createTopic(port, 'ctl', 1);
      const session = await RawConnection.connect(port);
      t.after(() => {
        session.close();
      });
      // A fake transaction marker: consumers skip control records, so they would silently lose offsets.
      const [r] = await produce(session, 'ctl', [{ index: 0, records: buildBatchSync({ records: [{ key: Buffer.from([0, 0, 0, 1]), value: Buffer.from([0, 0, 0, 0, 0, 0]) }], control: true }) }]);
      assert.equal(r?.errorCode, ErrorCode.INVALID_RECORD);
      assert.equal(await endOffset(port, 'ctl'), 0n, 'nothing appended');
    },
  );

  it(
    'refuses Produce v0-2, which are advertised only for librdkafka\'s feature checks',
    async (t) => {
      const { port } = await startBroker(t);
      await createTopic(port, 'old', 1);
      for (const version of [0, 1, 2]) {
        const session = await RawConnection.connect(port);
        session.send(Produce, version, produceBody('old', [{ index: 0, records: buildBatchSync({ records: records(1) }) }], 1));
        const outcome = await Promise.race([session.closed.then(() => 'closed'), session.waitFrames(1).then(() => 'answered')]);
        if (outcome === 'answered') {
          const body = decodeResponse(Produce, version, session.frames[0] as Buffer).body as ProduceResponse;
          assert.notEqual(body.responses[0]?.partitionResponses[0]?.errorCode, ErrorCode.NONE, `Produce v${version} refused`);
        }
        session.close();
        assert.equal(await endOffset(port, 'old'), 0n, `Produce v${version}: nothing appended`);
      }
    },
  );

  it('judges partitions of one request separately: a bad one does not stop a good one', async (t) => {
    const { port } = await startBroker(t);
    await createTopic(port, 'mixed', 3);
    const session = await RawConnection.connect(port);
    t.after(() => {
      session.close();
    });
    const bad = buildBatchSync({ records: records(2) });
    bad[BatchOffsets.crc] = (bad[BatchOffsets.crc] as number) ^ 0xff;
    const result = await produce(session, 'mixed', [
      { index: 0, records: buildBatchSync({ records: records(4) }) },
      { index: 1, records: bad },
      { index: 2, records: buildBatchSync({ records: records(2) }) },
      { index: 7, records: buildBatchSync({ records: records(2) }) },
    ]);
    assert.deepEqual(
      result.map((r) => [r.index, r.errorCode, r.baseOffset]),
      [[0, 0, 0n], [1, ErrorCode.CORRUPT_MESSAGE, -1n], [2, 0, 0n], [7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1n]],
    );
    assert.deepEqual([await endOffset(port, 'mixed', 0), await endOffset(port, 'mixed', 1), await endOffset(port, 'mixed', 2)], [4n, 0n, 2n]);
    await assertServing(port);
  });

  it('answers unknown topics and partitions with UNKNOWN_TOPIC_OR_PARTITION on Produce, Fetch and ListOffsets', async (t) => {
    const { port } = await startBroker(t);
    await createTopic(port, 'one', 1);
    const session = await RawConnection.connect(port);
    t.after(() => {
      session.close();
    });
    const batch = () => buildBatchSync({ records: records(1) });
    for (const [topic, index] of [['nope', 0], ['one', 1], ['one', -1]] as const) {
      const [r] = await produce(session, topic, [{ index, records: batch() }]);
      assert.equal(r?.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `produce ${topic}-${index}`);
      const f = await fetchOne(session, topic, index, 0n, { maxWaitMs: 1000, minBytes: 1 });
      assert.deepEqual([f.errorCode, f.highWatermark, f.records?.length ?? 0], [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1n, 0], `fetch ${topic}-${index}`);
      const lo = (await session.request(ListOffsets, 7, {
        replicaId: -1,
        isolationLevel: 0,
        topics: [{ name: topic, partitions: [{ partitionIndex: index, currentLeaderEpoch: -1, timestamp: -1n }] }],
      })) as ListOffsetsResponse;
      assert.equal(lo.topics[0]?.partitions[0]?.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `list offsets ${topic}-${index}`);
    }
    assert.equal(await endOffset(port, 'one'), 0n);
    await assertServing(port);
  });

  it('answers a fetch outside the log with OFFSET_OUT_OF_RANGE, and one at the end with nothing', async (t) => {
    const { port } = await startBroker(t);
    await createTopic(port, 'short', 1);
    const session = await RawConnection.connect(port);
    t.after(() => {
      session.close();
    });
    await produce(session, 'short', [{ index: 0, records: buildBatchSync({ records: records(5) }) }]);
    for (const offset of [6n, 1000n, -1n]) {
      const started = Date.now();
      // An error answers at once, without waiting out max_wait.
      const p = await fetchOne(session, 'short', 0, offset, { maxWaitMs: 1500, minBytes: 1 });
      assert.deepEqual([p.errorCode, p.highWatermark, p.records?.length ?? 0], [ErrorCode.OFFSET_OUT_OF_RANGE, 5n, 0], `offset ${offset}`);
      assert.ok(Date.now() - started < 1000, 'answered without long polling');
    }
    const atEnd = await fetchOne(session, 'short', 0, 5n);
    assert.deepEqual([atEnd.errorCode, atEnd.highWatermark, atEnd.records?.length ?? 0], [0, 5n, 0]);
    // Fetch v4, as kafka-python sends it: same answer.
    const v4 = (await session.request(Fetch, 4, fetchBody([{ topic: 'short', partitions: [{ partition: 0, fetchOffset: 9n }] }]))) as FetchResponse;
    assert.equal(v4.responses[0]?.partitions[0]?.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    await assertServing(port);
  });

  it('acks=0: no response, the next request is answered with its own correlation id, and the data is there', async (t) => {
    const { port } = await startBroker(t);
    await createTopic(port, 'quiet', 1);
    const session = await RawConnection.connect(port);
    t.after(() => {
      session.close();
    });
    const silentId = session.send(Produce, 7, produceBody('quiet', [{ index: 0, records: buildBatchSync({ records: records(3) }) }], 0));
    const silentFlexible = session.send(Produce, 9, produceBody('quiet', [{ index: 0, records: buildBatchSync({ records: records(2) }) }], 0));
    const lo = (await session.request(ListOffsets, 1, { replicaId: -1, topics: [{ name: 'quiet', partitions: [{ partitionIndex: 0, timestamp: -1n }] }] })) as ListOffsetsResponse;
    assert.deepEqual([silentId, silentFlexible], [1, 2]);
    assert.equal(lo.topics[0]?.partitions[0]?.offset, 5n, 'both acks=0 batches appended before the next request was served');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(session.frames.length, 1, 'exactly one response frame: the ListOffsets one (its correlation id was checked)');
    await assertServing(port);
  });

  it('acks=0 with a bad batch closes the connection (PRODUCE_REJECTED) and drops what was pipelined after it', async (t) => {
    const { port, logger } = await startBroker(t);
    await createTopic(port, 'quiet', 1);
    const session = await RawConnection.connect(port);
    t.after(() => {
      session.close();
    });
    const bad = buildBatchSync({ records: records(3) });
    bad[BatchOffsets.crc] = (bad[BatchOffsets.crc] as number) ^ 0x01;
    session.send(Produce, 7, produceBody('quiet', [{ index: 0, records: bad }], 0));
    session.send(ListOffsets, 1, { replicaId: -1, topics: [{ name: 'quiet', partitions: [{ partitionIndex: 0, timestamp: -1n }] }] });
    await session.closed;
    assert.equal(session.frames.length, 0, 'no response at all');
    const closes = logger.entries.filter((e) => (e.obj as { reason?: string }).reason === 'PRODUCE_REJECTED');
    assert.equal(closes.length, 1, 'the close reason is logged once');
    assert.match(JSON.stringify(closes[0]?.obj), /quiet-0/);
    assert.equal(await endOffset(port, 'quiet'), 0n, 'nothing appended');

    // Unknown partitions count as failures too.
    const again = await RawConnection.connect(port);
    t.after(() => {
      again.close();
    });
    again.send(Produce, 7, produceBody('missing', [{ index: 0, records: buildBatchSync({ records: records(1) }) }], 0));
    await again.closed;
    assert.equal(logger.entries.filter((e) => (e.obj as { reason?: string }).reason === 'PRODUCE_REJECTED').length, 2);
    await assertServing(port);
  });

  it('long polls: a waiting fetch returns when another connection appends, and after max_wait otherwise', async (t) => {
    const { port } = await startBroker(t);
    await createTopic(port, 'poll', 2);
    const waiter = await RawConnection.connect(port);
    const writer = await RawConnection.connect(port);
    t.after(() => {
      waiter.close();
      writer.close();
    });

    // Data arrives 150 ms into a 2000 ms wait.
    let started = Date.now();
    const pending = fetchOne(waiter, 'poll', 0, 0n, { maxWaitMs: 2000, minBytes: 1 });
    await new Promise((r) => setTimeout(r, 150));
    const [appended] = await produce(writer, 'poll', [{ index: 0, records: buildBatchSync({ records: records(2, 'late') }) }]);
    assert.equal(appended?.errorCode, 0);
    const woke = await pending;
    let elapsed = Date.now() - started;
    assert.ok(elapsed >= 140 && elapsed < 1000, `returned ${elapsed} ms after the fetch, soon after the append`);
    assert.deepEqual(readRecordsSync(woke.records ?? Buffer.alloc(0)).map((r) => r.value?.toString()), ['late0', 'late1']);

    // Nothing arrives: an empty answer after about max_wait.
    started = Date.now();
    const empty = await fetchOne(waiter, 'poll', 0, 2n, { maxWaitMs: 600, minBytes: 1 });
    elapsed = Date.now() - started;
    assert.ok(elapsed >= 580 && elapsed < 1500, `empty answer after ${elapsed} ms`);
    assert.deepEqual([empty.errorCode, empty.highWatermark, empty.records?.length ?? 0], [0, 2n, 0]);

    // An append to a partition the fetch does not ask for must not end the wait.
    started = Date.now();
    const other = fetchOne(waiter, 'poll', 0, 2n, { maxWaitMs: 600, minBytes: 1 });
    await new Promise((r) => setTimeout(r, 100));
    await produce(writer, 'poll', [{ index: 1, records: buildBatchSync({ records: records(1) }) }]);
    const stillEmpty = await other;
    elapsed = Date.now() - started;
    assert.ok(elapsed >= 580, `kept waiting (${elapsed} ms) despite an append elsewhere`);
    assert.equal(stillEmpty.records?.length ?? 0, 0);

    // min_bytes above what arrives: the wait runs to max_wait and returns what there is.
    started = Date.now();
    const partial = fetchOne(waiter, 'poll', 0, 2n, { maxWaitMs: 600, minBytes: 1024 * 1024 });
    await new Promise((r) => setTimeout(r, 100));
    await produce(writer, 'poll', [{ index: 0, records: buildBatchSync({ records: records(1, 'small') }) }]);
    const got = await partial;
    elapsed = Date.now() - started;
    assert.ok(elapsed >= 580, `waited for min_bytes until max_wait (${elapsed} ms)`);
    assert.deepEqual(readRecordsSync(got.records ?? Buffer.alloc(0)).map((r) => r.value?.toString()), ['small0']);
    await assertServing(port);
  });

  it('KIP-74: the first batch comes back whole even when larger than the partition or response limit', async (t) => {
    const { port } = await startBroker(t);
    await createTopic(port, 'big', 2);
    const session = await RawConnection.connect(port);
    t.after(() => {
      session.close();
    });
    const first = buildBatchSync({ records: [{ key: 'a', value: randomBytes(5000) }, { value: 'second record' }] });
    const second = buildBatchSync({ records: [{ value: 'next batch' }] });
    await produce(session, 'big', [{ index: 0, records: first }, { index: 1, records: buildBatchSync({ records: records(1) }) }]);
    await produce(session, 'big', [{ index: 0, records: second }]);

    const expectFirstOnly = (p: FetchedPartition, what: string) => {
      const batches = splitBatches(p.records ?? Buffer.alloc(0), { allowPartialTail: true });
      assert.equal(batches.length, 1, `${what}: exactly one batch`);
      const stored = batches[0] as Buffer;
      assert.equal(stored.length, first.length, `${what}: the whole first batch`);
      // Stored verbatim: only baseOffset and partitionLeaderEpoch (outside the CRC) may differ.
      assert.ok(stored.subarray(BatchOffsets.magic).equals(first.subarray(BatchOffsets.magic)), `${what}: bytes as produced`);
      assert.deepEqual(readRecordsSync(stored).map((r) => r.offset), [0n, 1n]);
    };
    expectFirstOnly(await fetchOne(session, 'big', 0, 0n, { partitionMaxBytes: 100 }), 'partition limit 100');
    expectFirstOnly(await fetchOne(session, 'big', 0, 0n, { maxBytes: 100 }), 'response limit 100');
    expectFirstOnly(await fetchOne(session, 'big', 0, 1n, { partitionMaxBytes: 1 }), 'from the middle of the batch');

    // With room, both batches; the response limit spent on partition 0 leaves nothing for partition 1.
    const both = await fetchOne(session, 'big', 0, 0n);
    assert.equal(splitBatches(both.records ?? Buffer.alloc(0)).length, 2);
    const body = (await session.request(Fetch, 12, fetchBody(
      [{ topic: 'big', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 100 }, { partition: 1, fetchOffset: 0n, partitionMaxBytes: 100 }] }],
      { maxBytes: 100 },
    ))) as FetchResponse;
    const [p0, p1] = body.responses[0]?.partitions ?? [];
    assert.equal(p0?.records?.length, first.length);
    assert.deepEqual([p1?.errorCode, p1?.highWatermark, p1?.records?.length ?? 0], [0, 1n, 0], 'no budget left for partition 1');
    await assertServing(port);
  });
});
