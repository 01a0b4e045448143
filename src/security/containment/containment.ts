import { CloseReasons } from '../../close-reasons.js';
import type { ContainmentStore } from '../../storage/containment-store.js';
import type { SecurityEvents } from '../events.js';
import type { Principal } from '../types.js';

/**
 * Incident response's two switches (docs/security/incident-response.md): principals an administrator
 * disabled (`parapet user disable`), and the lockdown (`parapet lockdown on`), under which every
 * principal but the super users is shut out. Both are kept in the metadata store and apply again
 * after a restart. Credentials and ACLs are untouched: enabling a principal, or lifting the lockdown,
 * gives back exactly the access it had.
 *
 * What is refused, and where (each asks {@link Containment.refusal}):
 *   - a SASL login, at the step that completes it: answered as a wrong password (SASL_AUTHENTICATION_FAILED),
 *     so a guesser holding the password learns nothing; the authentication-failed event says why;
 *   - a certificate login, at the accept (the connection is closed before its first request);
 *   - every request of a connection still open (the pipeline's principal-gate stage);
 *   - an HTTP login to the admin endpoint;
 * and the live connections are closed at once by the caller (the session registry) after each change.
 */

/** Why a principal is shut out: the close reason, and a sentence for the event. */
export interface Refusal {
  readonly reason: typeof CloseReasons.PRINCIPAL_DISABLED | typeof CloseReasons.LOCKDOWN;
  readonly detail: string;
}

export interface DisabledPrincipal {
  readonly principal: Principal;
  readonly reason: string;
  /** ms since the epoch. */
  readonly since: number;
  readonly by: Principal;
}

export interface LockdownState {
  readonly reason: string;
  readonly since: number;
  readonly by: Principal;
}

/** Who asked for a change: audited with it. */
export interface Requester {
  readonly principal: Principal;
  readonly remote: string;
  /**
   * The admin endpoint's bearer token holder: no Kafka login, so no lockdown shuts it out. Said here
   * rather than by its principal's name, which a SCRAM user could also have.
   */
  readonly tokenHolder?: boolean;
}

/** Principals are bounded (src/protocol/names.ts bounds user names); a reason is a sentence. */
export const MAX_PRINCIPAL_LENGTH = 1000;
export const MAX_REASON_LENGTH = 500;
/** Disabled principals are an administrator's list; this bounds the map every login consults. */
export const MAX_DISABLED_PRINCIPALS = 10_000;

export class ContainmentError extends Error {
  override name = 'ContainmentError';
}

export interface ContainmentOptions {
  readonly store: ContainmentStore;
  /** The configured super users: the only principals a lockdown lets in. */
  readonly superUsers: readonly Principal[];
  readonly events: SecurityEvents;
  /** Called after every change that shuts someone out: the caller closes their live connections, returns how many. */
  readonly closeRefused: (refusal: (principal: Principal) => Refusal | null) => number;
  readonly clock?: () => number;
}

export class Containment {
  readonly #o: ContainmentOptions;
  readonly #clock: () => number;
  readonly #exempt: ReadonlySet<Principal>;
  /** The store's rows, read once: every login and request consults this map, not SQLite. */
  readonly #disabled = new Map<Principal, DisabledPrincipal>();
  #lockdown: LockdownState | null;

  constructor(options: ContainmentOptions) {
    this.#o = options;
    this.#clock = options.clock ?? Date.now;
    this.#exempt = new Set(options.superUsers);
    for (const row of options.store.disabledPrincipals()) {
      if (!isPrincipal(row.principal)) continue;
      this.#disabled.set(row.principal, { principal: row.principal, reason: row.reason, since: row.since, by: isPrincipal(row.by) ? row.by : 'User:unknown' });
    }
    const lockdown = options.store.lockdown();
    this.#lockdown = lockdown === null ? null : { reason: lockdown.reason, since: lockdown.since, by: isPrincipal(lockdown.by) ? lockdown.by : 'User:unknown' };
  }

  /** Why `principal` may not log in or send a request now; null when it may. A disabled principal is refused even in a lockdown's exemption. */
  refusal(principal: Principal): Refusal | null {
    const disabled = this.#disabled.get(principal);
    if (disabled !== undefined) {
      return { reason: CloseReasons.PRINCIPAL_DISABLED, detail: `${principal} is disabled since ${iso(disabled.since)} by ${disabled.by}: ${disabled.reason}` };
    }
    const lockdown = this.#lockdown;
    if (lockdown !== null && !this.#exempt.has(principal)) {
      return { reason: CloseReasons.LOCKDOWN, detail: `the broker is in lockdown since ${iso(lockdown.since)} by ${lockdown.by} (${lockdown.reason}): only super users may connect` };
    }
    return null;
  }

  /** Whether a lockdown lets `principal` in (a configured super user). */
  exempt(principal: Principal): boolean {
    return this.#exempt.has(principal);
  }

  /** The disabled principals, oldest first. */
  disabled(): DisabledPrincipal[] {
    return [...this.#disabled.values()].sort((a, b) => a.since - b.since || a.principal.localeCompare(b.principal));
  }

  get lockdown(): LockdownState | null {
    return this.#lockdown;
  }

  /**
   * Disables `target` and closes its live connections. Disabling it again keeps when and by whom it
   * first was (the reason is the new one). Throws ContainmentError for what must not be done: a
   * malformed principal, the requester itself (it would lock itself out mid-incident), past the bound.
   */
  disable(target: string, reason: string, by: Requester): { readonly record: DisabledPrincipal; readonly closed: number; readonly already: boolean } {
    const principal = checkPrincipal(target);
    const why = checkReason(reason);
    if (principal === by.principal) throw new ContainmentError(`${principal} is the principal you are logged in as: disable it as another administrator`);
    const existing = this.#disabled.get(principal);
    if (existing === undefined && this.#disabled.size >= MAX_DISABLED_PRINCIPALS) {
      throw new ContainmentError(`${MAX_DISABLED_PRINCIPALS} principals are disabled already: delete users that are gone for good, or enable some`);
    }
    const record: DisabledPrincipal = { principal, reason: why, since: existing?.since ?? this.#clock(), by: existing?.by ?? by.principal };
    // Stored first: a refusal the broker applies must survive a crash right after it.
    this.#o.store.disablePrincipal(record);
    this.#disabled.set(principal, record);
    const closed = this.#o.closeRefused((p) => (p === principal ? this.refusal(p) : null));
    this.#o.events.emit({ type: 'principal-disabled', principal: by.principal, remote: by.remote, target: principal, reason: why, closed });
    return { record, closed, already: existing !== undefined };
  }

  /** Enables `target` again; false when it was not disabled (nothing changes, nothing is audited as a change). */
  enable(target: string, by: Requester): boolean {
    const principal = checkPrincipal(target);
    const existing = this.#disabled.get(principal);
    if (existing === undefined) return false;
    this.#o.store.enablePrincipal(principal);
    this.#disabled.delete(principal);
    this.#o.events.emit({ type: 'principal-enabled', principal: by.principal, remote: by.remote, target: principal, disabledSince: existing.since });
    return true;
  }

  /**
   * Turns the lockdown on and closes every live connection of a principal it shuts out. Only a
   * principal the lockdown lets in may turn it on: whoever does must be able to lift it. When it is on
   * already, nothing changes (its since and by are kept) and `already` says so.
   */
  lockdownOn(reason: string, by: Requester): { readonly state: LockdownState; readonly closed: number; readonly already: boolean } {
    const why = checkReason(reason);
    if (by.tokenHolder !== true && !this.#exempt.has(by.principal)) {
      throw new ContainmentError(`${by.principal} is not a super user: a lockdown would shut it out too, and only a super user could lift it (superUsers in parapet.yaml)`);
    }
    if (this.#lockdown !== null) return { state: this.#lockdown, closed: 0, already: true };
    const state: LockdownState = { reason: why, since: this.#clock(), by: by.principal };
    this.#o.store.setLockdown(state);
    this.#lockdown = state;
    const closed = this.#o.closeRefused((p) => this.refusal(p));
    this.#o.events.emit({ type: 'lockdown-on', principal: by.principal, remote: by.remote, reason: why, closed });
    return { state, closed, already: false };
  }

  /** Lifts the lockdown; the state it had, or null when it was not on. */
  lockdownOff(by: Requester): LockdownState | null {
    const was = this.#lockdown;
    if (was === null) return null;
    this.#o.store.setLockdown(null);
    this.#lockdown = null;
    this.#o.events.emit({ type: 'lockdown-off', principal: by.principal, remote: by.remote, since: was.since });
    return was;
  }

  /** At a start: a lockdown still in force is reported (the log at warn, the audit trail) until it is lifted. */
  reportAtStart(): void {
    const lockdown = this.#lockdown;
    if (lockdown !== null) this.#o.events.emit({ type: 'lockdown-in-force', since: lockdown.since, by: lockdown.by, reason: lockdown.reason });
  }
}

function isPrincipal(text: string): text is Principal {
  return text.startsWith('User:') && text.length > 'User:'.length;
}

/** `User:NAME`, bounded, one line. */
export function checkPrincipal(text: string): Principal {
  // eslint-disable-next-line no-control-regex
  if (!isPrincipal(text) || text.length > MAX_PRINCIPAL_LENGTH || /[\x00-\x1f\x7f]/.test(text)) {
    throw new ContainmentError(`a principal looks like User:NAME (at most ${MAX_PRINCIPAL_LENGTH} characters, one line), got ${JSON.stringify(text.slice(0, 64))}`);
  }
  return text;
}

function checkReason(text: string): string {
  const reason = text.trim();
  // eslint-disable-next-line no-control-regex
  if (reason.length > MAX_REASON_LENGTH || /[\x00-\x1f\x7f]/.test(reason)) throw new ContainmentError(`the reason must be one line of at most ${MAX_REASON_LENGTH} characters`);
  return reason === '' ? 'no reason given' : reason;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * An HTTP Basic password check (the admin endpoint's) that also refuses a principal shut out: a
 * disabled administrator, or any but a super user in a lockdown, gets what a wrong password gets. The
 * refusal is reported with its reason; the endpoint's own 401 event names the client's address.
 */
export function shutOutPasswordVerifier(
  verify: (user: string, password: string) => Promise<Principal | null>,
  containment: Containment,
  events: SecurityEvents,
): (user: string, password: string) => Promise<Principal | null> {
  return async (user, password) => {
    const principal = await verify(user, password);
    if (principal === null) return null;
    const refusal = containment.refusal(principal);
    if (refusal === null) return principal;
    events.emit({ type: 'connection-refused', remote: 'admin-endpoint', reason: refusal.reason, detail: `${principal}'s HTTP login to the admin endpoint refused: ${refusal.detail}` });
    return null;
  };
}
