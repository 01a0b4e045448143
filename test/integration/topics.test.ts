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
async function roundTrip(port: number, api: typeof CreateTopics | typeof CreatePartitions, version: number, body: object): Promise<unknown> {
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
