import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { BrokerMetrics } from '../../../src/metrics/broker-metrics.js';

const PROMTOOL = '/usr/bin/promtool';
/** The Debian `prometheus` package (.ci/run installs it); PARAPET_FULL_SUITE=1 makes its absence a failure. */
const promtoolSkip: string | false = existsSync(PROMTOOL) || process.env.PARAPET_FULL_SUITE === '1' ? false : `${PROMTOOL} not found (apt-get install prometheus)`;

/** Every metric name the broker exposes: its own (scrape-time gauges and the audit gauge included) and the process's. */
function exposedNames(): Set<string> {
  const metrics = new BrokerMetrics();
  metrics.watch({ partitions: () => [], committedOffsets: () => [], logEndOffset: () => undefined, certificates: () => [], dataDir: '.' });
  metrics.setAuditWritable(() => true);
  metrics.watchTransactions(() => ({ byState: {}, pendingOffsets: 0, oldestOpenMs: 0 }));
  return new Set(metrics.metricNames());
}

/** The parapet_ names a file refers to, each of which must be exposed (a histogram's _bucket/_sum/_count by its base name). */
function unknownNames(text: string, exposed: Set<string>): string[] {
  const used = new Set(text.match(/\bparapet_[a-z0-9_]+/g) ?? []);
  return [...used].filter((name) => !exposed.has(name) && !exposed.has(name.replace(/_(bucket|sum|count)$/, '')));
}

describe('deploy/: the alert rules and the dashboard stay in step with the metrics', () => {
  it('rules.yml and the Grafana dashboard name only metrics the broker exposes', () => {
    const exposed = exposedNames();
    const rules = readFileSync('deploy/prometheus/rules.yml', 'utf8');
    const dashboard = readFileSync('deploy/grafana/parapet-dashboard.json', 'utf8');
    assert.deepEqual(unknownNames(rules, exposed), []);
    assert.deepEqual(unknownNames(dashboard, exposed), []);
    // The check itself can fail: a name the broker does not expose is caught.
    assert.deepEqual(unknownNames('rate(parapet_requests_total[1m]) + parapet_no_such_metric', exposed), ['parapet_no_such_metric']);
  });

  it('the dashboard is valid JSON with a query in every panel; every rule has a summary, a description and a for', () => {
    const dashboard = JSON.parse(readFileSync('deploy/grafana/parapet-dashboard.json', 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
    assert.ok(dashboard.panels.length >= 10);
    for (const panel of dashboard.panels) assert.ok(panel.targets.length > 0 && panel.targets.every((t) => t.expr.includes('parapet_')), panel.title);
    const rules = parse(readFileSync('deploy/prometheus/rules.yml', 'utf8')) as { groups: { rules: { alert: string; for?: string; annotations?: Record<string, string> }[] }[] };
    const all = rules.groups.flatMap((g) => g.rules);
    for (const rule of all) {
      assert.ok(rule.for !== undefined, `${rule.alert}: for`);
      assert.ok(rule.annotations?.summary !== undefined && rule.annotations.description !== undefined, `${rule.alert}: annotations`);
    }
    // The alerts issue 14 asks for.
    for (const name of ['ParapetAuthenticationFailureSpike', 'ParapetAuthorizationDenialSpike', 'ParapetCertificateExpiringSoon', 'ParapetPartitionOffline', 'ParapetFsyncErrors', 'ParapetDiskAlmostFull', 'ParapetAuditWriteFailures', 'ParapetConsumerLagHigh']) {
      assert.ok(all.some((r) => r.alert === name), name);
    }
  });

  it('promtool check rules and promtool test rules pass', { skip: promtoolSkip }, async () => {
    const run = promisify(execFile);
    const checked = await run(PROMTOOL, ['check', 'rules', 'deploy/prometheus/rules.yml']);
    assert.match(checked.stdout, /SUCCESS: \d+ rules found/);
    const tested = await run(PROMTOOL, ['test', 'rules', 'deploy/prometheus/rules.test.yml']);
    assert.match(tested.stdout, /SUCCESS/);
    const config = await run(PROMTOOL, ['check', 'config', 'deploy/prometheus/prometheus.yml']);
    assert.match(config.stdout, /is valid prometheus config file syntax/);
  });
});
