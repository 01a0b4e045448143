import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Broker } from '../../../src/broker/broker.js';
import { encodeRequest } from '../../../src/protocol/frames.js';
import { DeleteTopics } from '../../../src/protocol/messages/delete-topics.js';
import { Metadata } from '../../../src/protocol/messages/metadata.js';
import type { ApiSchema } from '../../../src/protocol/messages/schema.js';
import type { InjectOptions } from '../../../src/server/listener.js';
import { startBroker } from '../../helpers/broker.js';
import { createTopic } from '../../helpers/client.js';
import { sampleValue } from '../../helpers/metrics-text.js';
import { commitWithKafkaPython, runProgram } from '../../helpers/processes.js';
import { waitFor } from '../../helpers/tls-fixtures.js';

const frameOf = (api: ApiSchema, version: number, body: object) => Buffer.concat(encodeRequest(api, { apiVersion: version, correlationId: 1, clientId: 'metrics-test' }, body));
const inject = (b: Broker, api: ApiSchema, version: number, body: object, options: InjectOptions = {}) => b.inject(frameOf(api, version, body), options);

/** GET /metrics of the broker's admin endpoint. */
async function scrape(b: Broker): Promise<string> {
  const res = await fetch(`${b.adminUrl ?? 'no admin endpoint'}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return res.text();
}

describe('broker metrics, moved by real clients (kcat, kafka-python)', () => {
  it('counts requests by API and outcome, bytes in and out by topic, connections, fsyncs, offsets and lag', async (t) => {
    const { broker, port, bootstrap } = await startBroker(t);
    await createTopic(port, 'metered', 1);
    const before = await scrape(broker);
    assert.equal(sampleValue(before, 'parapet_topic_bytes_in_total', { topic: 'metered' }), undefined, 'no bytes before a produce');

    // librdkafka produces with acks=all by default: each answer waited for an fsync.
    await runProgram('kcat', ['-b', bootstrap, '-P', '-t', 'metered', '-p', '0'], 'one\ntwo\nthree\nfour\nfive\n');
    const consumed = await runProgram('kcat', ['-b', bootstrap, '-C', '-t', 'metered', '-o', 'beginning', '-e', '-q']);
    assert.equal(consumed.stdout, 'one\ntwo\nthree\nfour\nfive\n');
    const read = await scrape(broker);
    // kcat read the partition once from the start: the bytes sent are the bytes appended (served as produced).
    assert.equal(sampleValue(read, 'parapet_topic_bytes_out_total', { topic: 'metered' }), sampleValue(read, 'parapet_topic_bytes_in_total', { topic: 'metered' }));
    await commitWithKafkaPython(bootstrap, 'metered', 'metered-readers', 2);

    // Every client has gone: the open-connections gauge comes back to zero.
    await waitFor(async () => sampleValue(await scrape(broker), 'parapet_connections', { listener: 'PLAINTEXT' }) === 0, 'connections closed');
    const text = await scrape(broker);
    assert.ok((sampleValue(text, 'parapet_requests_total', { api: 'Produce', outcome: 'ok' }) ?? 0) >= 1);
    assert.ok((sampleValue(text, 'parapet_requests_total', { api: 'Fetch', outcome: 'ok' }) ?? 0) >= 1);
    assert.ok((sampleValue(text, 'parapet_requests_total', { api: 'OffsetCommit', outcome: 'ok' }) ?? 0) >= 1);
    const produces = sampleValue(text, 'parapet_request_duration_seconds_count', { api: 'Produce' }) ?? 0;
    assert.equal(produces, (sampleValue(text, 'parapet_requests_total', { api: 'Produce', outcome: 'ok' }) ?? 0) + (sampleValue(text, 'parapet_requests_total', { api: 'Produce', outcome: 'error' }) ?? 0));
    const bytesIn = sampleValue(text, 'parapet_topic_bytes_in_total', { topic: 'metered' }) ?? 0;
    assert.ok(bytesIn > 5 * 3, `bytes in: ${bytesIn}`);
    // kafka-python read the same batch again.
    assert.equal(sampleValue(text, 'parapet_topic_bytes_out_total', { topic: 'metered' }), 2 * bytesIn);
    assert.ok((sampleValue(text, 'parapet_connections_accepted_total', { listener: 'PLAINTEXT' }) ?? 0) >= 3);
    assert.ok((sampleValue(text, 'parapet_connections_closed_total', { listener: 'PLAINTEXT', reason: 'CLIENT_CLOSED' }) ?? 0) >= 3);
    assert.ok((sampleValue(text, 'parapet_fsync_duration_seconds_count') ?? 0) >= 1, 'acks=all produces were fsynced');
    assert.equal(sampleValue(text, 'parapet_fsync_errors_total'), 0);
    assert.equal(sampleValue(text, 'parapet_partition_log_end_offset', { topic: 'metered', partition: '0' }), 5);
    assert.equal(sampleValue(text, 'parapet_partition_log_start_offset', { topic: 'metered', partition: '0' }), 0);
    assert.ok((sampleValue(text, 'parapet_partition_size_bytes', { topic: 'metered', partition: '0' }) ?? 0) >= bytesIn);
    assert.equal(sampleValue(text, 'parapet_partitions_offline'), 0);
    assert.equal(sampleValue(text, 'parapet_consumer_group_lag', { group: 'metered-readers', topic: 'metered', partition: '0' }), 3);
    assert.ok((sampleValue(text, 'parapet_data_dir_available_bytes') ?? 0) > 0);
    // The process's own metrics ride along: event-loop lag and GC.
    assert.notEqual(sampleValue(text, 'parapet_nodejs_eventloop_lag_p99_seconds'), undefined);
    assert.match(text, /^# TYPE parapet_nodejs_gc_duration_seconds histogram$/m);

    // A deleted topic's byte series go with it.
    const deleted = await inject(broker, DeleteTopics, 4, { topicNames: ['metered'], timeoutMs: 1000 });
    assert.equal(deleted.closed, undefined);
    const after = await scrape(broker);
    assert.equal(sampleValue(after, 'parapet_topic_bytes_in_total', { topic: 'metered' }), undefined);
    assert.equal(sampleValue(after, 'parapet_partition_log_end_offset', { topic: 'metered', partition: '0' }), undefined);
  });

  it('an error code in the response is an error; a request the authentication gate closes on is closed; a denial names its principal', async (t) => {
    const { broker } = await startBroker(t);
    const metrics = broker.metrics;
    assert.ok(metrics !== undefined);
    const metadata = (topics: string[]) => ({ topics: topics.map((name) => ({ name })), allowAutoTopicCreation: false });

    await inject(broker, Metadata, 9, metadata([]));
    await inject(broker, Metadata, 9, metadata(['no-such-topic']));
    // No principal: the connection has not authenticated, and the gate closes it.
    const gated = await inject(broker, Metadata, 9, metadata([]), { principal: null });
    assert.equal(gated.closed?.reason, 'UNAUTHENTICATED_REQUEST');
    // mallory is no super user of this broker (only ANONYMOUS is): her Metadata of a topic is denied.
    await inject(broker, Metadata, 9, metadata(['secret']), { principal: 'User:mallory' });

    const text = await metrics.metrics();
    assert.equal(sampleValue(text, 'parapet_requests_total', { api: 'Metadata', outcome: 'ok' }), 1);
    assert.equal(sampleValue(text, 'parapet_requests_total', { api: 'Metadata', outcome: 'error' }), 2);
    assert.equal(sampleValue(text, 'parapet_requests_total', { api: 'Metadata', outcome: 'closed' }), 1);
    assert.equal(sampleValue(text, 'parapet_request_duration_seconds_count', { api: 'Metadata' }), 4);
    assert.equal(sampleValue(text, 'parapet_authorization_denials_total', { principal: 'User:mallory', api: 'Metadata' }), 1);
    // Nothing here comes near a quota: no request is throttled.
    assert.equal(sampleValue(text, 'parapet_throttled_requests_total', { api: 'Metadata' }), undefined);
    assert.equal(sampleValue(text, 'parapet_throttle_seconds_total'), 0);
    assert.equal(sampleValue(text, 'parapet_audit_write_failures_total'), 0);
    metrics.auditWriteFailed();
    assert.equal(sampleValue(await metrics.metrics(), 'parapet_audit_write_failures_total'), 1);
  });
});
