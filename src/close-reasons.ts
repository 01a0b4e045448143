/**
 * Why a connection was closed: a closed set, logged with every close (and, with the security
 * layer, audited), so that an operator can tell a client hanging up from an attack.
 */
export const CloseReasons = {
  CLIENT_CLOSED: 'CLIENT_CLOSED',
  SOCKET_ERROR: 'SOCKET_ERROR',
  /** The size prefix was negative or above the configured maximum frame size. */
  FRAME_TOO_LARGE: 'FRAME_TOO_LARGE',
  /** The frame could not be decoded (see the logged ParapetError for API, version, field, offset). */
  DECODE_ERROR: 'DECODE_ERROR',
  /** Unknown API key, or a version we don't serve (Kafka closes the connection too). */
  UNSUPPORTED_API: 'UNSUPPORTED_API',
  /** A handler failed unexpectedly; the connection cannot continue in order. */
  INTERNAL_ERROR: 'INTERNAL_ERROR',
  SERVER_SHUTDOWN: 'SERVER_SHUTDOWN',
  /**
   * The client took none of the responses waiting for it for responseWriteTimeoutMs (it sends but does
   * not read): closing it frees what it held (docs/security/limits.md).
   */
  RESPONSE_WRITE_TIMEOUT: 'RESPONSE_WRITE_TIMEOUT',
  /** An acks=0 produce failed: with no response to carry the error, closing is how the client learns (as in Kafka). */
  PRODUCE_REJECTED: 'PRODUCE_REJECTED',
  /** SASL authentication failed (bad credentials, malformed token, invalid JWT): the reason is in the security event. */
  AUTHENTICATION_FAILED: 'AUTHENTICATION_FAILED',
  /** A request other than ApiVersions, SaslHandshake or SaslAuthenticate arrived before authentication. */
  UNAUTHENTICATED_REQUEST: 'UNAUTHENTICATED_REQUEST',
  /** The client asked for a SASL mechanism this listener does not offer. */
  UNSUPPORTED_SASL_MECHANISM: 'UNSUPPORTED_SASL_MECHANISM',
  /** A SASL request out of order (a second handshake, SaslAuthenticate without a handshake). */
  ILLEGAL_SASL_STATE: 'ILLEGAL_SASL_STATE',
  /** With `clientAuth: requested`, the client presented a certificate that failed verification. */
  CLIENT_CERTIFICATE_REJECTED: 'CLIENT_CERTIFICATE_REJECTED',
  /**
   * The client certificate is on a revocation list of `tls.crlFile`: refused in the handshake, or, for
   * a connection made before the list changed, closed when the broker loads the new list.
   */
  CLIENT_CERTIFICATE_REVOKED: 'CLIENT_CERTIFICATE_REVOKED',
  /**
   * A login while the audit trail cannot be written (disk full, I/O error): refused, as the broker
   * fails closed for what must be audited (docs/security/audit.md#when-the-trail-cannot-be-written).
   */
  AUDIT_UNAVAILABLE: 'AUDIT_UNAVAILABLE',
  /**
   * The client did not finish logging in within `authenticationTimeoutMs` of its connection (a
   * slowloris holding a descriptor without ever authenticating): docs/security/limits.md#connections.
   */
  AUTHENTICATION_TIMEOUT: 'AUTHENTICATION_TIMEOUT',
  /**
   * The login guard refused the login without verifying it: its source is blocked or throttled, or the
   * user is guarded (docs/security/network.md#brute-force-defence). The client saw a failed login.
   */
  LOGIN_BLOCKED: 'LOGIN_BLOCKED',
  /** Nothing was sent or answered for `connectionsMaxIdleMs` (Kafka's connections.max.idle.ms). */
  IDLE_TIMEOUT: 'IDLE_TIMEOUT',
  /**
   * Refused on the TCP accept, before TLS, by the listener's address lists (`listener.allow`/`deny`),
   * or closed when a reload denies the address of an open connection: docs/security/network.md.
   */
  ADDRESS_DENIED: 'ADDRESS_DENIED',
  /** Refused on the TCP accept: the listener, or the client's address, has its maximum of connections open. */
  CONNECTION_LIMIT: 'CONNECTION_LIMIT',
  /** Refused on the TCP accept: the client's address (or, far over it, the listener) opens connections faster than its rate (KIP-612). */
  CONNECTION_RATE: 'CONNECTION_RATE',
  /**
   * The SASL login outlived its session (`connectionsMaxReauthMs`, or an OAUTHBEARER token's expiry)
   * and the client sent a request without re-authenticating (KIP-368): closed at that request.
   */
  SESSION_EXPIRED: 'SESSION_EXPIRED',
  /** The user's SCRAM credentials were deleted or changed while it was connected with SCRAM or PLAIN. */
  CREDENTIALS_REVOKED: 'CREDENTIALS_REVOKED',
  /** An administrator closed the session (`parapet sessions kill`, POST /v1/sessions/kill). */
  SESSION_KILLED: 'SESSION_KILLED',
  /**
   * The principal was disabled (`parapet user disable`): its live connections are closed at once, and
   * its logins are refused as a wrong password is (the client learns nothing; the event says why).
   */
  PRINCIPAL_DISABLED: 'PRINCIPAL_DISABLED',
  /** The broker is in lockdown (`parapet lockdown on`): every principal but the super users is shut out. */
  LOCKDOWN: 'LOCKDOWN',
} as const;
export type CloseReason = (typeof CloseReasons)[keyof typeof CloseReasons];
