import { randomBytes, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { TestContext } from 'node:test';
import { decodeRequest, encodeResponse } from '../../../src/protocol/frames.js';
import { ApiVersions } from '../../../src/protocol/messages/api-versions.js';
import { ALL_APIS } from '../../../src/protocol/messages/index.js';
import type { ApiSchema } from '../../../src/protocol/messages/schema.js';
import { deriveScramCredential, hash, hmac, xor } from '../../../src/security/credentials/scram-keys.js';
import type { ScramCredential, ScramMechanismName } from '../../../src/security/types.js';
import { FrameSplitter } from '../../../src/protocol/frame-splitter.js';

/**
 * A scripted broker for client tests: ApiVersions, SaslHandshake and SaslAuthenticate (PLAIN and a
 * server-side SCRAM written from RFC 5802), plus per-test handlers for anything else.
 */

export interface Received {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly body: Record<string, unknown>;
  /** The request frame as it arrived (without its size prefix). */
  readonly frame: Buffer;
}

export interface FakeBrokerOptions {
  /** Ranges advertised by ApiVersions (default: every API at our schema ranges). */
  readonly apiRanges?: readonly { apiKey: number; minVersion: number; maxVersion: number }[];
  /** Highest ApiVersions version understood; above it the KIP-511 v0-layout fallback is sent. */
  readonly apiVersionsMax?: number;
  readonly mechanisms?: readonly string[];
  readonly users?: Readonly<Record<string, string>>;
  /** Other requests: return a response body, or write raw bytes to the socket and return undefined. */
  readonly handle?: (api: ApiSchema, version: number, body: Record<string, unknown>, correlationId: number, socket: Socket) => object | undefined;
  readonly tls?: { readonly key: Buffer | string; readonly cert: Buffer | string };
}

const AUTH_FAILED = 'Authentication failed: invalid credentials';

interface ScramState {
  readonly mechanism: ScramMechanismName;
  readonly credential: ScramCredential;
  readonly clientFirstBare: string;
  readonly serverFirst: string;
  readonly nonce: string;
}

export async function startFakeBroker(
  t: TestContext,
  options: FakeBrokerOptions = {},
): Promise<{ port: number; received: Received[]; connections: () => number }> {
  const received: Received[] = [];
  let connections = 0;
  const ranges = options.apiRanges ?? ALL_APIS.map((a) => ({ apiKey: a.apiKey, minVersion: a.minVersion, maxVersion: a.maxVersion }));
  const credentials = new Map<string, ScramCredential>();
  const credentialOf = (mechanism: ScramMechanismName, user: string): ScramCredential | undefined => {
    const password = options.users?.[user];
    if (password === undefined) return undefined;
    const key = `${mechanism}/${user}`;
    let c = credentials.get(key);
    if (c === undefined) {
      c = deriveScramCredential(mechanism, password, { iterations: 4096 });
      credentials.set(key, c);
    }
    return c;
  };

  const onSocket = (socket: Socket) => {
    connections++;
    const splitter = new FrameSplitter(1024 * 1024);
    let mechanism: string | undefined;
    let scram: ScramState | undefined;
    const reply = (api: ApiSchema, version: number, correlationId: number, body: object) => {
      socket.write(Buffer.concat(encodeResponse(api, version, correlationId, body)));
    };
    const authenticate = (token: Buffer): { errorCode: number; errorMessage: string | null; authBytes: Buffer } => {
      const fail = { errorCode: 58, errorMessage: AUTH_FAILED, authBytes: Buffer.alloc(0) };
      const text = token.toString('utf8');
      if (mechanism === 'PLAIN') {
        const [, user, password] = text.split('\0');
        return user !== undefined && options.users?.[user] === password ? { errorCode: 0, errorMessage: null, authBytes: Buffer.alloc(0) } : fail;
      }
      const m = mechanism as ScramMechanismName;
      if (scram === undefined) {
        const first = /^n,,(n=([^,]*),r=([^,]+))$/.exec(text);
        const credential = first?.[2] === undefined ? undefined : credentialOf(m, first[2].replace(/=2C/g, ',').replace(/=3D/g, '='));
        if (first?.[1] === undefined || first[3] === undefined || credential === undefined) return fail;
        const nonce = first[3] + randomBytes(12).toString('base64');
        const serverFirst = `r=${nonce},s=${credential.salt.toString('base64')},i=${credential.iterations}`;
        scram = { mechanism: m, credential, clientFirstBare: first[1], serverFirst, nonce };
        return { errorCode: 0, errorMessage: null, authBytes: Buffer.from(serverFirst) };
      }
      const final = /^(c=biws,r=([^,]+)),p=(.+)$/.exec(text);
      if (final?.[1] === undefined || final[3] === undefined || final[2] !== scram.nonce) return fail;
      const authMessage = `${scram.clientFirstBare},${scram.serverFirst},${final[1]}`;
      const proof = Buffer.from(final[3], 'base64');
      const clientKey = xor(proof, hmac(scram.mechanism, scram.credential.storedKey, authMessage));
      const stored = hash(scram.mechanism, clientKey);
      if (stored.length !== scram.credential.storedKey.length || !timingSafeEqual(stored, scram.credential.storedKey)) return fail;
      const verifier = hmac(scram.mechanism, scram.credential.serverKey, authMessage).toString('base64');
      return { errorCode: 0, errorMessage: null, authBytes: Buffer.from(`v=${verifier}`) };
    };

    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      splitter.push(chunk);
      for (let frame = splitter.next(); frame !== null; frame = splitter.next()) {
        const decoded = decodeRequest(frame);
        if (decoded.kind === 'api-versions-fallback') throw new Error('the client asked for an ApiVersions version above ours');
        const { header, api, body } = decoded;
        received.push({ apiKey: api.apiKey, apiVersion: header.apiVersion, body, frame: Buffer.from(frame) });
        const cid = header.correlationId;
        if (api.apiKey === ApiVersions.apiKey) {
          const max = options.apiVersionsMax ?? ApiVersions.maxVersion;
          if (header.apiVersion > max) {
            reply(ApiVersions, 0, cid, { errorCode: 35, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: max }] });
          } else {
            reply(ApiVersions, header.apiVersion, cid, { errorCode: 0, apiKeys: ranges, throttleTimeMs: 0 });
          }
        } else if (api.name === 'SaslHandshake') {
          const offered = options.mechanisms ?? ['SCRAM-SHA-256', 'SCRAM-SHA-512'];
          const requested = String(body.mechanism);
          if (offered.includes(requested)) mechanism = requested;
          reply(api, header.apiVersion, cid, { errorCode: offered.includes(requested) ? 0 : 33, mechanisms: offered });
        } else if (api.name === 'SaslAuthenticate') {
          reply(api, header.apiVersion, cid, { ...authenticate(body.authBytes as Buffer), sessionLifetimeMs: 0n });
        } else {
          const response = options.handle?.(api, header.apiVersion, body, cid, socket);
          if (response !== undefined) reply(api, header.apiVersion, cid, response);
        }
      }
    });
  };

  const server: Server = options.tls === undefined ? createNetServer(onSocket) : createTlsServer({ ...options.tls }, onSocket);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  const sockets = new Set<Socket>();
  server.on(options.tls === undefined ? 'connection' : 'secureConnection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  t.after(async () => {
    for (const s of sockets) s.destroy();
    server.close();
    await once(server, 'close');
  });
  return { port: address.port, received, connections: () => connections };
}
