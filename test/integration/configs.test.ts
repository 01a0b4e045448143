import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import kafkajs, { Kafka, logLevel } from 'kafkajs';
import { IncrementalAlterConfigs } from '../../src/protocol/messages/incremental-alter-configs.js';
import { startBroker } from '../helpers/broker.js';
import { withConnection } from '../helpers/client.js';

const run = promisify(execFile);
// KafkaJS's CommonJS build has these enums on its default export only (not detectable as named exports).
const { ConfigResourceTypes, ConfigSource } = kafkajs;
const TOPIC = 2;
const SET = 0;
const DELETE = 1;

/**
 * IncrementalAlterConfigs v1 through Parapet's own client: none of the clients installed by default
 * (KafkaJS, kafka-python 2.0, confluent-kafka 1.7) sends it.
 */
async function incrementalAlter(port: number, name: string, configOperation: number, value: string | null) {
  const body = { resources: [{ resourceType: TOPIC, resourceName: name, configs: [{ name: 'retention.ms', configOperation, value }] }], validateOnly: false };
  const [result] = (await withConnection(port, (c) => c.request(IncrementalAlterConfigs, body, 1))).responses;
  assert.ok(result);
  return result;
}

describe('topic configs', () => {
  it('KafkaJS describes defaults; IncrementalAlterConfigs sets and deletes one key; KafkaJS sees the change', async (t) => {
    const { port, bootstrap } = await startBroker(t);
    const admin = new Kafka({ clientId: 'test', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
    await admin.connect();
    t.after(() => admin.disconnect());
    assert.equal(await admin.createTopics({ topics: [{ topic: 'cfg', numPartitions: 1, replicationFactor: 1 }] }), true);
    const describe = async () => {
      const { resources } = await admin.describeConfigs({
        resources: [{ type: ConfigResourceTypes.TOPIC, name: 'cfg', configNames: ['retention.ms', 'cleanup.policy'] }],
        includeSynonyms: false,
      });
      return Object.fromEntries((resources[0]?.configEntries ?? []).map((c) => [c.configName, [c.configValue, c.configSource === ConfigSource.DEFAULT_CONFIG]]));
    };
    assert.deepEqual(await describe(), { 'retention.ms': ['604800000', true], 'cleanup.policy': ['delete', true] });
    assert.equal((await incrementalAlter(port, 'cfg', SET, '60000')).errorCode, 0);
    assert.deepEqual(await describe(), { 'retention.ms': ['60000', false], 'cleanup.policy': ['delete', true] });
    // INVALID_CONFIG (40): a bad value is refused and the key keeps its value.
    assert.equal((await incrementalAlter(port, 'cfg', SET, 'soon')).errorCode, 40);
    assert.deepEqual(await describe(), { 'retention.ms': ['60000', false], 'cleanup.policy': ['delete', true] });
    assert.equal((await incrementalAlter(port, 'cfg', DELETE, null)).errorCode, 0);
    assert.deepEqual(await describe(), { 'retention.ms': ['604800000', true], 'cleanup.policy': ['delete', true] });
  });

  it('kafka-python alters (whole set) and describes topic configs; an unknown topic is refused', async (t) => {
    const { bootstrap } = await startBroker(t);
    const script = [
      'from kafka.admin import KafkaAdminClient, NewTopic, ConfigResource, ConfigResourceType',
      `a = KafkaAdminClient(bootstrap_servers='${bootstrap}')`,
      "a.create_topics([NewTopic('pycfg', 1, 1, topic_configs={'segment.ms': '3600000'})])",
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
