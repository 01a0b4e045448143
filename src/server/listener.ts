import type { X509Certificate } from 'node:crypto';
import { createServer, Socket, type Server } from 'node:net';
import { createServer as createTlsServer, Server as TlsServer, TLSSocket, type TlsOptions } from 'node:tls';
import { ConnectionAdmission } from './admission/connection-admission.js';
import type { AdmissionPolicy } from './admission/admission-policy.js';
import { RefusalReporter } from './admission/refusal-reporter.js';
import type { Logger } from '../logger.js';
import type { ListenerProtocol } from '../security/config.js';
import type { SecurityEvents, TlsDetails } from '../security/events.js';
import { ANONYMOUS, type Authorizer, type Principal, type SaslMechanism, type SaslMechanismName } from '../security/types.js';
import type { NameLimits } from '../protocol/names.js';
import type { BufferPool } from './buffer-pool.js';
import { CloseReasons, type CloseReason } from '../close-reasons.js';
import { Connection, type ConnectionLimits, type FrameHandler } from './connection.js';
import { createDispatcher, requestStages, type DispatcherOptions } from './dispatcher.js';
import type { AuditStageDeps } from '../audit/stage-deps.js';
import type { HandlerEntry } from './handler.js';
import { injectFrame, type InjectedResponse } from './inject.js';
import type { MemoryBudget } from './memory-budget.js';
import { Session } from './session.js';
import type { LoginGuard } from '../security/login-guard/login-guard.js';
import type { Refusal } from '../security/containment/containment.js';
import type { SessionRegistry } from './session-registry.js';
import type { RequestMetricsSink } from './stages/metrics.js';
import type { QuotaStageDeps } from './stages/quota.js';
import type { RecordMaskingDeps } from './stages/record-masking.js';
import type { RecordValidationDeps } from './stages/record-validation.js';
import type { StageFactory } from './stages/stage.js';
import type { AccessRecorder } from '../security/access-log/observed-access.js';

/**
 * How a TLS connection's certificate becomes a principal: a verified certificate maps through the
 * rules (undefined when none matches), a presented but unverifiable one is refused.
 */
export type CertificatePrincipal = { readonly kind: 'none' } | { readonly kind: 'rejected'; readonly reason: string } | { readonly kind: 'principal'; readonly principal: Principal | undefined };

export interface ListenerSecurity {
  readonly protocol: ListenerProtocol;
  /** Server options for SSL and SASL_SSL listeners (certificate, key, versions, ciphers, client auth). */
  readonly tls?: { readonly options: TlsOptions; readonly principalOf: (socket: TLSSocket) => CertificatePrincipal };
  /** The SASL mechanisms offered on SASL_* listeners. */
  readonly mechanisms: ReadonlyMap<SaslMechanismName, SaslMechanism>;
  /** Whether a connection without any authentication may proceed as User:ANONYMOUS (allowInsecureAnonymous). */
  readonly allowAnonymous: boolean;
  readonly failedAuthenticationDelayMs: number;
  /** Failed logins counted across every connection (src/security/login-guard); none when disabled. */
  readonly loginGuard?: LoginGuard;
  /** Largest frame before authentication: a huge size prefix from an unknown peer costs nothing. */
  readonly maxUnauthenticatedFrameBytes: number;
  readonly authorizer: Authorizer;
  readonly events: SecurityEvents;
}

export interface ListenerOptions {
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  /** What each authenticated connection may make the broker hold (the frame size among them). */
  readonly limits: ConnectionLimits;
  /** A client that takes none of its responses for this long is closed (RESPONSE_WRITE_TIMEOUT). */
  readonly responseWriteTimeoutMs: number;
  /** A connection not logged in this long after it was accepted is closed (AUTHENTICATION_TIMEOUT); 0: never. */
  readonly authenticationTimeoutMs?: number;
  /** A connection idle this long is closed (IDLE_TIMEOUT, Kafka's connections.max.idle.ms); 0: never. */
  readonly connectionsMaxIdleMs?: number;
  /** The broker-wide budget of request and response bytes all connections draw from. */
  readonly budget?: MemoryBudget;
  /** A SASL login must re-authenticate this long after it logged in (KIP-368, connections.max.reauth.ms); 0: never. */
  readonly connectionsMaxReauthMs?: number;
  /** Whether connectionsMaxReauthMs also closes clients that cannot re-authenticate (see SessionOptions). */
  readonly expireLegacySessions?: boolean;
  /** Where open connections are registered (`parapet sessions`, credential revocation); none when absent. */
  readonly sessions?: SessionRegistry;
  readonly handlers: ReadonlyMap<number, HandlerEntry>;
  /** The audit trail's stage, and whether it refuses logins now (src/server/stages/audit.ts). */
  readonly audit?: AuditStageDeps;
  /** Topics no client may write, delete or alter (src/topics/internal-topics.ts). */
  readonly protectedTopics?: ReadonlySet<string>;
  readonly security: ListenerSecurity;
  readonly logger: Logger;
  /** Buffers for request frames (see ConnectionOptions.framePool). */
  readonly framePool?: BufferPool;
  /** Buffers of responses given back once written: the pool the log's reads come from. */
  readonly responsePool?: BufferPool;
  /** Bounds of client-chosen names (the dispatcher's name stage); the defaults when absent. */
  readonly names?: NameLimits;
  /** Stages added to the request pipeline, innermost (see requestStages). */
  readonly extraStages?: readonly StageFactory[];
  /** Where connections and requests are counted (src/metrics); nothing is when absent. */
  readonly metrics?: ListenerMetrics;
  /**
   * The address lists and connection limits, checked on the TCP accept before TLS (src/server/admission);
   * every connection is admitted when absent.
   */
  readonly admission?: AdmissionPolicy;
  /** Client quotas (src/server/stages/quota.ts); none when absent. */
  readonly quotas?: QuotaStageDeps;
  /** Masking on fetch per principal (src/server/stages/record-masking.ts); none when absent. */
  readonly masking?: RecordMaskingDeps;
  /** Validation on produce against the schema registry (src/server/stages/record-validation.ts); none when absent. */
  readonly validation?: RecordValidationDeps;
  /**
   * Who is shut out now (a disabled principal, a lockdown: src/security/containment): refused at login
   * (SASL and certificates) and on every request; nobody is when absent.
   */
  readonly refusal?: (principal: Principal) => Refusal | null;
  /** Where every authorization decision is recorded (src/security/access-log); nowhere when absent. */
  readonly access?: AccessRecorder;
}

/** What the listener reports: its connections, and (through the metrics stage) every request. */
export interface ListenerMetrics extends RequestMetricsSink {
  connectionOpened(listener: string): void;
  connectionClosed(listener: string, reason: CloseReason): void;
}

/** Who an injected request comes from (see Listener.inject). */
export interface InjectOptions {
  /** The connection's principal; null for a connection that has not authenticated. User:ANONYMOUS by default. */
  readonly principal?: Principal | null;
  /** The client's IP address, which ACL host patterns match; 127.0.0.1 by default. */
  readonly host?: string;
}

/** A TLS handshake that takes longer than this is dropped (Node's default is 120 s). */
const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * A Kafka protocol listener: plain TCP or TLS, with SASL or without. Each accepted connection gets a
 * Session (its authentication state) and a dispatcher that enforces it and authorizes every request.
 */
export class Listener {
  readonly #o: ListenerOptions;
  readonly #server: Server;
  /** Open connections, with their TLS socket on a TLS listener (to close those whose certificate is revoked). */
  readonly #connections = new Map<Connection, { readonly id: number; readonly tlsSocket: TLSSocket | undefined; readonly address: string | undefined }>();
  /** The request pipeline's stages, built once: each connection makes its own instances. */
  readonly #stages: readonly StageFactory[];
  #nextId = 1;
  #address: { host: string; port: number } | null = null;
  /** The TLS server of a TLS listener: it never listens itself, the TCP server hands it admitted sockets. */
  readonly #tlsServer: TlsServer | undefined;
  readonly #admission: ConnectionAdmission | undefined;
  readonly #refusals: RefusalReporter;
  /** Admitted TCP sockets until they close, with their client's address (to release it, and to close them on a reload). */
  readonly #admitted = new Map<Socket, string>();
  /** Accepts the listener rate delays: cleared when the listener closes. */
  readonly #delayed = new Set<NodeJS.Timeout>();

  constructor(options: ListenerOptions) {
    this.#o = options;
    const { tls, events, authorizer } = options.security;
    this.#stages = requestStages({
      authorizer,
      events,
      ...(options.names === undefined ? {} : { names: options.names }),
      ...(options.audit === undefined ? {} : { audit: options.audit }),
      ...(options.protectedTopics === undefined ? {} : { protectedTopics: options.protectedTopics }),
      ...(options.extraStages === undefined ? {} : { extraStages: options.extraStages }),
      ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
      ...(options.quotas === undefined ? {} : { quotas: options.quotas }),
      ...(options.masking === undefined ? {} : { masking: options.masking }),
      ...(options.validation === undefined ? {} : { validation: options.validation }),
      ...(options.refusal === undefined ? {} : { refusal: options.refusal }),
      ...(options.access === undefined ? {} : { access: options.access }),
    });
    this.#admission = options.admission === undefined ? undefined : new ConnectionAdmission(options.admission);
    this.#refusals = new RefusalReporter(events);
    // The TCP server decides on every connection before anything else is spent on it: refused ones
    // are closed without a TLS handshake. `pauseOnConnect`: nothing is read from a socket until it is
    // handed on, so a delayed one keeps its ClientHello in the kernel for the TLS server to read.
    this.#server = createServer({ pauseOnConnect: true }, (socket) => {
      this.#admit(socket);
    });
    if (tls === undefined) {
      this.#tlsServer = undefined;
    } else {
      const server = createTlsServer({ ...tls.options, handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS }, (socket) => {
        this.#accept(socket, true);
      });
      // Garbage before the handshake, an old protocol version, a CBC-only client, a truncated
      // handshake: refused by OpenSSL, reported with a typed reason, and nobody else is affected.
      server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
        // A client certificate that failed verification surfaces as a reset; its reason is kept here.
        const verification: unknown = socket.authorizationError;
        const detail = verification instanceof Error ? verification.message : typeof verification === 'string' ? verification : (err.code ?? err.message);
        if (detail === REVOKED) {
          events.emit({ type: 'connection-refused', remote: remoteOf(socket), reason: CloseReasons.CLIENT_CERTIFICATE_REVOKED, detail: revokedDetail(socket) });
        } else {
          // A slowloris misses the handshake deadline by the thousand: reported once per address per interval.
          this.#refusals.refused(addressOf(socket), remoteOf(socket), 'TLS_HANDSHAKE_FAILED', detail);
        }
        socket.destroy();
      });
      // Reading the TCP peer address once caches it in the socket, so a refusal reported after the
      // handshake failed can still name the client (see remoteOf).
      server.on('connection', (raw: Socket) => {
        remoteOf(raw);
      });
      this.#tlsServer = server;
    }
  }

  /**
   * A new TCP connection: refused (closed at once, no TLS), delayed (the listener's creation rate), or
   * handed to TLS or straight to the Kafka protocol. Counted against its address until it closes.
   */
  #admit(socket: Socket): void {
    const address = socket.remoteAddress;
    // Gone already (reset before the accept ran): nothing to decide, nothing to hold.
    if (address === undefined) {
      socket.destroy();
      return;
    }
    const decision = this.#admission?.admit(address) ?? { kind: 'admit', delayMs: 0 };
    if (decision.kind === 'refuse') {
      this.#refusals.refused(address, remoteOf(socket), decision.reason, decision.detail);
      socket.destroy();
      return;
    }
    this.#admitted.set(socket, address);
    socket.once('close', () => {
      this.#admitted.delete(socket);
      this.#admission?.release(address);
    });
    // Errors of a socket nobody reads yet (a reset while delayed) must not crash the broker.
    socket.on('error', () => undefined);
    if (decision.delayMs <= 0) {
      this.#handOver(socket);
      return;
    }
    const timer = setTimeout(() => {
      this.#delayed.delete(timer);
      if (!socket.destroyed) this.#handOver(socket);
    }, decision.delayMs);
    this.#delayed.add(timer);
  }

  #handOver(socket: Socket): void {
    if (this.#tlsServer !== undefined) {
      this.#tlsServer.emit('connection', socket);
    } else {
      socket.resume();
      this.#accept(socket, false);
    }
  }

  /**
   * Applies new address lists and connection limits (a reload): new connections meet them at once;
   * open connections from an address now denied are closed (ADDRESS_DENIED), since an operator who
   * denies an address means its clients too. Returns how many connections (sessions) were closed.
   */
  updateAdmission(policy: AdmissionPolicy): number {
    const admission = this.#admission;
    if (admission === undefined) return 0;
    admission.update(policy);
    let closed = 0;
    for (const [connection, { id, address, tlsSocket }] of this.#connections) {
      if (address === undefined || !admission.denied(address)) continue;
      this.#refusals.refused(address, tlsSocket === undefined ? `${address}:?` : remoteOf(tlsSocket), CloseReasons.ADDRESS_DENIED, `connection ${id} closed: its address was denied by a reload while it was connected`);
      connection.close(CloseReasons.ADDRESS_DENIED);
      closed++;
    }
    // Sockets still in their TLS handshake, or waiting out the listener rate: no session to tell.
    for (const [socket, address] of this.#admitted) if (admission.denied(address)) socket.destroy();
    return closed;
  }

  /** The address lists and limits in force; undefined when the listener admits everything. */
  get admissionPolicy(): AdmissionPolicy | undefined {
    return this.#admission?.policy;
  }

  /** Connections the admission control counts as open now (handshaking and delayed ones among them). */
  get admittedConnections(): number {
    return this.#admission?.open ?? this.#admitted.size;
  }

  /** How metrics name this listener: its protocol (one listener per broker today). */
  get name(): string {
    return this.#o.security.protocol;
  }

  get address(): { host: string; port: number } {
    if (this.#address === null) throw new Error('listener not started');
    return this.#address;
  }

  /** The TLS server of a TLS listener, whose certificate can be replaced live; undefined without TLS. */
  get tlsServer(): TlsServer | undefined {
    return this.#tlsServer;
  }

  async start(): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#o.port, this.#o.host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const bound = this.#server.address();
    if (bound === null || typeof bound === 'string') throw new Error('unexpected listener address');
    this.#address = { host: this.#o.host, port: bound.port };
    return this.#address;
  }

  #accept(socket: Socket, tls: boolean): void {
    const id = this.#nextId++;
    const { security } = this.#o;
    const remote = remoteOf(socket);
    const initial = this.#initialPrincipal(socket, tls);
    if (initial.kind === 'refused') {
      security.events.emit({ type: 'connection-refused', connection: id, remote, reason: initial.reason, detail: initial.detail });
      socket.destroy();
      return;
    }
    const tlsDetails = socket instanceof TLSSocket ? tlsDetailsOf(socket) : undefined;
    if (initial.principal !== null && initial.fromCertificate === true && this.#o.audit?.refuseUnaudited() === true) {
      // A certificate login is the connection itself: refused while it cannot be recorded (fail closed).
      security.events.emit({ type: 'connection-refused', connection: id, remote, reason: CloseReasons.AUDIT_UNAVAILABLE, detail: 'a certificate login while the audit trail cannot be written' });
      socket.destroy();
      return;
    }
    const refused = initial.principal !== null && initial.fromCertificate === true ? (this.#o.refusal?.(initial.principal) ?? null) : null;
    if (refused !== null) {
      // A certificate login of a principal shut out: refused as the login it is, before any request.
      security.events.emit({
        type: 'authentication-failed',
        connection: id,
        remote,
        mechanism: 'TLS client certificate',
        reason: refused.reason,
        ...(initial.principal === null ? {} : { claimedUser: initial.principal.slice('User:'.length) }),
        detail: refused.detail,
        ...(tlsDetails === undefined ? {} : { tls: tlsDetails }),
      });
      socket.destroy();
      return;
    }
    if (initial.principal !== null && initial.fromCertificate === true) {
      security.events.emit({
        type: 'authentication-succeeded',
        connection: id,
        remote,
        mechanism: 'TLS client certificate',
        principal: initial.principal,
        ...(tlsDetails === undefined ? {} : { tls: tlsDetails }),
      });
    }
    const listener = this.address;
    const session = new Session({
      connectionId: id,
      remote,
      clientIp: socket.remoteAddress ?? 'unknown',
      ...(security.loginGuard === undefined ? {} : { loginGuard: security.loginGuard }),
      tls,
      ...(tlsDetails === undefined ? {} : { tlsDetails }),
      mechanisms: security.mechanisms,
      principal: initial.principal,
      failedAuthenticationDelayMs: security.failedAuthenticationDelayMs,
      events: security.events,
      ...(this.#o.connectionsMaxReauthMs === undefined ? {} : { connectionsMaxReauthMs: this.#o.connectionsMaxReauthMs }),
      ...(this.#o.expireLegacySessions === undefined ? {} : { expireLegacySessions: this.#o.expireLegacySessions }),
      ...(this.#o.refusal === undefined ? {} : { refuseLogin: this.#o.refusal }),
      onAuthenticated: () => {
        clearTimeout(deadline);
        connection.setLimits(this.#o.limits);
        this.#o.sessions?.loggedIn(id);
      },
    });
    const connection = new Connection({
      socket,
      id,
      limits: initial.principal === null ? this.#unauthenticatedLimits() : this.#o.limits,
      responseWriteTimeoutMs: this.#o.responseWriteTimeoutMs,
      ...(this.#o.connectionsMaxIdleMs === undefined ? {} : { idleTimeoutMs: this.#o.connectionsMaxIdleMs }),
      ...(this.#o.budget === undefined ? {} : { budget: this.#o.budget }),
      handle: this.#dispatcher({ id, listener, clientIp: socket.remoteAddress ?? 'unknown', remote }, session),
      logger: this.#o.logger,
      ...(this.#o.framePool === undefined ? {} : { framePool: this.#o.framePool }),
      ...(this.#o.responsePool === undefined ? {} : { responsePool: this.#o.responsePool }),
      ...(this.#o.quotas === undefined ? {} : { maxMuteMs: this.#o.quotas.quotas.maxThrottleMs }),
      onClose: (reason) => {
        clearTimeout(deadline);
        this.#connections.delete(connection);
        this.#o.sessions?.remove(id);
        this.#o.metrics?.connectionClosed(this.name, reason);
      },
    });
    // Logging in has a deadline from the accept (the TLS handshake has its own, before it): a peer
    // that trickles bytes, or sends nothing, cannot hold a descriptor for ever.
    const authenticationTimeoutMs = this.#o.authenticationTimeoutMs ?? 0;
    const deadline =
      initial.principal !== null || authenticationTimeoutMs <= 0
        ? undefined
        : setTimeout(() => {
            if (session.principal !== null) return;
            const detail = `not logged in ${authenticationTimeoutMs} ms after the connection was accepted`;
            // As many as an attacker opens: reported once per address per interval, the rest summed.
            this.#refusals.refused(socket.remoteAddress ?? '?', remote, CloseReasons.AUTHENTICATION_TIMEOUT, `connection ${id}: ${detail}`);
            connection.close(CloseReasons.AUTHENTICATION_TIMEOUT, new Error(detail));
          }, authenticationTimeoutMs).unref();
    this.#connections.set(connection, { id, tlsSocket: socket instanceof TLSSocket ? socket : undefined, address: socket.remoteAddress });
    this.#o.sessions?.add({
      id,
      listener: this.name,
      remote,
      tls,
      connectedAt: Date.now(),
      session,
      bytes: () => ({ in: socket.bytesRead, out: socket.bytesWritten }),
      close: (reason, detail) => {
        connection.close(reason, new Error(detail));
      },
    });
    this.#o.metrics?.connectionOpened(this.name);
  }

  /**
   * Runs one request frame (size prefix included) through the whole pipeline, as a connection from
   * `host` authenticated as `principal` would, but without a socket: decode, the stages (authorization
   * among them), the handler, encode. For tests, as Fastify's `inject`. The connection's limits (frame
   * size, requests in flight, memory budget) are not applied: they belong to the socket.
   */
  inject(frame: Buffer, options: InjectOptions = {}): Promise<InjectedResponse> {
    const id = this.#nextId++;
    const host = options.host ?? '127.0.0.1';
    const remote = `${host}:0`;
    const principal = options.principal === undefined ? ANONYMOUS : options.principal;
    const { security } = this.#o;
    const session = new Session({
      connectionId: id,
      remote,
      tls: false,
      mechanisms: security.mechanisms,
      principal,
      failedAuthenticationDelayMs: 0,
      events: security.events,
    });
    const listener = this.#address ?? { host: this.#o.host, port: this.#o.port };
    return injectFrame(this.#dispatcher({ id, listener, clientIp: host, remote }, session), frame);
  }

  #dispatcher(connection: DispatcherOptions['connection'], session: Session): FrameHandler {
    return createDispatcher({
      handlers: this.#o.handlers,
      connection,
      session,
      stages: this.#stages,
      ...(this.#o.names === undefined ? {} : { names: this.#o.names }),
    });
  }

  /**
   * Closes every open connection whose verified client certificate `isRevoked` says is revoked (a new
   * CRL was loaded: new handshakes already refuse it, and a Kafka client keeps its connections for
   * hours). Returns how many were closed.
   */
  closeRevokedConnections(isRevoked: (certificateDer: Uint8Array) => boolean): number {
    const { events } = this.#o.security;
    let closed = 0;
    for (const [connection, { id, tlsSocket: socket }] of this.#connections) {
      // Only certificates that verified: a rejected one never got a connection (see #initialPrincipal).
      if (socket === undefined || !socket.authorized) continue;
      const certificate = socket.getPeerX509Certificate();
      if (certificate === undefined || !isRevoked(certificate.raw)) continue;
      events.emit({
        type: 'connection-refused',
        connection: id,
        remote: remoteOf(socket),
        reason: CloseReasons.CLIENT_CERTIFICATE_REVOKED,
        detail: `revoked while connected: ${describeCertificate(certificate)}`,
      });
      connection.close(CloseReasons.CLIENT_CERTIFICATE_REVOKED);
      closed++;
    }
    return closed;
  }

  /**
   * Before authentication a connection gets small frames, one request at a time: a huge size prefix
   * from an unknown peer costs nothing (CVE-2022-34917), and no client pipelines its SASL exchange,
   * so frames sent behind a SaslAuthenticate (whose failure is answered after a delay) stay unread.
   */
  #unauthenticatedLimits(): ConnectionLimits {
    const { limits, security } = this.#o;
    const maxFrameBytes = Math.min(security.maxUnauthenticatedFrameBytes, limits.maxFrameBytes);
    return { ...limits, maxFrameBytes, maxInFlightRequests: 1, maxQueuedRequestBytes: maxFrameBytes };
  }

  /**
   * Who the connection is before SASL: null on SASL listeners (SASL decides), the certificate's
   * principal on SSL listeners, ANONYMOUS where that is allowed by name.
   */
  #initialPrincipal(
    socket: Socket,
    tls: boolean,
  ):
    | { kind: 'ok'; principal: Principal | null; fromCertificate?: boolean }
    | {
        kind: 'refused';
        reason: typeof CloseReasons.CLIENT_CERTIFICATE_REJECTED | typeof CloseReasons.CLIENT_CERTIFICATE_REVOKED | typeof CloseReasons.UNAUTHENTICATED_REQUEST;
        detail: string;
      } {
    const { protocol, tls: tlsSecurity, allowAnonymous } = this.#o.security;
    const certificate: CertificatePrincipal = tls && tlsSecurity !== undefined && socket instanceof TLSSocket ? tlsSecurity.principalOf(socket) : { kind: 'none' };
    if (certificate.kind === 'rejected') {
      if (certificate.reason === REVOKED && socket instanceof TLSSocket) return { kind: 'refused', reason: CloseReasons.CLIENT_CERTIFICATE_REVOKED, detail: revokedDetail(socket) };
      return { kind: 'refused', reason: CloseReasons.CLIENT_CERTIFICATE_REJECTED, detail: certificate.reason };
    }
    if (protocol === 'SASL_SSL' || protocol === 'SASL_PLAINTEXT') return { kind: 'ok', principal: null };
    if (certificate.kind === 'principal') {
      if (certificate.principal !== undefined) return { kind: 'ok', principal: certificate.principal, fromCertificate: true };
      return { kind: 'refused', reason: CloseReasons.CLIENT_CERTIFICATE_REJECTED, detail: 'no principal mapping rule matched the certificate' };
    }
    if (allowAnonymous) return { kind: 'ok', principal: ANONYMOUS };
    return { kind: 'refused', reason: CloseReasons.UNAUTHENTICATED_REQUEST, detail: 'no client certificate and anonymous access is not allowed' };
  }

  /** Stops accepting, lets every connection answer what it already received, then closes them. */
  async close(): Promise<void> {
    const stopped = new Promise<void>((resolve) => {
      this.#server.close(() => {
        resolve();
      });
    });
    for (const timer of this.#delayed) clearTimeout(timer);
    this.#delayed.clear();
    await Promise.all([...this.#connections.keys()].map((c) => c.shutdown()));
    // What is left never became a connection (delayed, or in its TLS handshake): nothing to answer.
    for (const socket of this.#admitted.keys()) socket.destroy();
    this.#refusals.close();
    await stopped;
  }
}

/** OpenSSL's verify code for a certificate on a CRL (X509_V_ERR_CERT_REVOKED), as Node reports it. */
const REVOKED = 'CERT_REVOKED';

/** Which certificate was revoked: its subject and serial number (public, and what `parapet cert revoke` names). */
function revokedDetail(socket: TLSSocket): string {
  const certificate = socket.getPeerX509Certificate();
  return certificate === undefined ? REVOKED : `${REVOKED}: ${describeCertificate(certificate)}`;
}

function describeCertificate(certificate: X509Certificate): string {
  return `subject ${certificate.subject.replace(/\n/g, ',')}, serial ${certificate.serialNumber}`;
}

/** The client's IP address, from the TCP socket under a TLS socket whose handshake failed if need be (see remoteOf). */
function addressOf(socket: Socket): string {
  const parent = (socket as unknown as { _parent?: unknown })._parent;
  return socket.remoteAddress ?? (parent instanceof Socket ? parent.remoteAddress : undefined) ?? '?';
}

function remoteOf(socket: Socket): string {
  // A TLS socket whose handshake failed has lost its peer address; the TCP socket under it (Node's
  // `_parent`, not a public API) may still know it.
  const parent = (socket as unknown as { _parent?: unknown })._parent;
  const known = socket.remoteAddress === undefined && parent instanceof Socket ? parent : socket;
  return `${known.remoteAddress ?? '?'}:${known.remotePort ?? '?'}`;
}

/** The negotiated TLS version and cipher suite (known once the handshake is done, as it is at accept). */
function tlsDetailsOf(socket: TLSSocket): TlsDetails | undefined {
  const version = socket.getProtocol();
  const cipher = socket.getCipher() as { name?: string; standardName?: string } | undefined;
  if (version === null || cipher === undefined) return undefined;
  return { version, cipher: cipher.standardName ?? cipher.name ?? 'unknown' };
}
