import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SecurityEvent } from '../../../../src/security/events.js';
import { RefusalReporter, type Refusal } from '../../../../src/security/login-guard/refusal-reporter.js';

function reporter(maxSources: number) {
  let now = 0;
  const events: SecurityEvent[] = [];
  const timers: (() => void)[] = [];
  const r = new RefusalReporter({
    events: { emit: (e) => events.push(e) },
    intervalMs: 10_000,
    maxSources,
    now: () => now,
    schedule: (run) => {
      timers.push(run);
      return { cancel: () => undefined };
    },
  });
  const refusal = (source: string, reason: Refusal['reason'] = 'source-blocked'): Refusal => ({ source, remote: `${source}:1`, reason, mechanism: 'PLAIN', user: 'alice', connection: 1 });
  const tick = () => {
    now += 10_000;
    for (const run of timers.splice(0)) run();
  };
  const counts = () => events.map((e) => (e.type === 'login-refused' ? `${e.source} ${e.reason} ${e.count}` : e.type));
  return { r, refusal, tick, counts };
}

describe('refusal reports', () => {
  it('sums a storm of many sources under * past the bound, and reports a quiet source at once again later', () => {
    const x = reporter(2);
    for (let i = 0; i < 1000; i++) x.r.refused(x.refusal(`10.0.${i >> 8}.${i & 255}`));
    x.r.refused(x.refusal('10.0.0.0', 'user-guarded'));
    // Two sources reported, every other one summed under * (per reason): 4 events for 1001 refusals, then the sums.
    assert.deepEqual(x.counts(), ['10.0.0.0 source-blocked 1', '10.0.0.1 source-blocked 1', '* source-blocked 1', '* user-guarded 1']);
    x.tick();
    assert.deepEqual(x.counts().slice(4), ['* source-blocked 997']);
    x.tick(); // a quiet interval: every entry is forgotten
    x.r.refused(x.refusal('10.0.0.1'));
    assert.deepEqual(x.counts().slice(5), ['10.0.0.1 source-blocked 1']);
    x.r.refused(x.refusal('10.0.0.1'));
    x.r.close();
    assert.deepEqual(x.counts().slice(6), ['10.0.0.1 source-blocked 1']);
  });
});
