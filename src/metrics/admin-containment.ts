import type { IncomingMessage, ServerResponse } from 'node:http';
import { AclOperation, CLUSTER_RESOURCE_NAME, ResourceType } from '../protocol/acl.js';
import { ContainmentError, type Containment, type DisabledPrincipal, type LockdownState, type Requester } from '../security/containment/containment.js';
import type { SecurityEvents } from '../security/events.js';
import type { Authorizer, Principal } from '../security/types.js';
import { authenticateCaller, clientIpOf, readJsonObject, RequestBucket, sendJson } from './admin-route-guard.js';

/**
 * The admin endpoint's incident-response routes, which `parapet user disable|enable` and `parapet
 * lockdown` use (the Kafka protocol has no API for either):
 *
 *   GET  /v1/principals/disabled   the disabled principals, with since, by, reason   (DESCRIBE on the CLUSTER)
 *   POST /v1/principals/disable    {"principal":"User:alice","reason":"…"}           (ALTER on the CLUSTER)
 *   POST /v1/principals/enable     {"principal":"User:alice"}                        (ALTER on the CLUSTER)
 *   GET  /v1/lockdown              {"on":…, "since", "by", "reason", "superUsers"}    (DESCRIBE on the CLUSTER)
 *   POST /v1/lockdown              {"on":true,"reason":"…"} or {"on":false}          (ALTER on the CLUSTER)
 *
 * Authenticated, authorized, rate-bounded and audited as the session routes are (./admin-sessions.ts):
 * HTTP Basic with a SCRAM user's password (a disabled one, or one a lockdown shuts out, is refused as a
 * wrong password) or the endpoint's bearer token; every request that reaches them is an `admin-request`
 * event, every change its own event (principal-disabled, principal-enabled, lockdown-on, lockdown-off).
 */
export interface ContainmentRoutesOptions {
  readonly containment: Containment;
  /** The principal of a SCRAM user whose password this is; null otherwise. */
  readonly verifyPassword: (user: string, password: string) => Promise<Principal | null>;
  readonly authorizer: Authorizer;
  readonly events: SecurityEvents;
  /** The configured super users, shown by GET /v1/lockdown (who a lockdown lets in). */
  readonly superUsers: readonly Principal[];
  /** SHA-256 of the endpoint's bearer token, when one is configured. */
  readonly tokenDigest?: Buffer;
  /** Requests per second to these routes, all clients together (a burst of twice as many). Default 5. */
  readonly ratePerSecond?: number;
  readonly clock?: () => number;
}

/** A principal and a reason of a few hundred characters are well under this. */
const MAX_BODY_BYTES = 4096;

type Route = 'list-disabled' | 'disable' | 'enable' | 'lockdown-status' | 'lockdown-set';

const ROUTES: Readonly<Record<string, { readonly route: Route; readonly method: 'GET' | 'POST'; readonly change: boolean }>> = {
  '/v1/principals/disabled': { route: 'list-disabled', method: 'GET', change: false },
  '/v1/principals/disable': { route: 'disable', method: 'POST', change: true },
  '/v1/principals/enable': { route: 'enable', method: 'POST', change: true },
};

export class ContainmentRoutes {
  readonly #o: ContainmentRoutesOptions;
  readonly #bucket: RequestBucket;

  constructor(options: ContainmentRoutesOptions) {
    this.#o = options;
    this.#bucket = new RequestBucket(options.ratePerSecond ?? 5, options.clock);
  }

  /** Whether this path is one of these routes. */
  static handles(path: string): boolean {
    return path === '/v1/lockdown' || path.startsWith('/v1/principals/');
  }

  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    const method = req.method ?? 'GET';
    const audit = (status: number, principal: Principal | undefined, detail?: string) => {
      this.#o.events.emit({ type: 'admin-request', remote, method, path, status, ...(principal === undefined ? {} : { principal }), ...(detail === undefined ? {} : { detail }) });
    };
    if (!this.#bucket.take()) {
      // Not audited one by one: the bucket is what bounds the trail's growth under a flood.
      res.setHeader('Retry-After', '1');
      sendJson(res, 429, { error: 'too many requests to the incident-response routes; retry in a second' });
      return;
    }
    const known = path === '/v1/lockdown' ? { route: method === 'POST' ? ('lockdown-set' as const) : ('lockdown-status' as const), method: method === 'POST' ? ('POST' as const) : ('GET' as const), change: method === 'POST' } : ROUTES[path];
    if (known === undefined) {
      sendJson(res, 404, { error: 'not found: GET /v1/principals/disabled, POST /v1/principals/disable|enable, GET or POST /v1/lockdown' });
      return;
    }
    if (method !== known.method) {
      res.setHeader('Allow', path === '/v1/lockdown' ? 'GET, POST' : known.method);
      sendJson(res, 405, { error: `method not allowed: ${known.method} ${path}` });
      return;
    }
    const who = await authenticateCaller(req, this.#o.verifyPassword, this.#o.tokenDigest);
    if (who.kind === 'refused') {
      audit(401, undefined, who.detail);
      res.setHeader('WWW-Authenticate', 'Basic realm="parapet", charset="UTF-8"');
      sendJson(res, 401, { error: 'unauthorized: send the credentials of a SCRAM user (HTTP Basic) or the bearer token' });
      return;
    }
    const { principal } = who;
    const needs = known.change ? 'ALTER' : 'DESCRIBE';
    const allowed =
      who.kind === 'token' ||
      this.#o.authorizer.authorize({ principal, host: clientIpOf(req), operation: known.change ? AclOperation.ALTER : AclOperation.DESCRIBE, resourceType: ResourceType.CLUSTER, resourceName: CLUSTER_RESOURCE_NAME });
    if (!allowed) {
      audit(403, principal, `${needs} on the CLUSTER is not allowed`);
      sendJson(res, 403, { error: `forbidden: ${principal} needs ${needs} on the CLUSTER (or to be a super user) for ${method} ${path}` });
      return;
    }
    const by: Requester = { principal, remote, ...(who.kind === 'token' ? { tokenHolder: true } : {}) };
    const { containment } = this.#o;
    if (known.route === 'list-disabled') {
      const disabled = containment.disabled().map(describeDisabled);
      audit(200, principal, `${disabled.length} disabled principal(s) listed`);
      sendJson(res, 200, { disabled });
      return;
    }
    if (known.route === 'lockdown-status') {
      audit(200, principal, `lockdown ${containment.lockdown === null ? 'off' : 'on'}`);
      sendJson(res, 200, { ...describeLockdown(containment.lockdown), superUsers: this.#o.superUsers });
      return;
    }
    const body = await readJsonObject(req, MAX_BODY_BYTES);
    const fail = (status: number, error: string) => {
      audit(status, principal, error);
      sendJson(res, status, { error });
    };
    if (typeof body === 'string') {
      fail(400, body);
      return;
    }
    const reason = body.reason === undefined ? '' : body.reason;
    if (typeof reason !== 'string') {
      fail(400, '"reason" must be a string');
      return;
    }
    try {
      if (known.route === 'lockdown-set') {
        if (typeof body.on !== 'boolean') {
          fail(400, 'send {"on":true,"reason":"…"} or {"on":false}');
          return;
        }
        if (body.on) {
          const { state, closed, already } = containment.lockdownOn(reason, by);
          audit(200, principal, already ? 'lockdown was on already' : `lockdown on; ${closed} connection(s) closed`);
          sendJson(res, 200, { ...describeLockdown(state), closed, already });
        } else {
          const was = containment.lockdownOff(by);
          audit(200, principal, was === null ? 'lockdown was not on' : 'lockdown lifted');
          sendJson(res, 200, { on: false, wasOn: was !== null, ...(was === null ? {} : { since: new Date(was.since).toISOString(), by: was.by, reason: was.reason }) });
        }
        return;
      }
      if (typeof body.principal !== 'string') {
        fail(400, 'send {"principal":"User:NAME"}');
        return;
      }
      if (known.route === 'disable') {
        const { record, closed, already } = containment.disable(body.principal, reason, by);
        audit(200, principal, `${record.principal} disabled${already ? ' (already)' : ''}; ${closed} connection(s) closed`);
        sendJson(res, 200, { ...describeDisabled(record), closed, already });
      } else {
        const enabled = containment.enable(body.principal, by);
        audit(200, principal, `${body.principal.slice(0, 200)} ${enabled ? 'enabled' : 'was not disabled'}`);
        sendJson(res, 200, { principal: body.principal, enabled });
      }
    } catch (err) {
      if (!(err instanceof ContainmentError)) throw err;
      // A refusal of what must not be done (a malformed principal, disabling oneself, a lockdown that
      // would shut its author out): 409, the change not made.
      fail(409, err.message);
    }
  }
}

function describeDisabled(d: DisabledPrincipal): { principal: Principal; since: string; by: Principal; reason: string } {
  return { principal: d.principal, since: new Date(d.since).toISOString(), by: d.by, reason: d.reason };
}

function describeLockdown(state: LockdownState | null): { on: boolean; since?: string; by?: Principal; reason?: string } {
  return state === null ? { on: false } : { on: true, since: new Date(state.since).toISOString(), by: state.by, reason: state.reason };
}
