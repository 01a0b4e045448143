import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { RequestStats } from '../../../src/metrics/request-stats.js';

describe('request counts and latencies', () => {
  it('are exposed as a Prometheus counter and a cumulative histogram, by API and outcome', async () => {
    const registry = new Registry();
    const stats = new RequestStats(registry, [0.001, 0.01, 0.1]);
    stats.record('Produce', 'ok', 0.0005);
    stats.record('Produce', 'ok', 0.005);
    stats.record('Produce', 'error', 0.5);
    stats.record('Fetch', 'closed', 0.05);
    const lines = (await registry.metrics()).split('\n');
    const value = (series: string) => Number(lines.find((l) => l.startsWith(`${series} `))?.split(' ')[1]);
    assert.equal(value('parapet_requests_total{api="Produce",outcome="ok"}'), 2);
    assert.equal(value('parapet_requests_total{api="Produce",outcome="error"}'), 1);
    assert.equal(value('parapet_requests_total{api="Fetch",outcome="closed"}'), 1);
    assert.ok(!lines.some((l) => l.startsWith('parapet_requests_total{api="Fetch",outcome="ok"}')), 'no series for what never happened');
    assert.deepEqual(
      ['0.001', '0.01', '0.1', '+Inf'].map((le) => value(`parapet_request_duration_seconds_bucket{api="Produce",le="${le}"}`)),
      [1, 2, 2, 3],
    );
    assert.equal(value('parapet_request_duration_seconds_count{api="Produce"}'), 3);
    assert.ok(Math.abs(value('parapet_request_duration_seconds_sum{api="Produce"}') - 0.5055) < 1e-9);
    assert.ok(lines.includes('# TYPE parapet_request_duration_seconds histogram'));
  });
});
