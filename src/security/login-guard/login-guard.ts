import type { SecurityEvents } from '../events.js';
import { ExpiringSet, LruTable } from './bounded-tables.js';
import { LoginRefusals, type LoginGuardConfig, type LoginRefusal } from './login-guard-config.js';
import { RefusalReporter, realSchedule, type Schedule } from './refusal-reporter.js';
import { sourceKey } from './source-key.js';

/**
 * Failed logins counted across every connection of every listener, per source address and per user
 * name, so that opening more connections does not buy a password guesser more guesses
 * (docs/security/network.md#brute-force-defence). The SASL mechanisms ask it once they know who logs
 * in and before they verify anything (the PBKDF2 of PLAIN, the proof of SCRAM, a JWT's signature):
 *
 * - a source past its free budget waits, the wait doubling with each further failure and spread over
 *   its connections (one slot after another), up to `sourceMaxDelayMs`; an attempt that would wait
 *   longer, or that would take the source past its block threshold with those in flight, is refused;
 * - a source with `sourceBlockAfterFailures` failures within `sourceBlockWindowMs` is blocked for `sourceBlockMs`;
 * - a user name with `userGuardAfterFailures` failures from any sources is guarded: only sources that
 *   logged in as it recently (trusted) and sources with no recent failure (clean) are verified, so a
 *   distributed attacker gets one guess per fresh address and the real user is not locked out.
 *
 * A refused attempt is answered as a wrong password would be; only the events tell why.
 */

export interface LoginGuardMetrics {
  /** An attempt refused without verification. */
  loginRefused(reason: LoginRefusal): void;
  /** An attempt made to wait because its source spent its free budget. */
  loginDelayed(): void;
}

export interface LoginGuardOptions {
  readonly config: LoginGuardConfig;
  readonly events: SecurityEvents;
  readonly metrics?: LoginGuardMetrics | undefined;
  /** Milliseconds; injectable so tests can move time. */
  readonly now?: () => number;
  readonly schedule?: Schedule;
}

/** Who tries to log in: the connection's address and, when the mechanism knows it, the user name. */
export interface LoginRequest {
  readonly ip: string;
  /** `ip:port`, for the events. */
  readonly remote: string;
  readonly user: string | undefined;
  readonly mechanism: string;
  readonly connection?: number;
}

export type Admission = { readonly ok: true; readonly waitMs: number; readonly attempt: LoginAttempt } | { readonly ok: false; readonly reason: LoginRefusal };

/** An admitted attempt: verified after its wait, then resolved exactly once. */
export interface LoginAttempt {
  /** Called after the wait: the source may have been blocked meanwhile (then the attempt is refused). */
  proceed(): { readonly ok: true } | { readonly ok: false; readonly reason: LoginRefusal };
  succeeded(): void;
  failed(): void;
}

/** Thrown by a mechanism's admission hook: the attempt was refused without being verified. */
export class LoginRefusedError extends Error {
  override name = 'LoginRefusedError';
  readonly reason: LoginRefusal;
  readonly claimedUser: string | undefined;
  constructor(reason: LoginRefusal, claimedUser: string | undefined) {
    super(`login refused unverified: ${reason}`);
    this.reason = reason;
    this.claimedUser = claimedUser;
  }
}

interface SourceRecord {
  /** Failures not yet refilled (leaks at sourceFreeFailures per sourceWindowMs): sets the delay. */
  score: number;
  /** The same failures leaking at sourceBlockAfterFailures per sourceBlockWindowMs: sets the block. */
  blockScore: number;
  at: number;
  /** Admitted attempts not yet resolved (waiting or being verified). */
  pending: number;
  /** When the last slot handed out starts: the next waits behind it. */
  nextSlotAt: number;
  lastFailureAt: number;
  /** Failures per user name from this source (a few), forgiven when that user then logs in. */
  users: [string, number][];
}

interface UserRecord {
  score: number;
  at: number;
}

/** Per source, the user names whose failures are remembered for forgiveness; older ones are not forgiven. */
const USERS_PER_SOURCE = 4;

export class LoginGuard {
  readonly #c: LoginGuardConfig;
  readonly #events: SecurityEvents;
  readonly #metrics: LoginGuardMetrics | undefined;
  readonly #now: () => number;
  readonly #reporter: RefusalReporter;
  readonly #sources: LruTable<SourceRecord>;
  readonly #users: LruTable<UserRecord>;
  readonly #blocked: ExpiringSet;
  readonly #guarded: ExpiringSet;
  readonly #trusted: ExpiringSet;

  constructor(options: LoginGuardOptions) {
    const c = options.config;
    this.#c = c;
    this.#events = options.events;
    this.#metrics = options.metrics;
    this.#now = options.now ?? Date.now;
    this.#reporter = new RefusalReporter({ events: options.events, intervalMs: c.reportIntervalMs, maxSources: c.maxTrackedSources, now: this.#now, schedule: options.schedule ?? realSchedule });
    this.#sources = new LruTable(c.maxTrackedSources);
    this.#users = new LruTable(c.maxTrackedUsers);
    this.#blocked = new ExpiringSet(c.maxTrackedSources);
    this.#guarded = new ExpiringSet(c.maxTrackedUsers);
    this.#trusted = new ExpiringSet(c.maxTrustedSources);
  }

  /** Whether the attempt may be verified (after `waitMs`), or why it is refused. */
  admit(request: LoginRequest): Admission {
    const c = this.#c;
    const now = this.#now();
    const source = sourceKey(request.ip);
    if (this.#blocked.has(source, now)) return this.#refuse(request, source, LoginRefusals.SOURCE_BLOCKED);
    const record = this.#source(source, now);
    const { user } = request;
    if (user !== undefined && this.#guarded.has(user, now) && !this.#trusted.has(pair(user, source), now) && !this.#clean(record, now)) {
      return this.#refuse(request, source, LoginRefusals.USER_GUARDED);
    }
    // Attempts in flight count as failures until they resolve: 200 connections guessing at once must
    // not all get past a budget that none of them has spent yet.
    if (failures(record.blockScore) + record.pending >= c.sourceBlockAfterFailures) return this.#refuse(request, source, LoginRefusals.SOURCE_THROTTLED);
    const counted = failures(record.score) + record.pending;
    let waitMs = 0;
    if (counted >= c.sourceFreeFailures) {
      // The exponent is capped so that a zero sourceDelayMs never meets an infinite factor (0 × ∞ is NaN).
      const delay = Math.min(c.sourceMaxDelayMs, c.sourceDelayMs * 2 ** Math.min(counted - c.sourceFreeFailures, 30));
      // One slot after another across the source's connections: parallel attempts queue, not overlap.
      const slot = Math.max(now, record.nextSlotAt) + delay;
      waitMs = slot - now;
      if (waitMs > c.sourceMaxDelayMs) return this.#refuse(request, source, LoginRefusals.SOURCE_THROTTLED);
      record.nextSlotAt = slot;
      this.#metrics?.loginDelayed();
    }
    record.pending += 1;
    return { ok: true, waitMs, attempt: this.#attempt(request, source) };
  }

  /** Sources blocked and user names guarded now (the gauges). */
  stats(): { blockedSources: number; guardedUsers: number } {
    const now = this.#now();
    return { blockedSources: this.#blocked.size(now), guardedUsers: this.#guarded.size(now) };
  }

  /** Reports the refusals not yet reported and stops the report timer. */
  close(): void {
    this.#reporter.close();
  }

  #attempt(request: LoginRequest, source: string): LoginAttempt {
    let resolved = false;
    const resolve = (): SourceRecord | undefined => {
      if (resolved) return undefined;
      resolved = true;
      const record = this.#source(source, this.#now());
      record.pending = Math.max(0, record.pending - 1);
      return record;
    };
    return {
      proceed: () => {
        if (!this.#blocked.has(source, this.#now())) return { ok: true };
        resolve();
        return this.#refuse(request, source, LoginRefusals.SOURCE_BLOCKED);
      },
      succeeded: () => {
        const record = resolve();
        if (record !== undefined) this.#succeeded(record, source, request.user);
      },
      failed: () => {
        const record = resolve();
        if (record !== undefined) this.#failed(record, source, request);
      },
    };
  }

  #failed(record: SourceRecord, source: string, request: LoginRequest): void {
    const c = this.#c;
    const now = this.#now();
    record.score += 1;
    record.blockScore += 1;
    record.lastFailureAt = now;
    const { user } = request;
    if (user !== undefined) {
      const entry = record.users.find(([name]) => name === user);
      if (entry !== undefined) entry[1] += 1;
      else record.users = [...record.users.slice(-(USERS_PER_SOURCE - 1)), [user, 1]];
    }
    if (failures(record.blockScore) >= c.sourceBlockAfterFailures && !this.#blocked.has(source, now)) {
      const until = now + c.sourceBlockMs;
      this.#blocked.add(source, until, now);
      this.#events.emit({ type: 'login-guard-engaged', scope: 'source', source, remote: request.remote, mechanism: request.mechanism, failures: failures(record.blockScore), until, ...(user === undefined ? {} : { claimedUser: user }) });
    }
    if (user === undefined) return;
    const u = this.#user(user, now);
    u.score += 1;
    const wasGuarded = this.#guarded.has(user, now);
    if (wasGuarded || failures(u.score) >= c.userGuardAfterFailures) {
      // Renewed by every further failure: the guard lasts as long as the guessing does.
      const until = now + c.userGuardMs;
      this.#guarded.add(user, until, now);
      if (!wasGuarded) {
        this.#events.emit({ type: 'login-guard-engaged', scope: 'user', source, remote: request.remote, mechanism: request.mechanism, failures: failures(u.score), until, claimedUser: user });
      }
    }
  }

  /** A user who mistyped and then got it right is not penalised for it; the source becomes trusted for the user. */
  #succeeded(record: SourceRecord, source: string, user: string | undefined): void {
    if (user === undefined) return;
    const now = this.#now();
    const forgiven = record.users.find(([name]) => name === user)?.[1] ?? 0;
    if (forgiven > 0) {
      record.score = Math.max(0, record.score - forgiven);
      record.blockScore = Math.max(0, record.blockScore - forgiven);
      record.users = record.users.filter(([name]) => name !== user);
      const u = this.#user(user, now);
      u.score = Math.max(0, u.score - forgiven);
    }
    this.#trusted.add(pair(user, source), now + this.#c.trustedSourceMs, now);
  }

  /** Clean: no failure in the user window and nothing in flight (one guess at a time from a fresh address). */
  #clean(record: SourceRecord, now: number): boolean {
    return record.pending === 0 && now - record.lastFailureAt >= this.#c.userWindowMs;
  }

  #source(source: string, now: number): SourceRecord {
    let record = this.#sources.get(source);
    if (record === undefined) {
      record = { score: 0, blockScore: 0, at: now, pending: 0, nextSlotAt: 0, lastFailureAt: -Infinity, users: [] };
      this.#sources.set(source, record);
    }
    const c = this.#c;
    // The budget refills only while the source is not being made to wait: otherwise the waits it is
    // given would themselves earn it back the failures they are for, and the delay would stop doubling.
    const refillFrom = Math.max(record.at, Math.min(record.nextSlotAt, now));
    record.score = leak(record.score, now - refillFrom, c.sourceFreeFailures / c.sourceWindowMs);
    record.blockScore = leak(record.blockScore, now - record.at, c.sourceBlockAfterFailures / c.sourceBlockWindowMs);
    record.at = now;
    return record;
  }

  #user(user: string, now: number): UserRecord {
    let record = this.#users.get(user);
    if (record === undefined) {
      record = { score: 0, at: now };
      this.#users.set(user, record);
    }
    record.score = leak(record.score, now - record.at, this.#c.userGuardAfterFailures / this.#c.userWindowMs);
    record.at = now;
    return record;
  }

  #refuse(request: LoginRequest, source: string, reason: LoginRefusal): { ok: false; reason: LoginRefusal } {
    this.#metrics?.loginRefused(reason);
    this.#reporter.refused({ source, remote: request.remote, reason, mechanism: request.mechanism, user: request.user, connection: request.connection });
    return { ok: false, reason };
  }
}

/**
 * A score as a whole number of failures. Rounded, not floored: the refill during the seconds between
 * two failures must not make the 30th failure count as 29.something, and so let a 31st through.
 */
function failures(score: number): number {
  return Math.round(score);
}

/** A leaky bucket: `score` minus what `elapsedMs` at `perMs` refilled, never below zero. */
function leak(score: number, elapsedMs: number, perMs: number): number {
  return Math.max(0, score - Math.max(0, elapsedMs) * perMs);
}

/** A user name and a source: NUL is in neither (user names refuse control characters). */
function pair(user: string, source: string): string {
  return `${user}\0${source}`;
}
