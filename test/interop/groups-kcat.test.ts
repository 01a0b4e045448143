import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTopic } from '../helpers/client.js';
import type { RecordingLogger } from '../helpers/durability.js';
import {
  checkDelivery,
  committedOffsets,
  describeGroup,
  groupBroker,
  partitionsOf,
  pollUntil,
  produceRound,
  pyAdmin,
  spawnLines,
  waitForStableGroup,
  type LineChild,
  type ProcessedEvent,
  type Produced,
} from './groups-support.js';

/**
 * kcat's balanced consumer (`-G`, librdkafka 2.0.2's high-level consumer): JoinGroup v5 with KIP-394's
 * MEMBER_ID_REQUIRED round trip, the range assignor run by the leader, SyncGroup v3, Heartbeat v3,
 * OffsetFetch v7 (flexible), OffsetCommit v7, and LeaveGroup v1 when it is stopped with SIGTERM.
 * Also its COOPERATIVE protocol (cooperative-sticky: incremental rebalances in two rounds) and static
 * membership (group.instance.id, KIP-345: a restart within the session keeps the assignment; the
 * "no rebalance" check counts the coordinator's "group rebalancing" log entries).
 *
 * Commits: librdkafka commits the offsets it has handed to the application every
 * auto.commit.interval.ms (5 s), and always when partitions are revoked or the consumer closes. That
 * interval cannot be lowered through kcat: `-X auto.commit.interval.ms=…` is taken by the (legacy)
 * topic-level property of the same name, because kcat tries the topic configuration first
 * (kcat.c try_conf_set), and the consumer's timer keeps 5 s. The test therefore checks commits at the
 * points librdkafka is bound to make them: the rebalance when a member leaves, and each close.
 */

const TOPIC = 'kcat-groups';
const GROUP = 'kcat-group';
const PARTITIONS = 4;

function kcatMember(t: Parameters<typeof spawnLines>[0], bootstrap: string, clientId: string, options: { group?: string; topic?: string; config?: string[] } = {}): LineChild {
  return spawnLines(t, 'kcat', [
    '-b', bootstrap,
    '-G', options.group ?? GROUP,
    // Where a partition without a committed offset starts (kcat's -G default is latest). Not `-o
    // beginning`: kcat's rebalance callback sets -o on every assigned partition, so a member taking
    // over a partition would re-read it from the start instead of from the committed offset.
    '-X', 'auto.offset.reset=earliest',
    '-u', // unbuffered: each line as soon as it is consumed
    '-X', `client.id=${clientId}`,
    // A member learns of a rebalance from its heartbeat: the default 3 s would dominate the test.
    '-X', 'heartbeat.interval.ms=250',
    ...(options.config ?? []).flatMap((c) => ['-X', c]),
    '-f', '%p %o %s\\n',
    // KCAT_DEBUG=cgrp,protocol shows librdkafka's side of a failing run (in the child's stderr).
    ...(process.env.KCAT_DEBUG === undefined ? [] : ['-d', process.env.KCAT_DEBUG]),
    options.topic ?? TOPIC,
  ]);
}

/** The messages a kcat member printed, as `%p %o %s` lines. */
function consumed(member: string, child: LineChild): ProcessedEvent[] {
  return child.lines
    .filter((l) => l !== '')
    .map((l) => {
      const [p, o] = l.split(' ');
      return { member, partition: Number(p), offset: Number(o), at: 0 };
    });
}

describe('kcat balanced consumer group (-G)', () => {
  it('two members split four partitions, consume every message once; the survivor takes over after one leaves', async (t) => {
    const { bootstrap, port } = await groupBroker(t, { groupInitialRebalanceDelayMs: 200 });
    await createTopic(port, TOPIC, PARTITIONS);

    const a = kcatMember(t, bootstrap, 'kcat-a');
    const b = kcatMember(t, bootstrap, 'kcat-b');
    const view = await waitForStableGroup(port, GROUP, TOPIC, PARTITIONS, 2);
    assert.equal(view.protocolType, 'consumer');
    assert.equal(view.protocol, 'range', "librdkafka's default assignor (range, then roundrobin) wins");
    const ownedByA = partitionsOf(view, 'kcat-a', TOPIC);
    const ownedByB = partitionsOf(view, 'kcat-b', TOPIC);
    assert.deepEqual([...ownedByA, ...ownedByB].sort(), [0, 1, 2, 3]);
    assert.ok(ownedByA.length === 2 && ownedByB.length === 2, 'range splits 4 partitions 2 + 2');

    const round1 = await produceRound(port, TOPIC, PARTITIONS, 100, 'r1');
    await pollUntil(() => (a.lines.length + b.lines.length >= round1.length ? true : undefined), `${round1.length} messages consumed`);
    const valueOf = new Map(round1.map((m) => [`${m.partition}:${m.offset}`, m.value]));
    for (const [child, owned] of [[a, ownedByA], [b, ownedByB]] as const) {
      for (const line of child.lines) {
        const [p, o, v] = line.split(' ');
        assert.ok(owned.includes(Number(p)), `${line}: consumed only from its own partitions ${owned.join(',')}`);
        assert.equal(v, valueOf.get(`${p}:${o}`), 'the value stored at that offset');
      }
    }
    assert.equal(checkDelivery(round1, [...consumed('a', a), ...consumed('b', b)], []).duplicates, 0, 'each message once');

    // SIGTERM: kcat closes the consumer, which commits its position on revoke and sends LeaveGroup.
    const stopped = await a.stop('SIGTERM');
    assert.equal(stopped.code, 0, a.stderr());
    const endOf = (messages: readonly Produced[], p: number) => Math.max(...messages.filter((m) => m.partition === p).map((m) => m.offset)) + 1;
    const afterLeave = await pyAdmin(bootstrap, { offsets: GROUP });
    for (const p of ownedByA) assert.equal(afterLeave.offsets?.[`${TOPIC}:${p}`], endOf(round1, p), `partition ${p} committed by the leaving member`);

    const alone = await waitForStableGroup(port, GROUP, TOPIC, PARTITIONS, 1);
    assert.equal(alone.members[0]?.clientId, 'kcat-b', 'the survivor holds every partition');

    const before = b.lines.length;
    const round2 = await produceRound(port, TOPIC, PARTITIONS, 50, 'r2');
    await pollUntil(() => (b.lines.length - before >= round2.length ? true : undefined), `${round2.length} more messages consumed by the survivor`);
    // The partitions it took over resume at the committed offsets: nothing from round 1 again.
    const all = [...round1, ...round2];
    assert.equal(checkDelivery(all, [...consumed('a', a), ...consumed('b', b)], []).duplicates, 0, 'no message consumed twice');

    assert.equal((await b.stop('SIGTERM')).code, 0, b.stderr());
    const final = await pyAdmin(bootstrap, { describe: [GROUP], offsets: GROUP, list: true });
    assert.deepEqual(
      final.offsets,
      Object.fromEntries(Array.from({ length: PARTITIONS }, (_, p) => [`${TOPIC}:${p}`, endOf(all, p)])),
      'every partition committed at its end',
    );
    assert.equal(final.describe?.[0]?.state, 'Empty', 'both members left');
    assert.deepEqual(final.list, [[GROUP, 'consumer']]);
  });

  it('cooperative-sticky (incremental rebalances): members join and leave, every message consumed once', async (t) => {
    const { bootstrap, port } = await groupBroker(t, { groupInitialRebalanceDelayMs: 200 });
    const [topic, group, partitions] = ['kcat-coop', 'kcat-coop-group', 6];
    await createTopic(port, topic, partitions);
    // librdkafka's COOPERATIVE protocol: owned partitions travel in the subscription metadata and
    // each rebalance revokes only what moves, so it takes two rounds; the broker only sees opaque bytes.
    const member = (name: string) => kcatMember(t, bootstrap, name, { group, topic, config: ['partition.assignment.strategy=cooperative-sticky'] });
    const lineCount = (children: LineChild[]) => children.reduce((n, c) => n + c.lines.length, 0);
    const consumeRound = async (children: LineChild[], round: number, per: number): Promise<Produced[]> => {
      const before = lineCount(children);
      const produced = await produceRound(port, topic, partitions, per, `r${round}`);
      await pollUntil(() => (lineCount(children) - before >= produced.length ? true : undefined), `round ${round} consumed`);
      return produced;
    };

    const a = member('coop-a');
    const b = member('coop-b');
    const two = await waitForStableGroup(port, group, topic, partitions, 2);
    assert.equal(two.protocol, 'cooperative-sticky');
    const produced = await consumeRound([a, b], 1, 20);
    const c = member('coop-c');
    await waitForStableGroup(port, group, topic, partitions, 3);
    // The second, incremental round gives the newcomer what was revoked: wait for it to hold some.
    await pollUntil(async () => ((await describeGroup(port, group)).members.every((m) => (m.assignment.get(topic)?.length ?? 0) === 2) ? true : undefined), 'two partitions each');
    produced.push(...(await consumeRound([a, b, c], 2, 20)));
    assert.equal((await a.stop('SIGTERM')).code, 0, a.stderr());
    await waitForStableGroup(port, group, topic, partitions, 2);
    await pollUntil(async () => ((await describeGroup(port, group)).members.every((m) => (m.assignment.get(topic)?.length ?? 0) === 3) ? true : undefined), 'three partitions each');
    produced.push(...(await consumeRound([b, c], 3, 20)));

    const all = [...consumed('a', a), ...consumed('b', b), ...consumed('c', c)];
    assert.equal(checkDelivery(produced, all, []).duplicates, 0, 'no message consumed twice across the moves');
    assert.equal((await b.stop('SIGTERM')).code, 0, b.stderr());
    assert.equal((await c.stop('SIGTERM')).code, 0, c.stderr());
    assert.deepEqual(await committedOffsets(port, group, topic, partitions), Array<number>(partitions).fill(60));
  });

  it('static membership (group.instance.id): a member that restarts within its session gets its partitions back without a rebalance', async (t) => {
    const { bootstrap, port, logger } = await groupBroker(t, { groupInitialRebalanceDelayMs: 200 });
    const [topic, group, partitions] = ['kcat-static', 'kcat-static-group', 4];
    await createTopic(port, topic, partitions);
    const member = (name: string) => kcatMember(t, bootstrap, name, { group, topic, config: [`group.instance.id=${name}`, 'session.timeout.ms=10000'] });
    const rebalances = (l: RecordingLogger) => l.entries.filter((e) => e.msg === 'group rebalancing' && (e.obj as { group?: string }).group === group).length;

    const a = member('static-a');
    const b = member('static-b');
    const before = await waitForStableGroup(port, group, topic, partitions, 2);
    const round1 = await produceRound(port, topic, partitions, 25, 'r1');
    await pollUntil(() => (a.lines.length + b.lines.length >= round1.length ? true : undefined), 'round 1 consumed');
    const rebalancesBefore = rebalances(logger);

    // A static member's close commits but sends no LeaveGroup (KIP-345): the group keeps its place.
    assert.equal((await a.stop('SIGTERM')).code, 0, a.stderr());
    const a2 = member('static-a');
    const round2 = await produceRound(port, topic, partitions, 25, 'r2');
    const ownedByA = partitionsOf(before, 'static-a', topic);
    const fromA = round2.filter((m) => ownedByA.includes(m.partition)).length;
    await pollUntil(() => (a2.lines.length >= fromA ? true : undefined), 'the restarted member consuming its partitions');
    const after = await waitForStableGroup(port, group, topic, partitions, 2);
    assert.deepEqual(partitionsOf(after, 'static-a', topic), ownedByA, 'the same partitions');
    assert.deepEqual(partitionsOf(after, 'static-b', topic), partitionsOf(before, 'static-b', topic));
    assert.equal(rebalances(logger), rebalancesBefore, 'no rebalance for the static member’s return');
    // It resumed at its committed offsets: round 2 only.
    assert.deepEqual(consumed('a2', a2).map((e) => e.offset).filter((o) => o < 25), []);
    await b.stop('SIGTERM');
    await a2.stop('SIGTERM');
  });
});
