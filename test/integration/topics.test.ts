import assert from 'node:assert/strict';
import { TEST_AUDIT, TEST_ENCRYPTION_AT_REST } from '../helpers/test-keys.js';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { Broker, DEFAULT_BROKER_CONFIG } from '../../src/broker/broker.js';
import { INSECURE_DEV_SECURITY } from '../../src/security/config.js';
import { CreatePartitions } from '../../src/protocol/messages/create-partitions.js';
import { CreateTopics } from '../../src/protocol/messages/create-topics.js';
import { DescribeConfigs } from '../../src/protocol/messages/describe-configs.js';
import { TOPIC_CONFIGS } from '../../src/topics/topic-configs.js';
import type { RequestOf } from '../../src/protocol/messages/schema.js';
import { recordingLogger, startBroker } from '../helpers/broker.js';
import { withConnection } from '../helpers/client.js';
import { TEST_ADMIN_ENDPOINT } from '../helpers/admin-endpoint.js';

const run = promisify(execFile);

async function kcatTopics(bootstrap: string): Promise<string> {
  const { stdout } = await run('kcat', ['-b', bootstrap, '-L', '-m', '5']);
  return stdout;
}

/** One request at a pinned version through the project's client; the body is as the test spells it. */
async function roundTrip(port: number, api: typeof CreateTopics | typeof CreatePartitions | typeof DescribeConfigs, version: number, body: object): Promise<unknown> {
  return withConnection(port, (c) => c.request(api, body as RequestOf<typeof api>, version));
}

describe('topic administration', () => {
  it('kafka-python creates, lists and deletes topics', async (t) => {
    const { bootstrap } = await startBroker(t);
    const script = [
      'from kafka.admin import KafkaAdminClient, NewTopic',
      `a = KafkaAdminClient(bootstrap_servers='${bootstrap}')`,
      "a.create_topics([NewTopic('py-orders', 3, 1, topic_configs={'retention.ms': '60000'})])",
      'print(sorted(t for t in a.list_topics() if t != "__audit"))',
      "a.delete_topics(['py-orders'])",
      'print(sorted(t for t in a.list_topics() if t != "__audit"))',
      'a.close()',
    ].join('\n');
    const { stdout } = await run('/usr/bin/python3', ['-c', script], { timeout: 30_000 });
    assert.deepEqual(stdout.trim().split('\n'), ["['py-orders']", '[]']);
  });

  it('KafkaJS creates topics and adds partitions; kcat sees them', async (t) => {
    const { bootstrap } = await startBroker(t);
    const admin = new Kafka({ clientId: 'test', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
    await admin.connect();
    t.after(() => admin.disconnect());
    assert.equal(await admin.createTopics({ topics: [{ topic: 'js-events', numPartitions: 2, replicationFactor: 1 }] }), true);
    const partitions = async () => (await admin.fetchTopicMetadata({ topics: ['js-events'] })).topics[0]?.partitions.length;
    assert.equal(await partitions(), 2);
    await admin.createPartitions({ topicPartitions: [{ topic: 'js-events', count: 5 }] });
    assert.equal(await partitions(), 5);
    assert.deepEqual((await admin.listTopics()).filter((t) => t !== '__audit'), ['js-events']);
    assert.match(await kcatTopics(bootstrap), /topic "js-events" with 5 partitions/);
    await admin.deleteTopics({ topics: ['js-events'] });
    assert.deepEqual((await admin.listTopics()).filter((t) => t !== '__audit'), []);
  });

  it('refuses bad requests topic by topic with the right Kafka error codes', async (t) => {
    const { port } = await startBroker(t);
    const topic = (name: string, extra: object = {}) => ({ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [], ...extra });
    const body = (await roundTrip(port, CreateTopics, 5, {
      topics: [
        topic('good'),
        topic('bad/name'),
        topic('r3', { replicationFactor: 3 }),
        topic('p0', { numPartitions: 0 }),
        topic('cfg', { configs: [{ name: 'retention.msx', value: '1' }] }),
        topic('pol', { configs: [{ name: 'cleanup.policy', value: 'archive' }] }),
      ],
    })) as { topics: { name: string; errorCode: number; errorMessage: string | null }[] };
    assert.deepEqual(
      body.topics.map((x) => [x.name, x.errorCode]),
      [['good', 0], ['bad/name', 17], ['r3', 38], ['p0', 37], ['cfg', 40], ['pol', 40]],
    );
    assert.match(body.topics[4]?.errorMessage ?? '', /unknown topic config retention\.msx/);
    const again = (await roundTrip(port, CreateTopics, 5, { topics: [topic('good')] })) as { topics: { errorCode: number }[] };
    assert.equal(again.topics[0]?.errorCode, 36);
    const fewer = (await roundTrip(port, CreatePartitions, 1, { topics: [{ name: 'good', count: 1, assignments: null }], timeoutMs: 1000, validateOnly: false })) as {
      results: { errorCode: number }[];
    };
    assert.equal(fewer.results[0]?.errorCode, 37);
  });

  it('validateOnly creates nothing', async (t) => {
    const { port, bootstrap } = await startBroker(t);
    const body = (await roundTrip(port, CreateTopics, 5, {
      topics: [{ name: 'dry', numPartitions: 4, replicationFactor: -1, assignments: [], configs: [] }],
      validateOnly: true,
    })) as { topics: { errorCode: number; numPartitions: number }[] };
    assert.deepEqual([body.topics[0]?.errorCode, body.topics[0]?.numPartitions], [0, 4]);
    assert.match(await kcatTopics(bootstrap), / 1 topics:\n {2}topic "__audit"/, 'nothing besides the audit topic');
  });

});

describe('manual replica assignments on one broker', () => {
  type Created = { topics: { name: string; errorCode: number; errorMessage: string | null; numPartitions: number; replicationFactor: number }[] };
  const assigned = (name: string, assignments: { partitionIndex: number; brokerIds: number[] }[], extra: object = {}) => ({
    name,
    numPartitions: -1,
    replicationFactor: -1,
    assignments,
    configs: [],
    ...extra,
  });

  it('creates a topic whose assignment names only broker 0, with one partition per entry; refuses others as Kafka does', async (t) => {
    const { port, bootstrap } = await startBroker(t);
    const body = (await roundTrip(port, CreateTopics, 5, {
      topics: [
        assigned('manual', [{ partitionIndex: 0, brokerIds: [0] }, { partitionIndex: 1, brokerIds: [0] }, { partitionIndex: 2, brokerIds: [0] }]),
        assigned('elsewhere', [{ partitionIndex: 0, brokerIds: [0] }, { partitionIndex: 1, brokerIds: [1] }]),
        assigned('twice', [{ partitionIndex: 0, brokerIds: [0, 0] }]),
        assigned('gap', [{ partitionIndex: 0, brokerIds: [0] }, { partitionIndex: 2, brokerIds: [0] }]),
        assigned('empty', [{ partitionIndex: 0, brokerIds: [] }]),
        assigned('counted', [{ partitionIndex: 0, brokerIds: [0] }], { numPartitions: 1 }),
        assigned('replicated', [{ partitionIndex: 0, brokerIds: [0] }], { replicationFactor: 1 }),
      ],
    })) as Created;
    const outcome = body.topics.map((x) => [x.name, x.errorCode, x.errorMessage]);
    assert.deepEqual(outcome[0], ['manual', 0, null]);
    assert.deepEqual([body.topics[0]?.numPartitions, body.topics[0]?.replicationFactor], [3, 1]);
    assert.equal(outcome[1]?.[1], 39);
    assert.match(body.topics[1]?.errorMessage ?? '', /partition 1 names broker 1, but this is a single broker \(node id 0\): every partition's replicas must be exactly \[0\]/);
    assert.deepEqual(outcome[2]?.slice(1), [39, 'the manual replica assignment of partition 0 names broker 0 more than once']);
    assert.deepEqual(outcome[3]?.slice(1), [39, 'partitions should be a consecutive 0-based integer sequence']);
    assert.deepEqual(outcome[4]?.slice(1), [39, 'the manual replica assignment of partition 0 is an empty replica list']);
    assert.deepEqual(outcome[5]?.slice(1), [42, 'A manual partition assignment was specified, but numPartitions was not set to -1.']);
    assert.deepEqual(outcome[6]?.slice(1), [42, 'A manual partition assignment was specified, but replication factor was not set to -1.']);
    const listed = await kcatTopics(bootstrap);
    assert.match(listed, /topic "manual" with 3 partitions/);
    assert.doesNotMatch(listed, /"elsewhere"|"twice"|"gap"|"counted"/);

    type Results = { results: { name: string; errorCode: number; errorMessage: string | null }[] };
    const grow = (count: number, assignments: { brokerIds: number[] }[] | null) =>
      roundTrip(port, CreatePartitions, 1, { topics: [{ name: 'manual', count, assignments }], timeoutMs: 1000, validateOnly: false }) as Promise<Results>;
    const wrong = await grow(5, [{ brokerIds: [0] }, { brokerIds: [2] }]);
    assert.deepEqual([wrong.results[0]?.errorCode, /partition 4 names broker 2/.test(wrong.results[0]?.errorMessage ?? '')], [39, true]);
    const short = await grow(5, [{ brokerIds: [0] }]);
    assert.deepEqual([short.results[0]?.errorCode, short.results[0]?.errorMessage], [39, 'Attempted to add 2 additional partition(s), but only 1 assignment(s) were specified.']);
    const grown = await grow(5, [{ brokerIds: [0] }, { brokerIds: [0] }]);
    assert.equal(grown.results[0]?.errorCode, 0);
    assert.match(await kcatTopics(bootstrap), /topic "manual" with 5 partitions/);
  });
});

describe('DescribeConfigs of a topic', () => {
  it('reports every topic config with its value, source, type and documentation, and the default as a synonym of an override', async (t) => {
    const { port } = await startBroker(t);
    await roundTrip(port, CreateTopics, 5, { topics: [{ name: 'described', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'compression.type', value: 'zstd' }] }] });
    type Described = { results: { errorCode: number; configs: { name: string; value: string | null; configSource: number; configType: number; documentation: string | null; synonyms: { name: string; value: string | null; source: number }[] }[] }[] };
    const body = (await roundTrip(port, DescribeConfigs, 4, { resources: [{ resourceType: 2, resourceName: 'described', configurationKeys: null }], includeSynonyms: true, includeDocumentation: true })) as Described;
    const configs = body.results[0]?.configs ?? [];
    assert.deepEqual(configs.map((c) => c.name).sort(), Object.keys(TOPIC_CONFIGS).sort());
    for (const c of configs) {
      const def = TOPIC_CONFIGS[c.name];
      assert.equal(c.documentation, def?.doc, c.name);
      assert.equal(c.configType, def?.type, c.name);
    }
    const compression = configs.find((c) => c.name === 'compression.type');
    assert.deepEqual([compression?.value, compression?.configSource], ['zstd', 1]);
    assert.deepEqual(compression?.synonyms, [
      { name: 'compression.type', value: 'zstd', source: 1 },
      { name: 'compression.type', value: 'producer', source: 5 },
    ]);
    const after = configs.find((c) => c.name === 'message.timestamp.after.max.ms');
    assert.deepEqual([after?.value, after?.configSource, after?.configType], ['3600000', 5, 5]);
  });
});

describe('topic persistence', () => {
  it('a broker reopened on the same data directory has the same topics', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'parapet-restart-'));
    t.after(() => {
      rmSync(dataDir, { recursive: true, force: true });
    });
    const config = { ...DEFAULT_BROKER_CONFIG, listener: { host: '127.0.0.1', port: 0, protocol: 'PLAINTEXT' as const }, security: INSECURE_DEV_SECURITY, encryptionAtRest: TEST_ENCRYPTION_AT_REST, audit: TEST_AUDIT, dataDir, adminEndpoint: TEST_ADMIN_ENDPOINT };
    const first = new Broker(config, recordingLogger());
    const a = await first.start();
    await roundTrip(a.port, CreateTopics, 5, { topics: [{ name: 'kept', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }] });
    await first.close();
    const second = new Broker(config, recordingLogger());
    const b = await second.start();
    t.after(() => second.close());
    assert.match(await kcatTopics(`127.0.0.1:${b.port}`), /topic "kept" with 2 partitions/);
  });
});
