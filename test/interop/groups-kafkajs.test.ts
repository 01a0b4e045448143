import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { onCleanup } from '../helpers/durability.js';
import { createTopic } from '../helpers/client.js';
import {
  checkDelivery,
  groupBroker,
  committedOffsets,
  describeGroup,
  jsonLines,
  pollUntil,
  produceRound,
  spawnLines,
  waitForStableGroup,
  type Produced,
} from './groups-support.js';
import { runMember, type MemberEvent, type MemberOptions, type RunningMember } from './kafkajs-group-member.js';

/**
 * KafkaJS 2.2.4's consumer group: JoinGroup v5 with KIP-394's MEMBER_ID_REQUIRED round trip,
 * SyncGroup v3, Heartbeat v3 from its fetch loop, OffsetCommit v5, OffsetFetch v4, LeaveGroup v3
 * (the batch form) on disconnect, and its RoundRobinAssigner. Three members: one leaves
 * (disconnect), one is killed (a child process, SIGKILL: no LeaveGroup, so the broker removes it when
 * its session expires), while messages keep coming. After the rebalances every message has been
 * processed, and none was processed again after its offset had been committed.
 */

const MEMBER_SCRIPT = fileURLToPath(new URL('./kafkajs-group-member.js', import.meta.url));
const SESSION_TIMEOUT_MS = 3000;

describe('KafkaJS consumer group', () => {
  it('three members: one leaves, one is killed, messages flow throughout; all processed, none after its commit', { timeout: 60_000 }, async (t) => {
    // A session timeout below Kafka's 6 s minimum keeps the wait for the killed member short.
    const { bootstrap, port, logger } = await groupBroker(t, { groupInitialRebalanceDelayMs: 200, groupMinSessionTimeoutMs: 1000 });
    const [topic, groupId, partitions] = ['kjs-groups', 'kjs-group', 6];
    await createTopic(port, topic, partitions);
    const produced: Produced[] = await produceRound(port, topic, partitions, 30, 'before');

    const events: MemberEvent[] = [];
    const options = (name: string): MemberOptions => ({ bootstrap, groupId, topic, name, sessionTimeoutMs: SESSION_TIMEOUT_MS });
    const inProcess = async (name: string): Promise<RunningMember> => {
      const member = await runMember(options(name), (e) => events.push(e));
      // Before the broker closes (see groupBroker); a second disconnect is a no-op.
      onCleanup(t, () => member.disconnect());
      return member;
    };
    const stays = await inProcess('kjs-stays');
    const leaves = await inProcess('kjs-leaves');
    const killed = spawnLines(t, process.execPath, [MEMBER_SCRIPT, JSON.stringify(options('kjs-killed'))]);
    const allEvents = () => [...events, ...jsonLines<MemberEvent>(killed)];

    const three = await waitForStableGroup(port, groupId, topic, partitions, 3);
    assert.equal(three.protocol, 'RoundRobinAssigner');
    assert.deepEqual(three.members.map((m) => m.assignment.get(topic)?.length), [2, 2, 2], 'round robin: two partitions each');

    const processedAll = (what: string) =>
      pollUntil(() => {
        const seen = new Set(allEvents().flatMap((e) => (e.type === 'message' ? [`${e.partition}:${e.offset}`] : [])));
        return produced.every((m) => seen.has(`${m.partition}:${m.offset}`)) ? true : undefined;
      }, what);
    await processedAll('the first messages processed by the three members');

    // Messages keep arriving through both rebalances.
    let producing = true;
    let round = 0;
    const producer = (async () => {
      while (producing) {
        produced.push(...(await produceRound(port, topic, partitions, 2, `during-${round++}`)));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      await leaves.disconnect();
      await waitForStableGroup(port, groupId, topic, partitions, 2);
      assert.deepEqual((await describeGroup(port, groupId)).members.map((m) => m.clientId).sort(), ['kjs-killed', 'kjs-stays']);

      // Let the killed member own and process some of the new messages first.
      const seenByKilled = jsonLines<MemberEvent>(killed).length;
      await pollUntil(() => (jsonLines<MemberEvent>(killed).slice(seenByKilled).some((e) => e.type === 'message') ? true : undefined), 'the member to be killed processing');
      const exit = await killed.stop('SIGKILL');
      assert.equal(exit.signal, 'SIGKILL');
      const alone = await waitForStableGroup(port, groupId, topic, partitions, 1, SESSION_TIMEOUT_MS + 10_000);
      assert.equal(alone.members[0]?.clientId, 'kjs-stays');
      const expired = logger.entries.filter((e) => e.msg === 'member session expired').map((e) => (e.obj as { member?: string }).member ?? '');
      assert.ok(expired.length === 1 && expired[0]?.startsWith('kjs-killed-'), `the killed member, and only it, expired: ${expired.join(', ')}`);
    } finally {
      producing = false;
      await producer;
    }
    produced.push(...(await produceRound(port, topic, partitions, 10, 'after')));
    await processedAll('every message processed after the rebalances');

    const ends = Array.from({ length: partitions }, (_, p) => Math.max(...produced.filter((m) => m.partition === p).map((m) => m.offset)) + 1);
    await pollUntil(async () => ((await committedOffsets(port, groupId, topic, partitions)).every((o, p) => o === ends[p]) ? true : undefined), 'every offset committed');

    const all = allEvents();
    const processed = all.flatMap((e) => (e.type === 'message' ? [e] : []));
    const commits = all.flatMap((e) => (e.type === 'commit' ? [e] : []));
    const { duplicates } = checkDelivery(produced, processed, commits);
    // Only what the killed member processed but had not committed may be processed twice.
    const killedUncommitted = processed.filter(
      (e) => e.member === 'kjs-killed' && !commits.some((c) => c.member === 'kjs-killed' && c.partition === e.partition && c.offset > e.offset),
    ).length;
    assert.ok(duplicates <= killedUncommitted, `${duplicates} duplicates, ${killedUncommitted} processed by the killed member without a commit`);
    await stays.disconnect();
    t.diagnostic(`${produced.length} messages, ${processed.length} processed, ${duplicates} redelivered after the kill, ${commits.length} partition commits`);
  });
});
