import type { ScramUserDescription } from '../../client/admin.js';
import { finding, type Finding } from '../finding.js';
import { RULES } from '../rules.js';

/**
 * What a Parapet broker's admin endpoint says about logins and credentials (GET /v1/logins, the access
 * log of docs/security/least-privilege.md): who logged in and when, since when it records, and when each
 * SCRAM credential was set. The Kafka protocol has none of it.
 */
export interface LoginEvidence {
  readonly recordingSinceMs: number;
  /** Observations the access log dropped to stay within its bounds: a login may be among them. */
  readonly dropped: number;
  /** Each principal's last login (ms since the epoch). */
  readonly logins: readonly { readonly principal: string; readonly lastSeenMs: number }[];
  /** When each credential was set (null: before Parapet recorded it); undefined when the broker does not say. */
  readonly credentials: readonly CredentialSetTime[] | undefined;
}

/** One SCRAM credential's set time, as src/security/credentials/credential-age.ts serves it. */
export interface CredentialSetTime {
  readonly principal: string;
  readonly mechanism: string;
  readonly setAtMs: number | null;
}

export interface CredentialUseObservation {
  /** SCRAM users (DescribeUserScramCredentials), or why they could not be read (reported by the access checks). */
  readonly users: readonly ScramUserDescription[] | { readonly error: string };
  /** The login evidence, or why it could not be read (not Parapet, no endpoint, access log off). */
  readonly logins: LoginEvidence | { readonly error: string };
  readonly nowMs: number;
  /** A user whose last login is older than this many days is dormant. */
  readonly unusedDays: number;
  /** A password set longer ago than this many days is reported. */
  readonly passwordMaxAgeDays: number;
}

const DAY_MS = 86_400_000;
/** Names listed in one aggregated finding at most; the rest are counted. */
const MAX_LISTED = 20;

const iso = (ms: number) => new Date(ms).toISOString();
const daysBetween = (fromMs: number, toMs: number) => Math.max(0, Math.floor((toMs - fromMs) / DAY_MS));

/**
 * Users never seen logging in, users dormant for `unusedDays`, passwords older than the policy. A check
 * without its evidence says it did not run: never a silent pass.
 */
export function credentialUseFindings(o: CredentialUseObservation, target: string): Finding[] {
  if ('error' in o.logins) return [finding(RULES.loginsUnavailable, target, o.logins.error)];
  const evidence = o.logins;
  const out: Finding[] = [];
  const setTimes = new Map<string, CredentialSetTime[]>();
  for (const c of evidence.credentials ?? []) setTimes.set(c.principal, [...(setTimes.get(c.principal) ?? []), c]);
  const lastLogin = new Map(evidence.logins.map((l) => [l.principal, l.lastSeenMs]));
  const dropped = evidence.dropped > 0 ? `; the access log dropped ${evidence.dropped} observation(s) to stay within its bounds, a login may be among them` : '';
  if (!('error' in o.users)) {
    for (const u of o.users) {
      const principal = `User:${u.user}`;
      const last = lastLogin.get(principal);
      if (last === undefined) {
        // Honest about what "never" means: since recording began, or since the password was set if later.
        const setAt = Math.max(...(setTimes.get(principal) ?? []).map((c) => c.setAtMs ?? 0), 0);
        const since = setAt > evidence.recordingSinceMs ? `since its password was set, ${iso(setAt)}` : `since ${iso(evidence.recordingSinceMs)}, when this broker began recording logins`;
        const from = Math.max(setAt, evidence.recordingSinceMs);
        out.push(finding(RULES.userNeverSeen, target, `${principal}: no login seen ${since} (${daysBetween(from, o.nowMs)} day(s))${dropped}`));
      } else if (last < o.nowMs - o.unusedDays * DAY_MS) {
        out.push(finding(RULES.userDormant, target, `${principal}: last login ${iso(last)}, ${daysBetween(last, o.nowMs)} days ago (--unused-days ${o.unusedDays})`));
      }
    }
  }
  if (evidence.credentials === undefined) {
    out.push(finding(RULES.passwordAgeUnavailable, target, 'the admin endpoint\'s GET /v1/logins has no "credentials" (a broker older than this parapet)'));
    return out;
  }
  const unknown: string[] = [];
  for (const [principal, credentials] of setTimes) {
    const old = credentials.filter((c) => c.setAtMs !== null && c.setAtMs < o.nowMs - o.passwordMaxAgeDays * DAY_MS);
    if (old.length > 0) {
      const each = old.map((c) => `${c.mechanism} set ${iso(c.setAtMs ?? 0)} (${daysBetween(c.setAtMs ?? 0, o.nowMs)} days ago)`);
      out.push(finding(RULES.passwordOld, target, `${principal}: ${each.join(', ')}; policy --password-max-age-days ${o.passwordMaxAgeDays}`));
    }
    if (credentials.some((c) => c.setAtMs === null)) unknown.push(principal);
  }
  if (unknown.length > 0) {
    const listed = unknown.slice(0, MAX_LISTED).join(', ') + (unknown.length > MAX_LISTED ? ` and ${unknown.length - MAX_LISTED} more` : '');
    out.push(finding(RULES.passwordAgeUnknown, target, `${unknown.length} user(s), age unknown, set before Parapet recorded it: ${listed}`));
  }
  return out;
}
