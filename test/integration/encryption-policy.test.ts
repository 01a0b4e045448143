import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import kafkajs, { Kafka, logLevel } from 'kafkajs';
import { SEALED_MAGIC } from '../../src/storage/crypto/sealed-batch.js';
import { startBroker } from '../helpers/broker.js';
import { segmentFiles, storedEntries } from '../helpers/sealed-storage.js';

// KafkaJS's CommonJS build has these enums on its default export only.
const { ConfigResourceTypes, ConfigSource } = kafkajs;

/** The magic byte of every entry of every segment of a partition: 2 clear, 0x50 sealed. */
function storedMagics(dataDir: string, topic: string): number[] {
  return segmentFiles(dataDir, topic, 0).flatMap((path) => storedEntries(path).map((e) => e.magic));
}

describe('encryption at rest: the topic policy, through a real client', () => {
  it('encrypts topics by default; encryption=none is stored in clear, reported as an insecure setting, and described; other values are refused', async (t) => {
    const { bootstrap, dataDir, events } = await startBroker(t);
    const kafka = new Kafka({ clientId: 'policy', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const admin = kafka.admin();
    const producer = kafka.producer();
    await Promise.all([admin.connect(), producer.connect()]);
    t.after(() => Promise.all([admin.disconnect(), producer.disconnect()]));

    await admin.createTopics({ topics: [{ topic: 'sealed', numPartitions: 1 }, { topic: 'clear', numPartitions: 1, configEntries: [{ name: 'encryption', value: 'none' }] }] });
    await assert.rejects(admin.createTopics({ topics: [{ topic: 'rot13', numPartitions: 1, configEntries: [{ name: 'encryption', value: 'rot13' }] }] }), (err: unknown) => {
      const errors = (err as { errors?: { type?: string }[] }).errors ?? [];
      return errors.some((e) => e.type === 'INVALID_CONFIG');
    });
    const insecure = events.filter((e) => e.type === 'insecure-setting' && e.setting.startsWith('topic '));
    assert.deepEqual(
      insecure.map((e) => (e.type === 'insecure-setting' ? e.setting : '')),
      ['topic clear: encryption=none'],
    );

    for (const topic of ['sealed', 'clear']) await producer.send({ topic, messages: [{ key: 'k', value: `MARKER-${topic}`, headers: { h: `H-${topic}` } }] });
    assert.deepEqual(storedMagics(dataDir, 'sealed'), [SEALED_MAGIC]);
    assert.deepEqual(storedMagics(dataDir, 'clear'), [2]);

    const { resources } = await admin.describeConfigs({
      resources: ['sealed', 'clear'].map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['encryption'] })),
      includeSynonyms: false,
    });
    assert.deepEqual(
      resources.map((r) => [r.resourceName, r.configEntries[0]?.configValue, r.configEntries[0]?.configSource === ConfigSource.DEFAULT_CONFIG]),
      [
        ['sealed', 'aes-256-gcm', true],
        ['clear', 'none', false],
      ],
    );

    // Altered to none later: reported the same way, and the next batch is written in clear.
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'sealed', configEntries: [{ name: 'encryption', value: 'none' }] }] });
    assert.ok(events.some((e) => e.type === 'insecure-setting' && e.setting === 'topic sealed: encryption=none'));
    await producer.send({ topic: 'sealed', messages: [{ value: 'after' }] });
    assert.deepEqual(storedMagics(dataDir, 'sealed'), [SEALED_MAGIC, 2]);
  });
});
