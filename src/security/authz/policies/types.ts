/**
 * The contract between the dispatcher and the per-API authorization policies. Authorization happens in
 * one place (docs/security/authorization.md#how-a-request-is-decided): the dispatcher asks the API's
 * policy, which either answers the whole request itself or hands the handler a body holding only what
 * the principal may act on, plus a `finish` that merges the denied items (with their error codes) back
 * into the handler's response.
 */
import type { AclOperation, ResourceType } from '../../../protocol/acl.js';
import type { ApiSchema, RequestOf, ResponseOf } from '../../../protocol/messages/schema.js';

export interface CheckOptions {
  /**
   * False for checks that only filter what a listing shows (Metadata for all topics, ListGroups, the
   * auto-creation probe): Kafka passes `logIfDenied = false` there, so an ordinary consumer does not
   * fill the audit log with denials it never asked for. Defaults to true.
   */
  readonly logIfDenied?: boolean;
  /**
   * Why the check is made when the request does not need the resource itself (absent: it does). The
   * least-privilege advisor (docs/security/least-privilege.md) proposes what requests needed, and only
   * `alternative` checks among these, when allowed: `listing` filters what a listing shows; `alternative`
   * tries the broad grant Kafka tries first (CREATE or IDEMPOTENT_WRITE on the cluster), which let the
   * request through when allowed; `probe` asks whether the broker would do more (auto-creation).
   */
  readonly role?: CheckRole;
}

export type CheckRole = 'listing' | 'alternative' | 'probe';

export interface AuthzCheck {
  /** May the connection's principal, from its host, do `operation` on this resource? */
  allowed(operation: AclOperation, resourceType: ResourceType, resourceName: string, options?: CheckOptions): boolean;
  /** Whether some resource of the type could be allowed (Kafka's authorizeByResourceType, KIP-679). */
  allowedAny(operation: AclOperation, resourceType: ResourceType): boolean;
}

export type PolicyOutcome<A extends ApiSchema = ApiSchema> =
  | { readonly kind: 'forward'; readonly body: RequestOf<A>; readonly finish?: (response: ResponseOf<A>) => ResponseOf<A> }
  | { readonly kind: 'respond'; readonly response: ResponseOf<A> };

export interface ApiPolicy<A extends ApiSchema = ApiSchema> {
  readonly api: A;
  /**
   * Decides what of the request the principal may act on. Never mutates `body` or its arrays (the
   * handler may still be given the original); throws only for what must close the connection.
   */
  authorize(body: RequestOf<A>, version: number, check: AuthzCheck): PolicyOutcome<A>;
}
