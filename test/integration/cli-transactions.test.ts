import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { formatDuration, formatPartitions } from '../../src/cli/admin/transaction-commands.js';
import { fails, ok, parapet } from '../helpers/admin-cli.js';
import { startBroker } from '../helpers/broker.js';
import { createTopic } from '../helpers/client.js';
import { BatchClient, LATEST, tempDataDir } from '../helpers/durability.js';
import { kcat } from '../interop/security-support.js';

/**
 * `parapet transactions list|describe|abort` against a broker whose transactions are made by a real
 * client (KafkaJS's transactional producer): one transaction committed, one left open. The open one is
 * listed and described with its partitions, then aborted by the CLI (InitProducerId, KIP-98 fencing):
 * the last stable offset moves to the end, a read_committed reader sees only the committed records,
 * and the producer that left it open is fenced.
 */

const READ_COMMITTED = 1;

interface Setup {
  readonly port: number;
  readonly bootstrap: string;
  readonly flags: string[];
  readonly kafka: Kafka;
}

async function setup(t: TestContext): Promise<Setup> {
  const { port, bootstrap } = await startBroker(t);
  const file = join(tempDataDir(t, 'parapet-cli-transactions-'), 'admin.properties');
  writeFileSync(file, `bootstrap.servers=${bootstrap}\nsecurity.protocol=PLAINTEXT\n`, { mode: 0o600 });
  const kafka = new Kafka({ clientId: 'cli-transactions', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  return { port, bootstrap, flags: ['--client-config', file], kafka };
}

async function transactionalProducer(t: TestContext, kafka: Kafka, transactionalId: string): Promise<Producer> {
  const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  t.after(() => producer.disconnect());
  return producer;
}

/** A table's rows, cells split on runs of spaces (no cell holds a space). */
function rows(table: string): string[][] {
  return table
    .trimEnd()
    .split('\n')
    .map((l) => l.split(/ +/));
}

async function kcatCommitted(bootstrap: string, topic: string): Promise<string[]> {
  const r = await kcat(['-C', '-b', bootstrap, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%s\\n', '-X', 'isolation.level=read_committed'], { timeoutMs: 30_000 });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
    .sort();
}

describe('parapet transactions', () => {
  it('lists and describes an open transaction with its partitions; abort ends it and fences its producer', async (t) => {
    const { port, bootstrap, flags, kafka } = await setup(t);
    await createTopic(port, 'orders', 2);

    const done = await transactionalProducer(t, kafka, 'done-app');
    const committed = await done.transaction();
    await committed.send({ topic: 'orders', messages: [{ value: 'c0', partition: 0 }, { value: 'c1', partition: 1 }] });
    await committed.commit();

    const stuck = await transactionalProducer(t, kafka, 'stuck-app');
    const open = await stuck.transaction();
    await open.send({ topic: 'orders', messages: [{ value: 's0', partition: 0 }, { value: 's1', partition: 1 }] });

    // The open transaction holds the last stable offset back on both partitions.
    const client = await BatchClient.open(t, port);
    for (const p of [0, 1]) {
      const end = (await client.listOffset('orders', p, LATEST)).offset;
      assert.ok((await client.listOffset('orders', p, LATEST, READ_COMMITTED)).offset < end, `partition ${p}: LSO before the end`);
    }

    const listed = rows(ok(await parapet(['transactions', 'list', ...flags])));
    assert.deepEqual(listed[0], ['TRANSACTIONAL-ID', 'STATE', 'PRODUCER-ID', 'EPOCH', 'OPEN-FOR', 'PARTITIONS']);
    assert.equal(listed.length, 3);
    const [doneRow, stuckRow] = [listed[1] ?? [], listed[2] ?? []];
    assert.deepEqual([doneRow[0], doneRow[1], doneRow[3], doneRow[4], doneRow[5]], ['done-app', 'CompleteCommit', '0', '-', '-']);
    assert.deepEqual([stuckRow[0], stuckRow[1], stuckRow[3], stuckRow[5]], ['stuck-app', 'Ongoing', '0', 'orders:0,1']);
    assert.match(stuckRow[4] ?? '', /^\d+(ms|s)$/);
    const stuckPid = stuckRow[2] ?? '';
    assert.match(stuckPid, /^\d+$/);
    assert.notEqual(doneRow[2], stuckPid);

    // The filters: state (any case), producer id, and how long the transaction has been open (KIP-994).
    const ids = async (...args: string[]) => rows(ok(await parapet(['transactions', 'list', ...args, ...flags]))).slice(1).map((r) => r[0]);
    assert.deepEqual(await ids('--state', 'ongoing'), ['stuck-app']);
    assert.deepEqual(await ids('--state', 'CompleteCommit', '--state', 'Ongoing'), ['done-app', 'stuck-app']);
    assert.deepEqual(await ids('--producer-id', stuckPid), ['stuck-app']);
    assert.deepEqual(await ids('--older-than', '0'), ['stuck-app']);
    assert.equal(ok(await parapet(['transactions', 'list', '--older-than', '3600000', ...flags])), '');
    // A state Kafka has and this broker does not: matches nothing, said on stderr.
    const dead = await parapet(['transactions', 'list', '--state', 'Dead', ...flags]);
    assert.deepEqual([dead.code, dead.stdout, dead.stderr], [0, '', 'parapet: warning: the broker knows no transaction state "Dead": that filter matched nothing\n']);

    const described = rows(ok(await parapet(['transactions', 'describe', 'stuck-app', ...flags])));
    assert.deepEqual(described[0], ['TRANSACTIONAL-ID', 'STATE', 'PRODUCER-ID', 'EPOCH', 'TIMEOUT-MS', 'STARTED', 'OPEN-FOR', 'COORDINATOR', 'PARTITIONS']);
    const d = described[1] ?? [];
    // KafkaJS's default transactionTimeout is 60 s.
    assert.deepEqual([d[0], d[1], d[2], d[3], d[4], d[7], d[8]], ['stuck-app', 'Ongoing', stuckPid, '0', '60000', '0', 'orders:0,1']);
    assert.ok(Math.abs(Date.parse(d[5] ?? '') - Date.now()) < 60_000, `started ${d[5]}`);

    // As in Kafka: the abort markers carry epoch 1 (which fences the old instance on every partition), the id then gets epoch 2.
    const aborted = ok(await parapet(['transactions', 'abort', 'stuck-app', ...flags]));
    assert.match(
      aborted,
      new RegExp(
        `^aborted the open transaction of "stuck-app": producer id ${stuckPid}, epoch 0, partitions orders:0,1, open for \\d+(ms|s)\\n` +
          `fenced its producer: "stuck-app" now has producer id ${stuckPid}, epoch 2; the old instance's next request fails with PRODUCER_FENCED \\(INVALID_PRODUCER_EPOCH for older clients\\)\\n$`,
      ),
    );

    // Abort markers are on both partitions: the LSO is the end, read_committed readers get past them.
    for (const p of [0, 1]) {
      const end = (await client.listOffset('orders', p, LATEST)).offset;
      assert.equal((await client.listOffset('orders', p, LATEST, READ_COMMITTED)).offset, end, `partition ${p}: LSO at the end`);
    }
    assert.deepEqual(await kcatCommitted(bootstrap, 'orders'), ['c0', 'c1']);

    // The producer that left the transaction open is fenced: its commit is refused, nothing it wrote becomes visible.
    await assert.rejects(open.commit(), (err: Error & { type?: string }) => {
      assert.match(err.type ?? err.message, /INVALID_PRODUCER_EPOCH|PRODUCER_FENCED/);
      return true;
    });
    assert.deepEqual(await kcatCommitted(bootstrap, 'orders'), ['c0', 'c1']);

    const after = rows(ok(await parapet(['transactions', 'describe', 'stuck-app', 'done-app', ...flags])));
    assert.deepEqual(
      after.slice(1).map((r) => [r[0], r[1], r[3], r[5], r[6], r[8]]),
      [
        ['stuck-app', 'Empty', '2', '-', '-', '-'],
        ['done-app', 'CompleteCommit', '0', '-', '-', '-'],
      ],
    );

    // Nothing open any more: abort refuses, and fences nobody.
    fails(
      await parapet(['transactions', 'abort', 'stuck-app', ...flags]),
      1,
      /^parapet: transactional id "stuck-app" has no open transaction \(state Empty\): nothing to abort, its producer was not fenced\n$/,
    );
    fails(await parapet(['transactions', 'abort', 'done-app', ...flags]), 1, /no open transaction \(state CompleteCommit\)/);
    assert.equal(rows(ok(await parapet(['transactions', 'describe', 'done-app', ...flags])))[1]?.[3], '0');
  });

  it('says an unknown transactional id does not exist (exit 1) without creating it; bad usage exits 2', async (t) => {
    const { port, flags, kafka } = await setup(t);
    await createTopic(port, 'orders', 1);
    const producer = await transactionalProducer(t, kafka, 'known-app');
    const txn = await producer.transaction();
    await txn.send({ topic: 'orders', messages: [{ value: 'k0' }] });
    await txn.commit();

    const notFound = /^parapet: transactional id "nope" does not exist \(TRANSACTIONAL_ID_NOT_FOUND\): no producer has used it, or it expired/;
    fails(await parapet(['transactions', 'describe', 'nope', ...flags]), 1, notFound);
    fails(await parapet(['transactions', 'abort', 'nope', ...flags]), 1, /^parapet: transactional id "nope" does not exist \(TRANSACTIONAL_ID_NOT_FOUND\).*; nothing was aborted\n$/);
    // InitProducerId would have created the id: abort never sent it.
    assert.deepEqual(rows(ok(await parapet(['transactions', 'list', ...flags]))).slice(1).map((r) => r[0]), ['known-app']);

    // Known and unknown together: the known one is shown, the unknown one named on stderr, exit 1.
    const mixed = await parapet(['transactions', 'describe', 'known-app', 'nope', ...flags]);
    assert.equal(mixed.code, 1);
    assert.deepEqual(rows(mixed.stdout).slice(1).map((r) => [r[0], r[1]]), [['known-app', 'CompleteCommit']]);
    assert.match(mixed.stderr, notFound);
    assert.equal(mixed.stderr.split('\n').length, 2, 'one line');

    // A name that would break the terminal is refused by the broker's name rules, and shown escaped.
    fails(await parapet(['transactions', 'describe', 'evil\u001b[2J', ...flags]), 1, /^parapet: find the coordinator of transactional id "evil\\x1b\[2J" failed: INVALID_REQUEST \(42\)/);

    const usage: [string[], RegExp][] = [
      [['list', '--state', 'Bogus'], /a transaction state is one of Empty, Ongoing/],
      [['list', '--producer-id', '-1'], /a producer id is an integer from 0/],
      [['list', '--producer-id', '99999999999999999999'], /a producer id is an integer from 0/],
      [['list', '--older-than', 'soon'], /--older-than must be an integer from 0/],
      [['abort'], /missing required argument 'transactional-id'/],
      [['describe'], /missing required argument 'transactional-id/],
    ];
    for (const [args, message] of usage) {
      const run = await parapet(['transactions', ...args, ...flags]);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.equal(run.stdout, '');
      assert.match(run.stderr, message, args.join(' '));
    }
  });

  it('formats partitions and durations as the tables show them', () => {
    assert.equal(formatPartitions([]), '-');
    assert.equal(formatPartitions([{ topic: 'orders', partitions: [0, 1] }, { topic: 'payments', partitions: [2] }]), 'orders:0,1 payments:2');
    assert.deepEqual([0, 999, 1000, 59_999, 60_000, 185_000, 3_600_000, 7_620_000, -5].map(formatDuration), ['0ms', '999ms', '1s', '59s', '1m00s', '3m05s', '1h00m', '2h07m', '0ms']);
  });
});
