import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AclOperation, CLUSTER_RESOURCE_NAME, ResourceType } from '../protocol/acl.js';
import type { SecurityEvents } from '../security/events.js';
import type { Authorizer, Principal } from '../security/types.js';
import type { SessionRegistry } from '../server/session-registry.js';

/**
 * The admin endpoint's session routes, which `parapet sessions` uses (the Kafka protocol has no API to
 * list or close other clients' connections):
 *
 *   GET  /v1/sessions        the live connections (DESCRIBE on the CLUSTER)
 *   POST /v1/sessions/kill   {"principal":"User:alice"} or {"id":42}: close them (ALTER on the CLUSTER)
 *
 * Unlike /metrics, these always need the broker's own authentication, loopback or not: HTTP Basic with
 * a SCRAM user's password (checked against its stored keys as a PLAIN login is), or the endpoint's
 * bearer token when one is configured (its holder is the endpoint's administrator). The principal is
 * then authorized by the broker's ACLs, super users included. Every request that reaches them is
 * audited (`admin-request`; a kill is also an `admin-change`); a token bucket bounds their rate, and
 * with it the key derivations a password guesser can make the broker do.
 */
export interface SessionRoutesOptions {
  readonly registry: SessionRegistry;
  /** The principal of a SCRAM user whose password this is; null otherwise (the same cost either way). */
  readonly verifyPassword: (user: string, password: string) => Promise<Principal | null>;
  readonly authorizer: Authorizer;
  readonly events: SecurityEvents;
  /** SHA-256 of the endpoint's bearer token, when one is configured. */
  readonly tokenDigest?: Buffer;
  /** Requests per second to these routes, all clients together (a burst of twice as many). Default 5. */
  readonly ratePerSecond?: number;
  readonly clock?: () => number;
}

/** Who a bearer token's holder is in the audit trail and the session list. */
export const TOKEN_PRINCIPAL: Principal = 'User:admin-endpoint-token';

/** A kill request is a few dozen bytes of JSON. */
const MAX_BODY_BYTES = 1024;
/** User names are bounded (src/protocol/names.ts); a Basic header past this is refused unread. */
const MAX_AUTHORIZATION_LENGTH = 1024;

export class SessionRoutes {
  readonly #o: SessionRoutesOptions;
  readonly #clock: () => number;
  readonly #rate: number;
  #tokens: number;
  #refilledAt: number;

  constructor(options: SessionRoutesOptions) {
    this.#o = options;
    this.#clock = options.clock ?? Date.now;
    this.#rate = options.ratePerSecond ?? 5;
    this.#tokens = this.#rate * 2;
    this.#refilledAt = this.#clock();
  }

  /** Whether this path is one of these routes. */
  static handles(path: string): boolean {
    return path === '/v1/sessions' || path.startsWith('/v1/sessions/');
  }

  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    const method = req.method ?? 'GET';
    const audit = (status: number, principal: Principal | undefined, detail?: string) => {
      this.#o.events.emit({ type: 'admin-request', remote, method, path, status, ...(principal === undefined ? {} : { principal }), ...(detail === undefined ? {} : { detail }) });
    };
    if (!this.#take()) {
      // Not audited one by one: the bucket is what bounds the trail's growth under a flood.
      res.setHeader('Retry-After', '1');
      sendJson(res, 429, { error: 'too many requests to the session routes; retry in a second' });
      return;
    }
    const route = path === '/v1/sessions' ? 'list' : path === '/v1/sessions/kill' ? 'kill' : undefined;
    if (route === undefined) {
      sendJson(res, 404, { error: 'not found: GET /v1/sessions or POST /v1/sessions/kill' });
      return;
    }
    const expected = route === 'list' ? 'GET' : 'POST';
    if (method !== expected) {
      res.setHeader('Allow', expected);
      sendJson(res, 405, { error: `method not allowed: ${expected} ${path}` });
      return;
    }
    const who = await this.#authenticate(req);
    if (who.kind === 'refused') {
      audit(401, undefined, who.detail);
      res.setHeader('WWW-Authenticate', 'Basic realm="parapet", charset="UTF-8"');
      sendJson(res, 401, { error: 'unauthorized: send the credentials of a SCRAM user (HTTP Basic) or the bearer token' });
      return;
    }
    const principal = who.principal;
    const operation = route === 'list' ? AclOperation.DESCRIBE : AclOperation.ALTER;
    const allowed = who.kind === 'token' || this.#o.authorizer.authorize({ principal, host: clientIp(req), operation, resourceType: ResourceType.CLUSTER, resourceName: CLUSTER_RESOURCE_NAME });
    if (!allowed) {
      audit(403, principal, `${route === 'list' ? 'DESCRIBE' : 'ALTER'} on the CLUSTER is not allowed`);
      sendJson(res, 403, { error: `forbidden: ${principal} may not ${route === 'list' ? 'list' : 'close'} sessions (needs ${route === 'list' ? 'DESCRIBE' : 'ALTER'} on the CLUSTER, or a super user)` });
      return;
    }
    if (route === 'list') {
      const sessions = this.#o.registry.list();
      audit(200, principal, `${sessions.length} session(s) listed`);
      sendJson(res, 200, { sessions });
      return;
    }
    const target = parseKillTarget(await readBody(req));
    if (typeof target === 'string') {
      audit(400, principal, target);
      sendJson(res, 400, { error: target });
      return;
    }
    const closed = this.#o.registry.kill(target, principal);
    const name = 'id' in target ? `connection ${target.id}` : target.principal;
    audit(200, principal, `${closed} session(s) of ${name} closed`);
    // Nothing closed is no change: the access above is its record.
    if (closed > 0) this.#o.events.emit({ type: 'admin-change', principal, remote, action: 'kill-sessions', detail: { ...target, closed }, resource: { type: 'session', name } });
    sendJson(res, 200, { closed });
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

/** `{"principal":"User:alice"}` or `{"id":42}`; a string says what is wrong. */
export function parseKillTarget(body: string | null): { principal: Principal } | { id: number } | string {
  if (body === null) return `the request body must be JSON of at most ${MAX_BODY_BYTES} bytes`;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return 'the request body is not JSON: send {"principal":"User:NAME"} or {"id":N}';
  }
  if (typeof value !== 'object' || value === null) return 'send {"principal":"User:NAME"} or {"id":N}';
  const { principal, id } = value as { principal?: unknown; id?: unknown };
  if ((principal === undefined) === (id === undefined)) return 'send exactly one of "principal" and "id"';
  if (id !== undefined) return typeof id === 'number' && Number.isSafeInteger(id) && id > 0 ? { id } : '"id" must be a positive integer (a connection id from GET /v1/sessions)';
  if (typeof principal !== 'string' || !/^User:.{1,1000}$/s.test(principal)) return '"principal" must look like User:NAME';
  return { principal: principal as Principal };
}

/** The body, or null past MAX_BODY_BYTES (the rest is not read). */
async function readBody(req: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function clientIp(req: IncomingMessage): string {
  const ip = req.socket.remoteAddress ?? '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

function sendJson(res: ServerResponse, status: number, body: object): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  res.end(text);
}
