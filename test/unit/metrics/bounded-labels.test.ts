import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BoundedLabelValues, OTHER_LABEL_VALUE } from '../../../src/metrics/bounded-labels.js';
import { BrokerMetrics, DEFAULT_LABEL_BOUNDS } from '../../../src/metrics/broker-metrics.js';
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
});
