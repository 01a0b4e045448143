/**
 * The contracts between the security layer's parts: the session (src/server) drives SASL mechanisms,
 * which look credentials up; the dispatcher asks the authorizer. Each part is built and tested on its
 * own against these types.
 */
import type { AclOperation, ResourceType } from '../protocol/acl.js';

/** A principal as Kafka writes it in ACLs: `User:alice`. Unauthenticated clients are `User:ANONYMOUS`. */
export type Principal = `User:${string}`;
export const ANONYMOUS: Principal = 'User:ANONYMOUS';

export function userPrincipal(name: string): Principal {
  return `User:${name}`;
}

export type ScramMechanismName = 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
export type SaslMechanismName = ScramMechanismName | 'PLAIN' | 'OAUTHBEARER';

/** What the broker keeps of a SCRAM password (RFC 5802 §3): never the password itself. */
export interface ScramCredential {
  readonly salt: Buffer;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
  readonly iterations: number;
}

/** The public parts of a SCRAM credential that server-first shows: salt length and iteration count. */
export interface ScramShape {
  readonly saltBytes: number;
  readonly iterations: number;
}

/** Looks up a user's SCRAM credential for a mechanism; undefined when the user has none. */
export interface CredentialLookup {
  scram(user: string, mechanism: ScramMechanismName): ScramCredential | undefined;
  /**
   * The shape most stored credentials of the mechanism have: the fake credential of an unknown user
   * takes it, so that server-first (and PLAIN's key derivation time) looks like a real user's.
   */
  typicalShape?(mechanism: ScramMechanismName): ScramShape;
}

/**
 * One authentication exchange on one connection. `step` takes the client's next token and answers the
 * server's token; `principal` is set on the step that completes the exchange. A failure throws
 * SaslAuthenticationError: its `reason` is for the log and the audit log only; the client is told
 * nothing more than "authentication failed".
 */
export interface SaslExchange {
  step(token: Buffer): Promise<SaslStep>;
}
export type SaslStep =
  | { readonly done: false; readonly response: Buffer }
  /** `expiresAtMs`: when the credential stops being valid (an OAUTHBEARER token's `exp`); the session ends then at the latest (KIP-368). */
  | { readonly done: true; readonly response: Buffer; readonly principal: Principal; readonly expiresAtMs?: number };

/** What an exchange knows of its connection. */
export interface SaslConnection {
  /** Whether the connection is encrypted (PLAIN refuses otherwise). */
  readonly tls: boolean;
  /**
   * Asked once per attempt, with the user name when the mechanism knows it, after parsing and before
   * any verification (the login guard, src/security/login-guard): it may wait, or throw
   * LoginRefusedError to refuse the attempt unverified.
   */
  readonly admit?: (user: string | undefined) => Promise<void>;
}

export interface SaslMechanism {
  readonly name: SaslMechanismName;
  start(connection: SaslConnection): SaslExchange;
}

/** Why an exchange failed, as logged and audited (a closed set, like close reasons). */
export const SaslFailureReasons = {
  MALFORMED_TOKEN: 'MALFORMED_TOKEN',
  UNKNOWN_USER: 'UNKNOWN_USER',
  BAD_CREDENTIALS: 'BAD_CREDENTIALS',
  NONCE_MISMATCH: 'NONCE_MISMATCH',
  INSECURE_TRANSPORT: 'INSECURE_TRANSPORT',
  INVALID_TOKEN: 'INVALID_TOKEN',
  UNEXPECTED_TOKEN: 'UNEXPECTED_TOKEN',
  /** A re-authentication (KIP-368) logged in as another principal than the connection's: refused, as Kafka does. */
  PRINCIPAL_CHANGED: 'PRINCIPAL_CHANGED',
} as const;
export type SaslFailureReason = (typeof SaslFailureReasons)[keyof typeof SaslFailureReasons];

export class SaslAuthenticationError extends Error {
  override name = 'SaslAuthenticationError';
  readonly reason: SaslFailureReason;
  /** The user the client claimed, for the audit log (never a password or token). */
  readonly claimedUser: string | undefined;
  constructor(reason: SaslFailureReason, detail: string, claimedUser?: string) {
    super(detail);
    this.reason = reason;
    this.claimedUser = claimedUser;
  }
}

/** The one message a client gets for any authentication failure (no "unknown user" vs "bad password"). */
export const AUTHENTICATION_FAILED_MESSAGE = 'Authentication failed: invalid credentials';

/** A question to the authorizer: may `principal`, connecting from `host` (an IP), do `operation` on the resource? */
export interface AuthorizationRequest {
  readonly principal: Principal;
  readonly host: string;
  readonly operation: AclOperation;
  readonly resourceType: ResourceType;
  readonly resourceName: string;
}

export interface Authorizer {
  authorize(request: AuthorizationRequest): boolean;
  /**
   * Whether some resource of the type could be allowed (Kafka's `authorizeByResourceType`, KIP-679): an
   * ALLOW binding of any pattern applies to the principal and host, and no DENY binding covers every
   * resource of the type (a `*` literal or an empty prefix).
   */
  authorizeAny(request: Omit<AuthorizationRequest, 'resourceName'>): boolean;
}
