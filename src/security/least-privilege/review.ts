/**
 * `parapet access review`: the findings a reviewer signs off (docs/security/least-privilege.md#access-review):
 * grants that matched no observed access in N days, principals named in ACLs or holding SCRAM
 * credentials that were not seen logging in (never, or not in N days), the super users, and wildcard
 * grants (`User:*`, the resource name `*`, the operation ALL).
 */
import { AclOperation, AclPermissionType, PatternType, WILDCARD_RESOURCE_NAME, type ResourceType } from '../../protocol/acl.js';
import type { ObservedAccess, ObservedLogin } from '../access-log/observed-access.js';
import { grantCovers, WILDCARD_PRINCIPAL, type Binding } from './grants.js';

export interface ReviewInput {
  readonly bindings: readonly Binding[];
  /** Users with SCRAM credentials (names, without `User:`). */
  readonly scramUsers: readonly string[];
  /** Every observation kept (all principals, all times). */
  readonly observed: readonly ObservedAccess[];
  readonly logins: readonly ObservedLogin[];
  readonly superUsers: readonly string[];
  readonly nowMs: number;
  readonly unusedDays: number;
}

export interface UnusedGrant {
  readonly binding: Binding;
  /** When it last covered an observed access (older than the window), or null: never seen used. */
  readonly lastUsedMs: number | null;
}

export interface InactivePrincipal {
  readonly principal: string;
  /** Where it is named: ACL bindings, SCRAM credentials, or both. */
  readonly namedIn: readonly ('acls' | 'scram')[];
  readonly lastLoginMs: number | null;
}

export interface WildcardGrant {
  readonly binding: Binding;
  readonly wildcards: readonly ('principal User:*' | 'resource name *' | 'operation ALL')[];
}

export interface Review {
  readonly unusedSinceMs: number;
  readonly unusedGrants: readonly UnusedGrant[];
  readonly inactivePrincipals: readonly InactivePrincipal[];
  readonly superUsers: readonly { readonly principal: string; readonly lastLoginMs: number | null }[];
  readonly wildcardGrants: readonly WildcardGrant[];
}

const DAY_MS = 86_400_000;

export function reviewAccess(input: ReviewInput): Review {
  const unusedSinceMs = input.nowMs - input.unusedDays * DAY_MS;
  // Observations that let something through, by resource type and principal: a grant is compared with
  // its own principal's only (every principal's for User:*), which keeps thousands of grants cheap.
  const allowed = new Map<ResourceType, Map<string, ObservedAccess[]>>();
  for (const a of input.observed) {
    if (!a.allowed) continue;
    let byPrincipal = allowed.get(a.resourceType);
    if (byPrincipal === undefined) allowed.set(a.resourceType, (byPrincipal = new Map<string, ObservedAccess[]>()));
    const list = byPrincipal.get(a.principal);
    if (list === undefined) byPrincipal.set(a.principal, [a]);
    else list.push(a);
  }
  const candidates = (binding: Binding): Iterable<ObservedAccess> => {
    const byPrincipal = allowed.get(binding.resourceType);
    if (byPrincipal === undefined) return [];
    return binding.principal === WILDCARD_PRINCIPAL ? [...byPrincipal.values()].flat() : (byPrincipal.get(binding.principal) ?? []);
  };
  const unusedGrants: UnusedGrant[] = [];
  for (const binding of input.bindings) {
    if (binding.permission !== AclPermissionType.ALLOW) continue;
    let lastUsedMs: number | null = null;
    for (const a of candidates(binding)) {
      if ((lastUsedMs === null || a.lastSeenMs > lastUsedMs) && grantCovers(binding, a)) lastUsedMs = a.lastSeenMs;
    }
    if (lastUsedMs === null || lastUsedMs < unusedSinceMs) unusedGrants.push({ binding, lastUsedMs });
  }

  const lastLogin = new Map(input.logins.map((l) => [l.principal, l.lastSeenMs]));
  const named = new Map<string, Set<'acls' | 'scram'>>();
  const mark = (principal: string, where: 'acls' | 'scram') => {
    const set = named.get(principal);
    if (set === undefined) named.set(principal, new Set([where]));
    else set.add(where);
  };
  for (const b of input.bindings) if (b.principal !== WILDCARD_PRINCIPAL) mark(b.principal, 'acls');
  for (const user of input.scramUsers) mark(`User:${user}`, 'scram');
  const inactivePrincipals: InactivePrincipal[] = [];
  for (const [principal, where] of named) {
    const last = lastLogin.get(principal) ?? null;
    if (last === null || last < unusedSinceMs) inactivePrincipals.push({ principal, namedIn: [...where].sort(), lastLoginMs: last });
  }

  const wildcardGrants: WildcardGrant[] = [];
  for (const binding of input.bindings) {
    if (binding.permission !== AclPermissionType.ALLOW) continue;
    const wildcards: WildcardGrant['wildcards'][number][] = [];
    if (binding.principal === WILDCARD_PRINCIPAL) wildcards.push('principal User:*');
    if (binding.patternType === PatternType.LITERAL && binding.resourceName === WILDCARD_RESOURCE_NAME) wildcards.push('resource name *');
    if (binding.operation === AclOperation.ALL) wildcards.push('operation ALL');
    if (wildcards.length > 0) wildcardGrants.push({ binding, wildcards });
  }

  return {
    unusedSinceMs,
    unusedGrants,
    inactivePrincipals: inactivePrincipals.sort((a, b) => (a.principal < b.principal ? -1 : a.principal > b.principal ? 1 : 0)),
    superUsers: [...new Set(input.superUsers)].sort().map((principal) => ({ principal, lastLoginMs: lastLogin.get(principal) ?? null })),
    wildcardGrants,
  };
}
