import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Admin, Connection, fetchV12, listOffsetsV5, listOffsetsV7, ProduceAcks, Producer, type CompressionAlgorithmValue } from '#platformatic-kafka';
import { CompressionCodec } from '../../../src/records/compression.js';
import { startBroker } from '../../helpers/broker.js';
import { mixedMessages, recordsByCodec } from '../support.js';

/**
 * @platformatic/kafka 1.35 (pinned for Node 20: docs/contributing.md#running-the-tests): Produce v7-9,
 * Fetch v12 and ListOffsets v5-7 against what Parapet serves. Its Consumer joins a group, which is not
 * served yet, so the data is read back with the package's exported low-level API functions
 * (`fetchV12`, `listOffsetsV5`, `listOffsetsV7`) over its own `Connection`. Fetch v12 carries the
 * topic *name* in the field platformatic calls `topicId` (see src/protocol/messages/metadata.ts). zstd
 * is not tested: platformatic uses node:zlib's zstd, which Node 20 lacks.
 */

interface ReadRecord {
  offset: bigint;
  timestamp: bigint;
  key: string | null;
  value: string | null;
  headers: [string, string][];
}

const hex = (b: Buffer | null | undefined): string | null => (b === null || b === undefined ? null : b.toString('hex'));

/** Reads one partition from 0 to `end` with Fetch v12, skipping records before each fetch offset. */
async function readPartition(connection: Connection, topic: string, partition: number, end: bigint): Promise<ReadRecord[]> {
  const out: ReadRecord[] = [];
  let offset = 0n;
  const deadline = Date.now() + 15_000;
  while (offset < end) {
    assert.ok(Date.now() < deadline, `partition ${partition}: stuck at ${offset}`);
    const response = await fetchV12.api.async(connection, 200, 1, 1024 * 1024, 0, 0, -1, [
      { topicId: topic, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, partitionMaxBytes: 16 * 1024 }] },
    ], [], '');
    assert.equal(response.errorCode, 0);
    assert.equal(response.sessionId, 0, 'fetch sessions are declined');
    const p = response.responses[0]?.partitions[0];
    assert.equal(p?.errorCode, 0);
    assert.equal(p.highWatermark, end);
    assert.equal(p.lastStableOffset, end);
    for (const batch of p.records ?? []) {
      for (const r of batch.records) {
        const at = batch.firstOffset + BigInt(r.offsetDelta);
        if (at < offset) continue; // a batch is returned whole; skip what was already read
        assert.equal(at, offset, 'no gaps');
        out.push({
          offset: at,
          timestamp: batch.firstTimestamp + r.timestampDelta,
          key: hex(r.key),
          value: hex(r.value),
          headers: r.headers.map(([k, v]) => [k?.toString('utf8') ?? '', hex(v) ?? '']),
        });
        offset++;
      }
    }
  }
  return out;
}

describe('@platformatic/kafka interop', () => {
  it('produces with acks all and leader, none/snappy/gzip/lz4; Fetch v12 and ListOffsets v5/v7 read it back', async (t) => {
    const { host, port, bootstrap, logger } = await startBroker(t);
    const admin = new Admin({ clientId: 'interop', bootstrapBrokers: [bootstrap], retries: 0 });
    const producer = new Producer({ clientId: 'interop', bootstrapBrokers: [bootstrap], retries: 0 });
    const connection = new Connection('interop');
    t.after(async () => {
      await connection.close();
      await producer.close();
      await admin.close();
    });
    const topic = 'pf-data';
    await admin.createTopics({ topics: [topic], partitions: 5, replicas: 1 });

    const base = Date.now() - 3_600_000;
    const cases: { partition: number; acks: number; compression: CompressionAlgorithmValue; codec: number }[] = [
      { partition: 0, acks: ProduceAcks.ALL, compression: 'none', codec: CompressionCodec.none },
      { partition: 1, acks: ProduceAcks.ALL, compression: 'snappy', codec: CompressionCodec.snappy },
      { partition: 2, acks: ProduceAcks.ALL, compression: 'gzip', codec: CompressionCodec.gzip },
      { partition: 3, acks: ProduceAcks.ALL, compression: 'lz4', codec: CompressionCodec.lz4 },
      { partition: 4, acks: ProduceAcks.LEADER, compression: 'gzip', codec: CompressionCodec.gzip },
    ];
    const sent = cases.map((c) => mixedMessages(1000, base, c.partition + 10));
    for (const c of cases) {
      const messages = sent[c.partition] ?? [];
      for (let chunk = 0; chunk < 4; chunk++) {
        const result = await producer.send({
          acks: c.acks,
          compression: c.compression,
          messages: messages.slice(chunk * 250, chunk * 250 + 250).map((m) => ({
            topic,
            partition: c.partition,
            ...(m.key === null ? {} : { key: Buffer.from(m.key, 'hex') }),
            ...(m.value === null ? {} : { value: Buffer.from(m.value, 'hex') }),
            headers: new Map(m.headers.map(([k, v]) => [Buffer.from(k), Buffer.from(v, 'hex')])),
            timestamp: BigInt(m.ts),
          })),
        });
        assert.deepEqual(result.offsets, [{ topic, partition: c.partition, offset: BigInt(chunk * 250) }], `partition ${c.partition} chunk ${chunk}`);
      }
    }

    await connection.connect(host, port);
    for (const c of cases) {
      const got = await readPartition(connection, topic, c.partition, 1000n);
      assert.deepEqual(
        got,
        (sent[c.partition] ?? []).map((m, i) => ({ offset: BigInt(i), timestamp: BigInt(m.ts), key: m.key, value: m.value, headers: m.headers })),
        `partition ${c.partition} (${c.compression}, acks ${c.acks}): every record in order`,
      );
      assert.deepEqual([...(await recordsByCodec(port, topic, c.partition, 1000))], [[c.codec, 1000]], `partition ${c.partition}: stored codec`);
    }

    const query = (timestamp: bigint) => [{ name: topic, partitions: cases.map((c) => ({ partitionIndex: c.partition, currentLeaderEpoch: -1, timestamp })) }];
    for (const api of [listOffsetsV5, listOffsetsV7]) {
      const answer = async (ts: bigint) =>
        (await api.api.async(connection, -1, 0, query(ts))).topics[0]?.partitions.map((p) => [p.partitionIndex, p.errorCode, p.offset, p.timestamp]);
      const each = (offset: bigint, timestamp: bigint) => cases.map((c) => [c.partition, 0, offset, timestamp]);
      assert.deepEqual(await answer(-1n), each(1000n, -1n), `v${api.api.version}: latest`);
      assert.deepEqual(await answer(-2n), each(0n, -1n), `v${api.api.version}: earliest`);
      assert.deepEqual(await answer(BigInt(base + 505)), each(51n, BigInt(base + 510)), `v${api.api.version}: by time`);
      assert.deepEqual(await answer(BigInt(base + 10_000)), each(-1n, -1n), `v${api.api.version}: after the last record`);
    }
    // KIP-734: -3 is the record with the largest timestamp; v7 is the first version to allow it.
    const max = await listOffsetsV7.api.async(connection, -1, 0, query(-3n));
    assert.deepEqual(max.topics[0]?.partitions.map((p) => [p.offset, p.timestamp]), cases.map(() => [999n, BigInt(base + 9990)]));

    assert.deepEqual(logger.entries.filter((e) => e.level === 'warn' || e.level === 'error'), []);
  });
});
