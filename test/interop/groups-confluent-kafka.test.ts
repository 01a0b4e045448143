import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runPython } from '../helpers/durability.js';
import { createTopic } from '../helpers/client.js';
import {
  checkDelivery,
  groupBroker,
  committedOffsets,
  jsonLines,
  pollUntil,
  produceRound,
  spawnPythonLines,
  MEMBER_PRELUDE,
  waitForStableGroup,
  type CommitEvent,
  type LineChild,
  type ProcessedEvent,
  type Produced,
} from './groups-support.js';

/**
 * confluent-kafka 1.7.0 (librdkafka 2.0.2, like kcat, but driven by an application that commits
 * explicitly): enable.auto.commit off, a synchronous commit of the processed positions after each
 * consume() batch, and the group described by its own AdminClient.list_groups (librdkafka's
 * rd_kafka_list_groups: ListGroups, then DescribeGroups v0 for each group).
 */

const MEMBER = String.raw`
import json, signal, sys, time
from confluent_kafka import Consumer, KafkaException, TopicPartition
${MEMBER_PRELUDE}
c = Consumer({'bootstrap.servers': bootstrap, 'group.id': group, 'client.id': name, 'auto.offset.reset': 'earliest',
              'enable.auto.commit': False, 'session.timeout.ms': 6000, 'heartbeat.interval.ms': 200, 'fetch.wait.max.ms': 100})
c.subscribe([topic],
            on_assign=lambda _, ps: out(type='assignment', partitions=sorted(p.partition for p in ps)),
            on_revoke=lambda _, ps: out(type='revoked', partitions=sorted(p.partition for p in ps)))
while running:
    batch = [m for m in c.consume(num_messages=50, timeout=0.1) if m.error() is None]
    if not batch:
        continue
    positions = {}
    for m in batch:
        out(type='message', partition=m.partition(), offset=m.offset(), value=m.value().decode())
        positions[m.partition()] = m.offset() + 1
    try:
        result = c.commit(offsets=[TopicPartition(topic, p, o) for p, o in positions.items()], asynchronous=False)
        for tp in result:
            if tp.error is None:
                out(type='commit', partition=tp.partition, offset=tp.offset)
            else:
                out(type='commitFailed', error=str(tp.error))
    except KafkaException as e:
        out(type='commitFailed', error=str(e))
c.close()
out(type='closed')
`;

const LIST_GROUPS = String.raw`
import json, sys
from confluent_kafka.admin import AdminClient
a = AdminClient({'bootstrap.servers': sys.argv[1]})
out = []
for g in a.list_groups(timeout=10):
    out.append({'id': g.id, 'error': None if g.error is None else str(g.error), 'state': g.state, 'protocolType': g.protocol_type,
                'protocol': g.protocol, 'members': sorted(m.client_id for m in g.members)})
print(json.dumps(sorted(out, key=lambda g: g['id'])))
`;

interface MemberLine {
  type: 'assignment' | 'revoked' | 'message' | 'commit' | 'commitFailed' | 'closed';
  member: string;
  at: number;
  partitions?: number[];
  partition?: number;
  offset?: number;
}

function lines(child: LineChild): MemberLine[] {
  return jsonLines<MemberLine>(child);
}
function processed(child: LineChild): ProcessedEvent[] {
  return lines(child).flatMap((l) => (l.type === 'message' ? [{ member: l.member, partition: l.partition ?? -1, offset: l.offset ?? -1, at: l.at }] : []));
}
function commits(child: LineChild): CommitEvent[] {
  return lines(child).flatMap((l) => (l.type === 'commit' ? [{ member: l.member, partition: l.partition ?? -1, offset: l.offset ?? -1, at: l.at }] : []));
}
function assignment(child: LineChild): number[] {
  return lines(child).filter((l) => l.type === 'assignment').at(-1)?.partitions ?? [];
}

async function processedAll(children: readonly LineChild[], messages: readonly Produced[]): Promise<void> {
  await pollUntil(() => {
    const seen = new Set(children.flatMap((c) => processed(c).map((e) => `${e.partition}:${e.offset}`)));
    return messages.every((m) => seen.has(`${m.partition}:${m.offset}`)) ? true : undefined;
  }, `${messages.length} messages processed`);
}

interface ListedGroup {
  id: string;
  error: string | null;
  state: string;
  protocolType: string;
  protocol: string;
  members: string[];
}

describe('confluent-kafka consumer group', () => {
  it('two consumers commit after processing; every message processed once; list_groups describes the group; the survivor takes over', async (t) => {
    const { bootstrap, port } = await groupBroker(t, { groupInitialRebalanceDelayMs: 200 });
    const [topic, group, partitions] = ['ck-groups', 'ck-group', 4];
    await createTopic(port, topic, partitions);
    const round1 = await produceRound(port, topic, partitions, 50, 'r1');

    const a = spawnPythonLines(t, MEMBER, [bootstrap, group, topic, 'ck-a']);
    const b = spawnPythonLines(t, MEMBER, [bootstrap, group, topic, 'ck-b']);
    await waitForStableGroup(port, group, topic, partitions, 2);
    await pollUntil(() => (assignment(a).length + assignment(b).length === partitions ? true : undefined), 'both consumers assigned');
    assert.deepEqual([...assignment(a), ...assignment(b)].sort(), [0, 1, 2, 3]);
    await processedAll([a, b], round1);

    const listed = JSON.parse(await runPython(LIST_GROUPS, [bootstrap])) as ListedGroup[];
    assert.deepEqual(listed, [{ id: group, error: null, state: 'Stable', protocolType: 'consumer', protocol: 'range', members: ['ck-a', 'ck-b'] }]);

    // A closes (commits nothing more: it committed each batch; then LeaveGroup); B gets all four.
    assert.equal((await a.stop('SIGTERM')).code, 0, a.stderr());
    await waitForStableGroup(port, group, topic, partitions, 1);
    const round2 = await produceRound(port, topic, partitions, 25, 'r2');
    await processedAll([b], round2);
    assert.deepEqual(assignment(b), [0, 1, 2, 3]);

    const all = [...round1, ...round2];
    const ends = Array.from({ length: partitions }, (_, p) => Math.max(...all.filter((m) => m.partition === p).map((m) => m.offset)) + 1);
    await pollUntil(async () => ((await committedOffsets(port, group, topic, partitions)).every((o, p) => o === ends[p]) ? true : undefined), 'every offset committed');
    assert.equal((await b.stop('SIGTERM')).code, 0, b.stderr());

    assert.deepEqual([...lines(a), ...lines(b)].filter((l) => l.type === 'commitFailed'), []);
    const { duplicates } = checkDelivery(all, [...processed(a), ...processed(b)], [...commits(a), ...commits(b)]);
    assert.equal(duplicates, 0, 'no message processed twice');
    const after = JSON.parse(await runPython(LIST_GROUPS, [bootstrap])) as ListedGroup[];
    assert.deepEqual(after.map((g) => [g.id, g.state, g.members]), [[group, 'Empty', []]]);
  });
});
