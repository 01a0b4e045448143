import { PatternType } from '../../protocol/acl.js';
import type { AclBinding, AclBindingFilter } from '../../security/authz/acl-store.js';
import type { RequestContext } from '../../server/handler.js';

/**
 * What the ACL APIs (CreateAcls, DescribeAcls, DeleteAcls) share. They act and answer only: whether the
 * requester may (ALTER or DESCRIBE on the cluster) is the authorization stage's question, asked before.
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

/** Called after a request changed the bindings; a throw closes the connection (the change stays). */
export type AclChangeListener = (event: AclChangeEvent) => void;

interface WireFilter {
  readonly resourceTypeFilter: number;
  readonly resourceNameFilter: string | null;
  readonly patternTypeFilter?: number;
  readonly principalFilter: string | null;
  readonly hostFilter: string | null;
  readonly operation: number;
  readonly permissionType: number;
}

/** A filter of DescribeAcls or DeleteAcls in the ACL store's terms. */
export const aclFilterOf = (f: WireFilter): AclBindingFilter => ({
  resourceType: f.resourceTypeFilter,
  resourceName: f.resourceNameFilter,
  patternType: f.patternTypeFilter ?? PatternType.LITERAL,
  principal: f.principalFilter,
  host: f.hostFilter,
  operation: f.operation,
  permission: f.permissionType,
});
