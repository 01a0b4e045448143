import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Consumer, MessagesStreamModes, stringDeserializers } from '#platformatic-kafka';
import { onCleanup } from '../../helpers/durability.js';
import { createTopic } from '../../helpers/client.js';
import { committedOffsets, describeGroup, groupBroker, pollUntil, produceRound, waitForStableGroup } from '../groups-support.js';

/**
 * @platformatic/kafka 1.35's group Consumer, which uses flexible versions (KIP-482) throughout:
 * FindCoordinator v4+ (coordinator_keys), JoinGroup v6+ (with KIP-394), SyncGroup v4-5 (with
 * protocol type and name), Heartbeat v4, OffsetFetch v8-9 (the batched `groups[]` form), OffsetCommit
 * v8-9, and LeaveGroup v4-5 on close. One member reads everything, committing each message itself.
 */

describe('@platformatic/kafka consumer group', () => {
  it('one member reads every message and commits it; a second consumer of the group resumes after the commits', { timeout: 60_000 }, async (t) => {
    const { bootstrap, port } = await groupBroker(t, { groupInitialRebalanceDelayMs: 100 });
    const [topic, groupId, partitions] = ['pl-groups', 'pl-group', 3];
    await createTopic(port, topic, partitions);
    const round1 = await produceRound(port, topic, partitions, 20, 'r1');

    const consumer = new Consumer({ groupId, clientId: 'pl-member', bootstrapBrokers: [bootstrap], deserializers: stringDeserializers });
    onCleanup(t, () => consumer.close());
    const stream = await consumer.consume({
      topics: [topic],
      mode: MessagesStreamModes.COMMITTED,
      fallbackMode: 'earliest',
      autocommit: false,
      sessionTimeout: 6000,
      heartbeatInterval: 200,
      maxWaitTime: 100,
    });
    const seen: { partition: number; offset: number; value: string }[] = [];
    const commits: Promise<void>[] = [];
    stream.on('data', (message) => {
      seen.push({ partition: message.partition, offset: Number(message.offset), value: message.value });
      commits.push(message.commit() as Promise<void>);
    });
    await pollUntil(() => (seen.length >= round1.length ? true : undefined), `${round1.length} messages`);
    await Promise.all(commits);

    const group = await waitForStableGroup(port, groupId, topic, partitions, 1);
    assert.equal(group.members[0]?.clientId, 'pl-member');
    const key = (m: { partition: number; offset: number }) => `${m.partition}:${m.offset}`;
    assert.deepEqual(seen.map(key).sort(), round1.map(key).sort(), 'each message once');
    assert.deepEqual(
      seen.map((m) => m.value).sort(),
      round1.map((m) => m.value).sort(),
    );
    assert.deepEqual(await committedOffsets(port, groupId, topic, partitions), [20, 20, 20]);

    await stream.close();
    await consumer.close();
    assert.equal((await describeGroup(port, groupId)).state, 'Empty', 'it left the group on close');

    // A new consumer of the group starts at the committed offsets: only the new messages.
    const round2 = await produceRound(port, topic, partitions, 5, 'r2');
    const next = new Consumer({ groupId, clientId: 'pl-next', bootstrapBrokers: [bootstrap], deserializers: stringDeserializers });
    onCleanup(t, () => next.close());
    const nextStream = await next.consume({ topics: [topic], mode: MessagesStreamModes.COMMITTED, fallbackMode: 'earliest', autocommit: true, sessionTimeout: 6000, heartbeatInterval: 200, maxWaitTime: 100 });
    const later: string[] = [];
    nextStream.on('data', (message) => later.push(message.value));
    await pollUntil(() => (later.length >= round2.length ? true : undefined), `${round2.length} new messages`);
    assert.deepEqual(later.sort(), round2.map((m) => m.value).sort());
    await nextStream.close();
    await next.close();
  });
});
