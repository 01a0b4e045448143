import type { IncomingMessage, ServerResponse } from 'node:http';
import { AclOperation } from '../protocol/acl.js';
import type { AccessLogState, ObservedAccess, ObservedLogin } from '../security/access-log/observed-access.js';
import { observedAccessToJson, observedLoginToJson } from '../security/access-log/observed-access.js';
import type { CredentialSetTimeJson } from '../security/credentials/credential-age.js';
import { refuseMethod, sendJson, type AdminRouteGuard } from './admin-route-guard.js';

/**
 * The admin endpoint's access log routes, which `parapet acl advise` and `parapet access review` read
 * (docs/security/least-privilege.md); the Kafka protocol has no API for what a principal did:
 *
 *   GET /v1/access[?principal=User:NAME][&since=ISO-8601 or ms]   observed access, last seen since then
 *   GET /v1/logins                                                 logins per principal, and the super users
 *
 * Both need DESCRIBE on the CLUSTER (or a super user, or the bearer token), are rate-bounded and
 * audited by the guard every admin route shares (./admin-route-guard.ts).
 */
export interface AccessRoutesOptions {
  /** The broker's access log; undefined when it is off (accessLog.enabled: false). */
  readonly log:
    | {
        access(principal: string | null, sinceMs?: number): ObservedAccess[];
        logins(): ObservedLogin[];
        state(): AccessLogState;
      }
    | undefined;
  /** The principals allowed everything (superUsers), which the review lists. */
  readonly superUsers: readonly string[];
  /** When each SCRAM credential was set (src/security/credentials/credential-age.ts), for `parapet posture`'s password age. */
  readonly credentialSetTimes?: () => CredentialSetTimeJson[];
}

const PRINCIPAL = /^User:.{1,1000}$/s;

export class AccessRoutes {
  readonly #o: AccessRoutesOptions;
  readonly #guard: AdminRouteGuard;

  constructor(options: AccessRoutesOptions, guard: AdminRouteGuard) {
    this.#o = options;
    this.#guard = guard;
  }

  static handles(path: string): boolean {
    return path === '/v1/access' || path === '/v1/logins';
  }

  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (req.method !== 'GET') {
      refuseMethod(res, 'GET', path);
      return;
    }
    const caller = await this.#guard.admit(req, res, path, AclOperation.DESCRIBE);
    if (caller === undefined) return;
    const log = this.#o.log;
    if (log === undefined) {
      this.#guard.audit(caller, path, 404, 'the access log is off');
      sendJson(res, 404, { error: 'the access log is off on this broker (accessLog.enabled: false): nothing was recorded' });
      return;
    }
    const state = log.state();
    const header = { recordingSince: new Date(state.recordingSinceMs).toISOString(), dropped: state.dropped };
    if (path === '/v1/logins') {
      const logins = log.logins();
      this.#guard.audit(caller, path, 200, `${logins.length} principal(s) listed`);
      const credentials = this.#o.credentialSetTimes === undefined ? {} : { credentials: this.#o.credentialSetTimes() };
      sendJson(res, 200, { ...header, superUsers: this.#o.superUsers, logins: logins.map(observedLoginToJson), ...credentials });
      return;
    }
    const query = parseAccessQuery(new URL(req.url ?? '/', 'http://localhost').searchParams);
    if (typeof query === 'string') {
      this.#guard.audit(caller, path, 400, query);
      sendJson(res, 400, { error: query });
      return;
    }
    const entries = log.access(query.principal, query.sinceMs);
    this.#guard.audit(caller, path, 200, `${entries.length} observation(s) of ${query.principal ?? 'every principal'} listed`);
    sendJson(res, 200, { ...header, entries: entries.map(observedAccessToJson) });
  }
}

/** `principal` (optional) and `since` (optional: an ISO-8601 date or ms since the epoch); a string says what is wrong. */
export function parseAccessQuery(params: URLSearchParams): { principal: string | null; sinceMs: number } | string {
  const principal = params.get('principal');
  if (principal !== null && !PRINCIPAL.test(principal)) return '"principal" must look like User:NAME';
  const since = params.get('since');
  if (since === null) return { principal, sinceMs: 0 };
  const sinceMs = /^\d{1,15}$/.test(since) ? Number(since) : Date.parse(since);
  if (Number.isNaN(sinceMs)) return '"since" must be an ISO-8601 date or milliseconds since the epoch';
  return { principal, sinceMs };
}
