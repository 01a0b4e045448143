import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_QUOTA_CONFIG } from '../../../../src/quotas/quota-config.js';
import { ErrorCode } from '../../../../src/protocol/error-codes.js';
import { decodeResponse, encodeRequest } from '../../../../src/protocol/frames.js';
import { AlterClientQuotas } from '../../../../src/protocol/messages/alter-client-quotas.js';
import { CreateTopics, type CreateTopicsRequest } from '../../../../src/protocol/messages/create-topics.js';
import { DeleteTopics } from '../../../../src/protocol/messages/delete-topics.js';
import { DescribeClientQuotas } from '../../../../src/protocol/messages/describe-client-quotas.js';
import { Fetch } from '../../../../src/protocol/messages/fetch.js';
import { Produce } from '../../../../src/protocol/messages/produce.js';
import { buildBatchSync } from '../../../../src/records/record.js';
import type { ApiSchema } from '../../../../src/protocol/messages/schema.js';
import type { Broker } from '../../../../src/broker/broker.js';
import type { InjectOptions } from '../../../../src/server/listener.js';
import { auditEventsOf, ofType } from '../../../helpers/audit.js';
import { startBroker } from '../../../helpers/broker.js';

const frameOf = (api: ApiSchema, version: number, body: object, clientId = 'quota-test') =>
  Buffer.concat(encodeRequest(api, { apiVersion: version, correlationId: 9, clientId }, body));

async function inject(b: Broker, api: ApiSchema, version: number, body: object, options: InjectOptions = {}) {
  const result = await b.inject(frameOf(api, version, body), options);
  return { ...result, body: result.frame === null ? null : (decodeResponse(api, version, result.frame.subarray(4)).body) };
}

const topic = (name: string, numPartitions: number): CreateTopicsRequest['topics'][number] => ({ name, numPartitions, replicationFactor: 1, assignments: [], configs: [] });
const produce = (bytes: number) => ({ transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: 'orders', partitionData: [{ index: 0, records: Buffer.alloc(bytes, 1) }] }] });
// ANONYMOUS is the super user of the test broker (its principal in inject by default).
const setQuota = (b: Broker, entity: { entityType: string; entityName: string | null }[], key: string, value: number, validateOnly = false) =>
  inject(b, AlterClientQuotas, 1, { entries: [{ entity, ops: [{ key, value, remove: false }] }], validateOnly });

describe('the quota stage: throttle_time_ms and the mute (KIP-219)', () => {
  it('answers a producer over its byte rate at once with throttle_time_ms, and asks the connection to mute; another user is not throttled', async (t) => {
    const { broker, events } = await startBroker(t, { quotas: { ...DEFAULT_QUOTA_CONFIG, producerByteRate: 0 } });
    const set = await setQuota(broker, [{ entityType: 'user', entityName: 'ANONYMOUS' }], 'producer_byte_rate', 1000);
    assert.deepEqual((set.body?.entries as { errorCode: number }[]).map((e) => e.errorCode), [0]);
    // 10,000 bytes over the 10 s minimum window: exactly 1,000 B/s, not over.
    const first = await inject(broker, Produce, 9, produce(10_000));
    assert.equal(first.body?.throttleTimeMs, 0);
    assert.equal(first.mutedMs, undefined);
    // 20,000 bytes: (2,000 − 1,000) / 1,000 × 10 s (less the few ms the test took).
    const second = await inject(broker, Produce, 9, produce(10_000));
    const throttle = second.body?.throttleTimeMs as number;
    assert.ok(throttle > 9500 && throttle <= 10_000, `${throttle} ms`);
    assert.equal(second.mutedMs, throttle);
    // bob has no quota (the config default is off here): counted, never throttled.
    const bob = await inject(broker, Produce, 9, produce(50_000), { principal: 'User:bob' });
    assert.equal(bob.mutedMs, undefined);
    // Two more throttles: counted every time, reported as a security event once a minute per user.
    await inject(broker, Produce, 9, produce(10_000));
    await inject(broker, Produce, 9, produce(10_000));
    const text = await broker.metrics?.metrics();
    assert.match(text ?? '', /parapet_throttled_requests_total\{api="Produce"\} 3/);
    const reported = events.flatMap((e) => (e.type === 'quota-throttled' ? [[e.principal, e.clientId, e.api, e.quota]] : []));
    assert.deepEqual(reported, [['User:ANONYMOUS', 'quota-test', 'Produce', 'producer_byte_rate']]);
  });

  it('counts the record bytes of Fetch responses against consumer_byte_rate', async (t) => {
    const { broker } = await startBroker(t, { quotas: { ...DEFAULT_QUOTA_CONFIG, producerByteRate: 0, consumerByteRate: 1000 } });
    await inject(broker, CreateTopics, 7, { topics: [topic('orders', 1)], timeoutMs: 1000, validateOnly: false });
    const batch = buildBatchSync({ records: [{ value: 'x'.repeat(15_000) }] });
    const produced = await inject(broker, Produce, 9, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: 'orders', partitionData: [{ index: 0, records: batch }] }] });
    assert.equal(produced.mutedMs, undefined, 'produce bytes are not counted against the consumer quota');
    const fetch = {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: 'orders', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [], rackId: '',
    };
    const fetched = await inject(broker, Fetch, 11, fetch);
    // ~15,000 bytes over the 10 s minimum window: 1,500 B/s against 1,000 — (1,500 − 1,000) / 1,000 × 10 s.
    const throttle = fetched.body?.throttleTimeMs as number;
    assert.ok(throttle > 4500 && throttle <= 5200, `${throttle} ms`);
    assert.equal(fetched.mutedMs, throttle);
  });

  it('a connection that has not logged in reaches no quota', async (t) => {
    const { broker } = await startBroker(t, { quotas: { ...DEFAULT_QUOTA_CONFIG, requestPercentage: 0.000001 } });
    const gated = await inject(broker, Produce, 9, produce(10), { principal: null });
    assert.equal(gated.closed?.reason, 'UNAUTHENTICATED_REQUEST');
    assert.equal(gated.mutedMs, undefined);
    const anonymous = await inject(broker, Produce, 9, produce(10));
    assert.ok((anonymous.mutedMs ?? 0) > 0, 'an authenticated one does: any request time is over 0.000001%');
  });
});

describe('the quota stage: the controller mutation quota (KIP-599)', () => {
  it('CreateTopics v6+: topics past the quota get THROTTLING_QUOTA_EXCEEDED; v5 is executed and only throttled', async (t) => {
    // 1 partition/s: a burst of 11 (the 11 s window), then debt.
    const { broker } = await startBroker(t, { quotas: { ...DEFAULT_QUOTA_CONFIG, controllerMutationRate: 1 }, maxPartitionsPerTopic: 100 });
    const created = await inject(broker, CreateTopics, 7, { topics: [topic('a', 20), topic('b', 1), topic('c', 1)], timeoutMs: 1000, validateOnly: false });
    const results = created.body?.topics as { name: string; errorCode: number; errorMessage: string | null }[];
    assert.deepEqual(results.map((r) => [r.name, r.errorCode]), [['a', 0], ['b', ErrorCode.THROTTLING_QUOTA_EXCEEDED], ['c', ErrorCode.THROTTLING_QUOTA_EXCEEDED]]);
    assert.match(results[1]?.errorMessage ?? '', /controller mutation quota/);
    const throttle = created.body?.throttleTimeMs as number;
    assert.ok(throttle > 8000 && throttle <= 9000, `about 9 partitions of debt at 1/s: ${throttle} ms`);
    assert.ok((created.mutedMs ?? 0) >= throttle - 50);
    // validateOnly is not counted (Kafka): it answers, with no quota error.
    const checked = await inject(broker, CreateTopics, 7, { topics: [topic('v', 1)], timeoutMs: 1000, validateOnly: true });
    assert.deepEqual((checked.body?.topics as { errorCode: number }[]).map((r) => r.errorCode), [0]);
    // v5 does not know the error: the request is executed and throttled.
    const old = await inject(broker, CreateTopics, 5, { topics: [topic('d', 1)], timeoutMs: 1000, validateOnly: false });
    assert.deepEqual((old.body?.topics as { errorCode: number }[]).map((r) => r.errorCode), [0]);
    assert.ok((old.body?.throttleTimeMs as number) > 8000);
    // DeleteTopics v5 is strict too: every topic refused while in debt, the topic still there.
    const deleted = await inject(broker, DeleteTopics, 5, { topicNames: ['a'], timeoutMs: 1000 });
    assert.deepEqual((deleted.body?.responses as { name: string; errorCode: number }[]).map((r) => [r.name, r.errorCode]), [['a', ErrorCode.THROTTLING_QUOTA_EXCEEDED]]);
  });
});

describe('DescribeClientQuotas and AlterClientQuotas', () => {
  it('need DESCRIBE_CONFIGS / ALTER_CONFIGS on the cluster; per-entity errors; validate_only; audited', async (t) => {
    const { broker, dataDir } = await startBroker(t);
    const denied = await setQuota(broker, [{ entityType: 'user', entityName: 'mallory' }], 'producer_byte_rate', 1e9, false);
    const deniedAs = await inject(broker, AlterClientQuotas, 1, { entries: [{ entity: [{ entityType: 'user', entityName: 'mallory' }], ops: [{ key: 'producer_byte_rate', value: 1e9, remove: false }] }], validateOnly: false }, { principal: 'User:mallory' });
    assert.deepEqual((deniedAs.body?.entries as { errorCode: number }[]).map((e) => e.errorCode), [ErrorCode.CLUSTER_AUTHORIZATION_FAILED]);
    const describedAs = await inject(broker, DescribeClientQuotas, 1, { components: [], strict: false }, { principal: 'User:mallory' });
    assert.equal(describedAs.body?.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    assert.deepEqual((denied.body?.entries as { errorCode: number }[]).map((e) => e.errorCode), [0], 'the super user may');

    const mixed = await inject(broker, AlterClientQuotas, 0, {
      entries: [
        { entity: [{ entityType: 'client-id', entityName: null }], ops: [{ key: 'consumer_byte_rate', value: 2048, remove: false }] },
        { entity: [{ entityType: 'ip', entityName: '127.0.0.1' }], ops: [{ key: 'connection_creation_rate', value: 5, remove: false }] },
        { entity: [{ entityType: 'client-id', entityName: 'x'.repeat(300) }], ops: [{ key: 'consumer_byte_rate', value: 1, remove: false }] },
      ],
      validateOnly: false,
    });
    const entries = mixed.body?.entries as { errorCode: number; errorMessage: string | null; entity: { entityType: string }[] }[];
    assert.deepEqual(entries.map((e) => [e.entity[0]?.entityType, e.errorCode]), [['client-id', 0], ['ip', ErrorCode.INVALID_REQUEST], ['client-id', ErrorCode.INVALID_REQUEST]]);
    assert.match(entries[1]?.errorMessage ?? '', /per-IP connection rates are set in the config file/);
    assert.match(entries[2]?.errorMessage ?? '', /maxClientIdLength/);

    const validated = await setQuota(broker, [{ entityType: 'user', entityName: 'carol' }], 'request_percentage', 50, true);
    assert.deepEqual((validated.body?.entries as { errorCode: number }[]).map((e) => e.errorCode), [0]);
    const described = await inject(broker, DescribeClientQuotas, 0, { components: [], strict: false });
    const listed = (described.body?.entries as { entity: { entityType: string; entityName: string | null }[]; values: { key: string; value: number }[] }[]).map((e) => [
      e.entity.map((c) => `${c.entityType}=${c.entityName ?? '<default>'}`).join(','),
      e.values.map((v) => `${v.key}=${v.value}`).join(','),
    ]);
    assert.deepEqual(listed.sort(), [['client-id=<default>', 'consumer_byte_rate=2048'], ['user=mallory', 'producer_byte_rate=1000000000']], 'carol was only validated');

    const changes = ofType(await auditEventsOf(dataDir), 'admin-change').filter((e) => e.unmapped.action === 'alter-client-quotas');
    assert.deepEqual(
      changes.map((e) => [(e.entity as { name: string } | undefined)?.name, e.status]),
      [
        ['user=mallory', 'Success'],
        ['client-id=<default>', 'Success'],
        ['ip=127.0.0.1', 'Failure'],
      ],
      'each change and refusal is in the trail; the validate-only one and the one the name rule refused before the handler are not',
    );
  });
});
