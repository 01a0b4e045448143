import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTopic } from '../helpers/client.js';
import { groupBroker, spawnLines, spawnPythonLines, waitForStableGroup, type LineChild } from './groups-support.js';

/**
 * What real consumers show when a consumer group bound refuses them (docs/consumer-groups.md#limits):
 * kcat (librdkafka 2.0.2) stops with the broker's error, and kafka-python's commit raises it. Every
 * client connects as the same principal here (User:ANONYMOUS on this plaintext broker).
 */

const TOPIC = 'limited';

function kcatMember(t: Parameters<typeof spawnLines>[0], bootstrap: string, group: string): LineChild {
  return spawnLines(t, 'kcat', ['-b', bootstrap, '-G', group, '-X', 'heartbeat.interval.ms=250', TOPIC]);
}

/** kafka-python reads the topic as a member of `group` and commits synchronously: prints the outcome. */
const COMMIT = String.raw`
import sys
from kafka import KafkaConsumer
c = KafkaConsumer('limited', bootstrap_servers=sys.argv[1], group_id=sys.argv[2], auto_offset_reset='earliest',
                  enable_auto_commit=False, consumer_timeout_ms=3000)
for m in c:
    pass
try:
    c.commit()
    print('committed')
except Exception as e:
    print('commit failed:', type(e).__name__)
c.close()
`;

describe('consumer group limits as real clients see them', () => {
  it('kcat: a full group → "Consumer group has reached maximum size"; one group too many → "Policy violation"', async (t) => {
    const { bootstrap, port } = await groupBroker(t, { groupMaxSize: 1, groupMaxGroupsPerPrincipal: 2 });
    await createTopic(port, TOPIC, 2);
    kcatMember(t, bootstrap, 'first');
    await waitForStableGroup(port, 'first', TOPIC, 2, 1);

    const refusedMember = kcatMember(t, bootstrap, 'first');
    const exit = await refusedMember.exited;
    assert.equal(exit.code, 1);
    assert.match(refusedMember.stderr(), /JoinGroup failed: Broker: Consumer group has reached maximum size/);

    kcatMember(t, bootstrap, 'other');
    await waitForStableGroup(port, 'other', TOPIC, 2, 1);
    const thirdGroup = kcatMember(t, bootstrap, 'third');
    assert.equal((await thirdGroup.exited).code, 1);
    assert.match(thirdGroup.stderr(), /JoinGroup failed: Broker: Policy violation/);
  });

  it('kafka-python: a commit past the principal’s committed-offset bytes raises InvalidCommitOffsetSizeError', async (t) => {
    // One committed offset of this group counts 64 + 7 ("kp-full") + 7 ("limited") bytes: the commit of
    // both partitions' positions has room for one.
    const { bootstrap, port } = await groupBroker(t, { groupMaxOffsetBytesPerPrincipal: 100 });
    await createTopic(port, TOPIC, 2);
    const consumer = spawnPythonLines(t, COMMIT, [bootstrap, 'kp-full']);
    await consumer.exited;
    assert.deepEqual(consumer.lines, ['commit failed: InvalidCommitOffsetSizeError'], consumer.stderr());
  });
});
