/**
 * The settings of the login guard (docs/security/network.md#brute-force-defence), `sasl.loginGuard` in
 * the config file. The defaults are on: they cost a legitimate client nothing (ten mistakes a minute
 * are free) and bound what a password guesser gets from one address to a few guesses a minute.
 */
export interface LoginGuardConfig {
  readonly enabled: boolean;
  /** Failed logins a source may make without any delay; the budget refills at this many per `sourceWindowMs`. */
  readonly sourceFreeFailures: number;
  readonly sourceWindowMs: number;
  /** The wait before the first attempt past the free budget; it doubles with each further failure. */
  readonly sourceDelayMs: number;
  /** The longest wait; an attempt that would wait longer (many queued on other connections) is refused. */
  readonly sourceMaxDelayMs: number;
  /** Failures within `sourceBlockWindowMs` (refilled at that rate) at which a source is blocked: its logins are refused unverified. */
  readonly sourceBlockAfterFailures: number;
  readonly sourceBlockWindowMs: number;
  readonly sourceBlockMs: number;
  /** Failures for one user name, from any source, within `userWindowMs`, at which the user is guarded. */
  readonly userGuardAfterFailures: number;
  readonly userWindowMs: number;
  /** How long a user stays guarded after its last failure. */
  readonly userGuardMs: number;
  /** How long a successful login makes its source trusted for that user (verified even while guarded). */
  readonly trustedSourceMs: number;
  /** Bounds of the guard's tables (see the docs for what an attacker filling them can and cannot do). */
  readonly maxTrackedSources: number;
  readonly maxTrackedUsers: number;
  readonly maxTrustedSources: number;
  /** Refusals of one source are reported at once, then summed into one event per this interval. */
  readonly reportIntervalMs: number;
}

export const DEFAULT_LOGIN_GUARD_CONFIG: LoginGuardConfig = {
  enabled: true,
  sourceFreeFailures: 10,
  sourceWindowMs: 60_000,
  sourceDelayMs: 200,
  sourceMaxDelayMs: 5_000,
  sourceBlockAfterFailures: 30,
  sourceBlockWindowMs: 600_000,
  sourceBlockMs: 60_000,
  userGuardAfterFailures: 20,
  userWindowMs: 300_000,
  userGuardMs: 300_000,
  trustedSourceMs: 7 * 24 * 3_600_000,
  maxTrackedSources: 20_000,
  maxTrackedUsers: 10_000,
  maxTrustedSources: 10_000,
  reportIntervalMs: 10_000,
};

/** Why the guard refused an attempt without verifying it (the `reason` label of parapet_login_refusals_total). */
export const LoginRefusals = {
  /** The source made `sourceBlockAfterFailures` failures: blocked for `sourceBlockMs`. */
  SOURCE_BLOCKED: 'source-blocked',
  /** The source's attempts already queued (or in flight) use up its budget: this one would wait too long. */
  SOURCE_THROTTLED: 'source-throttled',
  /** The user is guarded and the source is neither trusted for it nor clean. */
  USER_GUARDED: 'user-guarded',
} as const;
export type LoginRefusal = (typeof LoginRefusals)[keyof typeof LoginRefusals];
