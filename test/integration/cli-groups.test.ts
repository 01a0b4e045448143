import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { runPython, tempDataDir } from '../helpers/durability.js';
import { fails, ok, parapet } from '../helpers/admin-cli.js';
import { groupBroker, jsonLines, pollUntil, pyAdmin, spawnPythonLines, type LineChild } from '../interop/groups-support.js';

/**
 * `parapet group …` against a broker whose groups are made by real clients: kafka-python consumers
 * join, commit and leave; kafka-python's producer writes records with known timestamps; and
 * kafka-python's admin client reads the committed offsets back, independently of our own client.
 */

/** Writes records: JSON [[partition, timestamp ms, value], …]. */
const PRODUCE = String.raw`
import json, sys
from kafka import KafkaProducer
p = KafkaProducer(bootstrap_servers=sys.argv[1])
for partition, ts, value in json.loads(sys.argv[3]):
    p.send(sys.argv[2], value=value.encode(), partition=partition, timestamp_ms=ts).get(timeout=10)
p.close()
`;

/**
 * A group member: joins, commits the offsets it is given (JSON {partition: offset}) once it has its
 * assignment, says so, and stays in the group until SIGTERM, when it closes (LeaveGroup).
 */
const MEMBER = String.raw`
import json, signal, sys
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata
bootstrap, group, topic, client_id, commits = sys.argv[1:6]
running = True
def stop(*_):
    global running
    running = False
signal.signal(signal.SIGTERM, stop)
c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, client_id=client_id, enable_auto_commit=False,
                  auto_offset_reset='earliest', session_timeout_ms=6000, heartbeat_interval_ms=200, fetch_max_wait_ms=100)
c.subscribe([topic])
done = False
while running:
    c.poll(timeout_ms=100)
    if not done and c.assignment():
        c.commit({TopicPartition(topic, int(p)): OffsetAndMetadata(o, '') for p, o in json.loads(commits).items()})
        print(json.dumps({'type': 'committed', 'assignment': sorted(tp.partition for tp in c.assignment())}), flush=True)
        done = True
c.close()
print(json.dumps({'type': 'closed'}), flush=True)
`;

/** A consumer of the group that starts where the group's committed offsets say, and reports the first offset it reads per partition. */
const RESUME = String.raw`
import json, sys, time
from kafka import KafkaConsumer
c = KafkaConsumer(bootstrap_servers=sys.argv[1], group_id=sys.argv[2], enable_auto_commit=False, auto_offset_reset='latest',
                  session_timeout_ms=6000, heartbeat_interval_ms=200, fetch_max_wait_ms=100)
c.subscribe([sys.argv[3]])
first = {}
deadline = time.time() + 20
quiet_since = None
while time.time() < deadline:
    batch = c.poll(timeout_ms=200)
    for tp, records in batch.items():
        first.setdefault(str(tp.partition), records[0].offset)
    if c.assignment() and not batch:
        quiet_since = quiet_since or time.time()
        if time.time() - quiet_since > 1.5:
            break
    elif batch:
        quiet_since = None
c.close()
print(json.dumps(first))
`;

interface Cluster {
  readonly bootstrap: string;
  readonly flags: string[];
}

async function setup(t: TestContext): Promise<Cluster> {
  const { bootstrap } = await groupBroker(t, { groupInitialRebalanceDelayMs: 100 });
  const file = join(tempDataDir(t, 'parapet-cli-groups-'), 'admin.properties');
  writeFileSync(file, `bootstrap.servers=${bootstrap}\nsecurity.protocol=PLAINTEXT\n`, { mode: 0o600 });
  return { bootstrap, flags: ['--client-config', file] };
}

async function produce(bootstrap: string, topic: string, records: readonly [number, number, string][]): Promise<void> {
  await runPython(PRODUCE, [bootstrap, topic, JSON.stringify(records)]);
}

/** Starts a member that commits `commits` and waits until it has. */
async function member(t: TestContext, bootstrap: string, group: string, topic: string, clientId: string, commits: Record<number, number>): Promise<LineChild> {
  const child = spawnPythonLines(t, MEMBER, [bootstrap, group, topic, clientId, JSON.stringify(commits)]);
  await pollUntil(
    () => (jsonLines<{ type: string }>(child).some((l) => l.type === 'committed') ? true : undefined),
    `${clientId} to join ${group} and commit (stderr: ${child.stderr()})`,
  );
  return child;
}

/** Stops a member the way a consumer shuts down (close → LeaveGroup), so the group is Empty at once. */
async function leave(child: LineChild): Promise<void> {
  const exit = await child.stop('SIGTERM');
  assert.equal(exit.code, 0, child.stderr());
  assert.ok(jsonLines<{ type: string }>(child).some((l) => l.type === 'closed'));
}

/** A table's rows, cells split on runs of spaces (no cell holds a space). */
function rows(table: string): string[][] {
  return table
    .trimEnd()
    .split('\n')
    .map((l) => l.split(/ +/));
}

async function committed(bootstrap: string, group: string): Promise<Record<string, number>> {
  return (await pyAdmin(bootstrap, { offsets: group })).offsets ?? {};
}

describe('parapet group', () => {
  it('lists, describes and shows the lag of a group with a live member; refuses to reset or delete it until it leaves', async (t) => {
    const { bootstrap, flags } = await setup(t);
    ok(await parapet(['topic', 'create', 'orders', '--partitions', '3', ...flags]));
    await produce(bootstrap, 'orders', [
      ...[0, 1, 2, 3, 4].map((i): [number, number, string] => [0, Date.now(), `a${i}`]),
      ...[0, 1, 2].map((i): [number, number, string] => [1, Date.now(), `b${i}`]),
    ]);
    // Partition 2 stays empty and never committed.
    const billing = await member(t, bootstrap, 'billing', 'orders', 'billing-app', { 0: 2, 1: 3 });

    assert.deepEqual(rows(ok(await parapet(['group', 'list', ...flags]))), [
      ['GROUP', 'STATE', 'PROTOCOL-TYPE'],
      ['billing', 'Stable', 'consumer'],
    ]);

    const described = ok(await parapet(['group', 'describe', 'billing', ...flags]));
    const [head, table] = described.split('\n\n');
    assert.match(head ?? '', /^group: billing\nstate: Stable\nprotocol type: consumer\nprotocol: range\ncoordinator: broker \d+ at 127\.0\.0\.1:\d+\nmembers: 1$/);
    const members = rows(table ?? '');
    assert.deepEqual(members[0], ['MEMBER-ID', 'CLIENT-ID', 'HOST', 'ASSIGNMENT']);
    assert.equal(members.length, 2);
    assert.match(members[1]?.[0] ?? '', /^billing-app-/);
    assert.deepEqual(members[1]?.slice(1), ['billing-app', '/127.0.0.1', 'orders:0,1,2']);

    const lag = ok(await parapet(['group', 'lag', 'billing', ...flags]));
    assert.deepEqual(rows(lag), [
      ['TOPIC', 'PARTITION', 'COMMITTED', 'END', 'LAG', 'CLIENT-ID', 'HOST'],
      ['orders', '0', '2', '5', '3', 'billing-app', '/127.0.0.1'],
      ['orders', '1', '3', '3', '0', 'billing-app', '/127.0.0.1'],
      ['orders', '2', '-', '0', '-', 'billing-app', '/127.0.0.1'],
      ['total', 'lag:', '3', '(1', 'partition', 'without', 'a', 'committed', 'offset', 'or', 'end', 'offset', 'not', 'counted)'],
    ]);

    fails(
      await parapet(['group', 'reset-offsets', 'billing', '--all-topics', '--to-earliest', '--execute', ...flags]),
      1,
      /^parapet: cannot reset the offsets of consumer group "billing": it has 1 active member \(state Stable\); offsets can only be reset while the group is empty/,
    );
    fails(
      await parapet(['group', 'delete', 'billing', ...flags]),
      1,
      /^parapet: cannot delete consumer group "billing": it has 1 active member \(NON_EMPTY_GROUP\); stop its consumers/,
    );
    assert.deepEqual(await committed(bootstrap, 'billing'), { 'orders:0': 2, 'orders:1': 3 });

    await leave(billing);
    assert.deepEqual(rows(ok(await parapet(['group', 'list', ...flags])))[1], ['billing', 'Empty', 'consumer']);
    const coordinator = /^coordinator: .*$/m.exec(described)?.[0] ?? 'coordinator: ?';
    assert.equal(ok(await parapet(['group', 'describe', 'billing', ...flags])), `group: billing\nstate: Empty\nprotocol type: consumer\nprotocol: -\n${coordinator}\nmembers: 0\n`);
    // Without members, the lag is still known from the committed offsets.
    assert.deepEqual(rows(ok(await parapet(['group', 'lag', 'billing', ...flags]))).slice(1, 3), [
      ['orders', '0', '2', '5', '3', '-', '-'],
      ['orders', '1', '3', '3', '0', '-', '-'],
    ]);

    assert.equal(ok(await parapet(['group', 'delete', 'billing', ...flags])), 'deleted consumer group "billing"\n');
    assert.equal(ok(await parapet(['group', 'list', ...flags])), '');
    assert.deepEqual(await committed(bootstrap, 'billing'), {});
    fails(await parapet(['group', 'describe', 'billing', ...flags]), 1, /^parapet: consumer group "billing" does not exist\n$/);
  });

  it('resets offsets to earliest, latest, an offset and a time; a dry run changes nothing; a consumer resumes from the new offsets', async (t) => {
    const { bootstrap, flags } = await setup(t);
    ok(await parapet(['topic', 'create', 'events', '--partitions', '2', ...flags]));
    const base = Date.parse('2024-05-01T12:00:00Z');
    // Partition 0: offsets 0-5 at base + 0 s … 5 s; partition 1: offsets 0-3 at base + 0 s … 3 s.
    await produce(bootstrap, 'events', [
      ...[0, 1, 2, 3, 4, 5].map((i): [number, number, string] => [0, base + i * 1000, `p0-${i}`]),
      ...[0, 1, 2, 3].map((i): [number, number, string] => [1, base + i * 1000, `p1-${i}`]),
    ]);
    await leave(await member(t, bootstrap, 'replay', 'events', 'replay-app', { 0: 6, 1: 4 }));
    const reset = (...args: string[]) => parapet(['group', 'reset-offsets', 'replay', ...args, ...flags]);

    const plan = [
      ['TOPIC', 'PARTITION', 'CURRENT', 'NEW'],
      ['events', '0', '6', '0'],
      ['events', '1', '4', '0'],
    ];
    const dry = ok(await reset('--all-topics', '--to-earliest', '--dry-run'));
    assert.deepEqual(rows(dry).slice(0, 3), plan);
    assert.match(dry, /\ndry run: nothing was changed\n$/);
    const neither = ok(await reset('--all-topics', '--to-earliest'));
    assert.deepEqual(rows(neither).slice(0, 3), plan);
    assert.match(neither, /\nnothing was changed: add --execute to commit these offsets/);
    assert.deepEqual(await committed(bootstrap, 'replay'), { 'events:0': 6, 'events:1': 4 });

    const executed = ok(await reset('--all-topics', '--to-earliest', '--execute'));
    assert.deepEqual(rows(executed).slice(0, 3), plan);
    assert.match(executed, /\ncommitted the new offsets of 2 partitions for consumer group "replay"\n$/);
    assert.deepEqual(await committed(bootstrap, 'replay'), { 'events:0': 0, 'events:1': 0 });

    ok(await reset('--topic', 'events', '--to-latest', '--execute'));
    assert.deepEqual(await committed(bootstrap, 'replay'), { 'events:0': 6, 'events:1': 4 });

    // One partition only; an offset past the end is brought back to it, with a warning.
    assert.deepEqual(rows(ok(await reset('--topic', 'events:0', '--to-offset', '2', '--execute'))).slice(0, 2), [
      ['TOPIC', 'PARTITION', 'CURRENT', 'NEW'],
      ['events', '0', '6', '2'],
    ]);
    const clamped = await reset('--topic', 'events:1', '--to-offset', '100', '--execute');
    assert.equal(clamped.code, 0);
    assert.equal(clamped.stderr, 'parapet: warning: events:1: offset 100 is after the end of the partition, 4, which is used instead\n');
    assert.deepEqual(await committed(bootstrap, 'replay'), { 'events:0': 2, 'events:1': 4 });

    // The first record at or after 12:00:02.5 is at 12:00:03 in both partitions: offset 3.
    ok(await reset('--all-topics', '--to-datetime', '2024-05-01T12:00:02.500Z', '--execute'));
    assert.deepEqual(await committed(bootstrap, 'replay'), { 'events:0': 3, 'events:1': 3 });
    // After every record of partition 1: its end offset. The same instant with a zone offset.
    ok(await reset('--all-topics', '--to-datetime', '2024-05-01T14:00:03.500+02:00', '--execute'));
    assert.deepEqual(await committed(bootstrap, 'replay'), { 'events:0': 4, 'events:1': 4 });

    ok(await reset('--topic', 'events:0', '--topic', 'events:1', '--to-datetime', '2024-05-01T12:00:01Z', '--execute'));
    assert.deepEqual(await committed(bootstrap, 'replay'), { 'events:0': 1, 'events:1': 1 });
    // A consumer of the group (which would start at the end without a commit) starts there.
    const first = JSON.parse(await runPython(RESUME, [bootstrap, 'replay', 'events'])) as Record<string, number>;
    assert.deepEqual(first, { '0': 1, '1': 1 });
  });

  it('gives one-line errors for unknown groups, topics and partitions (exit 1) and for bad usage (exit 2)', async (t) => {
    const { bootstrap, flags } = await setup(t);
    ok(await parapet(['topic', 'create', 'events', '--partitions', '2', ...flags]));
    await leave(await member(t, bootstrap, 'known', 'events', 'known-app', { 0: 0 }));
    for (const command of ['describe', 'lag', 'delete']) {
      fails(await parapet(['group', command, 'nope', ...flags]), 1, /^parapet: consumer group "nope" does not exist\n$/);
    }
    fails(await parapet(['group', 'reset-offsets', 'known', '--topic', 'nope', '--to-earliest', ...flags]), 1, /^parapet: topic "nope" does not exist\n$/);
    fails(
      await parapet(['group', 'reset-offsets', 'known', '--topic', 'events:0,7', '--to-earliest', ...flags]),
      1,
      /^parapet: topic "events" has no partition 7 \(it has 2: 0-1\)\n$/,
    );
    fails(await parapet(['group', 'reset-offsets', 'nope', '--all-topics', '--to-earliest', ...flags]), 1, /no committed offsets, so --all-topics names nothing: name the topics with --topic/);

    const usage: [string[], RegExp][] = [
      [['--all-topics'], /give exactly one of --to-earliest, --to-latest, --to-offset N, --to-datetime TIME/],
      [['--all-topics', '--to-earliest', '--to-latest'], /give exactly one of/],
      [['--to-earliest'], /give the partitions to reset: --topic NAME\[:PARTITIONS\] \(repeatable\) or --all-topics/],
      [['--all-topics', '--topic', 'events', '--to-earliest'], /give --topic or --all-topics, not both/],
      [['--all-topics', '--to-earliest', '--dry-run', '--execute'], /cannot be used with/],
      [['--topic', 'events:', '--to-earliest'], /partitions are comma-separated numbers/],
      [['--topic', 'events:one', '--to-earliest'], /partitions are comma-separated numbers/],
      [['--all-topics', '--to-offset', '-1'], /an offset is an integer from 0/],
      [['--all-topics', '--to-datetime', 'yesterday'], /expected an ISO-8601 date and time/],
      [['--all-topics', '--to-datetime', '2024-02-30T00:00:00Z'], /expected an ISO-8601 date and time/],
      [['--all-topics', '--to-datetime', '2024-05-01'], /expected an ISO-8601 date and time/],
    ];
    for (const [args, message] of usage) {
      const run = await parapet(['group', 'reset-offsets', 'known', ...args, ...flags]);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.equal(run.stdout, '');
      assert.match(run.stderr, message, args.join(' '));
    }
    assert.deepEqual(await committed(bootstrap, 'known'), { 'events:0': 0 });

    // A group that does not exist yet can be given offsets before its consumers start (as with Kafka's tool), with a warning.
    const fresh = await parapet(['group', 'reset-offsets', 'fresh', '--topic', 'events:1', '--to-latest', '--execute', ...flags]);
    assert.equal(fresh.code, 0);
    assert.equal(fresh.stderr, 'parapet: warning: consumer group "fresh" does not exist: --execute creates it with these offsets\n');
    assert.deepEqual(rows(fresh.stdout).slice(0, 2), [
      ['TOPIC', 'PARTITION', 'CURRENT', 'NEW'],
      ['events', '1', '-', '0'],
    ]);
    assert.deepEqual(await committed(bootstrap, 'fresh'), { 'events:1': 0 });
  });
});
