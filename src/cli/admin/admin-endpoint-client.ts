import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ClientError } from '../../client/errors.js';
import type { Secret } from '../../client/client-config.js';
import type { AdminEndpointConfig } from '../../metrics/admin-endpoint-config.js';

/**
 * A small client of the broker's admin HTTP endpoint (the routes behind src/metrics/admin-route-guard.ts)
 * for the commands that have no Kafka API: it sends the admin's SCRAM credentials (HTTP Basic) or the
 * endpoint's bearer token, and turns every failure into one explained line. Credentials never appear in an error.
 */
export type EndpointCredentials = { readonly kind: 'basic'; readonly user: string; readonly password: Secret } | { readonly kind: 'bearer'; readonly token: Secret };

export interface EndpointTarget {
  readonly url: URL;
  /** PEM CA bundle to verify an https endpoint with; the system's when absent. */
  readonly caFile?: string;
}

/** The largest answer read: a list of many thousand sessions. */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
const TIMEOUT_MS = 10_000;

/** `http://127.0.0.1:9644` from the data directory's adminEndpoint settings. */
export function endpointUrlOf(config: AdminEndpointConfig): URL {
  if (!config.enabled) throw new ClientError('the admin endpoint is disabled in this data directory\'s config (adminEndpoint.enabled: false): enable it to list or close sessions');
  if (config.port === 0) throw new ClientError('the admin endpoint port is 0 (chosen at start) in this data directory\'s config: pass --admin-url http://HOST:PORT');
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return new URL(`${config.tls === undefined ? 'http' : 'https'}://${host}:${config.port}`);
}

/**
 * The endpoint bounds its authenticated routes to a few requests a second for all clients together
 * (src/metrics/admin-route-guard.ts) and says 429 with Retry-After past that: a script running several
 * commands in a row waits its turn, a few times, rather than failing.
 */
const RETRIES_WHEN_BUSY = 4;
const MAX_RETRY_WAIT_MS = 2000;

export async function callEndpoint(target: EndpointTarget, credentials: EndpointCredentials, method: 'GET' | 'POST' | 'DELETE', path: string, body?: object): Promise<unknown> {
  for (let attempt = 0; ; attempt++) {
    const answer = await callOnce(target, credentials, method, path, body);
    if (answer.status !== 429 || attempt >= RETRIES_WHEN_BUSY) return interpret(target, credentials, answer);
    const seconds = Number(answer.retryAfter ?? '1');
    await new Promise((resolve) => setTimeout(resolve, Math.min(MAX_RETRY_WAIT_MS, Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 1000)));
  }
}

interface Answer {
  readonly status: number;
  readonly text: string;
  readonly retryAfter: string | undefined;
}

async function callOnce(target: EndpointTarget, credentials: EndpointCredentials, method: 'GET' | 'POST' | 'DELETE', path: string, body?: object): Promise<Answer> {
  const url = new URL(path, target.url);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
  const authorization =
    credentials.kind === 'basic' ? `Basic ${Buffer.from(`${credentials.user}:${credentials.password.reveal()}`, 'utf8').toString('base64')}` : `Bearer ${credentials.token.reveal()}`;
  const headers: Record<string, string | number> = { Authorization: authorization, Accept: 'application/json' };
  if (payload !== undefined) {
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = payload.length;
  }
  let ca: Buffer | undefined;
  if (url.protocol === 'https:' && target.caFile !== undefined) {
    try {
      ca = readFileSync(target.caFile);
    } catch (err) {
      throw new ClientError(`cannot read the CA file ${target.caFile} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
  }
  const where = `the admin endpoint at ${target.url.origin}`;
  return new Promise<Answer>((resolve, reject) => {
    const options = { method, headers, timeout: TIMEOUT_MS, ...(ca === undefined ? {} : { ca }) };
    const done = (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES) {
          res.destroy(new Error(`the answer is larger than ${MAX_RESPONSE_BYTES} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        const retryAfter = res.headers['retry-after'];
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), retryAfter });
      });
      res.on('error', reject);
    };
    const req = url.protocol === 'https:' ? httpsRequest(url, options, done) : httpRequest(url, options, done);
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'ECONNREFUSED' ? 'connection refused (is the broker running? is the endpoint enabled, at this address? see --admin-url)' : (err.code ?? err.message);
      reject(new ClientError(`cannot reach ${where}: ${why}`));
    });
    req.end(payload);
  });
}

function interpret(target: EndpointTarget, credentials: EndpointCredentials, response: Answer): unknown {
  const where = `the admin endpoint at ${target.url.origin}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.text);
  } catch {
    throw new ClientError(`${where} answered HTTP ${response.status} with something other than JSON: is it a Parapet broker of this version?`);
  }
  if (response.status >= 200 && response.status < 300) return parsed;
  const error = typeof parsed === 'object' && parsed !== null && typeof (parsed as { error?: unknown }).error === 'string' ? (parsed as { error: string }).error : `HTTP ${response.status}`;
  if (response.status === 401) throw new ClientError(`${where} refused the credentials (${credentials.kind === 'basic' ? `user ${credentials.user}` : 'bearer token'}): ${error}`);
  throw new ClientError(`${where}: ${error}`);
}
