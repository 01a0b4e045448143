import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker } from '../helpers/broker.js';
import { createTopic } from '../helpers/client.js';
import { BatchClient, LATEST } from '../helpers/durability.js';
import { kcat } from './security-support.js';
import { python } from './support.js';

/**
 * Transactions with real clients (issue 21): confluent-kafka 1.7.0 (librdkafka 2.0.2) and KafkaJS
 * transactional producers commit and abort transactions interleaved on the same partitions; readers of
 * both isolation levels (kcat, confluent-kafka, KafkaJS) see exactly the committed records, or all of
 * them. kafka-python 2.0.2 has no read_committed (its fetcher is hard-wired to read_uncommitted) and
 * does not skip control batches: it hands the markers to the application as records (key
 * 00 00 00 0x, the marker type); what it reads is checked as that.
 */

const PARTS = 3;

/** Two transactional producers on the same partitions, each round one commits and the other aborts. */
const INTERLEAVED = `
import json, sys
from confluent_kafka import Producer
cfg = json.load(sys.stdin)
b, topic, parts = cfg['bootstrap'], cfg['topic'], cfg['parts']
def producer(tid):
    p = Producer({'bootstrap.servers': b, 'transactional.id': tid, 'linger.ms': 5, 'log_level': 3})
    p.init_transactions(15)
    return p
pa, pb = producer('orders-a'), producer('orders-b')
committed, aborted = [], []
for i in range(4):
    pa.begin_transaction(); pb.begin_transaction()
    va, vb = [], []
    for k in range(5):
        for part in range(parts):
            a = 'a%d-p%d-%d' % (i, part, k); pa.produce(topic, a.encode(), partition=part); va.append(a)
            x = 'b%d-p%d-%d' % (i, part, k); pb.produce(topic, x.encode(), partition=part); vb.append(x)
        pa.flush(15); pb.flush(15)
    if i % 2 == 0:
        pa.commit_transaction(15); committed += va
        pb.abort_transaction(15); aborted += vb
    else:
        pb.commit_transaction(15); committed += vb
        pa.abort_transaction(15); aborted += va
print(json.dumps({'committed': committed, 'aborted': aborted}))
`;

/** A confluent-kafka consumer of every partition from the start to its end (the LSO for read_committed). */
const CONFLUENT_READ = `
import json, sys
from confluent_kafka import Consumer, KafkaError, TopicPartition
cfg = json.load(sys.stdin)
c = Consumer({'bootstrap.servers': cfg['bootstrap'], 'group.id': 'reader', 'isolation.level': cfg['isolation'],
              'enable.auto.commit': False, 'enable.partition.eof': True, 'log_level': 3})
c.assign([TopicPartition(cfg['topic'], p, 0) for p in range(cfg['parts'])])
eof, out = set(), []
while len(eof) < cfg['parts']:
    m = c.poll(10)
    assert m is not None, 'no message or end of partition within 10 s'
    if m.error():
        assert m.error().code() == KafkaError._PARTITION_EOF, m.error()
        eof.add(m.partition())
        continue
    out.append(m.value().decode())
c.close()
print(json.dumps(out))
`;

/** kafka-python 2.0.2: every record of every partition, until 2 s without one; markers show as records with a 4-byte key. */
const KAFKA_PYTHON_READ = `
import json, sys
from kafka import KafkaConsumer, TopicPartition
cfg = json.load(sys.stdin)
c = KafkaConsumer(bootstrap_servers=cfg['bootstrap'], enable_auto_commit=False, consumer_timeout_ms=2000)
c.assign([TopicPartition(cfg['topic'], p) for p in range(cfg['parts'])])
c.seek_to_beginning()
values, markers = [], []
for m in c:
    if m.key is not None and len(m.key) == 4 and m.key[:3] == b'\\x00\\x00\\x00':
        markers.append('commit' if m.key[3] == 1 else 'abort')
    else:
        values.append(m.value.decode())
print(json.dumps({'values': values, 'markers': markers}))
`;

async function kcatValues(bootstrap: string, topic: string, isolation: string): Promise<string[]> {
  const r = await kcat(['-C', '-b', bootstrap, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%s\\n', '-X', `isolation.level=${isolation}`], { timeoutMs: 30_000 });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.toString('utf8').split('\n').filter((l) => l !== '');
}

async function kafkajsValues(bootstrap: string, topic: string, readUncommitted: boolean, expected: number): Promise<string[]> {
  const kafka = new Kafka({ clientId: 'txn-reader', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `kafkajs-reader-${readUncommitted ? 'all' : 'committed'}`, readUncommitted, maxWaitTimeInMs: 200 });
  await consumer.connect();
  const out: string[] = [];
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`KafkaJS read ${out.length} of ${expected} records in 20 s`));
      }, 20_000);
      void consumer.run({
        eachMessage: ({ message }) => {
          out.push(message.value?.toString('utf8') ?? '');
          if (out.length >= expected) {
            clearTimeout(timer);
            resolve();
          }
          return Promise.resolve();
        },
      });
    });
    // Anything more than expected would arrive with the records already fetched.
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    await consumer.disconnect();
  }
  return out;
}

const sorted = (values: readonly string[]) => [...values].sort();

/** A second producer with the same transactional.id fences the first, whose open transaction is aborted. */
const FENCING = `
import json, sys
from confluent_kafka import Producer, KafkaException
cfg = json.load(sys.stdin)
conf = {'bootstrap.servers': cfg['bootstrap'], 'transactional.id': 'fenced-tx', 'log_level': 0}
zombie = Producer(conf)
zombie.init_transactions(15)
zombie.begin_transaction()
zombie.produce(cfg['topic'], b'zombie', partition=0)
zombie.flush(15)
live = Producer(conf)
live.init_transactions(15)
live.begin_transaction()
live.produce(cfg['topic'], b'live', partition=0)
live.commit_transaction(15)
try:
    zombie.produce(cfg['topic'], b'zombie-2', partition=0)
    zombie.commit_transaction(15)
    print(json.dumps({'zombie': 'committed'}))
except KafkaException as e:
    print(json.dumps({'zombie': e.args[0].name(), 'fatal': e.args[0].fatal()}))
`;

/** Opens a transaction, writes to it and goes away without ending it. */
const ABANDON = `
import json, os, sys
from confluent_kafka import Producer
cfg = json.load(sys.stdin)
p = Producer({'bootstrap.servers': cfg['bootstrap'], 'transactional.id': 'abandoned-tx', 'transaction.timeout.ms': 2000,
              'message.timeout.ms': 2000, 'log_level': 0})
p.init_transactions(15)
p.begin_transaction()
for i in range(3):
    p.produce(cfg['topic'], b'abandoned-%d' % i, partition=0)
assert p.flush(15) == 0
print('written', flush=True)
os._exit(0)
`;

describe('transactions with real clients', () => {
  it('confluent-kafka commits and aborts interleaved transactions; each isolation level sees what it must', async (t) => {
    const { bootstrap, port } = await startBroker(t);
    const topic = 'txn-orders';
    await createTopic(port, topic, PARTS);
    const written = JSON.parse(await python(INTERLEAVED, { input: JSON.stringify({ bootstrap, topic, parts: PARTS }), timeoutMs: 60_000 })) as { committed: string[]; aborted: string[] };
    assert.equal(written.committed.length, 60);
    const all = sorted([...written.committed, ...written.aborted]);
    const committed = sorted(written.committed);

    assert.deepEqual(sorted(await kcatValues(bootstrap, topic, 'read_committed')), committed, 'kcat read_committed');
    assert.deepEqual(sorted(await kcatValues(bootstrap, topic, 'read_uncommitted')), all, 'kcat read_uncommitted');
    const confluent = async (isolation: string) => JSON.parse(await python(CONFLUENT_READ, { input: JSON.stringify({ bootstrap, topic, parts: PARTS, isolation }), timeoutMs: 60_000 })) as string[];
    assert.deepEqual(sorted(await confluent('read_committed')), committed, 'confluent-kafka read_committed');
    assert.deepEqual(sorted(await confluent('read_uncommitted')), all, 'confluent-kafka read_uncommitted');
    assert.deepEqual(sorted(await kafkajsValues(bootstrap, topic, false, committed.length)), committed, 'KafkaJS read_committed');
    assert.deepEqual(sorted(await kafkajsValues(bootstrap, topic, true, all.length)), all, 'KafkaJS read uncommitted');
    const kafkaPython = JSON.parse(await python(KAFKA_PYTHON_READ, { input: JSON.stringify({ bootstrap, topic, parts: PARTS }), timeoutMs: 60_000 })) as { values: string[]; markers: string[] };
    assert.deepEqual(sorted(kafkaPython.values), all, 'kafka-python 2.0.2 reads uncommitted');
    // 4 rounds × 2 transactions × 3 partitions: one marker each.
    assert.deepEqual([kafkaPython.markers.filter((m) => m === 'commit').length, kafkaPython.markers.filter((m) => m === 'abort').length], [12, 12]);

    // Nothing is open: the last stable offset is the log end on every partition.
    const client = await BatchClient.open(t, port);
    for (let p = 0; p < PARTS; p++) {
      const end = await client.listOffset(topic, p, LATEST, 0);
      assert.deepEqual(await client.listOffset(topic, p, LATEST, 1), end);
    }
  });

  it('KafkaJS transactions: a committed and an aborted one, read back by kcat and confluent-kafka with read_committed', async (t) => {
    const { bootstrap, port } = await startBroker(t);
    const topic = 'txn-kafkajs';
    await createTopic(port, topic, PARTS);
    const kafka = new Kafka({ clientId: 'txn-writer', brokers: [bootstrap], logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ transactionalId: 'kafkajs-tx', idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    t.after(() => producer.disconnect());
    const send = async (prefix: string, commit: boolean) => {
      const txn = await producer.transaction();
      const messages = Array.from({ length: 6 }, (_, i) => ({ value: `${prefix}-${i}`, partition: i % PARTS }));
      await txn.send({ topic, messages });
      if (commit) await txn.commit();
      else await txn.abort();
      return messages.map((m) => m.value);
    };
    const one = await send('one', true);
    await send('two', false);
    const committed = [...one, ...(await send('three', true))];
    assert.deepEqual(sorted(await kcatValues(bootstrap, topic, 'read_committed')), sorted(committed));
    const confluent = JSON.parse(await python(CONFLUENT_READ, { input: JSON.stringify({ bootstrap, topic, parts: PARTS, isolation: 'read_committed' }), timeoutMs: 60_000 })) as string[];
    assert.deepEqual(sorted(confluent), sorted(committed));
    assert.equal((await kcatValues(bootstrap, topic, 'read_uncommitted')).length, 18);
  });

  it('a second instance fences the first: its open transaction is aborted and its commit fails fenced (confluent-kafka, KafkaJS)', async (t) => {
    const { bootstrap, port } = await startBroker(t);
    const topic = 'txn-fenced';
    await createTopic(port, topic, 1);
    const out = JSON.parse(await python(FENCING, { input: JSON.stringify({ bootstrap, topic }), timeoutMs: 60_000 })) as { zombie: string; fatal?: boolean };
    // librdkafka reports the fencing as its fatal _FENCED error (from PRODUCER_FENCED / INVALID_PRODUCER_EPOCH).
    assert.match(out.zombie, /FENCED|INVALID_PRODUCER_EPOCH/);
    assert.equal(out.fatal, true);
    assert.deepEqual(await kcatValues(bootstrap, topic, 'read_committed'), ['live']);

    // KafkaJS (EndTxn v1: INVALID_PRODUCER_EPOCH, the code of clients older than KIP-588).
    const kafka = new Kafka({ clientId: 'txn-fencing', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 1, initialRetryTime: 50 } });
    const first = kafka.producer({ transactionalId: 'kafkajs-fenced', idempotent: true, maxInFlightRequests: 1 });
    const second = kafka.producer({ transactionalId: 'kafkajs-fenced', idempotent: true, maxInFlightRequests: 1 });
    await first.connect();
    t.after(() => first.disconnect());
    const txn = await first.transaction();
    await txn.send({ topic, messages: [{ value: 'kafkajs-zombie', partition: 0 }] });
    await second.connect();
    t.after(() => second.disconnect());
    // KafkaJS asks for its producer id at its first transaction: that fences the first producer.
    const live = await second.transaction();
    await assert.rejects(txn.commit(), (err: Error & { type?: string }) => /INVALID_PRODUCER_EPOCH|PRODUCER_FENCED/.test(err.type ?? err.message));
    await live.send({ topic, messages: [{ value: 'kafkajs-live', partition: 0 }] });
    await live.commit();
    assert.deepEqual(await kcatValues(bootstrap, topic, 'read_committed'), ['live', 'kafkajs-live']);
  });

  it('a transaction abandoned by its producer is aborted after transaction.timeout.ms and the last stable offset moves on', async (t) => {
    const { bootstrap, port, logger } = await startBroker(t, { transactionAbortCheckIntervalMs: 200 });
    const topic = 'txn-abandoned';
    await createTopic(port, topic, 1);
    assert.match(await python(ABANDON, { input: JSON.stringify({ bootstrap, topic }), timeoutMs: 30_000 }), /written/);
    const client = await BatchClient.open(t, port);
    const end = (await client.listOffset(topic, 0, LATEST, 0)).offset;
    assert.equal(end, 3n);
    // Still open (unless the check already ran): read_committed readers stop before it.
    const stable = (await client.listOffset(topic, 0, LATEST, 1)).offset;
    assert.ok(stable === 0n || stable === 4n, `last stable offset ${stable}`);
    const deadline = Date.now() + 10_000;
    while ((await client.listOffset(topic, 0, LATEST, 1)).offset !== 4n) {
      assert.ok(Date.now() < deadline, 'the abandoned transaction was not aborted within 10 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    // The abort marker is offset 3: nothing of the transaction is committed.
    assert.deepEqual(await kcatValues(bootstrap, topic, 'read_committed'), []);
    assert.deepEqual(await kcatValues(bootstrap, topic, 'read_uncommitted'), ['abandoned-0', 'abandoned-1', 'abandoned-2']);
    assert.ok(logger.entries.some((e) => e.msg.startsWith('aborting a transaction open longer than its transaction.timeout.ms')));
  });
});
