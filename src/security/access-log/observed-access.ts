/**
 * What the broker records of each principal's authorization decisions and logins (the access log,
 * docs/security/least-privilege.md), and its JSON form on the admin endpoint (GET /v1/access, /v1/logins),
 * which the CLI reads back with {@link observedAccessFromJson}. Names of resources, never any data.
 */
import { aclOperationName, parseAclOperation, parseResourceType, resourceTypeName, type AclOperation, type ResourceType } from '../../protocol/acl.js';
import type { Principal } from '../types.js';

/**
 * Why a decision was asked (src/security/authz/policies/types.ts, CheckRole): `named`, the request
 * needs the resource; `listing`, it filters what a listing shows; `alternative`, the broad grant Kafka
 * tries first; `probe`, whether the broker would do more; `any`, some resource of the type (KIP-679's
 * authorizeByResourceType: the name is empty).
 */
export const ACCESS_SCOPES = ['named', 'listing', 'alternative', 'probe', 'any'] as const;
export type AccessScope = (typeof ACCESS_SCOPES)[number];

/** One distinct decision of one principal, summed: how often, first and last seen (ms since the epoch). */
export interface ObservedAccess {
  readonly principal: string;
  readonly operation: AclOperation;
  readonly resourceType: ResourceType;
  /** As the request named it; empty for scope `any`. */
  readonly resourceName: string;
  readonly scope: AccessScope;
  readonly allowed: boolean;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  readonly count: number;
}

/** A principal's logins: how many, first and last, and where the last came from. */
export interface ObservedLogin {
  readonly principal: string;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  readonly count: number;
  /** The client's IP address at the last login. */
  readonly lastAddress: string;
  /** SCRAM-SHA-512, OAUTHBEARER, TLS client certificate… */
  readonly lastMechanism: string;
}

/** Where the access log stands: since when it records, how much it dropped to stay in its bounds. */
export interface AccessLogState {
  readonly recordingSinceMs: number;
  /** Observations dropped to keep within accessLog.maxEntries / maxEntriesPerPrincipal / maxPrincipals, since recording began. */
  readonly dropped: number;
}

/** The hot path's interface: one call per authorization decision (src/server/stages/authorization.ts). */
export interface AccessRecorder {
  record(principal: Principal, operation: AclOperation, resourceType: ResourceType, resourceName: string, allowed: boolean, scope: AccessScope): void;
}

export interface ObservedAccessJson {
  readonly principal: string;
  readonly operation: string;
  readonly resourceType: string;
  readonly resourceName: string;
  readonly scope: AccessScope;
  readonly allowed: boolean;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly count: number;
}

export interface ObservedLoginJson {
  readonly principal: string;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly count: number;
  readonly lastAddress: string;
  readonly lastMechanism: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function observedAccessToJson(a: ObservedAccess): ObservedAccessJson {
  return {
    principal: a.principal,
    operation: aclOperationName(a.operation) ?? String(a.operation),
    resourceType: resourceTypeName(a.resourceType) ?? String(a.resourceType),
    resourceName: a.resourceName,
    scope: a.scope,
    allowed: a.allowed,
    firstSeen: iso(a.firstSeenMs),
    lastSeen: iso(a.lastSeenMs),
    count: a.count,
  };
}

export function observedLoginToJson(l: ObservedLogin): ObservedLoginJson {
  return { principal: l.principal, firstSeen: iso(l.firstSeenMs), lastSeen: iso(l.lastSeenMs), count: l.count, lastAddress: l.lastAddress, lastMechanism: l.lastMechanism };
}

/** Thrown for an answer that is not what this version of the broker sends. */
export class ObservedAccessFormatError extends Error {
  override name = 'ObservedAccessFormatError';
}

function field<T>(value: unknown, name: string, is: (v: unknown) => v is T): T {
  const v = (value as Record<string, unknown>)[name];
  if (!is(v)) throw new ObservedAccessFormatError(`an entry's "${name}" is missing or malformed`);
  return v;
}
const isString = (v: unknown): v is string => typeof v === 'string';
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';

function time(value: unknown, name: string): number {
  const ms = Date.parse(field(value, name, isString));
  if (Number.isNaN(ms)) throw new ObservedAccessFormatError(`an entry's "${name}" is not a date`);
  return ms;
}

function object(value: unknown): object {
  if (typeof value !== 'object' || value === null) throw new ObservedAccessFormatError('an entry is not an object');
  return value;
}

export function observedAccessFromJson(value: unknown): ObservedAccess {
  object(value);
  const operation = parseAclOperation(field(value, 'operation', isString));
  const resourceType = parseResourceType(field(value, 'resourceType', isString));
  const scope = field(value, 'scope', isString);
  if (operation === undefined || resourceType === undefined) throw new ObservedAccessFormatError('an entry names an unknown operation or resource type');
  if (!(ACCESS_SCOPES as readonly string[]).includes(scope)) throw new ObservedAccessFormatError(`an entry has an unknown scope "${scope}"`);
  return {
    principal: field(value, 'principal', isString),
    operation,
    resourceType,
    resourceName: field(value, 'resourceName', isString),
    scope: scope as AccessScope,
    allowed: field(value, 'allowed', isBoolean),
    firstSeenMs: time(value, 'firstSeen'),
    lastSeenMs: time(value, 'lastSeen'),
    count: field(value, 'count', isCount),
  };
}

export function observedLoginFromJson(value: unknown): ObservedLogin {
  object(value);
  return {
    principal: field(value, 'principal', isString),
    firstSeenMs: time(value, 'firstSeen'),
    lastSeenMs: time(value, 'lastSeen'),
    count: field(value, 'count', isCount),
    lastAddress: field(value, 'lastAddress', isString),
    lastMechanism: field(value, 'lastMechanism', isString),
  };
}
