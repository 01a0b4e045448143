import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { credentialUseFindings, type LoginEvidence } from '../../../src/posture/checks/credential-checks.js';

const DAY_MS = 86_400_000;
const NOW = Date.parse('2026-12-01T00:00:00.000Z');
const users = (...names: string[]) => names.map((user) => ({ user, credentials: [{ mechanism: 'SCRAM-SHA-512' as const, iterations: 8192 }] }));
const evidence = (over: Partial<LoginEvidence> = {}): LoginEvidence => ({ recordingSinceMs: NOW - 30 * DAY_MS, dropped: 0, logins: [], credentials: [], ...over });
const run = (logins: LoginEvidence | { error: string }, names: string[] = ['a']) =>
  credentialUseFindings({ users: users(...names), logins, nowMs: NOW, unusedDays: 90, passwordMaxAgeDays: 365 }, 'broker').map((f) => `${f.severity} ${f.rule.id}: ${f.evidence}`);

describe('posture: the login review (users never seen, dormant, password age)', () => {
  it('never seen: since recording began, or since the password was set when that is later; a drop of the access log is said', () => {
    assert.deepEqual(run(evidence()), ['LOW PARAPET-USER-NEVER-SEEN: User:a: no login seen since 2026-11-01T00:00:00.000Z, when this broker began recording logins (30 day(s))']);
    const setLater = evidence({ credentials: [{ principal: 'User:a', mechanism: 'SCRAM-SHA-512', setAtMs: NOW - 2 * DAY_MS }] });
    assert.deepEqual(run(setLater), ['LOW PARAPET-USER-NEVER-SEEN: User:a: no login seen since its password was set, 2026-11-29T00:00:00.000Z (2 day(s))']);
    assert.match(run(evidence({ dropped: 7 }))[0] ?? '', /; the access log dropped 7 observation\(s\) to stay within its bounds, a login may be among them$/);
  });

  it('a login within --unused-days is not reported; one older is, with its date', () => {
    const seen = (daysAgo: number) => evidence({ logins: [{ principal: 'User:a', lastSeenMs: NOW - daysAgo * DAY_MS }] });
    assert.deepEqual(run(seen(89)), []);
    assert.deepEqual(run(seen(91)), ['LOW PARAPET-USER-DORMANT: User:a: last login 2026-09-01T00:00:00.000Z, 91 days ago (--unused-days 90)']);
  });

  it('password age against the policy; unknown ages listed once, capped; a broker that does not say is "not checked", never "all fine"', () => {
    const seen = [{ principal: 'User:a', lastSeenMs: NOW }];
    const at = (daysAgo: number | null) => evidence({ logins: seen, credentials: [{ principal: 'User:a', mechanism: 'SCRAM-SHA-512', setAtMs: daysAgo === null ? null : NOW - daysAgo * DAY_MS }] });
    assert.deepEqual(run(at(365)), []);
    assert.deepEqual(run(at(366)), ['LOW PARAPET-PASSWORD-OLD: User:a: SCRAM-SHA-512 set 2025-11-30T00:00:00.000Z (366 days ago); policy --password-max-age-days 365']);
    assert.deepEqual(run(at(null)), ['INFO PARAPET-PASSWORD-AGE-UNKNOWN: 1 user(s), age unknown, set before Parapet recorded it: User:a']);
    const many = Array.from({ length: 25 }, (_, i) => ({ principal: `User:u${i}`, mechanism: 'SCRAM-SHA-256', setAtMs: null }));
    assert.match(run(evidence({ logins: seen, credentials: many }))[0] ?? '', /^INFO PARAPET-PASSWORD-AGE-UNKNOWN: 25 user\(s\), .*User:u19 and 5 more$/);
    assert.deepEqual(run(evidence({ logins: seen, credentials: undefined })), ['INFO PARAPET-PASSWORD-AGE-UNAVAILABLE: the admin endpoint\'s GET /v1/logins has no "credentials" (a broker older than this parapet)']);
  });

  it('without the evidence: one "did not run" finding with the reason, and no user judged', () => {
    assert.deepEqual(run({ error: 'cannot reach the admin endpoint' }, ['a', 'b']), ['INFO PARAPET-LOGIN-REVIEW-UNAVAILABLE: cannot reach the admin endpoint']);
  });
});
