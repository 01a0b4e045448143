import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Admin } from '@platformatic/kafka';
import { startBroker } from '../helpers/broker.js';

const run = promisify(execFile);
const TOPIC = 2;

describe('topic configs', () => {
  it('@platformatic/kafka describes defaults, alters incrementally, and sees the change', async (t) => {
    const { bootstrap } = await startBroker(t);
    const admin = new Admin({ clientId: 'test', bootstrapBrokers: [bootstrap], retries: 0 });
    t.after(() => admin.close());
    await admin.createTopics({ topics: ['cfg'], partitions: 1, replicas: 1 });
    const describe = async () => {
      const [d] = await admin.describeConfigs({ resources: [{ resourceType: TOPIC, resourceName: 'cfg', configurationKeys: ['retention.ms', 'cleanup.policy'] }] });
      return Object.fromEntries((d?.configs ?? []).map((c) => [c.name, [c.value, c.configSource === 5]]));
    };
    assert.deepEqual(await describe(), { 'retention.ms': ['604800000', true], 'cleanup.policy': ['delete', true] });
    await admin.incrementalAlterConfigs({
      resources: [{ resourceType: TOPIC, resourceName: 'cfg', configs: [{ name: 'retention.ms', configOperation: 0, value: '60000' }] }],
    });
    assert.deepEqual(await describe(), { 'retention.ms': ['60000', false], 'cleanup.policy': ['delete', true] });
    await assert.rejects(
      admin.incrementalAlterConfigs({ resources: [{ resourceType: TOPIC, resourceName: 'cfg', configs: [{ name: 'retention.ms', configOperation: 0, value: 'soon' }] }] }),
    );
    await admin.incrementalAlterConfigs({
      resources: [{ resourceType: TOPIC, resourceName: 'cfg', configs: [{ name: 'retention.ms', configOperation: 1 }] }],
    });
    assert.deepEqual(await describe(), { 'retention.ms': ['604800000', true], 'cleanup.policy': ['delete', true] });
  });

  it('kafka-python alters (whole set) and describes topic configs; an unknown topic is refused', async (t) => {
    const { bootstrap } = await startBroker(t);
    const script = [
      'from kafka.admin import KafkaAdminClient, NewTopic, ConfigResource, ConfigResourceType',
      `a = KafkaAdminClient(bootstrap_servers='${bootstrap}')`,
      "a.create_topics([NewTopic('pycfg', 1, 1, topic_configs={'segment.ms': '1000'})])",
      "a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, 'pycfg', configs={'retention.bytes': '1048576'})])",
      "r = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, 'pycfg')])[0]",
      'print(r.resources[0][0])',
      "print(sorted((c[0], c[1]) for c in r.resources[0][4] if c[0] in ('retention.bytes', 'segment.ms')))",
      "r = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, 'nope')])[0]",
      'print(r.resources[0][0])',
      'a.close()',
    ].join('\n');
    const { stdout } = await run('/usr/bin/python3', ['-c', script], { timeout: 30_000 });
    // AlterConfigs replaces the whole set: segment.ms goes back to its default.
    assert.deepEqual(stdout.trim().split('\n'), ['0', "[('retention.bytes', '1048576'), ('segment.ms', '604800000')]", '3']);
  });
});
