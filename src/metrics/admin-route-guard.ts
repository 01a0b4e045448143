import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '../security/types.js';
import { TOKEN_PRINCIPAL } from './admin-sessions.js';

/**
 * What the admin endpoint's authenticated routes share (see ./admin-sessions.ts for the contract):
 * HTTP Basic with a SCRAM user's password or the endpoint's bearer token, a token bucket bounding the
 * requests (and with them the key derivations a password guesser can cause), bounded JSON bodies.
 */


/** User names are bounded (src/protocol/names.ts); a Basic header past this is refused unread. */
const MAX_AUTHORIZATION_LENGTH = 1024;

export type AdminCaller = { readonly kind: 'token' | 'user'; readonly principal: Principal } | { readonly kind: 'refused'; readonly detail: string };

/** The bearer token's holder, a SCRAM user whose password matched, or a refusal (why, for the audit only). */
export async function authenticateCaller(
  req: IncomingMessage,
  verifyPassword: (user: string, password: string) => Promise<Principal | null>,
  tokenDigest: Buffer | undefined,
): Promise<AdminCaller> {
  const header = req.headers.authorization;
  if (header === undefined) return { kind: 'refused', detail: 'no Authorization header' };
  if (header.length > MAX_AUTHORIZATION_LENGTH) return { kind: 'refused', detail: 'Authorization header too long' };
  const bearer = /^Bearer (\S+)$/i.exec(header)?.[1];
  if (bearer !== undefined) {
    // Both sides are digests of the same length: the comparison's time tells nothing of the token.
    if (tokenDigest !== undefined && timingSafeEqual(createHash('sha256').update(bearer, 'utf8').digest(), tokenDigest)) return { kind: 'token', principal: TOKEN_PRINCIPAL };
    return { kind: 'refused', detail: tokenDigest === undefined ? 'a bearer token, but none is configured' : 'a wrong bearer token' };
  }
  const basic = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header)?.[1];
  if (basic === undefined) return { kind: 'refused', detail: 'neither Basic nor Bearer credentials' };
  const decoded = Buffer.from(basic, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return { kind: 'refused', detail: 'malformed Basic credentials' };
  const user = decoded.slice(0, colon);
  const principal = await verifyPassword(user, decoded.slice(colon + 1));
  // The claimed name is audited (as a failed Kafka login's is), never the password.
  if (principal === null) return { kind: 'refused', detail: `invalid credentials for user ${JSON.stringify(user.slice(0, 64))}` };
  return { kind: 'user', principal };
}

/** Requests per second, all clients together, with a burst of twice as many. */
export class RequestBucket {
  readonly #clock: () => number;
  readonly #rate: number;
  #tokens: number;
  #refilledAt: number;

  constructor(ratePerSecond: number, clock: () => number = Date.now) {
    this.#clock = clock;
    this.#rate = ratePerSecond;
    this.#tokens = ratePerSecond * 2;
    this.#refilledAt = clock();
  }

  take(): boolean {
    const now = this.#clock();
    this.#tokens = Math.min(this.#rate * 2, this.#tokens + ((now - this.#refilledAt) / 1000) * this.#rate);
    this.#refilledAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/** The body parsed as a JSON object, or a sentence saying what is wrong (past `maxBytes` the rest is not read). */
export async function readJsonObject(req: IncomingMessage, maxBytes: number): Promise<Record<string, unknown> | string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > maxBytes) return `the request body must be JSON of at most ${maxBytes} bytes`;
    chunks.push(buf);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return 'the request body is not JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'the request body must be a JSON object';
  return value as Record<string, unknown>;
}

/** The client's IP address, as ACL host patterns match it. */
export function clientIpOf(req: IncomingMessage): string {
  const ip = req.socket.remoteAddress ?? '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

export function sendJson(res: ServerResponse, status: number, body: object): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  res.end(text);
}
