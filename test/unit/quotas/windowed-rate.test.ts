import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { throttleMs, WindowedRate } from '../../../src/quotas/windowed-rate.js';

const WINDOW = { samples: 11, sampleMs: 1000 };

describe('WindowedRate: Kafka’s sampled rate, on a fake clock', () => {
  it('divides a first burst by at least samples − 1 full samples, not by the time since it started', () => {
    const rate = new WindowedRate(WINDOW, 0);
    rate.record(10_000, 0);
    assert.equal(rate.windowMs(0), 10_000);
    assert.equal(rate.rate(0), 1000);
    rate.record(10_000, 500);
    assert.equal(rate.windowMs(500), 10_500);
    assert.ok(Math.abs(rate.rate(500) - 20_000 / 10.5) < 1e-9);
  });

  it('forgets samples older than the whole window', () => {
    const rate = new WindowedRate(WINDOW, 0);
    rate.record(1000, 0);
    for (let t = 1000; t <= 10_000; t += 1000) rate.record(1, t);
    assert.equal(rate.total(10_000), 1010);
    // At 11 s the first sample (0–1 s) is older than 11 samples: it goes, the others stay.
    rate.record(1, 11_000);
    assert.equal(rate.total(11_000), 11);
    assert.equal(rate.idle(40_000), true, 'nothing recorded for a whole window');
  });

  it('throttles for (rate − quota) / quota × window, bounded', () => {
    const rate = new WindowedRate(WINDOW, 0);
    rate.record(1000, 0);
    assert.equal(throttleMs(rate, 100, 0, 60_000), 0, '1,000 over 10 s is exactly 100/s');
    rate.record(1000, 0);
    // 2,000 over 10 s = 200/s against 100/s: (200 − 100) / 100 × 10 s.
    assert.equal(throttleMs(rate, 100, 0, 60_000), 10_000);
    assert.equal(throttleMs(rate, 100, 0, 3000), 3000, 'never more than the bound');
    // Kafka's estimate: the delay that would bring total / (window + delay) down to the quota.
    rate.record(0, 5000);
    assert.equal(throttleMs(rate, 100, 5000, 60_000), 10_000, 'the window is still padded to 10 s');
    assert.equal(throttleMs(rate, 100, 12_000, 60_000), 0, 'once the burst has left the window, nothing is owed');
  });

  it('a client that sends at the throttle’s pace averages the quota over time', () => {
    const rate = new WindowedRate(WINDOW, 0);
    let now = 0;
    let sent = 0;
    // 1 MB requests against 100 kB/s: every request is followed by the throttle the broker asks for.
    while (now < 120_000) {
      rate.record(1_000_000, now);
      sent += 1_000_000;
      now += Math.max(1, throttleMs(rate, 100_000, now, 11_000));
    }
    const average = (sent * 1000) / now;
    assert.ok(Math.abs(average - 100_000) / 100_000 < 0.1, `average ${average} B/s against 100,000`);
  });
});
