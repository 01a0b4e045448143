import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompressionCodec } from '../../src/records/compression.js';
import { startBroker } from '../helpers/broker.js';
import { python, recordsByCodec, runFile } from './support.js';

/**
 * Kafka behaviours that client test suites rely on, driven with confluent-kafka (librdkafka 2.0.2)
 * and kcat: invalid topic names fail a produce at once, manual replica assignments naming this
 * broker create topics, and the topic configs compression.type, min.insync.replicas and
 * message.timestamp.after.max.ms act as in Kafka.
 */

const PRODUCE_TO_BAD_NAMES = String.raw`
import json, sys, time
from confluent_kafka import Producer
job = json.load(sys.stdin)
out = {}
for topic in job['topics']:
    p = Producer({'bootstrap.servers': job['bootstrap'], 'message.timeout.ms': 30000})
    reports = []
    start = time.time()
    p.produce(topic, b'x', on_delivery=lambda err, msg: reports.append(None if err is None else [err.code(), err.str()]))
    p.flush(35)
    out[topic] = {'reports': reports, 'seconds': time.time() - start}
print(json.dumps(out))
`;

describe('confluent-kafka and kcat against the Kafka behaviours of topics', () => {
  for (const autoCreateTopics of [false, true]) {
    it(`fails a produce to an invalid topic name at once with INVALID_TOPIC_EXCEPTION (auto-creation ${autoCreateTopics ? 'on' : 'off'})`, async (t) => {
      const { bootstrap } = await startBroker(t, { autoCreateTopics });
      const long = 'a'.repeat(250);
      const stdout = await python(PRODUCE_TO_BAD_NAMES, { input: JSON.stringify({ bootstrap, topics: ['bad/name', long] }), timeoutMs: 60_000 });
      const out = JSON.parse(stdout) as Partial<Record<string, { reports: ([number, string] | null)[]; seconds: number }>>;
      for (const topic of ['bad/name', long]) {
        const result = out[topic] ?? { reports: [], seconds: Infinity };
        assert.deepEqual(result.reports, [[17, 'Broker: Invalid topic']], topic.slice(0, 20));
        // Well under message.timeout.ms (30 s): the Metadata answer, not the timeout, failed it.
        assert.ok(result.seconds < 5, `${topic.slice(0, 20)}: failed after ${result.seconds} s`);
      }
      // kcat exits 1 at once: with the failed delivery, or, when the Metadata answer came before the
      // message was queued, with librdkafka's local refusal of a topic its metadata marks as failed.
      const started = Date.now();
      const kcat = await runFile('sh', ['-c', `echo x | kcat -b ${bootstrap} -P -t bad/name -X message.timeout.ms=30000`], { timeout: 20_000 }).then(
        () => assert.fail('kcat succeeded'),
        (err: unknown) => String((err as { stderr?: unknown }).stderr),
      );
      assert.match(kcat, /Delivery failed for message: Broker: Invalid topic|Failed to produce message \(1 bytes\): Local: Unknown topic/);
      assert.ok(Date.now() - started < 5000, `kcat failed after ${Date.now() - started} ms`);
      const { stdout: listed } = await runFile('kcat', ['-b', bootstrap, '-L', '-m', '5']);
      assert.doesNotMatch(listed, /bad\/name|aaaa/, 'nothing was auto-created');
    });
  }

  it('AdminClient creates a topic from replica_assignment [[0],[0]] and refuses [[0],[1]] with the reason', async (t) => {
    const { bootstrap } = await startBroker(t);
    const stdout = await python(String.raw`
import json, sys
from confluent_kafka.admin import AdminClient, NewTopic, NewPartitions
bootstrap = sys.stdin.read().strip()
a = AdminClient({'bootstrap.servers': bootstrap})
out = {}
for name, assignment in [('assigned', [[0], [0]]), ('elsewhere', [[0], [1]])]:
    try:
        a.create_topics([NewTopic(name, len(assignment), replica_assignment=assignment)])[name].result(10)
        out[name] = 'created'
    except Exception as e:
        out[name] = [e.args[0].code(), e.args[0].str()]
try:
    a.create_partitions([NewPartitions('assigned', 3, replica_assignment=[[0]])])['assigned'].result(10)
    out['grown'] = 'grown'
except Exception as e:
    out['grown'] = [e.args[0].code(), e.args[0].str()]
md = a.list_topics(timeout=10)
out['partitions'] = {n: len(t.partitions) for n, t in md.topics.items() if not n.startswith('__')}
print(json.dumps(out))
`, { input: bootstrap, timeoutMs: 60_000 });
    const out = JSON.parse(stdout) as { assigned: string; elsewhere: [number, string]; grown: string; partitions: Record<string, number> };
    assert.equal(out.assigned, 'created');
    assert.equal(out.elsewhere[0], 39);
    assert.match(out.elsewhere[1], /names broker 1, but this is a single broker \(node id 0\)/);
    assert.equal(out.grown, 'grown');
    assert.deepEqual(out.partitions, { assigned: 3 });
  });

  it('stores gzip batches of a compression.type=zstd topic as zstd; consumers read them back; min.insync.replicas=2 is refused', async (t) => {
    const { bootstrap, port } = await startBroker(t);
    const values = Array.from({ length: 200 }, (_, i) => `value-${i}-${'z'.repeat(i % 50)}`);
    const stdout = await python(String.raw`
import json, sys, time
from confluent_kafka import Producer, Consumer, TopicPartition, OFFSET_BEGINNING
from confluent_kafka.admin import AdminClient, NewTopic
job = json.load(sys.stdin)
a = AdminClient({'bootstrap.servers': job['bootstrap']})
a.create_topics([NewTopic('zstd-topic', 1, 1, config={'compression.type': 'zstd'})])['zstd-topic'].result(10)
try:
    a.create_topics([NewTopic('isr2', 1, 1, config={'min.insync.replicas': '2'})])['isr2'].result(10)
    refused = None
except Exception as e:
    refused = [e.args[0].code(), e.args[0].str()]
p = Producer({'bootstrap.servers': job['bootstrap'], 'compression.type': 'gzip', 'linger.ms': 50})
reports = []
for v in job['values']:
    p.produce('zstd-topic', v.encode(), on_delivery=lambda err, msg: reports.append(None if err is None else str(err)))
p.flush(15)
late = []
p.produce('zstd-topic', b'late', timestamp=int(time.time() * 1000) + 2 * 3600 * 1000, on_delivery=lambda err, msg: late.append(None if err is None else [err.code(), err.str()]))
p.flush(15)
c = Consumer({'bootstrap.servers': job['bootstrap'], 'group.id': 'g', 'enable.auto.commit': False, 'enable.auto.offset.store': False})
c.assign([TopicPartition('zstd-topic', 0, OFFSET_BEGINNING)])
got = []
deadline = time.time() + 20
while len(got) < len(job['values']) and time.time() < deadline:
    m = c.poll(0.5)
    if m is not None and not m.error():
        got.append(m.value().decode())
c.close()
print(json.dumps({'refused': refused, 'reports': reports, 'late': late, 'got': got}))
`, { input: JSON.stringify({ bootstrap, values }), timeoutMs: 90_000 });
    const out = JSON.parse(stdout) as { refused: [number, string]; reports: (string | null)[]; late: [number, string][]; got: string[] };
    assert.equal(out.refused[0], 40);
    assert.match(out.refused[1], /min\.insync\.replicas must be 1: this broker keeps one replica of each partition/);
    assert.deepEqual(out.reports, values.map(() => null));
    assert.deepEqual(out.got, values);
    // Two hours ahead of the broker's clock: past Kafka 4.0's default message.timestamp.after.max.ms.
    assert.deepEqual(out.late, [[32, 'Broker: Invalid timestamp']]);
    const codecs = await recordsByCodec(port, 'zstd-topic', 0, values.length);
    assert.deepEqual([...codecs], [[CompressionCodec.zstd, values.length]], 'every batch stored as zstd');

    // kcat's gzip batches too.
    await runFile('sh', ['-c', `printf 'k1\\nk2\\nk3\\n' | kcat -b ${bootstrap} -P -t zstd-topic -z gzip`], { timeout: 20_000 });
    const withKcat = await recordsByCodec(port, 'zstd-topic', 0, values.length + 3);
    assert.deepEqual([...withKcat], [[CompressionCodec.zstd, values.length + 3]], "kcat's batches stored as zstd too");
  });
});
