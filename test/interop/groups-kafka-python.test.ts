import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openBroker, runPython, tempDataDir } from '../helpers/durability.js';
import { createTopic } from '../helpers/client.js';
import {
  checkDelivery,
  groupBroker,
  committedOffsets,
  jsonLines,
  pollUntil,
  produceRound,
  pyAdmin,
  spawnPythonLines,
  MEMBER_PRELUDE,
  waitForStableGroup,
  type CommitEvent,
  type LineChild,
  type ProcessedEvent,
  type Produced,
} from './groups-support.js';

/**
 * kafka-python 2.0.2's group consumer, at fixed versions: FindCoordinator v0, JoinGroup v2 (no
 * KIP-394 round trip below v4), SyncGroup v1, Heartbeat v1 from a background thread, LeaveGroup v1 on
 * close, OffsetCommit v2 and OffsetFetch v1; and its admin client's ListGroups, DescribeGroups,
 * DeleteGroups and OffsetFetch (all topics: v3 with a null topic list).
 */

/**
 * One group member. It prints a JSON line per processed message, per acknowledged commit (it commits
 * synchronously after processing each poll's batch, before polling again, so everything it processed
 * is committed before it can take part in a rebalance), and when its assignment changes. SIGTERM
 * makes it close, which sends LeaveGroup.
 */
const MEMBER = String.raw`
import json, signal, sys, time
from kafka import KafkaConsumer
from kafka.errors import CommitFailedError
from kafka.structs import OffsetAndMetadata
${MEMBER_PRELUDE}
c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, client_id=name, auto_offset_reset='earliest',
                  enable_auto_commit=False, session_timeout_ms=6000, heartbeat_interval_ms=200,
                  fetch_max_wait_ms=100, max_poll_records=40)
c.subscribe([topic])
last = None
while running:
    batch = c.poll(timeout_ms=100)
    now = sorted(tp.partition for tp in c.assignment())
    if now != last:
        out(type='assignment', partitions=now)
        last = now
    if not batch:
        continue
    offsets = {}
    for tp, records in batch.items():
        for r in records:
            out(type='message', partition=tp.partition, offset=r.offset, value=r.value.decode())
        offsets[tp] = OffsetAndMetadata(records[-1].offset + 1, '')
    try:
        c.commit(offsets)
        for tp, om in offsets.items():
            out(type='commit', partition=tp.partition, offset=om.offset)
    except CommitFailedError as e:
        out(type='commitFailed', error=str(e))
c.close()
out(type='closed')
`;

interface MemberLine {
  type: 'assignment' | 'message' | 'commit' | 'commitFailed' | 'closed';
  member: string;
  at: number;
  partitions?: number[];
  partition?: number;
  offset?: number;
  value?: string;
}

class Member {
  readonly child: LineChild;
  readonly name: string;

  constructor(t: Parameters<typeof spawnPythonLines>[0], bootstrap: string, group: string, topic: string, name: string) {
    this.name = name;
    this.child = spawnPythonLines(t, MEMBER, [bootstrap, group, topic, name]);
  }

  lines(): MemberLine[] {
    return jsonLines<MemberLine>(this.child);
  }

  processed(): ProcessedEvent[] {
    return this.lines().flatMap((l) => (l.type === 'message' ? [{ member: l.member, partition: l.partition ?? -1, offset: l.offset ?? -1, at: l.at }] : []));
  }

  commits(): CommitEvent[] {
    return this.lines().flatMap((l) => (l.type === 'commit' ? [{ member: l.member, partition: l.partition ?? -1, offset: l.offset ?? -1, at: l.at }] : []));
  }

  /** The assignment it last reported. */
  assignment(): number[] {
    return this.lines().filter((l) => l.type === 'assignment').at(-1)?.partitions ?? [];
  }

  async close(): Promise<void> {
    const exit = await this.child.stop('SIGTERM');
    assert.equal(exit.code, 0, this.child.stderr());
    assert.equal(this.lines().at(-1)?.type, 'closed');
  }
}

const endOffsets = (messages: readonly Produced[], partitions: number) =>
  Array.from({ length: partitions }, (_, p) => Math.max(-1, ...messages.filter((m) => m.partition === p).map((m) => m.offset)) + 1);

/** Waits until the members together processed every message in `messages` (by partition and offset). */
async function processedAll(members: readonly Member[], messages: readonly Produced[]): Promise<void> {
  await pollUntil(() => {
    const seen = new Set(members.flatMap((m) => m.processed().map((e) => `${e.partition}:${e.offset}`)));
    return messages.every((m) => seen.has(`${m.partition}:${m.offset}`)) ? true : undefined;
  }, `${messages.length} messages processed`);
}

/** Waits until the group's committed offsets reach `ends`. */
async function committedUpTo(port: number, group: string, topic: string, ends: readonly number[]): Promise<void> {
  await pollUntil(async () => {
    const now = await committedOffsets(port, group, topic, ends.length);
    return now.every((o, p) => o === ends[p]) ? true : undefined;
  }, `committed offsets ${ends.join(',')}`);
}

/** A consumer with manually assigned partitions commits offset 5 of partition 0 (a "simple" group). */
const SIMPLE_COMMIT = String.raw`
import sys
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata
bootstrap, group, topic = sys.argv[1:4]
c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
tp = TopicPartition(topic, 0)
c.assign([tp])
c.commit({tp: OffsetAndMetadata(5, '')})
c.close()
`;

describe('kafka-python consumer group', () => {
  it('two members split the partitions, process and commit every message once; a restarted member resumes at the committed offsets', async (t) => {
    const { bootstrap, port } = await groupBroker(t, { groupInitialRebalanceDelayMs: 200 });
    const [topic, group, partitions] = ['py-groups', 'py-group', 4];
    await createTopic(port, topic, partitions);
    const round1 = await produceRound(port, topic, partitions, 60, 'r1');

    const a = new Member(t, bootstrap, group, topic, 'py-a');
    const b = new Member(t, bootstrap, group, topic, 'py-b');
    await waitForStableGroup(port, group, topic, partitions, 2);
    // What each member reports of itself: disjoint, and together every partition.
    await pollUntil(() => (a.assignment().length + b.assignment().length === partitions ? true : undefined), 'both members report their assignment');
    assert.deepEqual([...a.assignment(), ...b.assignment()].sort(), [0, 1, 2, 3]);
    await processedAll([a, b], round1);
    for (const m of [a, b]) {
      for (const e of m.processed()) assert.ok(m.assignment().includes(e.partition), `${m.name} processed only its own partitions`);
    }
    await committedUpTo(port, group, topic, endOffsets(round1, partitions));

    // A leaves (LeaveGroup on close); B takes every partition and resumes A's at A's commits.
    await a.close();
    await waitForStableGroup(port, group, topic, partitions, 1);
    const round2 = await produceRound(port, topic, partitions, 20, 'r2');
    await processedAll([b], round2);
    assert.deepEqual(b.assignment(), [0, 1, 2, 3]);
    const soFar = [...round1, ...round2];
    await committedUpTo(port, group, topic, endOffsets(soFar, partitions));

    // A restarts: the group splits again, and A starts each partition it gets at the committed offset.
    const committedBefore = await committedOffsets(port, group, topic, partitions);
    const a2 = new Member(t, bootstrap, group, topic, 'py-a');
    await waitForStableGroup(port, group, topic, partitions, 2);
    await pollUntil(() => (a2.assignment().length > 0 && a2.assignment().length + b.assignment().length === partitions ? true : undefined), 'the split after the restart');
    const round3 = await produceRound(port, topic, partitions, 20, 'r3');
    await processedAll([a2, b], round3);
    for (const p of a2.assignment()) {
      const first = a2.processed().find((e) => e.partition === p);
      assert.equal(first?.offset, committedBefore[p], `the restarted member starts partition ${p} at its committed offset`);
    }

    const all = [...soFar, ...round3];
    await committedUpTo(port, group, topic, endOffsets(all, partitions));
    const members = [a, b, a2];
    const { duplicates } = checkDelivery(all, members.flatMap((m) => m.processed()), members.flatMap((m) => m.commits()));
    const failedCommits = members.flatMap((m) => m.lines().filter((l) => l.type === 'commitFailed'));
    // A synchronous commit before each poll leaves nothing uncommitted at a rebalance: exactly once.
    assert.deepEqual(failedCommits, []);
    assert.equal(duplicates, 0, 'no message processed twice');

    const seen = await pyAdmin(bootstrap, { offsets: group, describe: [group] });
    assert.deepEqual(seen.offsets, Object.fromEntries(endOffsets(all, partitions).map((o, p) => [`${topic}:${p}`, o])));
    const description = seen.describe?.[0];
    assert.equal(description?.state, 'Stable');
    assert.deepEqual(description.members.map((m) => m.clientId), ['py-a', 'py-b']);
    assert.deepEqual(description.members.map((m) => m.subscription), [[topic], [topic]]);
    assert.deepEqual(description.members.flatMap((m) => m.assignment[topic] ?? []).sort(), [0, 1, 2, 3]);
    await a2.close();
    await b.close();
  });

  it('admin: lists, describes and deletes groups; an active group cannot be deleted (NON_EMPTY_GROUP)', async (t) => {
    const { bootstrap, port } = await groupBroker(t, { groupInitialRebalanceDelayMs: 100 });
    const topic = 'py-admin-groups';
    await createTopic(port, topic, 2);
    const produced = await produceRound(port, topic, 2, 5, 'm');

    const member = new Member(t, bootstrap, 'active', topic, 'py-active');
    await waitForStableGroup(port, 'active', topic, 2, 1);
    await processedAll([member], produced);
    const other = new Member(t, bootstrap, 'finished', topic, 'py-finished');
    await processedAll([other], produced);
    await other.close(); // leaves 'finished' Empty, with committed offsets

    const before = await pyAdmin(bootstrap, { list: true, describe: ['active', 'finished', 'never'], delete: ['active'] });
    assert.deepEqual(before.list, [
      ['active', 'consumer'],
      ['finished', 'consumer'],
    ]);
    const [active, finished, never] = before.describe ?? [];
    assert.equal(active?.state, 'Stable');
    assert.equal(active.protocolType, 'consumer');
    assert.equal(active.protocol, 'range', "kafka-python's first assignor");
    assert.deepEqual(active.members.map((m) => [m.clientId, m.subscription, m.assignment]), [['py-active', [topic], { [topic]: [0, 1] }]]);
    assert.equal(finished?.state, 'Empty');
    assert.deepEqual(finished.members, []);
    assert.equal(never?.state, 'Dead', 'an unknown group is described as Dead, as Kafka does');
    assert.deepEqual(before.delete, [['active', 'NonEmptyGroupError']]);

    const deleted = await pyAdmin(bootstrap, { delete: ['finished', 'never'] });
    assert.deepEqual(deleted.delete, [
      ['finished', 'NoError'],
      ['never', 'GroupIdNotFoundError'],
    ]);
    const after = await pyAdmin(bootstrap, { list: true, offsets: 'finished' });
    assert.deepEqual(after.list, [['active', 'consumer']]);
    assert.deepEqual(after.offsets, {}, "a deleted group's committed offsets are gone");

    // Once its last member leaves, the active group can be deleted too.
    await member.close();
    assert.deepEqual((await pyAdmin(bootstrap, { delete: ['active'] })).delete, [['active', 'NoError']]);
    assert.deepEqual((await pyAdmin(bootstrap, { list: true })).list, []);
  });

  it('committed offsets survive a broker restart: the group resumes where it committed', async (t) => {
    const dataDir = tempDataDir(t, 'parapet-groups-');
    const [topic, group, partitions] = ['py-restart', 'py-restart-group', 2];
    const overrides = { groupInitialRebalanceDelayMs: 100 };
    const first = await openBroker(t, dataDir, {}, overrides);
    await createTopic(first.port, topic, partitions);
    const round1 = await produceRound(first.port, topic, partitions, 30, 'r1');
    const m1 = new Member(t, `127.0.0.1:${first.port}`, group, topic, 'py-before');
    await processedAll([m1], round1);
    await committedUpTo(first.port, group, topic, endOffsets(round1, partitions));
    await m1.close();
    // A simple group: commits through manual assignment, never joins (generation −1).
    await runPython(SIMPLE_COMMIT, [`127.0.0.1:${first.port}`, 'py-simple-group', topic]);
    await first.close();

    const second = await openBroker(t, dataDir, {}, overrides);
    const bootstrap = `127.0.0.1:${second.port}`;
    const listed = await pyAdmin(bootstrap, { list: true, offsets: group, describe: [group, 'py-simple-group'] });
    // As in Kafka: the group its members used keeps protocol type "consumer"; a simple group has none.
    assert.deepEqual(
      listed.list,
      [
        [group, 'consumer'],
        ['py-simple-group', ''],
      ],
      'groups known only by their offsets are listed',
    );
    assert.deepEqual(
      listed.describe?.map((d) => [d.group, d.state, d.protocolType, d.protocol, d.members.length]),
      [
        [group, 'Empty', 'consumer', '', 0],
        ['py-simple-group', 'Empty', '', '', 0],
      ],
    );
    assert.deepEqual(listed.offsets, Object.fromEntries(endOffsets(round1, partitions).map((o, p) => [`${topic}:${p}`, o])));

    const round2 = await produceRound(second.port, topic, partitions, 10, 'r2');
    const m2 = new Member(t, bootstrap, group, topic, 'py-after');
    await processedAll([m2], round2);
    // Nothing from before the restart is delivered again.
    assert.deepEqual(
      m2.processed().filter((e) => round1.some((m) => m.partition === e.partition && m.offset === e.offset)),
      [],
    );
    checkDelivery([...round1, ...round2], [...m1.processed(), ...m2.processed()], [...m1.commits(), ...m2.commits()]);
    await m2.close();
  });
});
