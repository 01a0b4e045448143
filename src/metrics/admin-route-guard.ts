import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TLSSocket } from 'node:tls';
import { aclOperationName, CLUSTER_RESOURCE_NAME, ResourceType, type AclOperation } from '../protocol/acl.js';
import type { SecurityEvents } from '../security/events.js';
import type { Authorizer, Principal } from '../security/types.js';
import { TokenBucket } from '../token-bucket.js';

/**
 * What every authenticated route of the admin endpoint (sessions, incident response, access log) does
 * before its work. The Kafka protocol has no API for these, so the endpoint brings its own door, and it
 * is the same door for all of them:
 *
 * - one token bucket for all the routes and all clients together bounds the requests, and with them
 *   the key derivations a password guesser can make the broker do (a flood gets 429, not audited one
 *   by one: the bucket is what bounds the trail's growth);
 * - the client authenticates with HTTP Basic as a SCRAM user (checked against its stored keys as a
 *   PLAIN login is) or with the endpoint's bearer token (its holder is the endpoint's administrator);
 * - the principal is authorized on the CLUSTER by the broker's ACLs, super users included;
 * - every request that gets past the bucket is audited (`admin-request`), never its credentials.
 *
 * A route family with resources of its own (the schema registry, ./admin-schema-registry.ts) takes the
 * two halves apart: `identify` (its own bucket, then the credentials) and `authorize` on its resources,
 * answering in its own format; it audits its changes and refusals itself.
 */
export interface AdminRouteGuardOptions {
  /** The principal of a SCRAM user whose password this is; null otherwise (the same cost either way). */
  readonly verifyPassword: (user: string, password: string) => Promise<Principal | null>;
  readonly authorizer: Authorizer;
  readonly events: SecurityEvents;
  /** SHA-256 of the endpoint's bearer token, when one is configured. */
  readonly tokenDigest?: Buffer;
  /** Requests per second to the authenticated routes, all clients together (a burst of twice as many). Default 5. */
  readonly ratePerSecond?: number;
  readonly clock?: () => number;
  /**
   * With `adminEndpoint.tls.clientAuth: required`: the principal of the verified client certificate,
   * mapped as the Kafka listener maps it (src/security/tls/principal-mapping.ts); undefined when no rule
   * yields one or the principal is shut out. A request without an Authorization header is this principal.
   */
  readonly certificatePrincipal?: (socket: TLSSocket) => Principal | undefined;
}

/**
 * Thrown by a `verifyPassword` that may not derive a key now (./admin-credential-cache.ts: its budget of
 * uncached verifications is spent): the request is answered 429, not 401, since the password may be right.
 */
export class CredentialCheckBusy extends Error {
  override readonly name = 'CredentialCheckBusy';
}

/** Who the caller is, or why the request was already answered-to-be: past the rate, or not authenticated. */
export type AdminIdentification =
  | { readonly kind: 'caller'; readonly caller: AdminCaller }
  | { readonly kind: 'limited' }
  | { readonly kind: 'unauthenticated' };

/** Who a bearer token's holder is in the audit trail and the session list. */
export const TOKEN_PRINCIPAL: Principal = 'User:admin-endpoint-token';

/** An admitted caller: a SCRAM user, or the bearer token's holder. */
export interface AdminCaller {
  readonly principal: Principal;
  readonly tokenHolder: boolean;
  /** `address:port`, as the audit trail names the client (taken on admission: the socket may be gone later). */
  readonly remote: string;
  readonly method: string;
}

/** User names are bounded (src/protocol/names.ts); a Basic header past this is refused unread. */
const MAX_AUTHORIZATION_LENGTH = 1024;

export class AdminRouteGuard {
  readonly #o: AdminRouteGuardOptions;
  readonly #bucket: TokenBucket;
  readonly #clock: () => number;

  constructor(options: AdminRouteGuardOptions) {
    this.#o = options;
    this.#clock = options.clock ?? Date.now;
    const rate = options.ratePerSecond ?? 5;
    this.#bucket = new TokenBucket(rate, rate * 2, this.#clock());
  }

  /**
   * Lets the request through to the route (its caller) or answers it: 429 past the rate, 401 without
   * valid credentials, 403 without `operation` on the CLUSTER.
   */
  async admit(req: IncomingMessage, res: ServerResponse, path: string, operation: AclOperation): Promise<AdminCaller | undefined> {
    const who = await this.identify(req, path);
    if (who.kind === 'limited') {
      res.setHeader('Retry-After', '1');
      sendJson(res, 429, { error: 'too many requests to the admin routes; retry in a second' });
      return undefined;
    }
    if (who.kind === 'unauthenticated') {
      res.setHeader('WWW-Authenticate', 'Basic realm="parapet", charset="UTF-8"');
      sendJson(res, 401, { error: 'unauthorized: send the credentials of a SCRAM user (HTTP Basic) or the bearer token' });
      return undefined;
    }
    const { caller } = who;
    const name = aclOperationName(operation) ?? String(operation);
    if (!this.authorize(caller, req, operation, ResourceType.CLUSTER, CLUSTER_RESOURCE_NAME)) {
      this.audit(caller, path, 403, `${name} on the CLUSTER is not allowed`);
      sendJson(res, 403, { error: `forbidden: ${caller.principal} may not ${req.method ?? 'GET'} ${path} (needs ${name} on the CLUSTER, or a super user)` });
      return undefined;
    }
    return caller;
  }

  /**
   * The first half of {@link admit}, for a route family that authorizes on its own resources and
   * answers in its own format (the schema registry): the rate (`bucket`, the family's own, or the
   * shared one), then the credentials. A refusal of the credentials is audited here; nothing is sent.
   */
  async identify(req: IncomingMessage, path: string, bucket: TokenBucket = this.#bucket): Promise<AdminIdentification> {
    if (!bucket.tryTake(this.#clock())) return { kind: 'limited' };
    const who = await this.#authenticate(req);
    if ('busy' in who) return { kind: 'limited' };
    if ('refused' in who) {
      this.#audit(remoteOf(req), req.method ?? 'GET', path, 401, undefined, who.refused);
      return { kind: 'unauthenticated' };
    }
    return { kind: 'caller', caller: { ...who, remote: remoteOf(req), method: req.method ?? 'GET' } };
  }

  /** Whether the caller may do `operation` on the resource: the token's holder may do anything, anyone else as the ACLs say. */
  authorize(caller: AdminCaller, req: IncomingMessage, operation: AclOperation, resourceType: ResourceType, resourceName: string): boolean {
    return caller.tokenHolder || this.#o.authorizer.authorize({ principal: caller.principal, host: clientIpOf(req), operation, resourceType, resourceName });
  }

  /** A bucket of `ratePerSecond` with a burst of `burst`, on the guard's clock: a route family's own rate. */
  bucket(ratePerSecond: number, burst: number): TokenBucket {
    return new TokenBucket(ratePerSecond, burst, this.#clock());
  }

  /** Records how an admitted request was answered. */
  audit(caller: AdminCaller, path: string, status: number, detail: string): void {
    this.#audit(caller.remote, caller.method, path, status, caller.principal, detail);
  }

  #audit(remote: string, method: string, path: string, status: number, principal: Principal | undefined, detail: string): void {
    this.#o.events.emit({ type: 'admin-request', remote, method, path, status, ...(principal === undefined ? {} : { principal }), detail });
  }

  /**
   * The bearer token's holder, a SCRAM user whose password matched, the client certificate's principal
   * (mTLS, when no Authorization header is sent), or a refusal (why, for the audit only).
   */
  async #authenticate(req: IncomingMessage): Promise<{ principal: Principal; tokenHolder: boolean } | { refused: string } | { busy: true }> {
    const header = req.headers.authorization;
    if (header === undefined) {
      const socket = req.socket;
      const mapped = this.#o.certificatePrincipal !== undefined && socket instanceof TLSSocket && socket.authorized ? this.#o.certificatePrincipal(socket) : undefined;
      return mapped === undefined ? { refused: 'no Authorization header' } : { principal: mapped, tokenHolder: false };
    }
    if (header.length > MAX_AUTHORIZATION_LENGTH) return { refused: 'Authorization header too long' };
    const bearer = /^Bearer (\S+)$/i.exec(header)?.[1];
    if (bearer !== undefined) {
      const digest = this.#o.tokenDigest;
      // Both sides are digests of the same length: the comparison's time tells nothing of the token.
      if (digest !== undefined && timingSafeEqual(createHash('sha256').update(bearer, 'utf8').digest(), digest)) return { principal: TOKEN_PRINCIPAL, tokenHolder: true };
      return { refused: digest === undefined ? 'a bearer token, but none is configured' : 'a wrong bearer token' };
    }
    const basic = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header)?.[1];
    if (basic === undefined) return { refused: 'neither Basic nor Bearer credentials' };
    const decoded = Buffer.from(basic, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) return { refused: 'malformed Basic credentials' };
    const user = decoded.slice(0, colon);
    let principal: Principal | null;
    try {
      principal = await this.#o.verifyPassword(user, decoded.slice(colon + 1));
    } catch (err) {
      if (err instanceof CredentialCheckBusy) return { busy: true };
      throw err;
    }
    // The claimed name is audited (as a failed Kafka login's is), never the password.
    if (principal === null) return { refused: `invalid credentials for user ${JSON.stringify(user.slice(0, 64))}` };
    return { principal, tokenHolder: false };
  }
}

/** Answers a request whose method is not the route's. */
export function refuseMethod(res: ServerResponse, allow: string, path: string): void {
  res.setHeader('Allow', allow);
  sendJson(res, 405, { error: `method not allowed: ${allow} ${path}` });
}

/** A request body read as a JSON object, or why it was not. */
export type JsonBody =
  | { readonly kind: 'object'; readonly value: Record<string, unknown> }
  | { readonly kind: 'too-large' | 'not-json' | 'not-object'; readonly message: string };

/** The body parsed as a JSON object, or why not (past `maxBytes` the rest is not read). */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<JsonBody> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > maxBytes) return { kind: 'too-large', message: `the request body must be JSON of at most ${maxBytes} bytes` };
    chunks.push(buf);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return { kind: 'not-json', message: 'the request body is not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { kind: 'not-object', message: 'the request body must be a JSON object' };
  return { kind: 'object', value: value as Record<string, unknown> };
}

/** The body parsed as a JSON object, or a sentence saying what is wrong (past `maxBytes` the rest is not read). */
export async function readJsonObject(req: IncomingMessage, maxBytes: number): Promise<Record<string, unknown> | string> {
  const body = await readJsonBody(req, maxBytes);
  return body.kind === 'object' ? body.value : body.message;
}

/** The client's IP address, as ACL host patterns match it. */
export function clientIpOf(req: IncomingMessage): string {
  const ip = req.socket.remoteAddress ?? '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

function remoteOf(req: IncomingMessage): string {
  return `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
}

export function sendJson(res: ServerResponse, status: number, body: object): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  res.end(text);
}
