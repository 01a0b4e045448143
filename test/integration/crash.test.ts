import assert from 'node:assert/strict';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTopic } from '../helpers/client.js';
import {
  kcatRead,
  runPython,
  segmentBases,
  segmentPath,
  spawnBroker,
  spawnPython,
  tempDataDir,
  waitFor,
  type Child,
  type Consumed,
} from '../helpers/durability.js';

/**
 * Process crashes and shutdowns of a broker run as `parapet start`, driven by real clients: what was
 * acknowledged survives a SIGKILL at the acknowledged offsets, and a SIGTERM flushes and indexes.
 */

/**
 * A confluent-kafka producer that sends `<name>-<8-digit seq>` round-robin over the partitions until it
 * is killed and prints `ACK <partition> <offset> <value>` for each delivery report without error.
 * No retries: a retried request could store a message twice, which is the client's doing, not the log's.
 */
const PRODUCER = `
import sys
from confluent_kafka import Producer
bootstrap, topic, name, parts, acks = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
count = int(sys.argv[6]) if len(sys.argv) > 6 else -1
pad = int(sys.argv[7]) if len(sys.argv) > 7 else 0
p = Producer({'bootstrap.servers': bootstrap, 'acks': acks, 'linger.ms': 2, 'message.send.max.retries': 0,
              'enable.idempotence': False, 'queue.buffering.max.messages': 5000, 'batch.num.messages': 50, 'log_level': 2})
def report(err, msg):
    if err is None:
        sys.stdout.write('ACK %d %d %s\\n' % (msg.partition(), msg.offset(), msg.value().decode()))
        sys.stdout.flush()
i = 0
while count < 0 or i < count:
    try:
        p.produce(topic, value=('%s-%08d' % (name, i)).ljust(pad, '.').encode(), partition=i % parts, on_delivery=report)
        i += 1
        p.poll(0)
    except BufferError:
        p.poll(0.005)
left = p.flush(30)
sys.stdout.write('DONE %d\\n' % left)
`;

interface Ack {
  readonly partition: number;
  readonly offset: bigint;
  readonly value: string;
  readonly producer: string;
  readonly seq: number;
}

const ACK_LINE = /^ACK (\d+) (\d+) ((p\d+)-(\d{8})\.*)$/;

/** The acknowledgements a producer printed (a line torn by the kill does not match and is ignored). */
function acksOf(child: Child): Ack[] {
  return child.lines.flatMap((line) => {
    const m = ACK_LINE.exec(line);
    if (m === null) return [];
    return [{ partition: Number(m[1]), offset: BigInt(m[2] as string), value: m[3] as string, producer: m[4] as string, seq: Number(m[5]) }];
  });
}

async function exitWithin(child: Child, ms: number) {
  const result = await Promise.race([child.exited, sleep(ms, 'timeout' as const, { ref: false })]);
  assert.notEqual(result, 'timeout', `the broker did not exit within ${ms} ms`);
  return result as Exclude<typeof result, 'timeout'>;
}

describe('broker process crash and shutdown', () => {
  it('SIGKILL during acks=all produce loses no acknowledged message and never reuses an offset', async (t) => {
    const dataDir = tempDataDir(t);
    const topic = 'crash';
    const PARTITIONS = 3;
    const PRODUCERS = 3;
    const first = await spawnBroker(t, dataDir);
    await createTopic(first.port, topic, PARTITIONS);

    const producers = Array.from({ length: PRODUCERS }, (_, i) => spawnPython(t, PRODUCER, [first.bootstrap, topic, `p${i}`, String(PARTITIONS), 'all']));
    // Kill once every producer has had acknowledgements on every partition, while they keep producing.
    await waitFor(
      () => {
        for (const p of producers) if (p.proc.exitCode !== null) throw new Error(`a producer exited: ${p.stderr()}`);
        return producers.every((p) => {
          const acks = acksOf(p);
          return acks.length >= 300 && new Set(acks.map((a) => a.partition)).size === PARTITIONS;
        });
      },
      'acknowledgements from every producer',
      30_000,
    );
    const killed = await first.kill('SIGKILL');
    assert.equal(killed.signal, 'SIGKILL');
    // No acknowledgement can come after the broker died; stop the producers and keep what they printed.
    await Promise.all(producers.map((p) => p.kill('SIGKILL')));
    const acks = producers.flatMap(acksOf);
    t.diagnostic(`acknowledged before the kill: ${acks.length} messages`);

    const second = await spawnBroker(t, dataDir);
    const restartLogs = second.logs();
    assert.deepEqual(
      restartLogs.filter((l) => l.level >= 50).map((l) => l.msg),
      [],
      'a process crash corrupts nothing',
    );
    const torn = restartLogs.filter((l) => l.msg.startsWith('truncated a torn write')).length;
    t.diagnostic(`torn tails truncated at restart: ${torn}`);

    const logs: Consumed[][] = [];
    for (let p = 0; p < PARTITIONS; p++) logs.push(await kcatRead(second.bootstrap, topic, p));

    for (let p = 0; p < PARTITIONS; p++) {
      const log = logs[p] as Consumed[];
      // In order, each offset once, starting at 0 (nothing was deleted).
      log.forEach((r, i) => {
        assert.equal(r.offset, BigInt(i), `partition ${p}: offset ${r.offset} at position ${i}`);
      });
      const byOffset = new Map(log.map((r) => [r.offset, r.value]));
      const mine = acks.filter((a) => a.partition === p);
      for (const a of mine) assert.equal(byOffset.get(a.offset), a.value, `acked ${a.value} at ${p}/${a.offset}`);
      // Each producer's acknowledged messages keep their send order within the partition.
      for (let i = 0; i < PRODUCERS; i++) {
        const seqs = mine.filter((a) => a.producer === `p${i}`).sort((x, y) => (x.offset < y.offset ? -1 : 1));
        seqs.slice(1).forEach((a, j) => {
          assert.ok(a.seq > (seqs[j] as Ack).seq, `p${i} in order on partition ${p}`);
        });
      }
    }
    // Exactly once: no acknowledged value appears twice anywhere.
    const counts = new Map<string, number>();
    for (const r of logs.flat()) counts.set(r.value, (counts.get(r.value) ?? 0) + 1);
    for (const a of acks) assert.equal(counts.get(a.value), 1, `${a.value} stored once`);
    const survivors = logs.flat().length - acks.length;
    t.diagnostic(`unacknowledged messages that survived: ${survivors}`);

    // New produce after the restart: offsets strictly after everything stored before the crash.
    const out = await runPython(PRODUCER, [second.bootstrap, topic, 'p9', String(PARTITIONS), 'all', String(PARTITIONS)]);
    const fresh = out
      .split('\n')
      .map((l) => ACK_LINE.exec(l))
      .filter((m) => m !== null);
    assert.equal(fresh.length, PARTITIONS, out);
    for (const m of fresh) {
      const p = Number(m[1]);
      const offset = BigInt(m[2] as string);
      const previous = (logs[p] as Consumed[]).at(-1)?.offset ?? -1n;
      assert.ok(offset > previous, `partition ${p}: new offset ${offset} after ${previous}`);
      assert.equal(offset, previous + 1n, `partition ${p}: no gap`);
    }
  });

  it('SIGTERM flushes, writes the indexes and exits 0; a restart finds all acks=1 data', async (t) => {
    const dataDir = tempDataDir(t);
    const topic = 'graceful';
    const PARTITIONS = 2;
    const COUNT = 400;
    // Small segments, so that rolled segments and the active one all need their index files: below
    // the default minimum segment.bytes, allowed down to Kafka's by the broker's config file.
    writeFileSync(join(dataDir, 'parapet.yaml'), 'minSegmentBytes: 4096\n', { mode: 0o600 });
    const first = await spawnBroker(t, dataDir);
    await createTopic(first.port, topic, PARTITIONS, { 'segment.bytes': '4096' });
    const out = await runPython(PRODUCER, [first.bootstrap, topic, 'p0', String(PARTITIONS), '1', String(COUNT), '100']);
    const acks = out
      .split('\n')
      .map((l) => ACK_LINE.exec(l))
      .filter((m) => m !== null)
      .map((m) => ({ partition: Number(m[1]), offset: BigInt(m[2] as string), value: m[3] as string }));
    assert.equal(acks.length, COUNT, out.slice(-500));
    assert.match(out, /DONE 0\n$/);

    const stopping = Date.now();
    first.proc.kill('SIGTERM');
    const exit = await exitWithin(first, 5000);
    t.diagnostic(`exited ${Date.now() - stopping} ms after SIGTERM`);
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(first.logs().some((l) => l.msg === 'stopped'), 'logged "stopped"');

    for (let p = 0; p < PARTITIONS; p++) {
      const bases = segmentBases(dataDir, topic, p);
      assert.ok(bases.length >= 2, `partition ${p} has ${bases.length} segments`);
      for (const base of bases) {
        for (const suffix of ['.index', '.timeindex']) {
          const path = segmentPath(dataDir, topic, p, base, suffix);
          assert.ok(existsSync(path) && statSync(path).size > 0, `${path} written`);
        }
      }
    }

    // At debug level the broker says why it scans a segment: only the active ones may be, not a rolled one.
    const second = await spawnBroker(t, dataDir, 'debug');
    const logs = second.logs();
    assert.deepEqual(
      logs.filter((l) => l.level >= 40 && l.msg !== 'security: insecure-setting').map((l) => l.msg),
      [],
    );
    assert.deepEqual(
      logs.filter((l) => l.msg === 'segment recovered' && l.why !== 'active segment'),
      [],
      'rolled segments open from their index files',
    );
    for (let p = 0; p < PARTITIONS; p++) {
      const log = await kcatRead(second.bootstrap, topic, p);
      const mine = acks.filter((a) => a.partition === p).sort((x, y) => (x.offset < y.offset ? -1 : 1));
      assert.deepEqual(
        log.map((r) => [r.offset, r.value]),
        mine.map((a) => [a.offset, a.value]),
      );
    }
  });
});
