import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { KafkaError } from '../../src/client/errors.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { AlterConfigs, CreatePartitions, DescribeConfigs, Metadata } from '../../src/protocol/messages/index.js';
import { MetadataStore } from '../../src/storage/metadata-store.js';
import { connect, eventually, LatencyProbe, startBrokerProcess } from './attack-support.js';
import { createTopics, logLines, partitionDirs, produceEach, TOPIC_RESOURCE, withinProbeBound } from './storage-attack-support.js';

/**
 * Attacks on what topics cost the broker on disk: partitions (a directory, files and memory each) and
 * topic configs that multiply files (docs/security/limits.md, "Partitions, open files and topic
 * configs"). The open-file attacks are in limits-storage-fds.test.ts.
 */

const INT32_MAX = 2_147_483_647;

describe('storage limits: partitions and topic configs', () => {
  it('refuses 2,147,483,647 and 1,000,000 partitions (INVALID_PARTITIONS) and segment.bytes=14 (INVALID_CONFIG), validate_only or not, before anything is written', async (t) => {
    const broker = await startBrokerProcess(t);
    const admin = await broker.admin();
    await admin.createTopic('probe', 1);
    const probe = await LatencyProbe.open(t, broker.adminConfig, 'probe');
    const baseline = await probe.median(5);
    const c = await connect(t, broker.adminConfig);
    const dirsBefore = partitionDirs(broker);
    const fdsBefore = broker.openFds();
    const rssBefore = broker.rssBytes();

    for (const validateOnly of [true, false]) {
      const started = performance.now();
      const r = await createTopics(c, [{ name: 'max-int', partitions: INT32_MAX }, { name: 'million', partitions: 1_000_000 }], validateOnly);
      const ms = performance.now() - started;
      assert.deepEqual(
        r.topics.map((x) => [x.name, x.errorCode]),
        [
          ['max-int', ErrorCode.INVALID_PARTITIONS],
          ['million', ErrorCode.INVALID_PARTITIONS],
        ],
        `validateOnly=${validateOnly}`,
      );
      assert.match(r.topics[1]?.errorMessage ?? '', /1000000 partitions is more than this broker allows for one topic \(maxPartitionsPerTopic = 1000\)/);
      assert.ok(ms < 2000, `answered in ${ms.toFixed(0)} ms`);
    }
    // CreatePartitions is bounded the same way.
    const grow = await c.request(CreatePartitions, { topics: [{ name: 'probe', count: 1_000_000, assignments: null }], timeoutMs: 30_000, validateOnly: false });
    assert.equal(grow.results[0]?.errorCode, ErrorCode.INVALID_PARTITIONS);

    // Nothing was written: no topic, no partition directory, no descriptor, no memory held.
    const metadata = await c.request(Metadata, { topics: [{ name: 'max-int' }, { name: 'million' }], allowAutoTopicCreation: false });
    assert.deepEqual(
      metadata.topics.map((x) => x.errorCode),
      [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    );
    assert.equal((await admin.describeTopic('probe')).partitions.length, 1);
    assert.deepEqual(partitionDirs(broker), dirsBefore);
    assert.ok(broker.openFds() <= fdsBefore + 2, `fds ${fdsBefore} → ${broker.openFds()}`);
    const rssDelta = broker.rssBytes() - rssBefore;
    assert.ok(rssDelta < 32 * 1024 * 1024, `RSS grew by ${(rssDelta / 1048576).toFixed(1)} MiB`);
    const after = await probe.median(5);
    assert.ok(withinProbeBound(baseline.produceMs, after.produceMs), `probe produce ${baseline.produceMs.toFixed(1)} → ${after.produceMs.toFixed(1)} ms`);

    // Topic configs that would multiply files: refused in CreateTopics, AlterConfigs and IncrementalAlterConfigs.
    const bad = [{ 'segment.bytes': '14' }, { 'segment.ms': '1' }, { 'max.message.bytes': String(200 * 1024 * 1024) }];
    for (const configs of bad) {
      const r = await createTopics(c, [{ name: 'tiny-segments', partitions: 1, configs }], false);
      assert.equal(r.topics[0]?.errorCode, ErrorCode.INVALID_CONFIG, JSON.stringify(configs));
    }
    assert.match(
      (await createTopics(c, [{ name: 'tiny-segments', partitions: 1, configs: { 'segment.bytes': '14' } }], true)).topics[0]?.errorMessage ?? '',
      /segment\.bytes must be at least 1048576 \(this broker's minSegmentBytes\)/,
    );
    await admin.createTopic('owned', 1);
    for (const configs of bad) {
      await assert.rejects(admin.alterTopicConfigs('owned', configs), (err: unknown) => err instanceof KafkaError && err.code === ErrorCode.INVALID_CONFIG);
      const whole = await c.request(AlterConfigs, {
        resources: [{ resourceType: TOPIC_RESOURCE, resourceName: 'owned', configs: Object.entries(configs).map(([name, value]) => ({ name, value })) }],
        validateOnly: false,
      });
      assert.equal(whole.responses[0]?.errorCode, ErrorCode.INVALID_CONFIG);
    }
    // The smallest allowed values are accepted.
    await admin.alterTopicConfigs('owned', { 'segment.bytes': '1048576', 'segment.ms': '60000' });
    const described = await admin.describeTopic('owned');
    assert.equal(described.configs.find((x) => x.name === 'segment.bytes')?.value, '1048576');
    t.diagnostic(`fds ${fdsBefore} → ${broker.openFds()}, RSS +${(rssDelta / 1048576).toFixed(1)} MiB, probe ${baseline.produceMs.toFixed(1)} → ${after.produceMs.toFixed(1)} ms`);
  });

  it('refuses partitions beyond the broker total with POLICY_VIOLATION, counting a validate-only request as the real one would', async (t) => {
    const broker = await startBrokerProcess(t, { configYaml: 'maxPartitions: 50\nmaxPartitionsPerTopic: 30' });
    const c = await connect(t, broker.adminConfig);
    const created = await createTopics(c, [{ name: 'a', partitions: 20 }, { name: 'b', partitions: 20 }, { name: 'c', partitions: 20 }], false);
    assert.deepEqual(
      created.topics.map((x) => x.errorCode),
      [ErrorCode.NONE, ErrorCode.NONE, ErrorCode.POLICY_VIOLATION],
    );
    assert.match(created.topics[2]?.errorMessage ?? '', /would bring the broker to 60 partitions, more than it allows in all \(maxPartitions = 50\); 10 can still be created/);
    // 10 left: a validate-only request for 6 and 6 accepts the first only, as a real one would.
    const validated = await createTopics(c, [{ name: 'd', partitions: 6 }, { name: 'e', partitions: 6 }], true);
    assert.deepEqual(
      validated.topics.map((x) => x.errorCode),
      [ErrorCode.NONE, ErrorCode.POLICY_VIOLATION],
    );
    const grow = await c.request(CreatePartitions, {
      topics: [
        { name: 'a', count: 20 + 6, assignments: null },
        { name: 'b', count: 20 + 6, assignments: null },
      ],
      timeoutMs: 30_000,
      validateOnly: false,
    });
    assert.deepEqual(
      grow.results.map((x) => x.errorCode),
      [ErrorCode.NONE, ErrorCode.POLICY_VIOLATION],
    );
    const admin = await broker.admin();
    assert.deepEqual(
      (await admin.listTopics()).filter((x) => !x.internal).map((x) => [x.name, x.partitions]),
      [
        ['a', 26],
        ['b', 20],
      ],
    );
    // Creating a topic writes no partition directory: a refused one could not have left any either.
    assert.deepEqual(partitionDirs(broker).filter((d) => !d.startsWith('__audit-')), []);
  });

  it('starts on what an older version stored (1,000,000 partitions, segment.bytes=14) without opening it all, and serves it within the limits', async (t) => {
    const first = await startBrokerProcess(t);
    const admin = await first.admin();
    await admin.createTopic('probe', 1);
    admin.close();
    assert.equal(await first.stop(), 0);
    // What an older version accepted, written into the metadata store as it would have been.
    const store = new MetadataStore(first.dataDir);
    store.createTopic('legacy-huge', randomUUID(), 1_000_000);
    store.createTopic('legacy-tiny', randomUUID(), 1, { 'segment.bytes': '14', 'segment.ms': '1' });
    store.close();

    const started = performance.now();
    const broker = await startBrokerProcess(t, { dataDir: first.dataDir });
    const startMs = performance.now() - started;
    // The log is written asynchronously: its lines may follow the "listening" line.
    await eventually(() => logLines(broker).filter((l) => l.level === 40).length >= 3, 'the start-up warnings');
    const warnings = logLines(broker).filter((l) => l.level === 40);
    assert.ok(
      warnings.some((l) => /topic legacy-huge has 1000000 partitions, more than maxPartitionsPerTopic allows .* delete it \(parapet topic delete legacy-huge\)/.test(l.msg)),
      broker.output(),
    );
    assert.ok(warnings.some((l) => /topic legacy-tiny has configs outside today's ranges/.test(l.msg) && JSON.stringify(l).includes('segment.bytes=14')), broker.output());
    assert.ok(warnings.some((l) => /the topics hold 1000002 partitions, more than maxPartitions allows/.test(l.msg)), broker.output());
    assert.ok(broker.openFds() < 64, `${broker.openFds()} descriptors after start`);

    const c = await connect(t, broker.adminConfig);
    // The last of the million partitions is served; only it gets a directory.
    assert.equal((await produceEach(c, 'legacy-huge', [999_999])).get(999_999), ErrorCode.NONE);
    assert.deepEqual(
      partitionDirs(broker).filter((d) => d.startsWith('legacy-huge')),
      ['legacy-huge-999999'],
    );
    // segment.bytes=14 is obeyed as 1 MiB: 300 produces make one segment, not 300 files.
    for (let i = 0; i < 300; i++) assert.equal((await produceEach(c, 'legacy-tiny', [0])).get(0), ErrorCode.NONE);
    const segments = readdirSync(join(broker.dataDir, 'logs', 'legacy-tiny-0')).filter((f) => f.endsWith('.log'));
    assert.equal(segments.length, 1);
    const described = await c.request(DescribeConfigs, {
      resources: [{ resourceType: TOPIC_RESOURCE, resourceName: 'legacy-tiny', configurationKeys: ['segment.bytes', 'segment.ms'] }],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    assert.deepEqual(
      described.results[0]?.configs.map((x) => [x.name, x.value]),
      [
        ['segment.bytes', '1048576'],
        ['segment.ms', '60000'],
      ],
    );
    // No new topic fits while the old one holds more partitions than the broker allows in all.
    assert.equal((await createTopics(c, [{ name: 'more', partitions: 1 }], false)).topics[0]?.errorCode, ErrorCode.POLICY_VIOLATION);
    t.diagnostic(`restart with a 1,000,000-partition topic: listening after ${startMs.toFixed(0)} ms, ${broker.openFds()} descriptors`);
    assert.equal(await broker.stop(), 0);
  });

});
