import type { IncomingMessage, ServerResponse } from 'node:http';
import { AclOperation } from '../protocol/acl.js';
import type { SecurityEvents } from '../security/events.js';
import type { Principal } from '../security/types.js';
import type { SessionRegistry } from '../server/session-registry.js';
import { readJsonObject, refuseMethod, sendJson, type AdminRouteGuard } from './admin-route-guard.js';

/**
 * The admin endpoint's session routes, which `parapet sessions` uses (the Kafka protocol has no API to
 * list or close other clients' connections):
 *
 *   GET  /v1/sessions        the live connections (DESCRIBE on the CLUSTER)
 *   POST /v1/sessions/kill   {"principal":"User:alice"} or {"id":42}: close them (ALTER on the CLUSTER)
 *
 * Unlike /metrics, these always need the broker's own authentication, loopback or not, through the
 * guard every admin route shares (./admin-route-guard.ts). A kill is also an `admin-change` event.
 */
export interface SessionRoutesOptions {
  readonly registry: SessionRegistry;
  readonly events: SecurityEvents;
}

/** A kill request is a few dozen bytes of JSON. */
const MAX_BODY_BYTES = 1024;

export class SessionRoutes {
  readonly #o: SessionRoutesOptions;
  readonly #guard: AdminRouteGuard;

  constructor(options: SessionRoutesOptions, guard: AdminRouteGuard) {
    this.#o = options;
    this.#guard = guard;
  }

  /** Whether this path is one of these routes. */
  static handles(path: string): boolean {
    return path === '/v1/sessions' || path.startsWith('/v1/sessions/');
  }

  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const route = path === '/v1/sessions' ? 'list' : path === '/v1/sessions/kill' ? 'kill' : undefined;
    if (route === undefined) {
      sendJson(res, 404, { error: 'not found: GET /v1/sessions or POST /v1/sessions/kill' });
      return;
    }
    const expected = route === 'list' ? 'GET' : 'POST';
    if (req.method !== expected) {
      refuseMethod(res, expected, path);
      return;
    }
    const caller = await this.#guard.admit(req, res, path, route === 'list' ? AclOperation.DESCRIBE : AclOperation.ALTER);
    if (caller === undefined) return;
    const { principal } = caller;
    if (route === 'list') {
      const sessions = this.#o.registry.list();
      this.#guard.audit(caller, path, 200, `${sessions.length} session(s) listed`);
      sendJson(res, 200, { sessions });
      return;
    }
    const body = await readJsonObject(req, MAX_BODY_BYTES);
    const target = typeof body === 'string' ? body : parseKillTarget(body);
    if (typeof target === 'string') {
      this.#guard.audit(caller, path, 400, target);
      sendJson(res, 400, { error: target });
      return;
    }
    const closed = this.#o.registry.kill(target, principal);
    const name = 'id' in target ? `connection ${target.id}` : target.principal;
    this.#guard.audit(caller, path, 200, `${closed} session(s) of ${name} closed`);
    // Nothing closed is no change: the access above is its record.
    if (closed > 0) this.#o.events.emit({ type: 'admin-change', principal, remote: caller.remote, action: 'kill-sessions', detail: { ...target, closed }, resource: { type: 'session', name } });
    sendJson(res, 200, { closed });
  }
}

/** `{"principal":"User:alice"}` or `{"id":42}`; a string says what is wrong. */
export function parseKillTarget(value: Record<string, unknown>): { principal: Principal } | { id: number } | string {
  const { principal, id } = value;
  if ((principal === undefined) === (id === undefined)) return 'send exactly one of "principal" and "id"';
  if (id !== undefined) return typeof id === 'number' && Number.isSafeInteger(id) && id > 0 ? { id } : '"id" must be a positive integer (a connection id from GET /v1/sessions)';
  if (typeof principal !== 'string' || !/^User:.{1,1000}$/s.test(principal)) return '"principal" must look like User:NAME';
  return { principal: principal as Principal };
}
