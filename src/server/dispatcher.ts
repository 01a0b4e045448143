import { decodeRequest, encodeApiVersionsFallback, encodeResponse } from '../protocol/frames.js';
import { ParapetError } from '../errors.js';
import type { ReadLimits } from '../protocol/reader.js';
import { DEFAULT_NAME_LIMITS, type NameLimits } from '../protocol/names.js';
import { resourceTypeName, aclOperationName, type AclOperation, type ResourceType } from '../protocol/acl.js';
import { authorizeRequest } from '../security/authz/policies/index.js';
import type { AuthzCheck } from '../security/authz/policies/types.js';
import type { SecurityEvents } from '../security/events.js';
import { isPreAuthenticationApi } from '../security/pre-authentication.js';
import type { Authorizer, Principal } from '../security/types.js';
import { CloseReasons } from './close-reasons.js';
import type { FrameHandler } from './connection.js';
import type { HandlerEntry, RequestContext } from './handler.js';
import { boundHeader, checkRequestNames } from './name-validation/index.js';
import type { Session } from './session.js';

export interface DispatcherOptions {
  readonly handlers: ReadonlyMap<number, HandlerEntry>;
  readonly connection: {
    readonly id: number;
    readonly listener: RequestContext['listener'];
    /** The peer's IP address: ACL host patterns match it. */
    readonly clientIp: string;
    readonly remote: string;
    readonly limits?: ReadLimits;
  };
  readonly session: Session;
  readonly authorizer: Authorizer;
  readonly events: SecurityEvents;
  /** Bounds of client-chosen names (src/protocol/names.ts); DEFAULT_NAME_LIMITS when absent. */
  readonly names?: NameLimits;
}

/** At most this many denied resources are named in one security event. */
const MAX_DENIALS_REPORTED = 10;
const DENIAL_REPORT_INTERVAL_MS = 1000;

/**
 * Decodes each frame, enforces authentication (before it, only ApiVersions and SASL; after a v0
 * handshake, frames are raw SASL tokens), refuses the items whose names break the name rules (the name
 * stage, ./name-validation), authorizes the rest through the API's policy, and routes
 * it to its handler. Authorization lives here and only here: the policy hands the handler what the
 * principal may act on and merges the denied items, with their error codes, into the response.
 * Only APIs with a handler are served (and advertised by ApiVersions); any other closes the connection.
 */
export function createDispatcher(options: DispatcherOptions): FrameHandler {
  const { handlers, connection, session, authorizer, events } = options;
  const names = options.names ?? DEFAULT_NAME_LIMITS;
  // A client retrying a denied request in a loop must not flood the log: the same denial on this
  // connection is reported at most once a second, with how often it repeated in between.
  let lastDenial = { key: '', at: -Infinity, repeated: 0 };
  const reportDenial = (principal: Principal, api: string, resources: string[]) => {
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
  return async (frame, control) => {
    if (session.expectsRawToken) {
      const outcome = await session.rawToken(frame);
      if (outcome.close !== undefined) control.closeAfterResponse(outcome.close);
      if (outcome.response === null) return null;
      const size = Buffer.allocUnsafe(4);
      size.writeInt32BE(outcome.response.length);
      return [size, outcome.response];
    }
    const decoded = decodeRequest(frame, connection.limits);
    if (decoded.kind === 'api-versions-fallback') return encodeApiVersionsFallback(decoded.header.correlationId);
    const { api, body } = decoded;
    const header = boundHeader(decoded.header, names);
    const principal = session.principal;
    if (principal === null && !isPreAuthenticationApi(api.apiKey)) {
      const detail = `${api.name} before authentication`;
      events.emit({ type: 'connection-refused', connection: connection.id, remote: connection.remote, reason: CloseReasons.UNAUTHENTICATED_REQUEST, detail });
      control.closeAfterResponse(CloseReasons.UNAUTHENTICATED_REQUEST, detail);
      return null;
    }
    const entry = handlers.get(api.apiKey);
    if (entry === undefined) {
      throw new ParapetError('UNSUPPORTED_API', `${api.name} is not served by this broker`, { api: api.name, version: header.apiVersion });
    }
    const ctx: RequestContext = {
      header,
      listener: connection.listener,
      connectionId: connection.id,
      clientHost: `/${connection.clientIp}`,
      principal,
      session,
      release: control.release,
      closeAfterResponse: control.closeAfterResponse,
      connectionClosed: control.closed,
    };
    let response: object | null;
    // The name stage: invalid names are answered here, before the authorizer or a handler keys anything on them.
    const named = checkRequestNames(api.apiKey, body, header.apiVersion, names);
    if (named.kind === 'respond') {
      response = named.response;
    } else if (principal === null) {
      response = await entry.handle(named.body, ctx);
    } else {
      const denied: string[] = [];
      const outcome = authorizeRequest(api.apiKey, named.body, header.apiVersion, authzCheck(authorizer, principal, connection.clientIp, denied));
      if (denied.length > 0) reportDenial(principal, api.name, denied);
      if (outcome.kind === 'respond') {
        response = outcome.response;
      } else {
        response = await entry.handle(outcome.body, ctx);
        if (response !== null && outcome.finish !== undefined) response = outcome.finish(response as never);
      }
    }
    if (response !== null && named.kind === 'forward' && named.finish !== undefined) response = named.finish(response as never);
    const encoded = response === null ? null : encodeResponse(api, header.apiVersion, header.correlationId, response);
    if (entry.releasesFrame === true) control.recycleFrame();
    return encoded;
  };
}

/** The authorizer bound to one request's principal and host; denials are collected for the security event. */
function authzCheck(authorizer: Authorizer, principal: Principal, host: string, denied: string[]): AuthzCheck {
  const note = (operation: AclOperation, resourceType: ResourceType, name: string) => {
    if (denied.length < MAX_DENIALS_REPORTED) denied.push(`${aclOperationName(operation) ?? operation} ${resourceTypeName(resourceType) ?? resourceType}:${name}`);
  };
  return {
    allowed(operation, resourceType, resourceName, options) {
      const ok = authorizer.authorize({ principal, host, operation, resourceType, resourceName });
      // Filtering a listing or probing for a wider grant is not a denial worth reporting (Kafka's logIfDenied).
      if (!ok && options?.logIfDenied !== false) note(operation, resourceType, resourceName);
      return ok;
    },
    allowedAny(operation, resourceType) {
      const ok = authorizer.authorizeAny({ principal, host, operation, resourceType });
      if (!ok) note(operation, resourceType, '(any)');
      return ok;
    },
  };
}
