import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../../src/protocol/acl.js';
import { ListOffsets, Produce } from '../../src/protocol/messages/index.js';
import { CompressionCodec } from '../../src/records/compression.js';
import { buildBatchSync } from '../../src/records/record.js';
import { connect, LatencyProbe, startBrokerProcess } from './attack-support.js';
import { withinProbeBound } from './storage-attack-support.js';

/**
 * ListOffsets by timestamp reads the records of one stored batch, which a producer may have made a
 * compression bomb: 95 KB of gzip inflating to 95 MiB (docs/security/limits.md, "ListOffsets by
 * timestamp"). Before the bound, 12 connections asking at once added 1,433 MiB of RSS.
 */

const MiB = 1024 * 1024;

describe('ListOffsets by timestamp on a compression bomb', () => {
  it('12 connections search a batch that inflates to 95 MiB: bounded memory, the batch’s first offset answered, others served', async (t) => {
    const broker = await startBrokerProcess(t);
    const admin = await broker.admin();
    await admin.createTopic('probe', 1);
    // Without a bound on future timestamps: the default one (message.timestamp.after.max.ms, one hour)
    // reads every batch's records on produce, and refuses this bomb there (test/unit/storage/log/
    // append-rules.test.ts). Stored, as a broker without the bound stored it, it is what ListOffsets meets.
    await admin.createTopic('bombs', 1, { 'message.timestamp.after.max.ms': '9223372036854775807' });
    const bombs = { resourceType: ResourceType.TOPIC, resourceName: 'bombs', patternType: PatternType.LITERAL, host: '*', permission: AclPermissionType.ALLOW };
    const mallory = await broker.addUser('mallory', 'mallory-password-1', [
      { ...bombs, operation: AclOperation.WRITE },
      { ...bombs, operation: AclOperation.DESCRIBE },
    ]);
    const writer = await connect(t, mallory);
    const small = buildBatchSync({ records: [{ value: 'before', timestamp: 1000 }] });
    const bomb = buildBatchSync({ records: [{ value: Buffer.alloc(95 * MiB), timestamp: 2000 }, { value: 'after', timestamp: 3000 }], compression: CompressionCodec.gzip });
    t.diagnostic(`the bomb: ${(bomb.length / 1024).toFixed(0)} KB of gzip`);
    for (const records of [small, bomb]) {
      const r = await writer.request(Produce, { transactionalId: null, acks: 1, timeoutMs: 30_000, topicData: [{ name: 'bombs', partitionData: [{ index: 0, records }] }] });
      assert.equal(r.responses[0]?.partitionResponses[0]?.errorCode, 0);
    }
    const probe = await LatencyProbe.open(t, broker.adminConfig, 'probe');
    await probe.median(3);
    const baseline = await probe.median(9);
    const attackers = await Promise.all(Array.from({ length: 12 }, () => connect(t, mallory)));
    const before = broker.rssBytes();
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, broker.rssBytes());
    }, 20);
    t.after(() => {
      clearInterval(sampler);
    });
    // The record at 3000 lies past the 8 MiB the broker inflates: the batch's first offset (1) is answered.
    const ask = (c: (typeof attackers)[number]) =>
      c.request(ListOffsets, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'bombs', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: 2500n }] }] });
    const rounds = 3;
    const during: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const answers = Promise.all(attackers.map(ask));
      during.push((await probe.median(3)).produceMs);
      for (const answer of await answers) {
        const p = answer.topics[0]?.partitions[0];
        assert.equal(p?.errorCode, 0);
        assert.equal(p.offset, 1n, 'the bomb batch’s first offset');
        assert.equal(p.timestamp, 3000n, 'with the batch’s largest timestamp');
      }
    }
    clearInterval(sampler);
    const grown = peak - before;
    t.diagnostic(`${rounds} × 12 searches: broker RSS peak +${(grown / MiB).toFixed(0)} MiB (before the bound: +1,433 MiB)`);
    assert.ok(grown < 64 * MiB, `the broker grew by ${(grown / MiB).toFixed(0)} MiB`);
    const worst = Math.max(...during);
    t.diagnostic(`probe produce ${baseline.produceMs.toFixed(1)} ms → worst median ${worst.toFixed(1)} ms during the searches`);
    assert.ok(withinProbeBound(baseline.produceMs, worst), `probe produce ${baseline.produceMs} → ${worst} ms`);
    // A search that finds its record within the bound is exact.
    const exact = await writer.request(ListOffsets, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'bombs', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: 500n }] }] });
    assert.equal(exact.topics[0]?.partitions[0]?.offset, 0n);
  });
});
