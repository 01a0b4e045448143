import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startBroker } from '../helpers/broker.js';
import { createTopic } from '../helpers/client.js';
import {
  batchesInFile,
  run,
  segmentBases,
  segmentPath,
  spawnBroker,
  spawnPython,
  tempDataDir,
  waitFor,
  type ChildBroker,
} from '../helpers/durability.js';
import { python } from './support.js';

/**
 * Idempotent producers against real clients. confluent-kafka 1.7.0 (librdkafka 2.0.2) with
 * enable.idempotence=true keeps producing while the broker is SIGKILLed and restarted on the same
 * port: requests in flight at the kill may have been appended without an answer, the producer retries
 * them with the same sequence numbers, and the restarted broker (its producer state rebuilt from the
 * log) must answer them as duplicates. kafka-python 2.0.2 has no idempotence: it must still work.
 */

/**
 * Produces `total` messages round-robin to explicit partitions; the value is the message's number
 * within its partition, so each partition must read 0, 1, 2, … in offset order. Paced (about 10k
 * messages/s) so that the broker is killed in the middle of the stream. Prints `D <p> <offset> <n>`
 * per delivery, `E <p> <n> <error>` per failure, then `DONE <undelivered>`.
 */
const IDEMPOTENT_PRODUCER = String.raw`
import sys, time
from confluent_kafka import Producer
bootstrap, topic, total, parts, pad, pace = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
p = Producer({'bootstrap.servers': bootstrap, 'enable.idempotence': True, 'acks': 'all',
              'message.timeout.ms': 60000, 'linger.ms': 5, 'batch.num.messages': 100,
              'reconnect.backoff.ms': 50, 'reconnect.backoff.max.ms': 500, 'log_level': 3})
out = sys.stdout
def report(err, msg):
    if err is None:
        out.write('D %d %d %s\n' % (msg.partition(), msg.offset(), msg.value().decode().rstrip('.')))
    else:
        out.write('E %d %s %s\n' % (msg.partition(), msg.value().decode().rstrip('.'), err))
    out.flush()
for i in range(total):
    while True:
        try:
            p.produce(topic, value=str(i // parts).ljust(pad, '.').encode(), partition=i % parts, on_delivery=report)
            break
        except BufferError:
            p.poll(0.01)
    p.poll(0)
    if pace and i % 100 == 99:
        time.sleep(pace)
out.write('DONE %d\n' % p.flush(90))
out.flush()
`;

/** A port that was free a moment ago, so that a restarted broker can listen where the client reconnects. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Every message of a topic: partition, offset and value, in offset order per partition. */
async function kcatAll(bootstrap: string, topic: string): Promise<{ partition: number; offset: bigint; value: string }[]> {
  const { stdout } = await run('kcat', ['-C', '-b', bootstrap, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%p %o %s\\n'], {
    timeout: 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [p, o, v] = l.split(' ');
      return { partition: Number(p), offset: BigInt(o ?? '-1'), value: (v ?? '').replace(/\.+$/, '') };
    });
}

describe('idempotent producers (real clients)', () => {
  it('confluent-kafka with enable.idempotence: SIGKILL and restart mid-stream, every message exactly once and in order', { timeout: 180_000 }, async (t) => {
    const total = 20_000;
    const partitions = 2;
    const dataDir = tempDataDir(t, 'parapet-idempotence-');
    const port = await freePort();
    const brokers: ChildBroker[] = [await spawnBroker(t, dataDir, 'debug', port)];
    await createTopic(port, 'idem', partitions);
    const producer = spawnPython(t, IDEMPOTENT_PRODUCER, [`127.0.0.1:${port}`, 'idem', String(total), String(partitions), process.env.PAD ?? '1000', process.env.PACE ?? '0']);
    const delivered = () => producer.lines.filter((l) => l.startsWith('D ')).length;

    // Appended but not yet reported delivered: a kill now leaves batches the producer must retry.
    const aheadOfReports = () => {
      for (let p = 0; p < partitions; p++) {
        const reports = producer.lines.filter((l) => l.startsWith(`D ${p} `)).length;
        try {
          const [base] = segmentBases(dataDir, 'idem', p).slice(-1);
          const last = base === undefined ? undefined : batchesInFile(segmentPath(dataDir, 'idem', p, base)).at(-1);
          if (last !== undefined && last.lastOffset + 1n > BigInt(reports)) return true;
        } catch {
          // A batch being written right now: look again.
        }
      }
      return false;
    };

    // Three kills while the stream runs: each restart rebuilds the producer state from the log.
    for (const at of [total * 0.2, total * 0.45, total * 0.7]) {
      await waitFor(() => (delivered() >= at && aheadOfReports()) || producer.lines.some((l) => l.startsWith('DONE')), `${at} deliveries`, 60_000);
      const before = delivered();
      assert.ok(before < total, `the kill at ${before} deliveries must come before the end of the stream`);
      await (brokers.at(-1) as ChildBroker).kill('SIGKILL');
      await sleep(300);
      brokers.push(await spawnBroker(t, dataDir, 'debug', port));
      t.diagnostic(`killed the broker after ${before} deliveries, restarted on port ${port}`);
    }
    await waitFor(() => producer.lines.some((l) => l.startsWith('DONE')), 'the producer to finish', 120_000);
    await producer.exited;

    const errors = producer.lines.filter((l) => l.startsWith('E '));
    assert.deepEqual(errors.slice(0, 5), [], `${errors.length} failed deliveries; stderr: ${producer.stderr().slice(-2000)}`);
    assert.ok(producer.lines.includes('DONE 0'), `undelivered messages: ${producer.lines.filter((l) => l.startsWith('DONE')).join()}`);

    // Delivery reports: each message once, at the offset the broker answered (for a retry answered as
    // a duplicate, the offset of the original).
    const reported = new Map<string, bigint>();
    for (const line of producer.lines.filter((l) => l.startsWith('D '))) {
      const [, p, o, n] = line.split(' ');
      const key = `${p}/${n}`;
      assert.ok(!reported.has(key), `message ${key} reported twice`);
      reported.set(key, BigInt(o ?? '-1'));
    }
    assert.equal(reported.size, total);

    const stored = await kcatAll((brokers.at(-1) as ChildBroker).bootstrap, 'idem');
    assert.equal(stored.length, total, `${stored.length - total} messages too many (duplicates) or too few`);
    for (let p = 0; p < partitions; p++) {
      const inPartition = stored.filter((m) => m.partition === p);
      // No duplicate, no gap, in order: the values are exactly 0..n-1, at offsets 0..n-1.
      inPartition.forEach((m, i) => {
        assert.equal(m.value, String(i), `partition ${p} offset ${m.offset}: expected message ${i}`);
        assert.equal(m.offset, BigInt(i), `partition ${p}: offsets must be contiguous`);
        assert.equal(reported.get(`${p}/${m.value}`), m.offset, `partition ${p} message ${m.value}: delivery report offset`);
      });
      assert.equal(inPartition.length, total / partitions);
    }

    // The kills come while batches are appended but not yet reported (about 3 per run are): without
    // duplicates the test would not have exercised the rebuilt producer state at all.
    const duplicates = brokers.flatMap((b) => b.logs()).filter((l) => l.msg.startsWith('duplicate batch')).length;
    t.diagnostic(`${duplicates} retried batches were answered as duplicates by a restarted broker`);
    assert.ok(duplicates > 0, 'no retried batch reached a restarted broker: the kills missed the window they are meant to hit');
  });

  it('kafka-python 2.0.2 (no idempotence) still produces and consumes', { timeout: 60_000 }, async (t) => {
    const { bootstrap, logger } = await startBroker(t);
    const script = String.raw`
import json, sys
from kafka import KafkaProducer, KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
bootstrap = sys.argv[1]
admin = KafkaAdminClient(bootstrap_servers=bootstrap)
admin.create_topics([NewTopic('plain', 1, 1)])
admin.close()
p = KafkaProducer(bootstrap_servers=bootstrap, acks='all', linger_ms=5, retries=3)
futures = [p.send('plain', value=str(i).encode(), partition=0) for i in range(2000)]
p.flush()
offsets = [f.get(timeout=10).offset for f in futures]
p.close()
c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, auto_offset_reset='earliest', enable_auto_commit=False, consumer_timeout_ms=3000)
c.assign([TopicPartition('plain', 0)])
values = [r.value.decode() for r in c]
c.close()
print(json.dumps({'offsets': offsets, 'values': values}))
`;
    const out = JSON.parse(await python(script.replace('sys.argv[1]', JSON.stringify(bootstrap)), { timeoutMs: 50_000 })) as { offsets: number[]; values: string[] };
    assert.deepEqual(out.offsets, Array.from({ length: 2000 }, (_, i) => i));
    assert.deepEqual(out.values, Array.from({ length: 2000 }, (_, i) => String(i)));
    assert.deepEqual(logger.entries.filter((e) => e.level === 'error' || e.level === 'warn').map((e) => e.msg), []);
  });
});
