import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startBroker } from '../helpers/broker.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { ListOffsets } from '../../src/protocol/messages/list-offsets.js';
import { CompressionCodec } from '../../src/records/compression.js';
import { withConnection } from '../helpers/client.js';
import { mixedMessages, python, recordsByCodec } from './support.js';

/**
 * kafka-python 2.0.2 on the data path. It uses fixed versions, whatever the broker advertises: Produce
 * v7, Fetch v4, ListOffsets v1, Metadata v1. There are no consumer groups yet, so the consumer has
 * group_id=None and reads by manual assignment. Only gzip and none are tested: the system Python has
 * no snappy, lz4 or zstandard module.
 */

const PRODUCE_AND_CONSUME = String.raw`
import json, sys, time
from kafka import KafkaProducer, KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

job = json.load(sys.stdin)
bootstrap, topic = job['bootstrap'], job['topic']
unhex = lambda s: None if s is None else bytes.fromhex(s)
admin = KafkaAdminClient(bootstrap_servers=bootstrap)
# Small segments, so that reads, seeks and time lookups cross segment boundaries.
admin.create_topics([NewTopic(topic, len(job['partitions']), 1, topic_configs={'segment.bytes': '65536'})])

sent = {}
for part in job['partitions']:
    p = KafkaProducer(bootstrap_servers=bootstrap, acks='all', compression_type=part['compression'], linger_ms=5)
    futures = [p.send(topic, value=unhex(m['value']), key=unhex(m['key']),
                      headers=[(k, unhex(v)) for k, v in m['headers']], partition=part['p'], timestamp_ms=m['ts'])
               for m in part['messages']]
    p.flush()
    sent[part['p']] = [f.get(timeout=10).offset for f in futures]
    p.close()

c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, auto_offset_reset='earliest', enable_auto_commit=False)
tps = [TopicPartition(topic, part['p']) for part in job['partitions']]
c.assign(tps)
c.seek_to_beginning(*tps)
total = sum(len(part['messages']) for part in job['partitions'])
got = {tp.partition: [] for tp in tps}
deadline = time.time() + 20
while sum(len(v) for v in got.values()) < total and time.time() < deadline:
    for tp, records in c.poll(timeout_ms=500).items():
        for r in records:
            got[tp.partition].append([r.offset, None if r.key is None else r.key.hex(), None if r.value is None else r.value.hex(),
                                      [[k, v.hex()] for k, v in r.headers], r.timestamp, r.timestamp_type])

# A seek into the middle of a (compressed) batch: the broker returns the whole batch, the client skips.
c.seek(tps[0], job['seekTo'])
first = None
deadline = time.time() + 10
while first is None and time.time() < deadline:
    for tp, records in c.poll(timeout_ms=500, max_records=1).items():
        first = records[0].offset

queries = {}
for q in job['timeQueries']:
    r = c.offsets_for_times({tps[0]: q})[tps[0]]
    queries[str(q)] = None if r is None else [r.offset, r.timestamp]
out = {
    'sent': sent,
    'got': got,
    'seek': first,
    'end': {str(tp.partition): o for tp, o in c.end_offsets(tps).items()},
    'begin': {str(tp.partition): o for tp, o in c.beginning_offsets(tps).items()},
    'times': queries,
}
c.close()
admin.close()
print(json.dumps(out))
`;

describe('kafka-python interop', () => {
  it('produces (acks=all, gzip and none) and consumes by manual assignment; offsets, times and delete agree', async (t) => {
    // 64 KiB segments (below the default minimum, allowed down to Kafka's) so that reads cross them.
    const { bootstrap, port } = await startBroker(t, { minSegmentBytes: 65536 });
    const base = Date.now() - 3_600_000;
    const partitions = [
      { p: 0, compression: 'gzip', messages: mixedMessages(3000, base, 1) },
      { p: 1, compression: null, messages: mixedMessages(2000, base, 2) },
    ];
    const last = base + 2999 * 10;
    const timeQueries = [base - 5000, base, base + 505, base + 12_340, last, last + 1];
    const stdout = await python(PRODUCE_AND_CONSUME, {
      input: JSON.stringify({ bootstrap, topic: 'py-data', partitions, seekTo: 1234, timeQueries }),
      timeoutMs: 60_000,
    });
    const out = JSON.parse(stdout) as {
      sent: Record<string, number[]>;
      got: Record<string, [number, string | null, string | null, [string, string][], number, number][]>;
      seek: number | null;
      end: Record<string, number>;
      begin: Record<string, number>;
      times: Record<string, [number, number] | null>;
    };
    for (const { p, messages: sent } of partitions) {
      assert.deepEqual(out.sent[p], sent.map((_, i) => i), `partition ${p}: acks=all offsets are 0..n-1 in send order`);
      const got = out.got[p] ?? [];
      assert.equal(got.length, sent.length, `partition ${p}: every record consumed once`);
      assert.deepEqual(
        got,
        sent.map((m, i) => [i, m.key, m.value, m.headers, m.ts, 0]),
        `partition ${p}: offsets, keys, values, headers and CreateTime timestamps in order`,
      );
      assert.equal(out.end[p], sent.length, `partition ${p}: end offset`);
      assert.equal(out.begin[p], 0, `partition ${p}: beginning offset`);
    }
    assert.equal(out.seek, 1234, 'a seek into the middle of a batch starts at that offset');
    assert.deepEqual(out.times, {
      [base - 5000]: [0, base],
      [base]: [0, base],
      [base + 505]: [51, base + 510],
      [base + 12_340]: [1234, base + 12_340],
      [last]: [2999, last],
      [last + 1]: null,
    });

    const codecs = await recordsByCodec(port, 'py-data', 0, 3000);
    // kafka-python too sends a batch uncompressed when gzip would not shrink it (a lone first record).
    assert.ok((codecs.get(CompressionCodec.gzip) ?? 0) > 2900, `gzip carries most records: ${JSON.stringify([...codecs])}`);
    assert.deepEqual([...(await recordsByCodec(port, 'py-data', 1, 2000))], [[CompressionCodec.none, 2000]]);

    const deleted = String.raw`
from kafka.admin import KafkaAdminClient
a = KafkaAdminClient(bootstrap_servers='${bootstrap}')
a.delete_topics(['py-data'])
print(sorted(t for t in a.list_topics() if t != '__audit'))
a.close()
`;
    assert.equal((await python(deleted)).trim(), '[]');
    const lo = await withConnection(port, (c) =>
      c.request(ListOffsets, { replicaId: -1, topics: [{ name: 'py-data', partitions: [{ partitionIndex: 0, timestamp: -1n }] }] }, 1),
    );
    assert.equal(lo.topics[0]?.partitions[0]?.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'the deleted partition is gone');
  });

  it('a LogAppendTime topic stamps records with the broker clock, seen by producer and consumer', async (t) => {
    const { bootstrap } = await startBroker(t);
    const script = String.raw`
import json, time
from kafka import KafkaProducer, KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
b = '${bootstrap}'
admin = KafkaAdminClient(bootstrap_servers=b)
admin.create_topics([NewTopic('py-lat', 1, 1, topic_configs={'message.timestamp.type': 'LogAppendTime'})])
p = KafkaProducer(bootstrap_servers=b, acks=1, compression_type='gzip')
meta = [p.send('py-lat', value=b'v%d' % i, partition=0, timestamp_ms=1000 + i).get(timeout=10) for i in range(20)]
p.close()
c = KafkaConsumer(bootstrap_servers=b, group_id=None, auto_offset_reset='earliest', enable_auto_commit=False)
tp = TopicPartition('py-lat', 0)
c.assign([tp])
got = []
deadline = time.time() + 10
while len(got) < 20 and time.time() < deadline:
    for _, rs in c.poll(timeout_ms=500).items():
        got += [[r.offset, r.value.decode(), r.timestamp, r.timestamp_type] for r in rs]
c.close()
admin.close()
print(json.dumps({'meta': [[m.offset, m.timestamp] for m in meta], 'got': got}))
`;
    const before = Date.now();
    const out = JSON.parse(await python(script)) as { meta: [number, number][]; got: [number, string, number, number][] };
    const after = Date.now();
    assert.deepEqual(out.meta.map(([o]) => o), [...Array(20).keys()]);
    for (const [, ts] of out.meta) assert.ok(ts >= before && ts <= after, `producer sees the log append time ${ts}`);
    assert.deepEqual(out.got.map(([o, v, , type]) => [o, v, type]), [...Array(20).keys()].map((i) => [i, `v${i}`, 1]));
    for (const [, , ts] of out.got) assert.ok(ts >= before && ts <= after, `consumer sees the log append time ${ts}, not the producer's`);
  });
});
