import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BoundedLabelValues, OTHER_LABEL_VALUE } from '../../../src/metrics/bounded-labels.js';
import { BrokerMetrics, DEFAULT_LABEL_BOUNDS } from '../../../src/metrics/broker-metrics.js';
import { MAX_LAG_SERIES } from '../../../src/metrics/scrape-gauges.js';
import type { CommittedSample } from '../../../src/metrics/scrape-sources.js';
import { metricsSecurityEvents } from '../../../src/metrics/security-event-metrics.js';
import { userPrincipal } from '../../../src/security/types.js';
import { labelValues, sampleValue } from '../../helpers/metrics-text.js';

describe('bounded label values', () => {
  it('keeps the first max distinct values, and counts every later one as other', () => {
    const labels = new BoundedLabelValues(2);
    assert.equal(labels.of('a'), 'a');
    assert.equal(labels.of('b'), 'b');
    assert.equal(labels.of('c'), OTHER_LABEL_VALUE);
    assert.equal(labels.of('a'), 'a', 'a value kept stays itself');
    assert.equal(labels.size, 2);
  });

  it('a flood of OAUTHBEARER principals makes at most 1,000 principal series plus other', async () => {
    const metrics = new BrokerMetrics({ processMetrics: false });
    const events = metricsSecurityEvents(metrics);
    const total = DEFAULT_LABEL_BOUNDS.maxPrincipals + 500;
    for (let i = 0; i < total; i++) {
      events.emit({ type: 'authorization-denied', connection: i, remote: '192.0.2.1:1', principal: userPrincipal(`oauth:user-${i}`), api: 'Produce', resources: ['WRITE TOPIC:t'] });
    }
    const text = await metrics.metrics();
    const principals = labelValues(text, 'parapet_authorization_denials_total', 'principal');
    assert.equal(principals.size, DEFAULT_LABEL_BOUNDS.maxPrincipals + 1);
    assert.ok(principals.has('other'));
    assert.equal(sampleValue(text, 'parapet_authorization_denials_total', { principal: 'other', api: 'Produce' }), 500);
  });

  it('a denial folded into a later report (repeated) is counted; client-chosen SASL mechanism names are bounded too', async () => {
    const metrics = new BrokerMetrics({ processMetrics: false, labelBounds: { maxPrincipals: 10, maxMechanisms: 2 } });
    const events = metricsSecurityEvents(metrics);
    events.emit({ type: 'authorization-denied', connection: 1, remote: 'r', principal: userPrincipal('bob'), api: 'Fetch', resources: [], repeated: 41 });
    for (const mechanism of ['SCRAM-SHA-512', 'PLAIN', 'made-up-1', 'made-up-2']) {
      events.emit({ type: 'authentication-failed', connection: 1, remote: 'r', mechanism, reason: 'UNSUPPORTED_SASL_MECHANISM' });
    }
    events.emit({ type: 'authentication-succeeded', connection: 2, remote: 'r', mechanism: 'SCRAM-SHA-512', principal: userPrincipal('bob') });
    const text = await metrics.metrics();
    assert.equal(sampleValue(text, 'parapet_authorization_denials_total', { principal: 'User:bob', api: 'Fetch' }), 42);
    assert.deepEqual([...labelValues(text, 'parapet_authentications_total', 'mechanism')].sort(), ['PLAIN', 'SCRAM-SHA-512', 'other']);
    assert.equal(sampleValue(text, 'parapet_authentications_total', { mechanism: 'other', outcome: 'failure' }), 2);
    assert.equal(sampleValue(text, 'parapet_authentications_total', { mechanism: 'SCRAM-SHA-512', outcome: 'success' }), 1);
  });

  it('a scrape reports at most MAX_LAG_SERIES consumer lag series, stops reading there, and says so', async () => {
    const metrics = new BrokerMetrics({ processMetrics: false });
    let read = 0;
    const offsets = function* (count: number): Generator<CommittedSample> {
      for (let i = 0; i < count; i++) {
        read++;
        yield { group: `g-${i}`, topic: 't', partition: 0, offset: 10n };
      }
    };
    let count = MAX_LAG_SERIES + 500;
    metrics.watch({ partitions: () => [], committedOffsets: () => offsets(count), logEndOffset: () => 15n, certificates: () => [], dataDir: '.' });
    const text = await metrics.metrics();
    assert.equal(labelValues(text, 'parapet_consumer_group_lag', 'group').size, MAX_LAG_SERIES);
    assert.equal(sampleValue(text, 'parapet_consumer_group_lag', { group: 'g-0', topic: 't', partition: '0' }), 5);
    assert.equal(sampleValue(text, 'parapet_consumer_group_lag_truncated'), 1);
    assert.equal(read, MAX_LAG_SERIES + 1, 'the scrape stopped reading at the bound');
    count = 3;
    const fewer = await metrics.metrics();
    assert.equal(labelValues(fewer, 'parapet_consumer_group_lag', 'group').size, 3, 'series of groups gone are gone');
    assert.equal(sampleValue(fewer, 'parapet_consumer_group_lag_truncated'), 0);
  });
});
