import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SecurityEvent } from '../../../../src/security/events.js';
import { LoginGuard, type Admission, type LoginAttempt } from '../../../../src/security/login-guard/login-guard.js';
import { DEFAULT_LOGIN_GUARD_CONFIG, type LoginGuardConfig } from '../../../../src/security/login-guard/login-guard-config.js';

/** A guard on a fake clock, with its events and metrics recorded. */
function guardOf(overrides: Partial<LoginGuardConfig> = {}) {
  let now = 1_000_000;
  const events: SecurityEvent[] = [];
  const refusals: string[] = [];
  let delays = 0;
  const timers: (() => void)[] = [];
  const guard = new LoginGuard({
    config: { ...DEFAULT_LOGIN_GUARD_CONFIG, ...overrides },
    events: { emit: (e) => events.push(e) },
    metrics: { loginRefused: (r) => refusals.push(r), loginDelayed: () => (delays += 1) },
    now: () => now,
    schedule: (run) => {
      timers.push(run);
      return { cancel: () => undefined };
    },
  });
  const admit = (ip: string, user?: string): Admission => guard.admit({ ip, remote: `${ip}:5000`, user, mechanism: 'PLAIN' });
  /** An attempt that must be admitted without a wait. */
  const admitted = (ip: string, user?: string): LoginAttempt => {
    const a = admit(ip, user);
    assert.ok(a.ok, `refused: ${a.ok ? '' : a.reason}`);
    return a.attempt;
  };
  /** `n` failures one after another, each waiting out its delay. */
  const fail = (ip: string, n: number, user?: string) => {
    for (let i = 0; i < n; i++) {
      const a = admit(ip, user);
      assert.ok(a.ok, `failure ${i + 1} refused: ${a.ok ? '' : a.reason}`);
      now += a.waitMs;
      a.attempt.failed();
    }
  };
  return {
    guard,
    events,
    refusals,
    delays: () => delays,
    admit,
    admitted,
    fail,
    advance: (ms: number) => (now += ms),
    flushReports: () => {
      for (const run of timers.splice(0)) run();
    },
  };
}

describe('login guard: per source', () => {
  it('lets a source fail its free budget without delay, then delays it, doubling up to the cap', () => {
    const g = guardOf();
    g.fail('10.0.0.1', 10);
    assert.equal(g.delays(), 0);
    const waits: number[] = [];
    for (let i = 0; i < 7; i++) {
      const a = g.admit('10.0.0.1');
      assert.ok(a.ok);
      waits.push(a.waitMs);
      g.advance(a.waitMs);
      a.attempt.failed();
    }
    assert.deepEqual(waits, [200, 400, 800, 1600, 3200, 5000, 5000]);
    // Another source is not affected.
    const other = g.admit('10.0.0.2');
    assert.ok(other.ok && other.waitMs === 0);
  });

  it('spreads parallel attempts of a source one slot after another and refuses those that would wait past the cap', () => {
    const g = guardOf();
    g.fail('10.0.0.1', 10);
    const admitted: number[] = [];
    let refused = 0;
    // 200 connections at the same instant: only a few get a slot, the rest are refused unverified.
    for (let i = 0; i < 200; i++) {
      const a = g.admit('10.0.0.1');
      if (a.ok) admitted.push(a.waitMs);
      else refused += 1;
    }
    assert.deepEqual(admitted, [200, 600, 1400, 3000]);
    assert.equal(refused, 196);
    assert.ok(g.refusals.every((r) => r === 'source-throttled'));
  });

  it('does not let parallel attempts of a fresh source past the free budget before any of them failed', () => {
    const g = guardOf();
    const immediate = [];
    for (let i = 0; i < 200; i++) {
      const a = g.admit('10.0.0.9');
      if (a.ok && a.waitMs === 0) immediate.push(a);
    }
    assert.equal(immediate.length, 10);
  });

  it('blocks a source after the block threshold, refuses it unverified while blocked, and lets it back after the block', () => {
    const g = guardOf();
    // A sequential guesser waiting out every delay: blocked once 30 failures are not refilled (30 in 10 minutes).
    let verified = 0;
    let refusal: Admission | undefined;
    while (refusal === undefined) {
      const a = g.admit('10.0.0.1');
      if (!a.ok) {
        refusal = a;
        break;
      }
      g.advance(a.waitMs);
      a.attempt.failed();
      verified += 1;
    }
    assert.deepEqual(refusal, { ok: false, reason: 'source-blocked' });
    assert.ok(verified >= 30 && verified <= 45, `blocked after ${verified} failures`);
    assert.equal(g.guard.stats().blockedSources, 1);
    const engaged = g.events.filter((e) => e.type === 'login-guard-engaged');
    assert.equal(engaged.length, 1);
    assert.ok(engaged[0]?.type === 'login-guard-engaged' && engaged[0].scope === 'source' && engaged[0].source === '10.0.0.1' && engaged[0].failures === 30);
    g.advance(59_000);
    assert.equal(g.admit('10.0.0.1').ok, false);
    g.advance(1_001);
    assert.equal(g.guard.stats().blockedSources, 0);
    const after = g.admit('10.0.0.1');
    // Back, but not with a fresh budget: the failures refill at 10 a minute, so it is still delayed.
    assert.ok(after.ok && after.waitMs > 0, JSON.stringify(after));
  });

  it('refills the budget with time: ten mistakes in a minute are free, and three a minute for ever are never delayed or blocked', () => {
    const g = guardOf();
    g.fail('10.0.0.1', 10);
    g.advance(60_000);
    for (let minute = 0; minute < 60; minute++) {
      g.fail('10.0.0.1', 3);
      g.advance(60_000);
    }
    assert.equal(g.delays(), 0);
    assert.equal(g.guard.stats().blockedSources, 0);
  });

  it('forgives a user its failures from a source once it logs in from there', () => {
    const g = guardOf();
    g.fail('10.0.0.1', 9, 'alice');
    g.admitted('10.0.0.1', 'alice').succeeded();
    // The nine mistakes are forgiven: ten more failures are free again.
    g.fail('10.0.0.1', 10, 'mallory');
    assert.equal(g.delays(), 0);
  });

  it('does not forgive failures for other users when one account logs in (no reset by a known password)', () => {
    const g = guardOf();
    g.fail('10.0.0.1', 10, 'victim');
    g.admitted('10.0.0.1', 'accomplice').succeeded();
    const next = g.admit('10.0.0.1', 'victim');
    assert.ok(next.ok && next.waitMs >= 200, JSON.stringify(next));
  });

  it('with sourceDelayMs 0 and a large block threshold, attempts past the budget are admitted at once (no NaN wait)', () => {
    const g = guardOf({ sourceDelayMs: 0, sourceBlockAfterFailures: 5000 });
    g.fail('10.0.0.1', 1200);
    const a = g.admit('10.0.0.1');
    assert.ok(a.ok && a.waitMs === 0, JSON.stringify(a));
  });

  it('counts an IPv6 /64 as one source and an IPv4-mapped address as its IPv4 address', () => {
    const g = guardOf();
    for (let i = 0; i < 10; i++) g.fail(`2001:db8:1:2::${(i + 1).toString(16)}`, 1);
    const same64 = g.admit('2001:db8:1:2:ffff::1');
    assert.ok(same64.ok && same64.waitMs > 0);
    const other64 = g.admit('2001:db8:1:3::1');
    assert.ok(other64.ok && other64.waitMs === 0);
    g.fail('::ffff:10.1.1.1', 10);
    const v4 = g.admit('10.1.1.1');
    assert.ok(v4.ok && v4.waitMs > 0);
  });
});

describe('login guard: per user, without locking the real user out', () => {
  /** 20 failures for `user`, one from each of 20 addresses (a distributed attacker). */
  function distributedFailures(g: ReturnType<typeof guardOf>, user: string, from = 1, n = 20) {
    for (let i = from; i < from + n; i++) g.fail(`10.9.0.${i}`, 1, user);
  }

  it('guards a user after failures from many sources, then verifies only trusted and clean sources', () => {
    const g = guardOf();
    g.admitted('192.168.1.10', 'alice').succeeded(); // alice's usual address
    distributedFailures(g, 'alice');
    assert.equal(g.guard.stats().guardedUsers, 1);
    const engaged = g.events.find((e) => e.type === 'login-guard-engaged' && e.scope === 'user');
    assert.ok(engaged?.type === 'login-guard-engaged' && engaged.claimedUser === 'alice');
    // The attacker's addresses failed: refused unverified, whatever the password.
    assert.deepEqual(g.admit('10.9.0.3', 'alice'), { ok: false, reason: 'user-guarded' });
    // alice from her usual address, and from an address that never failed, is verified.
    assert.ok(g.admit('192.168.1.10', 'alice').ok);
    const fresh = g.admit('172.16.0.1', 'alice');
    assert.ok(fresh.ok);
    // A fresh address gets one guess at a time: a second one while the first is in flight is refused.
    assert.deepEqual(g.admit('172.16.0.1', 'alice'), { ok: false, reason: 'user-guarded' });
    fresh.attempt.failed();
    assert.deepEqual(g.admit('172.16.0.1', 'alice'), { ok: false, reason: 'user-guarded' });
    // Other users are not guarded, even from the attacker's addresses.
    assert.ok(g.admit('10.9.0.3', 'bob').ok);
  });

  it('keeps the user guarded while the guessing goes on, and lifts it once it stops', () => {
    const g = guardOf();
    distributedFailures(g, 'alice');
    g.advance(200_000);
    distributedFailures(g, 'alice', 100, 1); // one more guess from a clean address renews the guard
    g.advance(200_000);
    assert.equal(g.guard.stats().guardedUsers, 1);
    g.advance(100_001);
    assert.equal(g.guard.stats().guardedUsers, 0);
    assert.ok(g.admit('10.9.0.3', 'alice').ok);
  });

  it('never guards a user for a few mistakes, and forgives them on success', () => {
    const g = guardOf();
    for (let round = 0; round < 10; round++) {
      g.fail('192.168.1.10', 2, 'alice');
      g.admitted('192.168.1.10', 'alice').succeeded();
    }
    assert.equal(g.guard.stats().guardedUsers, 0);
  });
});

describe('login guard: bounded tables', () => {
  it('keeps a blocked source blocked while an address flood fills the score table', () => {
    const g = guardOf({ maxTrackedSources: 100, sourceDelayMs: 0 });
    g.fail('10.0.0.1', 30);
    // 10,000 other sources, each failing once: the score table forgets, the block list does not.
    for (let i = 0; i < 10_000; i++) g.fail(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`.replace(/^10\.0\.0\.1$/, '10.255.255.255'), 1);
    assert.deepEqual(g.admit('10.0.0.1'), { ok: false, reason: 'source-blocked' });
  });

  it('forgets the block that ends first only when the block list itself is full of other blocked sources', () => {
    const g = guardOf({ maxTrackedSources: 100, sourceDelayMs: 0 });
    g.fail('10.0.0.1', 30);
    for (let i = 0; i < 99; i++) g.fail(`10.1.0.${i}`, 30);
    assert.deepEqual(g.admit('10.0.0.1'), { ok: false, reason: 'source-blocked' });
    g.fail('10.2.0.1', 30); // the 101st blocked source
    assert.equal(g.guard.stats().blockedSources, 100);
    assert.equal(g.admit('10.0.0.1').ok, true);
  });

  it('keeps a guarded user guarded while a flood of user names fills the user table', () => {
    const g = guardOf({ maxTrackedUsers: 100, maxTrackedSources: 100_000 });
    for (let i = 1; i <= 20; i++) g.fail(`10.9.0.${i}`, 1, 'alice');
    for (let i = 0; i < 5_000; i++) g.fail(`10.8.${i >> 8}.${i & 255}`, 1, `user${i}`);
    assert.deepEqual(g.admit('10.9.0.1', 'alice'), { ok: false, reason: 'user-guarded' });
  });
});

describe('login guard: reports', () => {
  it('reports the first refusal of a source at once and sums the others per interval', () => {
    const g = guardOf({ sourceDelayMs: 0 });
    g.fail('10.0.0.1', 30);
    for (let i = 0; i < 500; i++) g.admit('10.0.0.1', 'alice');
    const refused = () => g.events.filter((e) => e.type === 'login-refused');
    assert.equal(refused().length, 1);
    assert.equal(g.refusals.length, 500);
    g.advance(10_000);
    g.flushReports();
    const [first, summary] = refused();
    assert.ok(first?.type === 'login-refused' && first.count === 1 && first.reason === 'source-blocked' && first.source === '10.0.0.1' && first.claimedUser === 'alice');
    assert.ok(summary?.type === 'login-refused' && summary.count === 499);
    g.guard.close();
  });
});
