import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { CompressionTypes, Kafka, logLevel, type Message } from 'kafkajs';
import { CompressionCodec } from '../../src/records/compression.js';
import { startBroker } from '../helpers/broker.js';
import { mixedMessages, recordsByCodec, type HexRecord } from './support.js';

/**
 * KafkaJS 2.2.4: Produce v7, Fetch v11, ListOffsets v3 (its highest, whatever our minimum). Its
 * consumer needs consumer groups, which are not served yet, so what the producer wrote is read back
 * with KafkaJS's own protocol layer: `src/broker` (the Broker class its consumer uses) over
 * `src/network/connectionPool`, which negotiates versions with ApiVersions, sends Fetch v11 and
 * decodes and decompresses the batches. These are internal modules, typed here only as far as the test
 * uses them.
 */

interface FetchedMessage {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | Buffer[]>;
}
interface FetchResult {
  responses: { topicName: string; partitions: { partition: number; errorCode: number; highWatermark: string; messages: FetchedMessage[] }[] }[];
}
interface KafkaJsBroker {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  fetch(request: {
    replicaId: number;
    isolationLevel: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[];
  }): Promise<FetchResult>;
}
type BrokerClass = new (options: { connectionPool: unknown; logger: unknown; allowAutoTopicCreation: boolean }) => KafkaJsBroker;
type PoolClass = new (options: { host: string; port: number; logger: unknown; connectionTimeout: number; requestTimeout: number; clientId: string; socketFactory: unknown }) => unknown;

const requireCjs = createRequire(import.meta.url);
const KafkaJsBrokerClass = requireCjs('kafkajs/src/broker') as BrokerClass;
const ConnectionPool = requireCjs('kafkajs/src/network/connectionPool') as PoolClass;
const socketFactory = requireCjs('kafkajs/src/network/socketFactory') as () => unknown;
const { createLogger, LEVELS } = requireCjs('kafkajs/src/loggers') as {
  createLogger: (options: { level: number; logCreator: () => () => void }) => unknown;
  LEVELS: { NOTHING: number };
};

async function protocolBroker(host: string, port: number): Promise<KafkaJsBroker> {
  const logger = createLogger({ level: LEVELS.NOTHING, logCreator: () => () => undefined });
  const connectionPool = new ConnectionPool({ host, port, logger, connectionTimeout: 2000, requestTimeout: 30_000, clientId: 'interop', socketFactory: socketFactory() });
  const broker = new KafkaJsBrokerClass({ connectionPool, logger, allowAutoTopicCreation: false });
  await broker.connect();
  return broker;
}

/** Reads a partition from offset 0 to `end` with Fetch v11, dropping the records before each fetch offset. */
async function readPartition(broker: KafkaJsBroker, topic: string, partition: number, end: number): Promise<FetchedMessage[]> {
  const out: FetchedMessage[] = [];
  let offset = 0;
  const deadline = Date.now() + 15_000;
  while (offset < end) {
    assert.ok(Date.now() < deadline, `partition ${partition}: stuck at offset ${offset} of ${end}`);
    const result = await broker.fetch({
      replicaId: -1,
      isolationLevel: 1,
      maxWaitTime: 200,
      minBytes: 1,
      maxBytes: 1024 * 1024,
      // A small partition limit makes several round trips, each starting inside a batch.
      topics: [{ topic, partitions: [{ partition, fetchOffset: String(offset), maxBytes: 16 * 1024 }] }],
    });
    const p = result.responses[0]?.partitions[0];
    assert.equal(p?.errorCode, 0);
    assert.equal(p.highWatermark, String(end));
    for (const m of p.messages) {
      if (Number(m.offset) < offset) continue; // a batch is returned whole; the consumer skips what it had
      assert.equal(Number(m.offset), offset, 'no gaps');
      out.push(m);
      offset++;
    }
  }
  return out;
}

const toBuffer = (hex: string | null): Buffer | null => (hex === null ? null : Buffer.from(hex, 'hex'));

function toKafkaJs(m: HexRecord): Message {
  return {
    key: toBuffer(m.key),
    value: toBuffer(m.value),
    headers: Object.fromEntries(m.headers.map(([k, v]) => [k, Buffer.from(v, 'hex')])),
    timestamp: String(m.ts),
  };
}

describe('KafkaJS interop', () => {
  it('produces with acks -1, 1 and 0, gzip and none; admin offsets and a Fetch v11 read-back agree', async (t) => {
    const { host, port, bootstrap, logger } = await startBroker(t);
    const kafka = new Kafka({ clientId: 'interop', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const admin = kafka.admin();
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await admin.connect();
    await producer.connect();
    t.after(async () => {
      await producer.disconnect();
      await admin.disconnect();
    });
    const topic = 'js-data';
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 5 }], waitForLeaders: true }), true);

    const base = Date.now() - 3_600_000;
    const cases = [
      { partition: 0, acks: -1, compression: CompressionTypes.GZIP, codec: CompressionCodec.gzip },
      { partition: 1, acks: -1, compression: CompressionTypes.None, codec: CompressionCodec.none },
      { partition: 2, acks: 1, compression: CompressionTypes.GZIP, codec: CompressionCodec.gzip },
      { partition: 3, acks: 1, compression: CompressionTypes.None, codec: CompressionCodec.none },
      { partition: 4, acks: 0, compression: CompressionTypes.GZIP, codec: CompressionCodec.gzip },
    ].map((c) => ({ ...c, messages: mixedMessages(1000, base, c.partition) }));

    for (const c of cases) {
      // Five sends of 200: five batches per partition.
      for (let chunk = 0; chunk < 5; chunk++) {
        const messages = c.messages.slice(chunk * 200, chunk * 200 + 200).map((m) => ({ ...toKafkaJs(m), partition: c.partition }));
        const meta = await producer.send({ topic, acks: c.acks, compression: c.compression, messages });
        if (c.acks !== 0) {
          assert.deepEqual(
            meta.map((r) => [r.partition, r.errorCode, r.baseOffset]),
            [[c.partition, 0, String(chunk * 200)]],
            `partition ${c.partition} chunk ${chunk}: base offset`,
          );
        }
      }
    }

    // acks=0 gets no answer; the appends are visible once a later request on any connection sees them.
    const deadline = Date.now() + 5000;
    let offsets = await admin.fetchTopicOffsets(topic);
    while (offsets.some((o) => o.high !== '1000') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      offsets = await admin.fetchTopicOffsets(topic);
    }
    assert.deepEqual(
      offsets.sort((a, b) => a.partition - b.partition).map((o) => [o.partition, o.low, o.high, o.offset]),
      cases.map((c) => [c.partition, '0', '1000', '1000']),
    );

    const at = async (ts: number) =>
      (await admin.fetchTopicOffsetsByTimestamp(topic, ts)).sort((a, b) => a.partition - b.partition).map((o) => o.offset);
    assert.deepEqual(await at(base - 1), ['0', '0', '0', '0', '0']);
    assert.deepEqual(await at(base + 505), ['51', '51', '51', '51', '51']);
    assert.deepEqual(await at(base + 9990), ['999', '999', '999', '999', '999']);
    // KafkaJS maps "no record at or after this time" (offset -1) to the high watermark.
    assert.deepEqual(await at(base + 9991), ['1000', '1000', '1000', '1000', '1000']);

    const reader = await protocolBroker(host, port);
    t.after(() => reader.disconnect());
    for (const c of cases) {
      const got = await readPartition(reader, topic, c.partition, 1000);
      assert.deepEqual(
        got.map((m) => [m.offset, m.key?.toString('hex') ?? null, m.value?.toString('hex') ?? null, m.timestamp, m.headers]),
        c.messages.map((m, i) => [
          String(i),
          m.key,
          m.value,
          String(m.ts),
          Object.fromEntries(m.headers.map(([k, v]) => [k, Buffer.from(v, 'hex')])),
        ]),
        `partition ${c.partition} (acks ${c.acks}): offsets, keys, values, timestamps and headers in order`,
      );
      assert.deepEqual([...(await recordsByCodec(port, topic, c.partition, 1000))], [[c.codec, 1000]], `partition ${c.partition}: stored codec`);
    }
    assert.deepEqual(logger.entries.filter((e) => e.level === 'warn' || e.level === 'error'), []);
  });
});
