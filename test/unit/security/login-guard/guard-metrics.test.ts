import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BrokerMetrics } from '../../../../src/metrics/broker-metrics.js';
import { LoginGuard } from '../../../../src/security/login-guard/login-guard.js';
import { DEFAULT_LOGIN_GUARD_CONFIG } from '../../../../src/security/login-guard/login-guard-config.js';
import { sampleValue } from '../../../helpers/metrics-text.js';

describe('login guard metrics', () => {
  it('counts every refusal by reason and every delay, and shows the blocked sources and guarded users now', async () => {
    const metrics = new BrokerMetrics({ processMetrics: false });
    let now = 0;
    const guard = new LoginGuard({ config: { ...DEFAULT_LOGIN_GUARD_CONFIG, sourceBlockAfterFailures: 12 }, events: { emit: () => undefined }, metrics, now: () => now });
    metrics.watchLoginGuard(() => guard.stats());
    const fail = (ip: string, user: string) => {
      const a = guard.admit({ ip, remote: `${ip}:1`, user, mechanism: 'PLAIN' });
      if (!a.ok) return a.reason;
      now += a.waitMs;
      a.attempt.failed();
      return 'verified';
    };
    for (let i = 0; i < 12; i++) assert.equal(fail('10.0.0.1', 'alice'), 'verified');
    for (let i = 0; i < 5; i++) assert.equal(fail('10.0.0.1', 'alice'), 'source-blocked');
    for (let i = 2; i < 10; i++) fail(`10.0.0.${i}`, 'alice'); // 20 failures for alice: guarded
    assert.equal(fail('10.0.0.2', 'alice'), 'user-guarded');
    const text = await metrics.metrics();
    assert.equal(sampleValue(text, 'parapet_login_refusals_total', { reason: 'source-blocked' }), 5);
    assert.equal(sampleValue(text, 'parapet_login_refusals_total', { reason: 'user-guarded' }), 1);
    assert.equal(sampleValue(text, 'parapet_login_delays_total'), 2);
    assert.equal(sampleValue(text, 'parapet_login_blocked_sources'), 1);
    assert.equal(sampleValue(text, 'parapet_login_guarded_users'), 1);
    now += DEFAULT_LOGIN_GUARD_CONFIG.userGuardMs + 1;
    assert.equal(sampleValue(await metrics.metrics(), 'parapet_login_blocked_sources'), 0);
    guard.close();
  });
});
