import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode } from '../protocol/error-codes.js';
import type { SaslAuthenticateResponse } from '../protocol/messages/sasl-authenticate.js';
import type { SaslHandshakeResponse } from '../protocol/messages/sasl-handshake.js';
import type { ClientSoftware, SecurityEvents, TlsDetails } from '../security/events.js';
import { LoginRefusedError, type LoginAttempt, type LoginGuard } from '../security/login-guard/login-guard.js';
import {
  AUTHENTICATION_FAILED_MESSAGE,
  SaslAuthenticationError,
  SaslFailureReasons,
  type Principal,
  type SaslExchange,
  type SaslMechanism,
  type SaslMechanismName,
} from '../security/types.js';
import { CloseReasons, type CloseReason } from '../close-reasons.js';
import type { Refusal } from '../security/containment/containment.js';

/** KIP-511 names are short ("librdkafka", "2.3.0"); anything longer is cut here. */
export const MAX_CLIENT_SOFTWARE_LENGTH = 64;

export interface SessionOptions {
  readonly connectionId: number;
  /** `ip:port` of the peer, for security events. */
  readonly remote: string;
  /** The peer's IP address, which the login guard counts failures of. */
  readonly clientIp?: string;
  /** Shared by every connection: refuses or delays logins of sources and users that failed too often. */
  readonly loginGuard?: LoginGuard;
  readonly tls: boolean;
  /** The TLS version and cipher of the connection, for the audit trail of its login. */
  readonly tlsDetails?: TlsDetails;
  /** The mechanisms this listener offers, in the order it lists them; null on a listener without SASL. */
  readonly mechanisms: ReadonlyMap<SaslMechanismName, SaslMechanism> | null;
  /** The principal the connection has before SASL: from a client certificate, or ANONYMOUS; null on SASL listeners. */
  readonly principal: Principal | null;
  /** How long a failure waits before it is answered (Kafka's connection.failed.authentication.delay.ms). */
  readonly failedAuthenticationDelayMs: number;
  readonly events: SecurityEvents;
  /** Called once SASL authentication succeeds (the connection raises its frame size limit). */
  readonly onAuthenticated?: () => void;
  /**
   * Longest a SASL login is valid before the client must re-authenticate (Kafka's
   * connections.max.reauth.ms, KIP-368); 0 or absent: no limit but the credential's own expiry.
   */
  readonly connectionsMaxReauthMs?: number;
  /**
   * Whether connectionsMaxReauthMs also ends the logins of clients that cannot re-authenticate
   * (SaslHandshake v0 or SaslAuthenticate v0: they never learn the lifetime), as Kafka does. Off: their
   * logins end only with their credential (an OAUTHBEARER token's exp), or when it is revoked.
   */
  readonly expireLegacySessions?: boolean;
  /** The time, in ms since the epoch (tests fake it). */
  readonly clock?: () => number;
  /**
   * Asked when a login has proved its credential: a disabled principal, or any but a super user in a
   * lockdown (src/security/containment), is refused as a wrong password is.
   */
  readonly refuseLogin?: (principal: Principal) => Refusal | null;
}

/** A SASL step's outcome: what to answer, and whether to close the connection after it. */
export interface SaslOutcome<R> {
  readonly response: R;
  readonly close?: CloseReason;
}

type State =
  | { readonly kind: 'awaiting-handshake' }
  /** After SaslHandshake v0 the tokens arrive as raw length-prefixed frames, with no Kafka header. */
  | { readonly kind: 'raw-tokens'; readonly mechanism: SaslMechanismName; readonly exchange: SaslExchange }
  | { readonly kind: 'authenticate-requests'; readonly mechanism: SaslMechanismName; readonly exchange: SaslExchange }
  | Authenticated
  /** A re-authentication (KIP-368) in progress: the connection keeps its principal until it completes. */
  | { readonly kind: 'reauthenticating'; readonly mechanism: SaslMechanismName; readonly exchange: SaslExchange; readonly previous: Authenticated }
  | { readonly kind: 'failed' };

interface Authenticated {
  readonly kind: 'authenticated';
  readonly principal: Principal;
  /** null for a principal from the transport (a client certificate, ANONYMOUS): no SASL session to end. */
  readonly mechanism: SaslMechanismName | null;
  readonly since: number;
  /** When the login stops being valid (KIP-368); null: never. */
  readonly expiresAt: number | null;
  /** Whether the client used SaslAuthenticate v1+, the versions that carry session_lifetime_ms and allow re-authentication. */
  readonly canReauthenticate: boolean;
}

/** What the session registry shows of a login. */
export interface LoginInfo {
  readonly principal: Principal;
  readonly mechanism: SaslMechanismName | null;
  readonly since: number;
  readonly expiresAt: number | null;
}

/**
 * A connection's authentication state. On a SASL listener it starts unauthenticated and moves through
 * SaslHandshake, then either raw tokens (handshake v0, as kafka-python 2.0.2 does) or SaslAuthenticate
 * requests (v1), to authenticated. A failure is answered with error 58 and the one generic message,
 * after a delay, and closes the connection; the real reason goes only to the security events.
 */
export class Session {
  readonly #o: SessionOptions;
  #state: State;
  #client: ClientSoftware | undefined;
  /** The attempt the login guard admitted in the current step, resolved with the step's outcome. */
  #attempt: LoginAttempt | undefined;

  readonly #clock: () => number;

  constructor(options: SessionOptions) {
    this.#o = options;
    this.#clock = options.clock ?? Date.now;
    this.#state =
      options.principal === null
        ? { kind: 'awaiting-handshake' }
        : { kind: 'authenticated', principal: options.principal, mechanism: null, since: this.#clock(), expiresAt: null, canReauthenticate: false };
  }

  /** The authenticated principal (kept while it re-authenticates), or null while authentication is still to happen. */
  get principal(): Principal | null {
    return this.#login()?.principal ?? null;
  }

  /** The login in force: who, with which mechanism, since when, until when; null before authentication. */
  get login(): LoginInfo | null {
    const login = this.#login();
    return login === null ? null : { principal: login.principal, mechanism: login.mechanism, since: login.since, expiresAt: login.expiresAt };
  }

  /**
   * How long ago the login expired, when it has and no re-authentication is under way (KIP-368: the
   * broker then closes the connection at its next request); null while it is valid.
   */
  expiredFor(now = this.#clock()): number | null {
    const state = this.#state;
    if (state.kind !== 'authenticated' || state.expiresAt === null || now < state.expiresAt) return null;
    return now - state.expiresAt;
  }

  #login(): Authenticated | null {
    const state = this.#state;
    if (state.kind === 'authenticated') return state;
    if (state.kind === 'reauthenticating') return state.previous;
    return null;
  }

  /**
   * What the client said it is (ApiVersions v3+, KIP-511), reported with its login. Each part is cut
   * to {@link MAX_CLIENT_SOFTWARE_LENGTH} characters: the client chooses them.
   */
  noteClientSoftware(name: string | null, version: string | null): void {
    if (name === null || name === '') return;
    this.#client = { name: name.slice(0, MAX_CLIENT_SOFTWARE_LENGTH), version: (version ?? '').slice(0, MAX_CLIENT_SOFTWARE_LENGTH) };
  }

  get clientSoftware(): ClientSoftware | undefined {
    return this.#client;
  }

  /** Whether the next frame is a raw SASL token rather than a Kafka request. */
  get expectsRawToken(): boolean {
    return this.#state.kind === 'raw-tokens';
  }

  /** The mechanisms this listener offers, for the handshake response and errors. */
  get mechanismNames(): string[] {
    return this.#o.mechanisms === null ? [] : [...this.#o.mechanisms.keys()];
  }

  handshake(version: number, mechanism: string): SaslOutcome<SaslHandshakeResponse> {
    const mechanisms = this.mechanismNames;
    const state = this.#state;
    // KIP-368: a SASL login made with SaslAuthenticate v1+ may log in again on the same connection,
    // with the same mechanism (Kafka's REAUTH_BAD_MECHANISM) and, checked at the end, the same principal.
    if (state.kind === 'authenticated' && state.mechanism !== null && state.canReauthenticate && version >= 1) {
      const chosen = this.#o.mechanisms?.get(state.mechanism);
      if (mechanism !== state.mechanism || chosen === undefined) {
        this.#refuse(CloseReasons.UNSUPPORTED_SASL_MECHANISM, `re-authentication with ${JSON.stringify(mechanism.slice(0, 64))} of a ${state.mechanism} login`);
        return { response: { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms: [state.mechanism] }, close: CloseReasons.UNSUPPORTED_SASL_MECHANISM };
      }
      this.#state = { kind: 'reauthenticating', mechanism: chosen.name, exchange: this.#start(chosen), previous: state };
      return { response: { errorCode: ErrorCode.NONE, mechanisms } };
    }
    if (state.kind !== 'awaiting-handshake') {
      this.#refuse(CloseReasons.ILLEGAL_SASL_STATE, `SaslHandshake in state ${this.#state.kind}`);
      return { response: { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms }, close: CloseReasons.ILLEGAL_SASL_STATE };
    }
    const chosen = this.#o.mechanisms?.get(mechanism as SaslMechanismName);
    if (chosen === undefined) {
      this.#refuse(CloseReasons.UNSUPPORTED_SASL_MECHANISM, `mechanism ${JSON.stringify(mechanism.slice(0, 64))} not offered`);
      return { response: { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms }, close: CloseReasons.UNSUPPORTED_SASL_MECHANISM };
    }
    this.#state = { kind: version === 0 ? 'raw-tokens' : 'authenticate-requests', mechanism: chosen.name, exchange: this.#start(chosen) };
    return { response: { errorCode: ErrorCode.NONE, mechanisms } };
  }

  /** A mechanism's exchange, asking the login guard (when there is one) before it verifies anything: re-logins too. */
  #start(chosen: SaslMechanism): SaslExchange {
    const guard = this.#o.loginGuard;
    return chosen.start({
      tls: this.#o.tls,
      ...(guard === undefined ? {} : { admit: (user: string | undefined) => this.#admit(guard, chosen.name, user) }),
    });
  }

  /** One SaslAuthenticate; `version` 1+ carries session_lifetime_ms, and only such a login may re-authenticate. */
  async authenticate(token: Buffer, version = 1): Promise<SaslOutcome<SaslAuthenticateResponse>> {
    const state = this.#state;
    if (state.kind !== 'authenticate-requests' && state.kind !== 'reauthenticating') {
      this.#refuse(CloseReasons.ILLEGAL_SASL_STATE, `SaslAuthenticate in state ${state.kind}`);
      return {
        response: { errorCode: ErrorCode.ILLEGAL_SASL_STATE, errorMessage: 'Unexpected SaslAuthenticate request', authBytes: Buffer.alloc(0), sessionLifetimeMs: 0n },
        close: CloseReasons.ILLEGAL_SASL_STATE,
      };
    }
    const step = await this.#step(state.mechanism, state.exchange, token, version >= 1, state.kind === 'reauthenticating' ? state.previous : null);
    if (!Buffer.isBuffer(step)) {
      // The same answer whether the password was wrong or never checked: only the close reason and the events differ.
      return {
        response: { errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: AUTHENTICATION_FAILED_MESSAGE, authBytes: Buffer.alloc(0), sessionLifetimeMs: 0n },
        close: step.close,
      };
    }
    // KIP-368: a positive session_lifetime_ms asks the client to log in again before it ends (KafkaJS,
    // librdkafka 2.2+, the Java client do); one that does not is closed at its first request after it.
    const login = this.#state.kind === 'authenticated' ? this.#state : null;
    const lifetime = login?.expiresAt == null ? 0 : Math.max(1, login.expiresAt - login.since);
    return { response: { errorCode: ErrorCode.NONE, errorMessage: null, authBytes: step, sessionLifetimeMs: BigInt(lifetime) } };
  }

  /** A raw token after a v0 handshake; a failure has no error to carry, so the connection just closes (as in Kafka). */
  async rawToken(token: Buffer): Promise<SaslOutcome<Buffer | null>> {
    const state = this.#state;
    if (state.kind !== 'raw-tokens') throw new Error('rawToken outside the raw-token state');
    const step = await this.#step(state.mechanism, state.exchange, token, false, null);
    if (!Buffer.isBuffer(step)) return { response: null, close: step.close };
    return { response: step };
  }

  /**
   * Asks the login guard whether this attempt may be verified: it waits the delay the guard sets, or
   * throws LoginRefusedError (the attempt is then answered as any failure, never verified).
   */
  async #admit(guard: LoginGuard, mechanism: SaslMechanismName, user: string | undefined): Promise<void> {
    const { connectionId, remote } = this.#o;
    const admission = guard.admit({ ip: this.#o.clientIp ?? ipOf(remote), remote, user, mechanism, connection: connectionId });
    if (!admission.ok) throw new LoginRefusedError(admission.reason, user);
    this.#attempt = admission.attempt;
    if (admission.waitMs > 0) await sleep(admission.waitMs);
    const again = admission.attempt.proceed();
    if (!again.ok) {
      this.#attempt = undefined;
      throw new LoginRefusedError(again.reason, user);
    }
  }

  /**
   * Runs one exchange step: the server's token, or how the connection closes after a (delayed, reported)
   * failure. `previous`: the login a re-authentication replaces, whose principal it must keep.
   */
  async #step(mechanism: SaslMechanismName, exchange: SaslExchange, token: Buffer, canReauthenticate: boolean, previous: Authenticated | null): Promise<Buffer | { close: CloseReason }> {
    const { connectionId: connection, remote, events } = this.#o;
    try {
      const step = await exchange.step(token);
      if (step.done) {
        if (previous !== null && step.principal !== previous.principal) {
          // Kafka: "Cannot change principals during re-authentication"; the connection closes.
          throw new SaslAuthenticationError(SaslFailureReasons.PRINCIPAL_CHANGED, `re-authentication as ${step.principal} of a ${previous.principal} connection`, step.principal.slice(5));
        }
        const refusal = this.#o.refuseLogin?.(step.principal) ?? null;
        if (refusal !== null) return await this.#refuseProvenLogin(mechanism, step.principal, refusal);
        this.#attempt?.succeeded();
        this.#attempt = undefined;
        const since = this.#clock();
        // A client that cannot re-authenticate would be closed at the end of every lifetime: kcat (librdkafka
        // before 2.2) then reports all brokers down and exits. Its login is bounded by its credential only,
        // unless expireLegacySessions asks for Kafka's behaviour (docs/security/network.md).
        const maxReauthMs = canReauthenticate || this.#o.expireLegacySessions === true ? (this.#o.connectionsMaxReauthMs ?? 0) : 0;
        const lifetime = sessionLifetime(maxReauthMs, step.expiresAtMs === undefined ? null : step.expiresAtMs - since);
        this.#state = { kind: 'authenticated', principal: step.principal, mechanism, since, expiresAt: lifetime === null ? null : since + lifetime, canReauthenticate };
        events.emit({ type: 'authentication-succeeded', connection, remote, mechanism, principal: step.principal, ...this.#transport() });
        if (previous === null) this.#o.onAuthenticated?.();
      }
      return step.response;
    } catch (err) {
      this.#state = { kind: 'failed' };
      this.#attempt?.failed();
      this.#attempt = undefined;
      if (err instanceof LoginRefusedError) {
        // Reported by the guard, once per source and interval: an attacker does not choose how many events it makes.
        if (this.#o.failedAuthenticationDelayMs > 0) await sleep(this.#o.failedAuthenticationDelayMs);
        return { close: CloseReasons.LOGIN_BLOCKED };
      }
      const known = err instanceof SaslAuthenticationError;
      events.emit({
        type: 'authentication-failed',
        connection,
        remote,
        mechanism,
        reason: known ? err.reason : SaslFailureReasons.MALFORMED_TOKEN,
        ...(known && err.claimedUser !== undefined ? { claimedUser: err.claimedUser } : {}),
        ...this.#transport(),
      });
      // Slows down password guessing: each failed attempt costs the client a connection and this delay.
      if (this.#o.failedAuthenticationDelayMs > 0) await sleep(this.#o.failedAuthenticationDelayMs);
      return { close: CloseReasons.AUTHENTICATION_FAILED };
    }
  }

  /**
   * A login whose credential was right but whose principal is shut out (disabled, or a lockdown): the
   * client gets what a wrong password gets, after the same delay; the event names the real reason.
   * The login guard counts it as the success it is for password guessing (it judges passwords), so a
   * disabled client that keeps reconnecting does not get its address blocked for everyone else on it.
   */
  async #refuseProvenLogin(mechanism: SaslMechanismName, principal: Principal, refusal: Refusal): Promise<{ close: CloseReason }> {
    const { connectionId: connection, remote, events } = this.#o;
    this.#state = { kind: 'failed' };
    this.#attempt?.succeeded();
    this.#attempt = undefined;
    events.emit({ type: 'authentication-failed', connection, remote, mechanism, reason: refusal.reason, claimedUser: principal.slice('User:'.length), detail: refusal.detail, ...this.#transport() });
    if (this.#o.failedAuthenticationDelayMs > 0) await sleep(this.#o.failedAuthenticationDelayMs);
    return { close: refusal.reason };
  }

  /** The TLS session and client software of the connection, for its login's event. */
  #transport(): { tls?: TlsDetails; client?: ClientSoftware } {
    const tls = this.#o.tlsDetails;
    const client = this.#client;
    return { ...(tls === undefined ? {} : { tls }), ...(client === undefined ? {} : { client }) };
  }

  #refuse(reason: CloseReason, detail: string): void {
    // A refused re-authentication ends the login too: the connection closes after the answer.
    this.#state = { kind: 'failed' };
    this.#o.events.emit({ type: 'connection-refused', connection: this.#o.connectionId, remote: this.#o.remote, reason, detail });
  }
}

/** The address of `ip:port` or `[v6]:port`. */
function ipOf(remote: string): string {
  const colon = remote.lastIndexOf(':');
  return (colon < 0 ? remote : remote.slice(0, colon)).replace(/^\[|\]$/g, '');
}

/**
 * How long a login lasts (Kafka's ReauthInfo): the smaller of connections.max.reauth.ms (when positive)
 * and what is left of the credential (an OAUTHBEARER token's exp); null when neither bounds it. A
 * credential already expired gets 1 ms rather than 0, which a client would read as "no limit".
 */
export function sessionLifetime(maxReauthMs: number, credentialLeftMs: number | null): number | null {
  const byCredential = credentialLeftMs === null ? null : Math.max(1, credentialLeftMs);
  if (maxReauthMs > 0) return byCredential === null ? maxReauthMs : Math.min(maxReauthMs, byCredential);
  return byCredential;
}
