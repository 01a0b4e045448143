import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../logger.js';
import { aclOperationName, aclPermissionTypeName, patternTypeName, resourceTypeName } from '../protocol/acl.js';
import { AclStore, type AclBinding } from '../security/authz/acl-store.js';
import { AclAuthorizer } from '../security/authz/authorizer.js';
import { checkPosture, principalPrefixes, usesSasl, usesTls, type ListenerProtocol, type SecurityConfig } from '../security/config.js';
import { CredentialStore } from '../security/credentials/credential-store.js';
import type { SecurityEvents } from '../security/events.js';
import { oauthBearerMechanism } from '../security/sasl/oauthbearer.js';
import { LoginGuard, type LoginGuardMetrics } from '../security/login-guard/login-guard.js';
import { plainMechanism } from '../security/sasl/plain.js';
import { scramMechanism } from '../security/sasl/scram.js';
import { dataDirWarnings } from '../security/tls/ca-key-posture.js';
import { CertificateReloader, type SecureContextTarget } from '../security/tls/cert-reloader.js';
import { revocationTest } from '../security/tls/crl-bundle.js';
import { compilePrincipalMappingRules, mapCertificatePrincipal } from '../security/tls/principal-mapping.js';
import { buildTlsServerOptions, peerCertificateStatus, type TlsFiles } from '../security/tls/tls-options.js';
import { ANONYMOUS, userPrincipal, type CredentialLookup, type Principal, type SaslMechanism, type SaslMechanismName } from '../security/types.js';
import type { RequestContext } from '../server/handler.js';
import type { ListenerSecurity } from '../server/listener.js';
import type { MetadataStore } from '../storage/metadata-store.js';
import type { AclChangeListener } from './handlers/acl-changes.js';
import type { AlterScramCredentialsDeps } from './handlers/alter-user-scram-credentials.js';

/** The metadata store's name of the key the fake SCRAM salts of unknown users are derived from. */
const FAKE_SALT_SECRET = 'scram-unknown-user-salt';

export class SecurityConfigError extends Error {
  override name = 'SecurityConfigError';
}

export interface SecurityAdmin {
  readonly acls: AclStore;
  readonly onAclChange: AclChangeListener;
  readonly scram: AlterScramCredentialsDeps;
}

export interface BrokerSecurity {
  readonly listener: ListenerSecurity;
  /** What the ACL and SCRAM-credential APIs work on, their changes reported as security events. */
  readonly admin: SecurityAdmin;
  readonly tlsFiles: TlsFiles | undefined;
}

/** The certificate files in use: as configured, else those `parapet init` wrote in `<dataDir>/tls/`. */
export function tlsFilesOf(security: SecurityConfig, dataDir: string): TlsFiles {
  const tls = security.tls;
  return {
    certFile: tls.certFile ?? join(dataDir, 'tls', 'server.crt'),
    keyFile: tls.keyFile ?? join(dataDir, 'tls', 'server.key'),
    ...(tls.clientAuth === 'none' ? {} : { caFile: tls.caFile ?? join(dataDir, 'tls', 'ca.crt') }),
    ...(tls.clientAuth === 'none' || tls.crlFile === undefined ? {} : { crlFile: tls.crlFile }),
  };
}

/**
 * Builds the listener's security from the config: the posture check (insecure settings refused unless
 * asked for by name, then reported), TLS options, SASL mechanisms, the ACL authorizer and the
 * credential store. Throws SecurityConfigError naming every problem.
 */
export function createBrokerSecurity(
  config: { listener: { host: string; protocol: ListenerProtocol }; security: SecurityConfig; dataDir: string },
  deps: { store: MetadataStore; logger: Logger; events: SecurityEvents; loginGuardMetrics?: LoginGuardMetrics },
): BrokerSecurity {
  const { security, listener } = config;
  const posture = checkPosture(listener, security);
  const problems = [...posture.errors, ...validateSecuritySettings(security)];
  if (problems.length > 0) throw new SecurityConfigError(problems.join('\n'));
  for (const w of [...posture.warnings, ...dataDirWarnings(config.dataDir)]) deps.events.emit({ type: 'insecure-setting', setting: w.setting, detail: w.detail });

  const credentials = new CredentialStore({ store: deps.store });
  // SCRAM users live outside the prefixed namespaces (tls.principalPrefix, sasl.oauthbearer.principalPrefix).
  const reserved = principalPrefixes(security).map((p) => p.prefix);
  const logins = reserved.length === 0 ? credentials : outsidePrefixes(credentials, reserved);
  // Kept in the metadata store: an unknown user's fake SCRAM salt must not change at a restart when a
  // real user's does not, or the change would tell which names exist.
  const fakeCredentialSecret = deps.store.brokerSecret(FAKE_SALT_SECRET, () => randomBytes(32));
  const acls = new AclStore({ store: deps.store });
  // allowInsecureAnonymous: every client is ANONYMOUS and may do everything, like a stock Kafka broker.
  const superUsers = security.allowInsecureAnonymous ? [...security.superUsers, ANONYMOUS] : security.superUsers;
  const authorizer = new AclAuthorizer({ acls, superUsers });

  const tls = usesTls(listener.protocol);
  const mechanisms = new Map<SaslMechanismName, SaslMechanism>();
  if (usesSasl(listener.protocol)) {
    for (const name of security.sasl.mechanisms) {
      if (name === 'PLAIN' && !tls) continue; // never offered without TLS: the password would travel in the clear
      mechanisms.set(name, mechanismOf(name, security, logins, fakeCredentialSecret));
    }
  }

  let tlsFiles: TlsFiles | undefined;
  let tlsSecurity: ListenerSecurity['tls'];
  if (tls) {
    tlsFiles = tlsFilesOf(security, config.dataDir);
    let options;
    try {
      options = buildTlsServerOptions(tlsFiles, security.tls.clientAuth);
    } catch (err) {
      throw new SecurityConfigError(
        `cannot load the TLS certificate (${tlsFiles.certFile}, ${tlsFiles.keyFile}): ${err instanceof Error ? err.message : String(err)}\n` +
          `run \`parapet init --data-dir ${config.dataDir}\` to create them, or set tls.certFile and tls.keyFile`,
      );
    }
    const rules = compilePrincipalMappingRules(security.tls.principalMapping);
    const prefix = security.tls.principalPrefix ?? '';
    tlsSecurity = {
      options,
      principalOf: (socket: TLSSocket) => {
        const status = peerCertificateStatus(socket);
        if (status.kind === 'none') return { kind: 'none' };
        if (status.kind === 'rejected') return { kind: 'rejected', reason: status.reason };
        const principal = mapCertificatePrincipal(status.certificate, rules);
        return { kind: 'principal', principal: principal === undefined ? undefined : withPrefix(principal, prefix) };
      },
    };
  }

  // One guard for every connection: failures are counted per source and user, not per connection.
  const guardConfig = security.sasl.loginGuard;
  const loginGuard = guardConfig.enabled && mechanisms.size > 0 ? new LoginGuard({ config: guardConfig, events: deps.events, metrics: deps.loginGuardMetrics }) : undefined;

  // Admin changes name who made them and what changed, never a key or salted password.
  const adminChange = (action: string, context: RequestContext, detail: object, resource?: { type: string; name: string }) => {
    deps.events.emit({ type: 'admin-change', principal: context.principal ?? ANONYMOUS, remote: context.clientHost, action, detail, ...(resource === undefined ? {} : { resource }) });
  };
  return {
    tlsFiles,
    listener: {
      protocol: listener.protocol,
      ...(tlsSecurity === undefined ? {} : { tls: tlsSecurity }),
      mechanisms,
      allowAnonymous: security.allowInsecureAnonymous,
      failedAuthenticationDelayMs: security.sasl.failedAuthenticationDelayMs,
      ...(loginGuard === undefined ? {} : { loginGuard }),
      maxUnauthenticatedFrameBytes: security.sasl.maxUnauthenticatedFrameBytes,
      authorizer,
      events: deps.events,
    },
    admin: {
      acls,
      onAclChange: (e) => {
        adminChange(e.action, e.context, { bindings: e.bindings }, { type: 'acl', name: bindingsSummary(e.bindings) });
      },
      scram: {
        credentials,
        reservedPrefixes: principalPrefixes(security),
        onChange: (e) => {
          adminChange(e.action, e.context, { upserted: e.upserted, deleted: e.deleted });
        },
      },
    },
  };
}

/**
 * Checks a SCRAM user's password as a PLAIN login does (salted password, ClientKey, StoredKey, compared
 * in constant time; an unknown user costs the same): for the admin endpoint's HTTP Basic routes.
 */
export function passwordVerifier(credentials: CredentialLookup): (user: string, password: string) => Promise<Principal | null> {
  const plain = plainMechanism({ credentials });
  return async (user, password) => {
    try {
      const step = await plain.start({ tls: true }).step(Buffer.from(`\0${user}\0${password}`, 'utf8'));
      return step.done ? step.principal : null;
    } catch {
      return null;
    }
  };
}

/**
 * What the posture check cannot see: principal mapping rules that do not compile, an OAUTHBEARER key
 * set that cannot be read or is refused (a private key in it, say). Returns one message per problem.
 */
export function validateSecuritySettings(security: SecurityConfig): string[] {
  const problems: string[] = [];
  try {
    compilePrincipalMappingRules(security.tls.principalMapping);
  } catch (err) {
    problems.push(`tls.principalMapping: ${err instanceof Error ? err.message : String(err)}`);
  }
  const o = security.sasl.oauthbearer;
  if (security.sasl.mechanisms.includes('OAUTHBEARER') && o !== undefined && (o.jwksUrl === undefined) !== (o.jwksFile === undefined)) {
    try {
      mechanismOf('OAUTHBEARER', security, { scram: () => undefined });
    } catch (err) {
      problems.push(`sasl.oauthbearer: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return problems;
}

function mechanismOf(name: SaslMechanismName, security: SecurityConfig, credentials: CredentialLookup, fakeCredentialSecret?: Buffer): SaslMechanism {
  switch (name) {
    case 'SCRAM-SHA-256':
    case 'SCRAM-SHA-512':
      return scramMechanism(name, { credentials, fakeCredentialSecret });
    case 'PLAIN':
      return plainMechanism({ credentials });
    case 'OAUTHBEARER': {
      const o = security.sasl.oauthbearer;
      if (o === undefined) throw new SecurityConfigError('OAUTHBEARER needs sasl.oauthbearer');
      let jwks: { keys: object[] } | undefined;
      if (o.jwksFile !== undefined) {
        try {
          jwks = JSON.parse(readFileSync(o.jwksFile, 'utf8')) as { keys: object[] };
        } catch (err) {
          throw new SecurityConfigError(`cannot read sasl.oauthbearer.jwksFile ${o.jwksFile}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      return oauthBearerMechanism({
        ...(o.jwksUrl === undefined ? {} : { jwksUrl: o.jwksUrl }),
        ...(jwks === undefined ? {} : { jwks }),
        ...(o.issuer === undefined ? {} : { issuer: o.issuer }),
        ...(o.audience === undefined ? {} : { audience: [...o.audience] }),
        ...(o.clockSkewSeconds === undefined ? {} : { clockSkewSeconds: o.clockSkewSeconds }),
        ...(o.principalClaim === undefined ? {} : { principalClaim: o.principalClaim }),
        ...(o.principalPrefix === undefined ? {} : { principalPrefix: o.principalPrefix }),
      });
    }
  }
}

/**
 * Reloads the listener's certificate and CRLs when their files change, without dropping connections,
 * except those whose client certificate a new CRL revokes (`closeRevoked`).
 */
export function watchCertificates(
  server: SecureContextTarget,
  files: TlsFiles,
  security: SecurityConfig,
  logger: Logger,
  closeRevoked?: (isRevoked: (certificateDer: Uint8Array) => boolean) => number,
  events?: SecurityEvents,
): { close(): void; reload(): boolean } {
  return new CertificateReloader({
    files,
    clientAuth: security.tls.clientAuth,
    server,
    logger,
    ...(events === undefined
      ? {}
      : {
          onReloaded: ({ ok, detail }: { ok: boolean; detail: string }) => {
            events.emit({ type: 'certificate-reloaded', ok, detail });
          },
        }),
    pollIntervalMs: security.tls.reloadIntervalMs,
    ...(closeRevoked === undefined
      ? {}
      : {
          onCrlChanged: (crlPem: string) => {
            const closed = closeRevoked(revocationTest(crlPem));
            if (closed > 0) logger.info({ event: 'tls-crl-connections-closed', closed }, 'closed connections whose client certificate the new CRL revokes');
          },
        }),
  });
}

/** `User:<prefix><name>` for a principal `User:<name>`. */
function withPrefix(principal: Principal, prefix: string): Principal {
  return prefix === '' ? principal : userPrincipal(`${prefix}${principal.slice('User:'.length)}`);
}

/**
 * The credential store as SCRAM and PLAIN logins see it: a user whose name starts with a prefix of
 * certificate or OAUTHBEARER principals is unknown, so that `User:oauth:alice` can only be the token's
 * alice, even if a SCRAM user `oauth:alice` was made before the prefix was set.
 */
function outsidePrefixes(credentials: CredentialLookup, prefixes: readonly string[]): CredentialLookup {
  // The fake credential of a name inside a prefix must look like any other unknown user's.
  const typicalShape = credentials.typicalShape?.bind(credentials);
  return {
    scram: (user, mechanism) => (prefixes.some((p) => user.startsWith(p)) ? undefined : credentials.scram(user, mechanism)),
    ...(typicalShape === undefined ? {} : { typicalShape }),
  };
}

/** `ALLOW User:siem READ TOPIC:__audit (LITERAL)`, and how many more: the name of an ACL change in the audit trail. */
function bindingsSummary(bindings: readonly AclBinding[]): string {
  const [first] = bindings;
  if (first === undefined) return '';
  const text = [
    aclPermissionTypeName(first.permission) ?? first.permission,
    first.principal,
    aclOperationName(first.operation) ?? first.operation,
    `${resourceTypeName(first.resourceType) ?? first.resourceType}:${first.resourceName}`,
    `(${patternTypeName(first.patternType) ?? first.patternType})`,
    ...(first.host === '*' ? [] : [`from ${first.host}`]),
  ].join(' ');
  return bindings.length === 1 ? text : `${text} and ${bindings.length - 1} more`;
}
