import { DeleteAcls } from '../../protocol/messages/delete-acls.js';
import type { AclStore } from '../../security/authz/acl-store.js';
import { handler, type HandlerEntry } from '../../server/handler.js';
import { aclFilterOf, type AclChangeListener } from './acl-changes.js';

/** DeleteAcls over the ACL store: per filter, the bindings it deleted. */
export function deleteAclsHandler(acls: AclStore, onChange?: AclChangeListener): HandlerEntry {
  return handler(DeleteAcls, (body, ctx) => {
    const results = acls.delete(body.filters.map(aclFilterOf));
    // A binding two filters matched was deleted once: the event lists it once.
    const deleted = [...new Set(results.flatMap((r) => r.bindings))];
    if (deleted.length > 0) onChange?.({ action: 'delete-acls', bindings: deleted, context: ctx });
    return {
      throttleTimeMs: 0,
      filterResults: results.map((r) => ({
        errorCode: r.code,
        errorMessage: r.message,
        matchingAcls: r.bindings.map((b) => ({
          errorCode: 0,
          errorMessage: null,
          resourceType: b.resourceType,
          resourceName: b.resourceName,
          patternType: b.patternType,
          principal: b.principal,
          host: b.host,
          operation: b.operation,
          permissionType: b.permission,
        })),
      })),
    };
  });
}
