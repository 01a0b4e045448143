import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker } from '../helpers/broker.js';
import { kcat } from './security-support.js';
import { python } from './support.js';

/**
 * Compacted topics with real clients (issue 20): a Kafka Connect-style set of compacted topics (config,
 * offset, status) created with confluent-kafka's AdminClient, written by its producer (updates and a
 * tombstone per topic), cleaned by the broker, and read from the beginning by kcat, confluent-kafka and
 * KafkaJS: each sees the newest record of every key at the offset it was written at, offsets increasing.
 */

const TOPICS = ['connect-configs', 'connect-offsets', 'connect-status'];
const PARTITIONS: Readonly<Record<string, number>> = { 'connect-configs': 1, 'connect-offsets': 5, 'connect-status': 3 };

interface Written {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: string;
  readonly value: string | null;
}

/** Creates the three topics as Kafka Connect does (cleanup.policy=compact, small segments here so they roll), and writes them. */
const CONNECT = `
import json, sys
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic, ConfigResource
cfg = json.load(sys.stdin)
bootstrap, parts = cfg['bootstrap'], cfg['parts']
admin = AdminClient({'bootstrap.servers': bootstrap})
topics = [NewTopic(t, n, 1, config={'cleanup.policy': 'compact', 'segment.bytes': '4096'}) for t, n in parts.items()]
for t, f in admin.create_topics(topics).items():
    f.result(10)
for r, f in admin.describe_configs([ConfigResource('topic', t) for t in parts]).items():
    assert f.result(10)['cleanup.policy'].value == 'compact', r
written = []
def report(err, msg):
    assert err is None, err
    v = msg.value()
    written.append({'topic': msg.topic(), 'partition': msg.partition(), 'offset': msg.offset(), 'key': msg.key().decode(), 'value': None if v is None else v.decode()})
# A first idempotent producer writes each key once and goes away: every record of its last batch is
# replaced below, so the cleaner keeps that batch empty (its sequence), and readers must step over it.
first = Producer({'bootstrap.servers': bootstrap, 'enable.idempotence': True, 'linger.ms': 50})
for t, n in parts.items():
    for k in range(8):
        first.produce(t, b'{"first": true}', key=('%s-key-%d' % (t, k)).encode(), partition=k % n, on_delivery=report)
assert first.flush(30) == 0
p = Producer({'bootstrap.servers': bootstrap, 'enable.idempotence': True, 'linger.ms': 1, 'batch.num.messages': 7})
for rnd in range(60):
    for t, n in parts.items():
        for k in range(8):
            key = '%s-key-%d' % (t, k)
            value = json.dumps({'round': rnd, 'key': key, 'pad': 'x' * 60})
            p.produce(t, value.encode(), key=key.encode(), partition=k % n, on_delivery=report)
    p.poll(0)
# One tombstone per topic: the key is deleted.
for t, n in parts.items():
    p.produce(t, None, key=('%s-key-3' % t).encode(), partition=3 % n, on_delivery=report)
assert p.flush(30) == 0
print(json.dumps(written))
`;

/** Reads every partition of the topics from the beginning with confluent-kafka; prints records as JSON. */
const CONFLUENT_READ = `
import json, sys
from confluent_kafka import Consumer, TopicPartition
cfg = json.load(sys.stdin)
bootstrap, parts = cfg['bootstrap'], cfg['parts']
c = Consumer({'bootstrap.servers': bootstrap, 'group.id': 'compaction-reader', 'enable.auto.commit': False, 'auto.offset.reset': 'earliest'})
assignment = [TopicPartition(t, i, 0) for t, n in parts.items() for i in range(n)]
c.assign(assignment)
ends = {(t, i): c.get_watermark_offsets(TopicPartition(t, i), timeout=10)[1] for t, n in parts.items() for i in range(n)}
got = []
done = set(k for k, e in ends.items() if e == 0)
while len(done) < len(ends):
    m = c.poll(5)
    assert m is not None, 'no record within 5 s'
    assert m.error() is None, m.error()
    v = m.value()
    got.append({'topic': m.topic(), 'partition': m.partition(), 'offset': m.offset(), 'key': m.key().decode(), 'value': None if v is None else v.decode()})
    if m.offset() + 1 >= ends[(m.topic(), m.partition())]:
        done.add((m.topic(), m.partition()))
c.close()
print(json.dumps(got))
`;

function sorted(records: readonly Written[]): Written[] {
  return [...records].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition || a.offset - b.offset);
}

/** Checks what a reader of the whole compacted topics got against what was written and what the cleaner kept. */
function assertReadCompacted(reader: string, read: readonly Written[], written: readonly Written[]): void {
  const byPlace = new Map(written.map((w) => [`${w.topic}/${w.partition}/${w.offset}`, w]));
  let previous: Written | undefined;
  for (const r of read) {
    assert.deepEqual(r, byPlace.get(`${r.topic}/${r.partition}/${r.offset}`), `${reader}: the record at ${r.topic}-${r.partition}@${r.offset} is the one written there`);
    if (previous?.topic === r.topic && previous.partition === r.partition) assert.ok(r.offset > previous.offset, `${reader}: offsets increase`);
    previous = r;
  }
  const newest = new Map<string, Written>();
  for (const w of written) if ((newest.get(`${w.topic}/${w.key}`)?.offset ?? -1) < w.offset) newest.set(`${w.topic}/${w.key}`, w);
  const readAt = new Set(read.map((r) => `${r.topic}/${r.partition}/${r.offset}`));
  for (const n of newest.values()) assert.ok(readAt.has(`${n.topic}/${n.partition}/${n.offset}`), `${reader}: the newest record of ${n.key} is read`);
  // The cleaner ran: far fewer records than written, and the tombstones are still there (within delete.retention.ms).
  assert.ok(read.length < written.length / 2, `${reader}: ${read.length} of ${written.length} records left`);
  for (const topic of TOPICS) assert.ok(read.some((r) => r.topic === topic && r.key === `${topic}-key-3` && r.value === null), `${reader}: the tombstone of ${topic}`);
}

describe('compacted topics with real clients', () => {
  it('a Kafka Connect-style set of compacted topics: created by an admin client, written, cleaned, and read back by kcat, confluent-kafka and KafkaJS', async (t) => {
    const { broker, bootstrap } = await startBroker(t, { minSegmentBytes: 14, cleanerIntervalMs: 3_600_000 });
    const input = JSON.stringify({ bootstrap, parts: PARTITIONS });
    const written = JSON.parse(await python(CONNECT, { input, timeoutMs: 60_000 })) as Written[];
    assert.equal(written.length, 8 * 3 + 60 * 8 * 3 + 3);
    // Every partition is due (all of it dirty): one round cleans them all.
    assert.equal(await broker.cleanCompactedLogs(), Object.values(PARTITIONS).reduce((a, b) => a + b, 0));

    const confluent = JSON.parse(await python(CONFLUENT_READ, { input, timeoutMs: 60_000 })) as Written[];
    assertReadCompacted('confluent-kafka', sorted(confluent), written);

    const kcatRead: Written[] = [];
    for (const topic of TOPICS) {
      const out = await kcat(['-C', '-b', bootstrap, '-t', topic, '-o', 'beginning', '-e', '-q', '-J']);
      assert.equal(out.code, 0, out.stderr);
      for (const line of out.stdout.toString().trim().split('\n')) {
        const m = JSON.parse(line) as { topic: string; partition: number; offset: number; key: string; payload: string | null };
        kcatRead.push({ topic: m.topic, partition: m.partition, offset: m.offset, key: m.key, value: m.payload });
      }
    }
    assertReadCompacted('kcat', sorted(kcatRead), written);

    const kafka = new Kafka({ brokers: [bootstrap], clientId: 'compaction-kafkajs', logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: 'compaction-kafkajs' });
    await consumer.connect();
    t.after(() => consumer.disconnect());
    const ends = new Map<string, number>();
    const admin = kafka.admin();
    await admin.connect();
    for (const topic of TOPICS) for (const o of await admin.fetchTopicOffsets(topic)) ends.set(`${topic}/${o.partition}`, Number(o.high));
    await admin.disconnect();
    const kafkajsRead: Written[] = [];
    const caughtUp = new Set([...ends].filter(([, end]) => end === 0).map(([k]) => k));
    await consumer.subscribe({ topics: TOPICS, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`KafkaJS read ${kafkajsRead.length} records and stopped`)); }, 30_000);
      void consumer.run({
        eachMessage: ({ topic, partition, message }) => {
          const offset = Number(message.offset);
          kafkajsRead.push({ topic, partition, offset, key: message.key?.toString() ?? '', value: message.value === null ? null : message.value.toString() });
          if (offset + 1 >= (ends.get(`${topic}/${partition}`) ?? 0)) caughtUp.add(`${topic}/${partition}`);
          if (caughtUp.size === ends.size) {
            clearTimeout(timer);
            resolve();
          }
          return Promise.resolve();
        },
      });
    });
    assertReadCompacted('KafkaJS', sorted(kafkajsRead), written);
  });
});
