import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { THROTTLE_REPORT_INTERVAL_MS, ThrottleReports, type Throttle } from '../../../src/quotas/throttle-reports.js';
import type { SecurityEvent } from '../../../src/security/events.js';

const throttle = (principal: `User:${string}`, throttleMs: number): Throttle => ({ connection: 1, remote: '127.0.0.1:5000', principal, clientId: 'c', api: 'Produce', quota: 'producer_byte_rate', throttleMs });

describe('ThrottleReports: throttles as security events, rate-limited per user', () => {
  it('reports a user’s first throttle, then one per interval with the ones in between folded in', () => {
    const clock = { now: 0 };
    const events: SecurityEvent[] = [];
    const reports = new ThrottleReports({ emit: (e) => events.push(e) }, () => clock.now);
    reports.throttled(throttle('User:greedy', 100));
    for (let i = 0; i < 500; i++) reports.throttled(throttle('User:greedy', 100 + i));
    reports.throttled(throttle('User:other', 5));
    assert.equal(events.length, 2, 'one line per user, not one per throttled request');
    clock.now = THROTTLE_REPORT_INTERVAL_MS;
    reports.throttled(throttle('User:greedy', 42));
    const last = events.at(-1);
    assert.ok(last?.type === 'quota-throttled');
    assert.deepEqual([last.throttleMs, last.repeated, last.maxRepeatedMs], [42, 500, 599]);
  });
});
