import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { aclOperationName, CLUSTER_RESOURCE_NAME, ResourceType, type AclOperation } from '../protocol/acl.js';
import type { SecurityEvents } from '../security/events.js';
import type { Authorizer, Principal } from '../security/types.js';
import { TOKEN_PRINCIPAL } from './admin-sessions.js';

/**
 * What every authenticated route of the admin endpoint does before its work, as the session routes
 * (./admin-sessions.ts) do it: a token bucket bounds the rate (and with it the key derivations a
 * password guesser can make the broker do); the client authenticates with HTTP Basic as a SCRAM user
 * or with the endpoint's bearer token; the principal is authorized on the CLUSTER by the broker's
 * ACLs; every request that gets past the bucket is audited (`admin-request`), never its credentials.
 */
export interface AdminRouteGuardOptions {
  /** The principal of a SCRAM user whose password this is; null otherwise (the same cost either way). */
  readonly verifyPassword: (user: string, password: string) => Promise<Principal | null>;
  readonly authorizer: Authorizer;
  readonly events: SecurityEvents;
  /** SHA-256 of the endpoint's bearer token, when one is configured. */
  readonly tokenDigest?: Buffer;
  /** Requests per second, all clients together (a burst of twice as many). Default 5. */
  readonly ratePerSecond?: number;
  readonly clock?: () => number;
}

/** User names are bounded (src/protocol/names.ts); a Basic header past this is refused unread. */
const MAX_AUTHORIZATION_LENGTH = 1024;

export class AdminRouteGuard {
  readonly #o: AdminRouteGuardOptions;
  readonly #clock: () => number;
  readonly #rate: number;
  #tokens: number;
  #refilledAt: number;

  constructor(options: AdminRouteGuardOptions) {
    this.#o = options;
    this.#clock = options.clock ?? Date.now;
    this.#rate = options.ratePerSecond ?? 5;
    this.#tokens = this.#rate * 2;
    this.#refilledAt = this.#clock();
  }

  /**
   * Lets the request through to the route (its principal) or answers it: 429 past the rate, 401
   * without valid credentials, 403 without `operation` on the CLUSTER (the bearer token's holder is the
   * endpoint's administrator and may do anything).
   */
  async admit(req: IncomingMessage, res: ServerResponse, path: string, operation: AclOperation): Promise<Principal | undefined> {
    if (!this.#take()) {
      // Not audited one by one: the bucket is what bounds the trail's growth under a flood.
      res.setHeader('Retry-After', '1');
      sendJson(res, 429, { error: 'too many requests to the admin routes; retry in a second' });
      return undefined;
    }
    const who = await this.#authenticate(req);
    if (who.kind === 'refused') {
      this.audit(req, path, 401, undefined, who.detail);
      res.setHeader('WWW-Authenticate', 'Basic realm="parapet", charset="UTF-8"');
      sendJson(res, 401, { error: 'unauthorized: send the credentials of a SCRAM user (HTTP Basic) or the bearer token' });
      return undefined;
    }
    const name = aclOperationName(operation) ?? String(operation);
    const allowed = who.kind === 'token' || this.#o.authorizer.authorize({ principal: who.principal, host: clientIp(req), operation, resourceType: ResourceType.CLUSTER, resourceName: CLUSTER_RESOURCE_NAME });
    if (!allowed) {
      this.audit(req, path, 403, who.principal, `${name} on the CLUSTER is not allowed`);
      sendJson(res, 403, { error: `forbidden: ${who.principal} may not ${req.method ?? 'GET'} ${path} (needs ${name} on the CLUSTER, or a super user)` });
      return undefined;
    }
    return who.principal;
  }

  audit(req: IncomingMessage, path: string, status: number, principal: Principal | undefined, detail?: string): void {
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    this.#o.events.emit({ type: 'admin-request', remote, method: req.method ?? 'GET', path, status, ...(principal === undefined ? {} : { principal }), ...(detail === undefined ? {} : { detail }) });
  }

  /** The bearer token's holder, a SCRAM user whose password matched, or a refusal (why, for the audit only). */
  async #authenticate(req: IncomingMessage): Promise<{ kind: 'token' | 'user'; principal: Principal } | { kind: 'refused'; detail: string }> {
    const header = req.headers.authorization;
    if (header === undefined) return { kind: 'refused', detail: 'no Authorization header' };
    if (header.length > MAX_AUTHORIZATION_LENGTH) return { kind: 'refused', detail: 'Authorization header too long' };
    const bearer = /^Bearer (\S+)$/i.exec(header)?.[1];
    if (bearer !== undefined) {
      const digest = this.#o.tokenDigest;
      // Both sides are digests of the same length: the comparison's time tells nothing of the token.
      if (digest !== undefined && timingSafeEqual(createHash('sha256').update(bearer, 'utf8').digest(), digest)) return { kind: 'token', principal: TOKEN_PRINCIPAL };
      return { kind: 'refused', detail: digest === undefined ? 'a bearer token, but none is configured' : 'a wrong bearer token' };
    }
    const basic = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header)?.[1];
    if (basic === undefined) return { kind: 'refused', detail: 'neither Basic nor Bearer credentials' };
    const decoded = Buffer.from(basic, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) return { kind: 'refused', detail: 'malformed Basic credentials' };
    const user = decoded.slice(0, colon);
    const principal = await this.#o.verifyPassword(user, decoded.slice(colon + 1));
    // The claimed name is audited (as a failed Kafka login's is), never the password.
    if (principal === null) return { kind: 'refused', detail: `invalid credentials for user ${JSON.stringify(user.slice(0, 64))}` };
    return { kind: 'user', principal };
  }

  #take(): boolean {
    const now = this.#clock();
    this.#tokens = Math.min(this.#rate * 2, this.#tokens + ((now - this.#refilledAt) / 1000) * this.#rate);
    this.#refilledAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

function clientIp(req: IncomingMessage): string {
  const ip = req.socket.remoteAddress ?? '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

export function sendJson(res: ServerResponse, status: number, body: object): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  res.end(text);
}
