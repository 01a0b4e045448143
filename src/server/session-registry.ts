import type { SecurityEvents } from '../security/events.js';
import type { Principal, SaslMechanismName } from '../security/types.js';
import type { CloseReason } from '../close-reasons.js';
import type { Refusal } from '../security/containment/containment.js';
import type { Session } from './session.js';

/**
 * The live connections of the broker's listeners, as `parapet sessions list` shows them and `kill`
 * and credential revocation close them. An entry is added when a connection is accepted and removed
 * when it closes: the registry is bounded by the open connections themselves (the connection limits
 * bound those) and keeps no history.
 */

/** What the listener registers for each connection. */
export interface LiveConnection {
  readonly id: number;
  /** The listener's name (its protocol: SASL_SSL…). */
  readonly listener: string;
  /** `ip:port` of the peer. */
  readonly remote: string;
  readonly tls: boolean;
  readonly connectedAt: number;
  readonly session: Session;
  /** Bytes read from and written to the socket so far. */
  readonly bytes: () => { readonly in: number; readonly out: number };
  /** Closes the connection now, with its reason. */
  readonly close: (reason: CloseReason, detail: string) => void;
}

/** One row of `parapet sessions list` and GET /v1/sessions: names, times and counts, never a secret. */
export interface SessionInfo {
  readonly id: number;
  /** null while the connection has not logged in yet. */
  readonly principal: Principal | null;
  /** The SASL mechanism; `TLS client certificate` or `none` for a login without SASL; null before a login. */
  readonly mechanism: string | null;
  readonly listener: string;
  readonly remote: string;
  /** What the client said it is in ApiVersions (KIP-511), `name/version`; null when it did not say. */
  readonly client: string | null;
  readonly connectedAt: string;
  readonly authenticatedAt: string | null;
  /** When the login ends unless the client re-authenticates (KIP-368); null: never. */
  readonly sessionExpiresAt: string | null;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

/** Who asked for a change: their own connection is not closed by it. */
export interface Requester {
  readonly connectionId: number;
}

/** The mechanisms whose login is a SCRAM credential: a change of it ends their sessions. */
const CREDENTIAL_MECHANISMS: ReadonlySet<SaslMechanismName | null> = new Set<SaslMechanismName | null>(['SCRAM-SHA-256', 'SCRAM-SHA-512', 'PLAIN']);

/**
 * How long a revocation is remembered for the logins under way when it happened: longer than a login
 * may take (authenticationTimeoutMs is at most 300 s), and bounded in count too.
 */
const REVOCATION_MEMORY_MS = 300_000;
const MAX_REMEMBERED_REVOCATIONS = 10_000;

export class SessionRegistry {
  readonly #live = new Map<number, LiveConnection>();
  readonly #events: SecurityEvents;
  readonly #clock: () => number;
  /** Principal → when its credentials last changed: a login that started before and ends after is closed. */
  readonly #revoked = new Map<Principal, number>();

  constructor(options: { readonly events: SecurityEvents; readonly clock?: () => number }) {
    this.#events = options.events;
    this.#clock = options.clock ?? Date.now;
  }

  add(connection: LiveConnection): void {
    this.#live.set(connection.id, connection);
  }

  remove(id: number): void {
    this.#live.delete(id);
  }

  get size(): number {
    return this.#live.size;
  }

  /** Every open connection, oldest first. */
  list(): SessionInfo[] {
    return [...this.#live.values()].map(describe);
  }

  /**
   * Closes the connections that logged in with a SCRAM credential of `user` (SCRAM or PLAIN): the
   * credential was deleted or changed, and a login made with it must not outlive it. The requester's
   * own connection is kept: a user changing its own password (`parapet user passwd admin`, which sends
   * one request per mechanism) made the change with the rights it has. Returns how many were closed.
   */
  revokeCredentials(user: string, requester?: Requester): number {
    const principal: Principal = `User:${user}`;
    this.#remember(principal);
    return this.#closeWhere(
      (c) => {
        const login = c.session.login;
        return c.id !== requester?.connectionId && login !== null && login.principal === principal && CREDENTIAL_MECHANISMS.has(login.mechanism);
      },
      'CREDENTIALS_REVOKED',
      (c) => `${principal}'s SCRAM credentials changed or were deleted while it was connected with ${c.session.login?.mechanism ?? 'SASL'}`,
    );
  }

  /**
   * A connection just logged in. A SCRAM exchange reads the credential at its first message: one under
   * way when the credential was deleted or changed would otherwise complete with the old one and
   * outlive the revocation. Such a login (its connection accepted before the change) is closed now.
   */
  loggedIn(id: number): void {
    const c = this.#live.get(id);
    const login = c?.session.login;
    if (c === undefined || login == null || !CREDENTIAL_MECHANISMS.has(login.mechanism)) return;
    const revokedAt = this.#revoked.get(login.principal);
    if (revokedAt === undefined || revokedAt < c.connectedAt) return;
    this.#closeWhere((other) => other === c, 'CREDENTIALS_REVOKED', () => `${login.principal} finished logging in with ${login.mechanism ?? 'SASL'} after its SCRAM credentials changed`);
  }

  #remember(principal: Principal): void {
    const now = this.#clock();
    this.#revoked.delete(principal);
    this.#revoked.set(principal, now);
    // Oldest first (re-inserted on each change): drop what no login under way can predate, and past the cap.
    for (const [p, at] of this.#revoked) {
      if (at >= now - REVOCATION_MEMORY_MS && this.#revoked.size <= MAX_REMEMBERED_REVOCATIONS) break;
      this.#revoked.delete(p);
    }
  }

  /** Closes the sessions of a principal, or the one connection `id` (an administrator's kill). */
  kill(target: { readonly principal: Principal } | { readonly id: number }, by: string): number {
    const match = 'id' in target ? (c: LiveConnection) => c.id === target.id : (c: LiveConnection) => c.session.principal === target.principal;
    return this.#closeWhere(match, 'SESSION_KILLED', (c) => `${c.session.principal ?? 'a connection not logged in'} closed by ${by}`);
  }

  /**
   * Closes every logged-in connection whose principal `refusal` now shuts out (a principal disabled, a
   * lockdown: src/security/containment), each with the refusal's reason. Returns how many were closed.
   */
  closeRefused(refusal: (principal: Principal) => Refusal | null): number {
    let closed = 0;
    for (const c of [...this.#live.values()]) {
      const principal = c.session.principal;
      const why = principal === null ? null : refusal(principal);
      if (why === null) continue;
      closed += this.#closeWhere((other) => other === c, why.reason, () => why.detail);
    }
    return closed;
  }

  #closeWhere(match: (c: LiveConnection) => boolean, reason: CloseReason, detail: (c: LiveConnection) => string): number {
    // Collected first: closing removes entries from the map being walked.
    const chosen = [...this.#live.values()].filter(match);
    for (const c of chosen) {
      const why = detail(c);
      this.#events.emit({ type: 'connection-refused', connection: c.id, remote: c.remote, reason, detail: why });
      c.close(reason, why);
    }
    return chosen.length;
  }
}

function describe(c: LiveConnection): SessionInfo {
  const login = c.session.login;
  const client = c.session.clientSoftware;
  const bytes = c.bytes();
  const mechanism = login === null ? null : (login.mechanism ?? (c.tls && login.principal !== 'User:ANONYMOUS' ? 'TLS client certificate' : 'none'));
  return {
    id: c.id,
    principal: login?.principal ?? null,
    mechanism,
    listener: c.listener,
    remote: c.remote,
    client: client === undefined ? null : `${client.name}/${client.version}`,
    connectedAt: new Date(c.connectedAt).toISOString(),
    authenticatedAt: login === null ? null : new Date(login.since).toISOString(),
    sessionExpiresAt: login?.expiresAt == null ? null : new Date(login.expiresAt).toISOString(),
    bytesIn: bytes.in,
    bytesOut: bytes.out,
  };
}
