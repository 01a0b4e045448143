import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../../../../src/protocol/acl.js';
import type { AclBindingInput, AclPersistence } from '../../../../src/security/authz/acl-store.js';
import type { StoredAclBinding } from '../../../../src/storage/metadata-store.js';

/** An in-memory persistence for AclStore that records writes and can be made to fail like a full disk. */
export function memoryAclPersistence(initial: StoredAclBinding[] = []): AclPersistence & { rows: StoredAclBinding[]; fail: boolean; writes: number } {
  const key = (b: StoredAclBinding) => JSON.stringify([b.resourceType, b.resourceName, b.patternType, b.principal, b.host, b.operation, b.permission]);
  const p = {
    rows: [...initial],
    fail: false,
    writes: 0,
    aclBindings: () => [...p.rows],
    addAclBindings(bindings: readonly StoredAclBinding[]) {
      if (p.fail) throw new Error('SQLITE_FULL');
      p.writes++;
      let added = 0;
      for (const b of bindings) {
        if (!p.rows.some((r) => key(r) === key(b))) {
          p.rows.push({ ...b });
          added++;
        }
      }
      return added;
    },
    removeAclBindings(bindings: readonly StoredAclBinding[]) {
      if (p.fail) throw new Error('SQLITE_FULL');
      p.writes++;
      const doomed = new Set(bindings.map(key));
      const before = p.rows.length;
      p.rows = p.rows.filter((r) => !doomed.has(key(r)));
      return before - p.rows.length;
    },
  };
  return p;
}

/** ALLOW READ on the literal topic `orders` for User:alice from anywhere, with `over` applied. */
export function aclInput(over: Partial<AclBindingInput> = {}): AclBindingInput {
  return {
    resourceType: ResourceType.TOPIC,
    resourceName: 'orders',
    patternType: PatternType.LITERAL,
    principal: 'User:alice',
    host: '*',
    operation: AclOperation.READ,
    permission: AclPermissionType.ALLOW,
    ...over,
  };
}
