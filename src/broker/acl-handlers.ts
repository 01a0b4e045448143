import { PatternType } from '../protocol/acl.js';
import { CreateAcls } from '../protocol/messages/create-acls.js';
import { DeleteAcls } from '../protocol/messages/delete-acls.js';
import { DescribeAcls } from '../protocol/messages/describe-acls.js';
import type { AclBinding, AclBindingFilter, AclStore } from '../security/authz/acl-store.js';
import { handler, type HandlerEntry, type RequestContext } from '../server/handler.js';

/**
 * CreateAcls, DescribeAcls and DeleteAcls over the ACL store. They act and answer only: whether the
 * requester may (ALTER or DESCRIBE on the cluster) is the dispatcher's question, asked before.
 * Requests before v1 carry no pattern type; the codec fills in LITERAL, which is what v0 means.
 */

/** An ACL change as the audit log records it: the bindings created or deleted, and the request. */
export interface AclChangeEvent {
  readonly action: 'create-acls' | 'delete-acls';
  /** Only actual changes: a binding that existed already is not in a creation event. */
  readonly bindings: readonly AclBinding[];
  /** The request's context (who asked comes from here once the session sets a principal on it). */
  readonly context: RequestContext;
}

export interface AclHandlerDeps {
  readonly acls: AclStore;
  /** Called after a request changed the bindings; a throw closes the connection (the change stays). */
  readonly onChange?: (event: AclChangeEvent) => void;
}

interface WireFilter {
  readonly resourceTypeFilter: number;
  readonly resourceNameFilter: string | null;
  readonly patternTypeFilter?: number;
  readonly principalFilter: string | null;
  readonly hostFilter: string | null;
  readonly operation: number;
  readonly permissionType: number;
}

const filterOf = (f: WireFilter): AclBindingFilter => ({
  resourceType: f.resourceTypeFilter,
  resourceName: f.resourceNameFilter,
  patternType: f.patternTypeFilter ?? PatternType.LITERAL,
  principal: f.principalFilter,
  host: f.hostFilter,
  operation: f.operation,
  permission: f.permissionType,
});

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

export function aclHandlers(deps: AclHandlerDeps): HandlerEntry[] {
  const { acls, onChange } = deps;

  const createAcls = handler(CreateAcls, (body, ctx) => {
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

  const describeAcls = handler(DescribeAcls, (body) => {
    const result = acls.describe(filterOf(body));
    return { throttleTimeMs: 0, errorCode: result.code, errorMessage: result.message, resources: groupByResource(result.bindings) };
  });

  const deleteAcls = handler(DeleteAcls, (body, ctx) => {
    const results = acls.delete(body.filters.map(filterOf));
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

  return [createAcls, describeAcls, deleteAcls];
}
