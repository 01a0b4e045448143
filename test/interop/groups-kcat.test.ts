import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTopic } from './support.js';
import {
  checkDelivery,
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

function kcatMember(t: Parameters<typeof spawnLines>[0], bootstrap: string, clientId: string): LineChild {
  return spawnLines(t, 'kcat', [
    '-b', bootstrap,
    '-G', GROUP,
    // Where a partition without a committed offset starts (kcat's -G default is latest). Not `-o
    // beginning`: kcat's rebalance callback sets -o on every assigned partition, so a member taking
    // over a partition would re-read it from the start instead of from the committed offset.
    '-X', 'auto.offset.reset=earliest',
    '-u', // unbuffered: each line as soon as it is consumed
    '-X', `client.id=${clientId}`,
    // A member learns of a rebalance from its heartbeat: the default 3 s would dominate the test.
    '-X', 'heartbeat.interval.ms=250',
    '-f', '%p %o %s\\n',
    ...(process.env.KCAT_DEBUG === undefined ? [] : ['-d', process.env.KCAT_DEBUG]),
    TOPIC,
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
});
