import { DescribeAcls } from '../../protocol/messages/describe-acls.js';
import type { AclBinding, AclStore } from '../../security/authz/acl-store.js';
import { handler, type HandlerEntry } from '../../server/handler.js';
import { aclFilterOf } from './acl-changes.js';

/** DescribeAcls over the ACL store: the bindings that match the filter. */
export function describeAclsHandler(acls: AclStore): HandlerEntry {
  return handler(DescribeAcls, (body) => {
    const result = acls.describe(aclFilterOf(body));
    return { throttleTimeMs: 0, errorCode: result.code, errorMessage: result.message, resources: groupByResource(result.bindings) };
  });
}

/** DescribeAcls answers per resource pattern (type, name, pattern type), each with its entries. */
function groupByResource(bindings: readonly AclBinding[]) {
  const groups = new Map<string, { resourceType: number; resourceName: string; patternType: number; acls: { principal: string; host: string; operation: number; permissionType: number }[] }>();
  for (const b of bindings) {
    const key = JSON.stringify([b.resourceType, b.resourceName, b.patternType]);
    let group = groups.get(key);
    if (group === undefined) {
      group = { resourceType: b.resourceType, resourceName: b.resourceName, patternType: b.patternType, acls: [] };
      groups.set(key, group);
    }
    group.acls.push({ principal: b.principal, host: b.host, operation: b.operation, permissionType: b.permission });
  }
  return [...groups.values()];
}
