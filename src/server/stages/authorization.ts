import { aclOperationName, resourceTypeName, type AclOperation, type ResourceType } from '../../protocol/acl.js';
import { authorizeRequest } from '../../security/authz/policies/index.js';
import type { AuthzCheck } from '../../security/authz/policies/types.js';
import type { AccessRecorder } from '../../security/access-log/observed-access.js';
import type { SecurityEvents } from '../../security/events.js';
import type { Authorizer, Principal } from '../../security/types.js';
import type { StageConnection, StageFactory, StageStep } from './stage.js';

/** At most this many denied resources are named in one security event. */
const MAX_DENIALS_REPORTED = 10;
const DENIAL_REPORT_INTERVAL_MS = 1000;

/**
 * Authorization, here and only here: the API's policy (src/security/authz/policies) hands on what the
 * principal may act on, and its `finish` merges the denied items, with their error codes, back into
 * the response; or it answers the whole request itself. Denials are reported as security events;
 * every decision, allowed or denied, goes to the access log when there is one (the least-privilege
 * advisor's observations, src/security/access-log).
 */
export function authorization(authorizer: Authorizer, events: SecurityEvents, access?: AccessRecorder): StageFactory {
  return (connection) => {
    const reportDenial = denialReporter(events, connection);
    return {
      name: 'authorization',
      before({ api, header, body, context }) {
        const principal = context.principal;
        // Only the APIs allowed before authentication come this far without a principal (the gate
        // saw to it), and they name no resource.
        if (principal === null) return undefined;
        const denied: string[] = [];
        const outcome = authorizeRequest(api.apiKey, body, header.apiVersion, authzCheck(authorizer, principal, connection.clientIp, denied, access));
        if (denied.length > 0) reportDenial(principal, api.name, denied);
        // A policy's outcome is a stage step of its API's types.
        return outcome as StageStep;
      },
    };
  };
}

/**
 * A client retrying a denied request in a loop must not flood the log: the same denial on a connection
 * is reported at most once a second, with how often it repeated in between.
 */
function denialReporter(events: SecurityEvents, connection: StageConnection) {
  let lastDenial = { key: '', at: -Infinity, repeated: 0 };
  return (principal: Principal, api: string, resources: string[]) => {
    const key = `${api} ${resources.join(' ')}`;
    const now = performance.now();
    if (key === lastDenial.key && now - lastDenial.at < DENIAL_REPORT_INTERVAL_MS) {
      lastDenial.repeated++;
      return;
    }
    const repeated = key === lastDenial.key ? lastDenial.repeated : 0;
    lastDenial = { key, at: now, repeated: 0 };
    events.emit({ type: 'authorization-denied', connection: connection.id, remote: connection.remote, principal, api, resources, ...(repeated > 0 ? { repeated } : {}) });
  };
}

/**
 * The authorizer bound to one request's principal and host; denials are collected for the security
 * event, and every decision is recorded (once per request and question: the policies' checks are memoized).
 */
function authzCheck(authorizer: Authorizer, principal: Principal, host: string, denied: string[], access: AccessRecorder | undefined): AuthzCheck {
  const note = (operation: AclOperation, resourceType: ResourceType, name: string) => {
    if (denied.length < MAX_DENIALS_REPORTED) denied.push(`${aclOperationName(operation) ?? operation} ${resourceTypeName(resourceType) ?? resourceType}:${name}`);
  };
  return {
    allowed(operation, resourceType, resourceName, options) {
      const ok = authorizer.authorize({ principal, host, operation, resourceType, resourceName });
      access?.record(principal, operation, resourceType, resourceName, ok, options?.role ?? 'named');
      // Filtering a listing or probing for a wider grant is not a denial worth reporting (Kafka's logIfDenied).
      if (!ok && options?.logIfDenied !== false) note(operation, resourceType, resourceName);
      return ok;
    },
    allowedAny(operation, resourceType) {
      const ok = authorizer.authorizeAny({ principal, host, operation, resourceType });
      access?.record(principal, operation, resourceType, '', ok, 'any');
      if (!ok) note(operation, resourceType, '(any)');
      return ok;
    },
  };
}
