import type { IncomingMessage, ServerResponse } from 'node:http';
import { AclOperation } from '../protocol/acl.js';
import { ContainmentError, type Containment, type DisabledPrincipal, type LockdownState, type Requester } from '../security/containment/containment.js';
import type { Principal } from '../security/types.js';
import { readJsonObject, refuseMethod, sendJson, type AdminRouteGuard } from './admin-route-guard.js';

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
 * Authenticated, authorized, rate-bounded and audited by the guard every admin route shares
 * (./admin-route-guard.ts; a disabled user, or one a lockdown shuts out, is refused as a wrong
 * password); every change is also its own event (principal-disabled, principal-enabled, lockdown-on,
 * lockdown-off), emitted by the containment itself.
 */
export interface ContainmentRoutesOptions {
  readonly containment: Containment;
  /** The configured super users, shown by GET /v1/lockdown (who a lockdown lets in). */
  readonly superUsers: readonly Principal[];
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
  readonly #guard: AdminRouteGuard;

  constructor(options: ContainmentRoutesOptions, guard: AdminRouteGuard) {
    this.#o = options;
    this.#guard = guard;
  }

  /** Whether this path is one of these routes. */
  static handles(path: string): boolean {
    return path === '/v1/lockdown' || path.startsWith('/v1/principals/');
  }

  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const method = req.method ?? 'GET';
    const known = path === '/v1/lockdown' ? { route: method === 'POST' ? ('lockdown-set' as const) : ('lockdown-status' as const), method: method === 'POST' ? ('POST' as const) : ('GET' as const), change: method === 'POST' } : ROUTES[path];
    if (known === undefined) {
      sendJson(res, 404, { error: 'not found: GET /v1/principals/disabled, POST /v1/principals/disable|enable, GET or POST /v1/lockdown' });
      return;
    }
    if (method !== known.method) {
      refuseMethod(res, path === '/v1/lockdown' ? 'GET, POST' : known.method, path);
      return;
    }
    const caller = await this.#guard.admit(req, res, path, known.change ? AclOperation.ALTER : AclOperation.DESCRIBE);
    if (caller === undefined) return;
    const { principal } = caller;
    const audit = (status: number, detail: string) => {
      this.#guard.audit(caller, path, status, detail);
    };
    const by: Requester = { principal, remote: caller.remote, ...(caller.tokenHolder ? { tokenHolder: true } : {}) };
    const { containment } = this.#o;
    if (known.route === 'list-disabled') {
      const disabled = containment.disabled().map(describeDisabled);
      audit(200, `${disabled.length} disabled principal(s) listed`);
      sendJson(res, 200, { disabled });
      return;
    }
    if (known.route === 'lockdown-status') {
      audit(200, `lockdown ${containment.lockdown === null ? 'off' : 'on'}`);
      sendJson(res, 200, { ...describeLockdown(containment.lockdown), superUsers: this.#o.superUsers });
      return;
    }
    const body = await readJsonObject(req, MAX_BODY_BYTES);
    const fail = (status: number, error: string) => {
      audit(status, error);
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
          audit(200, already ? 'lockdown was on already' : `lockdown on; ${closed} connection(s) closed`);
          sendJson(res, 200, { ...describeLockdown(state), closed, already });
        } else {
          const was = containment.lockdownOff(by);
          audit(200, was === null ? 'lockdown was not on' : 'lockdown lifted');
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
        audit(200, `${record.principal} disabled${already ? ' (already)' : ''}; ${closed} connection(s) closed`);
        sendJson(res, 200, { ...describeDisabled(record), closed, already });
      } else {
        const enabled = containment.enable(body.principal, by);
        audit(200, `${body.principal.slice(0, 200)} ${enabled ? 'enabled' : 'was not disabled'}`);
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
