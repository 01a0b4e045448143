import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompressionCodec } from '../../src/records/compression.js';
import { startBroker } from '../helpers/broker.js';
import { mixedMessages, python, recordsByCodec } from './support.js';

/**
 * confluent-kafka 1.7.0 (Debian's python3-confluent-kafka on librdkafka 2.0.2).
 *
 * Consuming without consumer groups: the Consumer demands a group.id, and with one set its group
 * machinery keeps looking for a coordinator (FindCoordinator is not served yet, so librdkafka disables
 * its BrokerGroupCoordinator feature and logs "no broker available for coordinator query"). Manual
 * assign() still fetches normally. What must be off is auto commit: with the default
 * enable.auto.commit=true, consuming works but close() blocks for about 46 s trying to commit to a
 * coordinator that never appears. So: enable.auto.commit=False and enable.auto.offset.store=False.
 */

const CONSUMER_CONFIG = "{'bootstrap.servers': bootstrap, 'group.id': 'parapet-interop', 'enable.auto.commit': False, 'enable.auto.offset.store': False}";

const PRODUCE_AND_CONSUME = String.raw`
import json, sys, time
from confluent_kafka import Producer, Consumer, TopicPartition, OFFSET_BEGINNING
from confluent_kafka.admin import AdminClient, NewTopic

job = json.load(sys.stdin)
bootstrap, topic = job['bootstrap'], job['topic']
unhex = lambda s: None if s is None else bytes.fromhex(s)
hexof = lambda b: None if b is None else b.hex()
admin = AdminClient({'bootstrap.servers': bootstrap})
for f in admin.create_topics([NewTopic(topic, len(job['partitions']), 1)]).values():
    f.result()

sent = {}
for part in job['partitions']:
    p = Producer({'bootstrap.servers': bootstrap, 'acks': part['acks'], 'compression.type': part['compression'], 'linger.ms': 5})
    reports = []
    def report(err, msg):
        reports.append([None if err is None else str(err), msg.offset()])
    for m in part['messages']:
        p.produce(topic, value=unhex(m['value']), key=unhex(m['key']), partition=part['p'],
                  headers=[(k, unhex(v)) for k, v in m['headers']], timestamp=m['ts'], on_delivery=report)
        p.poll(0)
    assert p.flush(15) == 0, 'undelivered messages'
    sent[part['p']] = reports

c = Consumer(${CONSUMER_CONFIG})
c.assign([TopicPartition(topic, part['p'], OFFSET_BEGINNING) for part in job['partitions']])
total = sum(len(part['messages']) for part in job['partitions'])
got = {part['p']: [] for part in job['partitions']}
errors = []
deadline = time.time() + 20
while sum(len(v) for v in got.values()) < total and time.time() < deadline:
    m = c.poll(0.5)
    if m is None:
        continue
    if m.error():
        errors.append(str(m.error()))
        continue
    got[m.partition()].append([m.offset(), hexof(m.key()), hexof(m.value()),
                               [[k, hexof(v)] for k, v in (m.headers() or [])], list(m.timestamp())])

# Assigning at an explicit offset in the middle of a batch.
c.assign([TopicPartition(topic, 0, job['seekTo'])])
first = None
deadline = time.time() + 10
while first is None and time.time() < deadline:
    m = c.poll(0.5)
    if m is not None and not m.error():
        first = m.offset()

tps = [TopicPartition(topic, part['p']) for part in job['partitions']]
watermarks = {str(tp.partition): list(c.get_watermark_offsets(tp, timeout=5)) for tp in tps}
times = {str(q): c.offsets_for_times([TopicPartition(topic, 0, q)], timeout=5)[0].offset for q in job['timeQueries']}
c.close()
print(json.dumps({'sent': sent, 'got': got, 'errors': errors, 'seek': first, 'watermarks': watermarks, 'times': times}))
`;

describe('confluent-kafka interop', () => {
  it('produces with acks=all (zstd, lz4) and acks=1 (gzip); a group-less consumer reads every partition in order', async (t) => {
    const { bootstrap, port, logger } = await startBroker(t);
    const base = Date.now() - 3_600_000;
    const partitions = [
      { p: 0, compression: 'zstd', acks: 'all', messages: mixedMessages(3000, base, 1) },
      { p: 1, compression: 'lz4', acks: 'all', messages: mixedMessages(2000, base, 2) },
      { p: 2, compression: 'gzip', acks: '1', messages: mixedMessages(1000, base, 3) },
    ];
    const last = base + 2999 * 10;
    const timeQueries = [base - 1, base + 505, base + 12_340, last, last + 1];
    const stdout = await python(PRODUCE_AND_CONSUME, {
      input: JSON.stringify({ bootstrap, topic: 'cf-data', partitions, seekTo: 1234, timeQueries }),
      timeoutMs: 60_000,
    });
    const out = JSON.parse(stdout) as {
      sent: Record<string, [string | null, number][]>;
      got: Record<string, [number, string | null, string | null, [string, string | null][], [number, number]][]>;
      errors: string[];
      seek: number | null;
      watermarks: Record<string, [number, number]>;
      times: Record<string, number>;
    };
    assert.deepEqual(out.errors, []);
    for (const { p, messages } of partitions) {
      assert.deepEqual(out.sent[p], messages.map((_, i) => [null, i]), `partition ${p}: delivery reports in order, offsets 0..n-1`);
      const got = out.got[p] ?? [];
      assert.equal(got.length, messages.length, `partition ${p}: every record consumed once`);
      // librdkafka hands an empty key back as an empty key and a null one as None: the broker must keep them apart.
      assert.deepEqual(
        got,
        messages.map((m, i) => [i, m.key, m.value, m.headers, [1, m.ts]]),
        `partition ${p}: offsets, keys, values, headers and CreateTime timestamps in order`,
      );
      assert.deepEqual(out.watermarks[p], [0, messages.length], `partition ${p}: low and high watermarks`);
    }
    assert.equal(out.seek, 1234);
    // OFFSET_END (-1) is librdkafka's answer for "no record at or after this time".
    assert.deepEqual(out.times, { [base - 1]: 0, [base + 505]: 51, [base + 12_340]: 1234, [last]: 2999, [last + 1]: -1 });

    const zstd = await recordsByCodec(port, 'cf-data', 0, 3000);
    assert.ok((zstd.get(CompressionCodec.zstd) ?? 0) > 2700, `zstd carries most records: ${JSON.stringify([...zstd])}`);
    const gzip = await recordsByCodec(port, 'cf-data', 2, 1000);
    assert.ok((gzip.get(CompressionCodec.gzip) ?? 0) > 900, `gzip carries most records: ${JSON.stringify([...gzip])}`);
    // librdkafka 2.0.2 enables LZ4 only when FindCoordinator v0 is advertised.
    await t.test('lz4 batches are stored lz4-compressed', async () => {
      const lz4 = await recordsByCodec(port, 'cf-data', 1, 2000);
      assert.ok((lz4.get(CompressionCodec.lz4) ?? 0) > 1800, `lz4 carries most records: ${JSON.stringify([...lz4])}`);
    });
    assert.deepEqual(
      logger.entries.filter((e) => e.level !== 'debug' && e.level !== 'info'),
      [],
      'the broker logged no warnings or errors',
    );
  });
});
