import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTopic } from '../helpers/client.js';
import { spawnBroker, spawnPython, tempDataDir, type Child, type ChildBroker } from '../helpers/durability.js';
import { kcat } from './security-support.js';
import { python } from './support.js';

/**
 * Exactly-once consume-transform-produce (KIP-98, KIP-447) through crashes: a confluent-kafka
 * application reads `in` (read_committed), writes `out-<value>` to `out` and commits its input offsets
 * inside the same transaction (send_offsets_to_transaction). The application and the broker are each
 * SIGKILLed while it runs; a killed or failed application is started again, as a supervisor would
 * (init_transactions fences and aborts what the dead one left open, and it resumes from the group's
 * committed offsets). At the end every input was transformed exactly once: `out` read_committed holds
 * each output once, and the group's offsets are the end of `in`.
 */

const INPUT = 1500;
const PARTS = 2;

/**
 * The application. Retriable errors are retried; anything else ends the process with code 3 (the
 * supervisor starts it again). Prints `C <n>` after each committed transaction and `DONE` once the
 * group's committed offsets reached the end of every input partition.
 */
const APP = String.raw`
import sys
from confluent_kafka import Consumer, Producer, KafkaException, TopicPartition
bootstrap = sys.argv[1]
c = Consumer({'bootstrap.servers': bootstrap, 'group.id': 'ctp', 'group.instance.id': 'ctp-1', 'isolation.level': 'read_committed',
              'enable.auto.commit': False, 'auto.offset.reset': 'earliest', 'session.timeout.ms': 6000, 'log_level': 2})
p = Producer({'bootstrap.servers': bootstrap, 'transactional.id': 'ctp-app', 'transaction.timeout.ms': 10000, 'log_level': 2})
def retry(fn):
    while True:
        try:
            return fn()
        except KafkaException as e:
            if e.args[0].retriable():
                continue
            raise
try:
    retry(lambda: p.init_transactions(30))
    c.subscribe(['in'])
    while True:
        msgs = [m for m in c.consume(num_messages=20, timeout=1) if m.error() is None]
        assignment = c.assignment()
        if not msgs:
            if len(assignment) == ${PARTS}:
                # The group's committed offsets (position() knows only partitions this process read).
                committed = c.committed(assignment, timeout=10)
                ends = [c.get_watermark_offsets(tp, timeout=5)[1] for tp in assignment]
                if all(tp.offset == end for tp, end in zip(committed, ends)):
                    print('DONE', flush=True)
                    break
            continue
        p.begin_transaction()
        for m in msgs:
            p.produce('out', b'out-' + m.value(), partition=m.partition())
        retry(lambda: p.send_offsets_to_transaction(c.position(assignment), c.consumer_group_metadata(), 30))
        retry(lambda: p.commit_transaction(30))
        print('C', len(msgs), flush=True)
except KafkaException as e:
    print('FAILED', e.args[0].name(), e.args[0].str(), flush=True)
    sys.exit(3)
`;

/** Seeds `in` with m-0 … m-<n−1>, spread over its partitions (plain producer). */
const SEED = String.raw`
import sys
from confluent_kafka import Producer
p = Producer({'bootstrap.servers': sys.argv[1], 'linger.ms': 5})
for i in range(int(sys.argv[2])):
    p.produce('in', ('m-%d' % i).encode(), partition=i % ${PARTS})
assert p.flush(30) == 0
`;

const COMMITTED = String.raw`
import json, sys
from confluent_kafka import Consumer, TopicPartition
c = Consumer({'bootstrap.servers': sys.argv[1], 'group.id': 'ctp'})
print(json.dumps([tp.offset for tp in c.committed([TopicPartition('in', p) for p in range(${PARTS})], timeout=10)]))
`;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('exactly-once consume-transform-produce (confluent-kafka)', () => {
  it('through SIGKILLs of the application and of the broker, each input is transformed exactly once and the group’s offsets match', { timeout: 240_000 }, async (t) => {
    const dataDir = tempDataDir(t, 'parapet-ctp-');
    const port = await freePort();
    const bootstrap = `127.0.0.1:${port}`;
    let broker: ChildBroker = await spawnBroker(t, dataDir, 'info', port);
    await createTopic(port, ['in', 'out'], PARTS);
    await python(SEED.replace('sys.argv[1]', JSON.stringify(bootstrap)).replace('sys.argv[2]', String(INPUT)), { timeoutMs: 60_000 });

    const apps: Child[] = [];
    const start = () => {
      apps.push(spawnPython(t, APP, [bootstrap]));
      return apps.at(-1) as Child;
    };
    let app = start();
    const commits = () => apps.flatMap((a) => a.lines).filter((l) => l.startsWith('C ')).length;
    const done = () => app.lines.includes('DONE');
    const exited = () => app.proc.exitCode !== null || app.proc.signalCode !== null;

    // Kills at these counts of committed transactions (about 75 in all), alternating the two processes.
    const plan: ['app' | 'broker', number][] = [
      ['app', 8],
      ['broker', 18],
      ['app', 30],
      ['broker', 42],
      ['app', 55],
    ];
    const deadline = Date.now() + 200_000;
    let restarts = 0;
    while (!done()) {
      assert.ok(Date.now() < deadline, `not done in time: ${commits()} commits; last app: ${app.lines.slice(-5).join(' | ')} ${app.stderr().slice(-1500)}`);
      const next = plan[0];
      if (next !== undefined && commits() >= next[1]) {
        plan.shift();
        if (next[0] === 'app') {
          await app.kill('SIGKILL');
          app = start();
        } else {
          await broker.kill('SIGKILL');
          await sleep(200);
          broker = await spawnBroker(t, dataDir, 'info', port);
        }
        t.diagnostic(`killed the ${next[0]} after ${commits()} commits`);
        continue;
      }
      if (exited() && !done()) {
        restarts++;
        assert.ok(restarts < 30, `the application failed ${restarts} times: ${app.lines.slice(-3).join(' | ')}`);
        t.diagnostic(`the application ended (${app.lines.filter((l) => l.startsWith('FAILED')).join(' ')}); started again`);
        app = start();
        continue;
      }
      await sleep(50);
    }
    assert.deepEqual(plan, [], 'every planned kill happened before the input was done');

    const out = await kcat(['-C', '-b', bootstrap, '-t', 'out', '-o', 'beginning', '-e', '-q', '-f', '%s\\n', '-X', 'isolation.level=read_committed'], { timeoutMs: 60_000 });
    assert.equal(out.code, 0, out.stderr);
    const values = out.stdout.toString('utf8').split('\n').filter((l) => l !== '');
    const counts = new Map<string, number>();
    for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
    const twice = [...counts].filter(([, n]) => n > 1).map(([v]) => v);
    assert.deepEqual(twice.slice(0, 5), [], `${twice.length} outputs written more than once`);
    const missing = Array.from({ length: INPUT }, (_, i) => `out-m-${i}`).filter((v) => !counts.has(v));
    assert.deepEqual(missing.slice(0, 5), [], `${missing.length} inputs never transformed`);
    assert.equal(values.length, INPUT);
    const committed = JSON.parse(await python(COMMITTED.replace('sys.argv[1]', JSON.stringify(bootstrap)), { timeoutMs: 30_000 })) as number[];
    assert.deepEqual(committed, Array.from({ length: PARTS }, () => INPUT / PARTS));
    // The dead instances' open transactions were aborted, not lost: uncommitted reads see more than committed ones.
    const all = await kcat(['-C', '-b', bootstrap, '-t', 'out', '-o', 'beginning', '-e', '-q', '-f', '%s\\n', '-X', 'isolation.level=read_uncommitted'], { timeoutMs: 60_000 });
    t.diagnostic(`${all.stdout.toString('utf8').split('\n').filter((l) => l !== '').length - INPUT} aborted outputs in the log`);
  });
});
