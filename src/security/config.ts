import { isIP } from 'node:net';
import { DEFAULT_LOGIN_GUARD_CONFIG, type LoginGuardConfig } from './login-guard/login-guard-config.js';
import type { PrincipalMappingRule } from './tls/principal-mapping.js';
import type { ClientAuth } from './tls/tls-options.js';
import type { Principal, SaslMechanismName } from './types.js';

/** TLS of the listener. Files default to the ones `parapet init` writes in `<dataDir>/tls/`. */
export interface TlsConfig {
  readonly certFile?: string;
  readonly keyFile?: string;
  /** The CA client certificates are verified against (clientAuth requested/required). */
  readonly caFile?: string;
  readonly clientAuth: ClientAuth;
  /** How a client certificate becomes a principal; empty = `User:<CN>`. */
  readonly principalMapping: readonly PrincipalMappingRule[];
  /**
   * Put before every certificate principal's name (`cert:` makes CN=alice `User:cert:alice`), so that
   * certificate names and SCRAM users never share a principal. Unset: no prefix.
   */
  readonly principalPrefix?: string;
  /** CRLs (PEM) of the CAs in `caFile`; a revoked client certificate is refused in the handshake. */
  readonly crlFile?: string;
  /** How often the certificate files are checked for a change (they are reloaded without dropping connections). */
  readonly reloadIntervalMs: number;
}

export interface OAuthBearerConfig {
  /** Exactly one of: a JWKS endpoint, or a file holding a JWKS (`{"keys": [...]}`). */
  readonly jwksUrl?: string;
  readonly jwksFile?: string;
  readonly issuer?: string;
  readonly audience?: readonly string[];
  readonly clockSkewSeconds?: number;
  /** The claim that names the principal (default `sub`). */
  readonly principalClaim?: string;
  /** Put before the claim's value (`oauth:` makes `sub: alice` `User:oauth:alice`). Unset: no prefix. */
  readonly principalPrefix?: string;
}

export interface SaslConfig {
  /** Offered in this order. PLAIN is only ever offered on TLS listeners; OAUTHBEARER needs `oauthbearer`. */
  readonly mechanisms: readonly SaslMechanismName[];
  readonly oauthbearer?: OAuthBearerConfig;
  /** Kafka's connection.failed.authentication.delay.ms: per connection, after each failure. */
  readonly failedAuthenticationDelayMs: number;
  /** Failed logins counted across connections per source and user: delay, block, guard (docs/security/network.md). */
  readonly loginGuard: LoginGuardConfig;
  /** Largest frame before authentication (Kafka caps SASL frames too, CVE-2022-34917). */
  readonly maxUnauthenticatedFrameBytes: number;
}

export interface SecurityConfig {
  readonly tls: TlsConfig;
  readonly sasl: SaslConfig;
  /** Principals allowed everything, whatever the ACLs say (Kafka's super.users). */
  readonly superUsers: readonly Principal[];
  /** Allows a listener without TLS (PLAINTEXT, SASL_PLAINTEXT). Insecure: warned about at every start. */
  readonly allowInsecurePlaintext: boolean;
  /**
   * Allows connections without authentication (PLAINTEXT, or SSL without a required client certificate);
   * they act as User:ANONYMOUS with every permission, like a stock Kafka broker. Insecure: warned about.
   */
  readonly allowInsecureAnonymous: boolean;
  /** Allows an insecure listener on an address other than loopback. */
  readonly allowInsecureNonLoopback: boolean;
}

export const DEFAULT_SECURITY_CONFIG: SecurityConfig = {
  tls: { clientAuth: 'none', principalMapping: [], reloadIntervalMs: 2000 },
  sasl: {
    mechanisms: ['SCRAM-SHA-512', 'SCRAM-SHA-256', 'PLAIN'],
    failedAuthenticationDelayMs: 100,
    loginGuard: DEFAULT_LOGIN_GUARD_CONFIG,
    maxUnauthenticatedFrameBytes: 64 * 1024,
  },
  superUsers: ['User:admin'],
  allowInsecurePlaintext: false,
  allowInsecureAnonymous: false,
  allowInsecureNonLoopback: false,
};

/** Kafka's security.protocol names: TLS or not, SASL or not. */
export type ListenerProtocol = 'SASL_SSL' | 'SSL' | 'SASL_PLAINTEXT' | 'PLAINTEXT';

export function usesTls(protocol: ListenerProtocol): boolean {
  return protocol === 'SSL' || protocol === 'SASL_SSL';
}

export function usesSasl(protocol: ListenerProtocol): boolean {
  return protocol === 'SASL_SSL' || protocol === 'SASL_PLAINTEXT';
}

/** Whether clients can connect without authenticating at all. */
export function isUnauthenticated(protocol: ListenerProtocol, clientAuth: ClientAuth): boolean {
  return protocol === 'PLAINTEXT' || (protocol === 'SSL' && clientAuth !== 'required');
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/** The security posture of a listener: what is refused outright, and what is allowed but insecure. */
export interface Posture {
  readonly errors: string[];
  readonly warnings: { readonly setting: string; readonly detail: string }[];
}

/**
 * Checks a listener against the security settings before anything starts. Insecure choices must be
 * asked for by name (`allowInsecure…`), and are then reported as warnings at every start.
 */
export function checkPosture(listener: { host: string; protocol: ListenerProtocol }, security: SecurityConfig): Posture {
  const errors: string[] = [];
  const warnings: { setting: string; detail: string }[] = [];
  const { protocol, host } = listener;
  const plaintext = !usesTls(protocol);
  const anonymous = isUnauthenticated(protocol, security.tls.clientAuth);
  if (plaintext) {
    if (security.allowInsecurePlaintext) {
      warnings.push({ setting: 'allowInsecurePlaintext', detail: `listener ${protocol} on ${host}: traffic, including credentials and records, is unencrypted` });
    } else {
      errors.push(`listener protocol ${protocol} is unencrypted: set allowInsecurePlaintext: true (or start with --insecure) to allow it`);
    }
  }
  if (anonymous) {
    if (security.allowInsecureAnonymous) {
      warnings.push({ setting: 'allowInsecureAnonymous', detail: `listener ${protocol} on ${host}: clients are not authenticated and act as User:ANONYMOUS with every permission` });
    } else {
      const how = protocol === 'SSL' ? 'set tls.clientAuth: required, or ' : '';
      errors.push(`listener protocol ${protocol} does not authenticate clients: ${how}set allowInsecureAnonymous: true (or start with --insecure) to allow it`);
    }
  }
  if ((plaintext || anonymous) && !isLoopback(host)) {
    if (security.allowInsecureNonLoopback) {
      warnings.push({ setting: 'allowInsecureNonLoopback', detail: `the insecure listener is reachable from other machines on ${host}` });
    } else {
      errors.push(`an insecure listener may only bind a loopback address, not ${host}: set allowInsecureNonLoopback: true to allow it`);
    }
  }
  if (usesSasl(protocol)) {
    const usable = security.sasl.mechanisms.filter((m) => m !== 'PLAIN' || usesTls(protocol));
    if (usable.length === 0) errors.push(`listener ${protocol} offers no SASL mechanism (PLAIN is only offered over TLS)`);
    if (security.sasl.mechanisms.includes('OAUTHBEARER')) {
      const o = security.sasl.oauthbearer;
      if (o === undefined || (o.jwksUrl === undefined) === (o.jwksFile === undefined)) {
        errors.push('OAUTHBEARER needs sasl.oauthbearer with exactly one of jwksUrl or jwksFile');
      } else if (o.jwksUrl !== undefined && !o.jwksUrl.startsWith('https://') && !isLoopbackUrl(o.jwksUrl)) {
        errors.push('sasl.oauthbearer.jwksUrl must use https (http is accepted only for a loopback address)');
      }
    }
  }
  if (security.tls.clientAuth !== 'none' && !usesTls(protocol)) errors.push(`tls.clientAuth ${security.tls.clientAuth} needs a TLS listener (SSL or SASL_SSL)`);
  if (security.tls.crlFile !== undefined && security.tls.clientAuth === 'none') {
    errors.push('tls.crlFile needs tls.clientAuth requested or required: CRLs are checked against the certificates clients present');
  }
  errors.push(...principalPrefixProblems(security));
  return { errors, warnings };
}

/** The prefixes that keep certificate and OAUTHBEARER principals apart from SCRAM users (and each other). */
export function principalPrefixes(security: SecurityConfig): { readonly source: string; readonly prefix: string }[] {
  const prefixes = [
    { source: 'tls.principalPrefix', prefix: security.tls.principalPrefix },
    { source: 'sasl.oauthbearer.principalPrefix', prefix: security.sasl.oauthbearer?.principalPrefix },
  ];
  return prefixes.filter((p): p is { source: string; prefix: string } => p.prefix !== undefined && p.prefix !== '');
}

/** 1 to 64 printable ASCII characters, no space: it becomes part of every principal an ACL names. */
export const PRINCIPAL_PREFIX = /^[!-~]{1,64}$/;

function principalPrefixProblems(security: SecurityConfig): string[] {
  const problems: string[] = [];
  const prefixes = principalPrefixes(security);
  for (const { source, prefix } of prefixes) {
    if (!PRINCIPAL_PREFIX.test(prefix)) problems.push(`${source} must be 1 to 64 printable ASCII characters without spaces, such as "oauth:"`);
  }
  const [first, second] = prefixes;
  // With `a:` and `a:b:`, the certificate alice and the token sub `b:alice` would be one principal.
  if (first !== undefined && second !== undefined && (first.prefix.startsWith(second.prefix) || second.prefix.startsWith(first.prefix))) {
    problems.push(`${first.source} (${JSON.stringify(first.prefix)}) and ${second.source} (${JSON.stringify(second.prefix)}) must differ, and neither may start with the other`);
  }
  return problems;
}

function isLoopbackUrl(url: string): boolean {
  try {
    return isLoopback(new URL(url).hostname.replace(/^\[|\]$/g, ''));
  } catch {
    return false;
  }
}

/**
 * What `--insecure` asks for: a plaintext listener whose clients need no credentials and may do
 * everything, like a stock Kafka broker. For local development only; warned about at every start.
 */
export const INSECURE_DEV_SECURITY: SecurityConfig = {
  ...DEFAULT_SECURITY_CONFIG,
  allowInsecurePlaintext: true,
  allowInsecureAnonymous: true,
};
