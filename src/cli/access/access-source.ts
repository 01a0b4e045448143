import type { Command } from 'commander';
import { aclOperationName, aclPermissionTypeName, patternTypeName, resourceTypeName } from '../../protocol/acl.js';
import { ClientError } from '../../client/errors.js';
import {
  observedAccessFromJson,
  observedLoginFromJson,
  ObservedAccessFormatError,
  type AccessLogState,
  type ObservedAccess,
  type ObservedLogin,
} from '../../security/access-log/observed-access.js';
import type { Binding } from '../../security/least-privilege/grants.js';
import { credentialSetTimeFromJson, CredentialSetTimeFormatError, type CredentialSetTime } from '../../security/credentials/credential-age.js';
import { callEndpoint } from '../admin/admin-endpoint-client.js';
import { credentials, target, type SessionFlags } from '../admin/session-commands.js';
import { UsageError } from '../admin/common.js';

/**
 * What `acl advise` and `access review` read from the broker's admin endpoint (src/metrics/admin-access.ts),
 * checked on arrival: an answer of another shape is an explained failure, never a wrong report.
 */

export interface EndpointFlags extends SessionFlags {
  readonly bootstrap?: string;
}

/** The admin endpoint's flags, beside the Kafka connection's (--bootstrap, --client-config, --data-dir). */
export function withEndpointFlags(cmd: Command): Command {
  return cmd
    .option('--admin-url <url>', "the admin endpoint that serves the access log (default: from the data directory's config, http://127.0.0.1:9644)")
    .option('--admin-ca <file>', 'CA bundle of an https admin endpoint (default: ssl.ca.location of the client config)')
    .option('--bearer-token-file <file>', "authenticate to the endpoint with its bearer token in this file instead of the client config's SCRAM user");
}

export interface AccessAnswer extends AccessLogState {
  readonly entries: ObservedAccess[];
}

export interface LoginsAnswer extends AccessLogState {
  readonly superUsers: string[];
  readonly logins: ObservedLogin[];
  /** When each SCRAM credential was set; undefined from a broker that does not say (before store v9). */
  readonly credentials: CredentialSetTime[] | undefined;
}

function state(answer: Record<string, unknown>): AccessLogState {
  const since = typeof answer.recordingSince === 'string' ? Date.parse(answer.recordingSince) : NaN;
  const dropped = answer.dropped;
  if (Number.isNaN(since) || typeof dropped !== 'number') throw new ObservedAccessFormatError('no recordingSince or dropped');
  return { recordingSinceMs: since, dropped };
}

function checked<T>(what: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof ObservedAccessFormatError || err instanceof CredentialSetTimeFormatError || err instanceof TypeError) {
      throw new ClientError(`the admin endpoint's ${what} is not what this version of parapet reads (${err.message}): is the broker of the same version?`);
    }
    throw err;
  }
}

export async function fetchAccess(flags: EndpointFlags, principal: string | null, sinceMs: number): Promise<AccessAnswer> {
  const query = new URLSearchParams({ since: String(Math.max(0, Math.floor(sinceMs))) });
  if (principal !== null) query.set('principal', principal);
  const answer = (await callEndpoint(target(flags), credentials(flags), 'GET', `/v1/access?${query.toString()}`)) as Record<string, unknown>;
  return checked('answer to GET /v1/access', () => {
    if (!Array.isArray(answer.entries)) throw new ObservedAccessFormatError('no entries');
    return { ...state(answer), entries: answer.entries.map(observedAccessFromJson) };
  });
}

export async function fetchLogins(flags: EndpointFlags): Promise<LoginsAnswer> {
  const answer = (await callEndpoint(target(flags), credentials(flags), 'GET', '/v1/logins')) as Record<string, unknown>;
  return checked('answer to GET /v1/logins', () => {
    const { logins, superUsers, credentials } = answer;
    if (!Array.isArray(logins) || !Array.isArray(superUsers) || !superUsers.every((s) => typeof s === 'string')) throw new ObservedAccessFormatError('no logins or superUsers');
    if (credentials !== undefined && !Array.isArray(credentials)) throw new CredentialSetTimeFormatError('"credentials" is not a list');
    return { ...state(answer), superUsers, logins: logins.map(observedLoginFromJson), credentials: credentials?.map(credentialSetTimeFromJson) };
  });
}

/** `User:NAME` from `NAME` or `User:NAME`. */
export function principalArgument(text: string): string {
  const principal = text.startsWith('User:') ? text : `User:${text}`;
  if (principal === 'User:' || principal === 'User:*') throw new UsageError('--principal: give a principal, e.g. User:alice (User:* is every principal: see `parapet access review`)');
  return principal;
}

const UNITS: Readonly<Record<string, number>> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** `30d`, `12h`, `90m`, `2w` in milliseconds; a usage error otherwise. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d{1,6})([mhdw])$/.exec(text.trim());
  const unit = m?.[2] === undefined ? undefined : UNITS[m[2]];
  if (m?.[1] === undefined || unit === undefined || Number(m[1]) === 0) throw new UsageError(`${flag} must be a duration such as 30d, 12h, 90m or 2w (got "${text}")`);
  return Number(m[1]) * unit;
}

/** A binding with its enums by name, for JSON output. */
export function bindingJson(b: Binding): Record<string, string> {
  return {
    principal: b.principal,
    permission: aclPermissionTypeName(b.permission) ?? String(b.permission),
    operation: aclOperationName(b.operation) ?? String(b.operation),
    resourceType: resourceTypeName(b.resourceType) ?? String(b.resourceType),
    resourceName: b.resourceName,
    patternType: patternTypeName(b.patternType) ?? String(b.patternType),
    host: b.host,
  };
}

export const isoOrNever = (ms: number | null): string => (ms === null ? 'never' : new Date(ms).toISOString());
