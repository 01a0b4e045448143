/**
 * ACL bindings as the least-privilege advisor reasons about them: which observed access a binding
 * covers, with Kafka's matching rules (src/security/authz/authorizer.ts): LITERAL equal or the `*`
 * wildcard, PREFIXED by prefix; ALLOW follows the implied operations (READ, WRITE, DELETE and ALTER
 * imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS; ALL implies everything).
 */
import { aclOperationApplies, AclPermissionType, PatternType, WILDCARD_RESOURCE_NAME, type AclOperation, type ResourceType } from '../../protocol/acl.js';
import type { ObservedAccess } from '../access-log/observed-access.js';

/** An ACL binding (the shape of the admin client's and the store's). */
export interface Binding {
  readonly resourceType: ResourceType;
  readonly resourceName: string;
  readonly patternType: PatternType;
  readonly principal: string;
  readonly host: string;
  readonly operation: AclOperation;
  readonly permission: AclPermissionType;
}

export const WILDCARD_PRINCIPAL = 'User:*';

/** Whether the binding's pattern matches a resource of this name (not the principal, host or operation). */
export function patternCovers(binding: Pick<Binding, 'patternType' | 'resourceName'>, name: string): boolean {
  if (binding.patternType === PatternType.PREFIXED) return name.startsWith(binding.resourceName);
  return binding.resourceName === name || binding.resourceName === WILDCARD_RESOURCE_NAME;
}

/** Whether every name `inner` matches, `outer` matches too. */
export function patternContains(outer: Pick<Binding, 'patternType' | 'resourceName'>, inner: Pick<Binding, 'patternType' | 'resourceName'>): boolean {
  if (outer.patternType === PatternType.LITERAL && outer.resourceName === WILDCARD_RESOURCE_NAME) return true;
  if (inner.patternType === PatternType.PREFIXED) return outer.patternType === PatternType.PREFIXED && inner.resourceName.startsWith(outer.resourceName);
  return patternCovers(outer, inner.resourceName);
}

/**
 * Whether an ALLOW binding could have allowed this observed access: same resource type, a principal
 * that is the observation's or `User:*`, an operation that applies, a pattern that matches the name
 * (any name, for an observation of "some resource of the type"). Hosts are not recorded, so not compared.
 */
export function grantCovers(binding: Binding, access: Pick<ObservedAccess, 'principal' | 'operation' | 'resourceType' | 'resourceName' | 'scope'>): boolean {
  if (binding.permission !== AclPermissionType.ALLOW || binding.resourceType !== access.resourceType) return false;
  if (binding.principal !== access.principal && binding.principal !== WILDCARD_PRINCIPAL) return false;
  if (!aclOperationApplies(binding.operation, AclPermissionType.ALLOW, access.operation)) return false;
  return access.scope === 'any' || patternCovers(binding, access.resourceName);
}

/** Same binding: all seven fields equal. */
export function sameBinding(a: Binding, b: Binding): boolean {
  return (
    a.resourceType === b.resourceType &&
    a.resourceName === b.resourceName &&
    a.patternType === b.patternType &&
    a.principal === b.principal &&
    a.host === b.host &&
    a.operation === b.operation &&
    a.permission === b.permission
  );
}

/** Whether an ALLOW on `op` grants `other` too (and is not the same operation). */
export function implies(op: AclOperation, other: AclOperation): boolean {
  return op !== other && aclOperationApplies(op, AclPermissionType.ALLOW, other);
}
