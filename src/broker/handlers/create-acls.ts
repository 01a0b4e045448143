import { PatternType } from '../../protocol/acl.js';
import { CreateAcls } from '../../protocol/messages/create-acls.js';
import type { AclStore } from '../../security/authz/acl-store.js';
import { handler, type HandlerEntry } from '../../server/handler.js';
import type { AclChangeListener } from './acl-changes.js';

/** CreateAcls over the ACL store: one result per creation, in order. */
export function createAclsHandler(acls: AclStore, onChange?: AclChangeListener): HandlerEntry {
  return handler(CreateAcls, (body, ctx) => {
    const results = acls.create(
      body.creations.map((c) => ({
        resourceType: c.resourceType,
        resourceName: c.resourceName,
        patternType: c.resourcePatternType ?? PatternType.LITERAL,
        principal: c.principal,
        host: c.host,
        operation: c.operation,
        permission: c.permissionType,
      })),
    );
    const created = results.flatMap((r) => (r.created && r.binding !== null ? [r.binding] : []));
    if (created.length > 0) onChange?.({ action: 'create-acls', bindings: created, context: ctx });
    return { throttleTimeMs: 0, results: results.map((r) => ({ errorCode: r.code, errorMessage: r.message })) };
  });
}
