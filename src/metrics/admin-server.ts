import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Logger } from '../logger.js';
import { ConfigError } from '../config-error.js';
import { parseSecretRef, readSecret } from '../secret-ref.js';
import type { AdminEndpointConfig } from './admin-endpoint-config.js';
import { evaluateReadiness, type ReadinessCheck } from './readiness.js';
import { SessionRoutes, type SessionRoutesOptions } from './admin-sessions.js';
import { ContainmentRoutes, type ContainmentRoutesOptions } from './admin-containment.js';
import { AccessRoutes, type AccessRoutesOptions } from './admin-access.js';
import { BackupRoutes, type BackupRoutesOptions } from './admin-backup.js';
import { MaskingRoutes, type MaskingRoutesOptions } from './admin-masking.js';
import { AdminRouteGuard, type AdminRouteGuardOptions } from './admin-route-guard.js';
import { SchemaRegistryRoutes, type SchemaRegistryRoutesOptions } from './admin-schema-registry.js';

/**
 * What the endpoint lets one client hold (docs/operations/monitoring.md, "The endpoint's bounds"): a
 * scraper needs one connection and a few small headers; anything slower or bigger is cut.
 */
export interface AdminServerLimits {
  /** Open connections at once; more are closed as they arrive. */
  readonly maxConnections: number;
  /** The request headers must have arrived within this (slowloris). */
  readonly headersTimeoutMs: number;
  /** The whole request must have arrived within this. */
  readonly requestTimeoutMs: number;
  /** A connection with nothing to do for this long is closed (an idle socket, a finished keep-alive). */
  readonly idleTimeoutMs: number;
  /** Bytes of request headers. */
  readonly maxHeaderBytes: number;
  readonly maxHeadersCount: number;
}

export const DEFAULT_ADMIN_SERVER_LIMITS: AdminServerLimits = {
  maxConnections: 64,
  headersTimeoutMs: 5000,
  requestTimeoutMs: 10_000,
  idleTimeoutMs: 10_000,
  maxHeaderBytes: 8 * 1024,
  maxHeadersCount: 32,
};

export interface AdminServerOptions {
  readonly config: AdminEndpointConfig;
  /** The exposition text and its content type (BrokerMetrics). */
  readonly metrics: { metrics(): Promise<string>; readonly contentType: string };
  /** Evaluated at every /readyz, in order. */
  readonly checks: () => readonly ReadinessCheck[];
  readonly logger: Logger;
  readonly limits?: AdminServerLimits;
  /** The authenticated routes, behind one guard (./admin-route-guard.ts); absent: not served. */
  readonly routes?: AdminRoutesOptions;
}

export interface AdminRoutesOptions {
  /** How callers are authenticated, authorized and rate-bounded; the bearer token comes from the config. */
  readonly guard: Omit<AdminRouteGuardOptions, 'tokenDigest'>;
  /** /v1/sessions (./admin-sessions.ts); absent: not served. */
  readonly sessions?: SessionRoutesOptions;
  /** The incident-response routes (./admin-containment.ts); absent: not served. */
  readonly containment?: ContainmentRoutesOptions;
  /** /v1/access and /v1/logins (./admin-access.ts); absent: not served. */
  readonly access?: AccessRoutesOptions;
  /** /v1/backup/capture, renew and release (./admin-backup.ts); absent: not served. */
  readonly backup?: BackupRoutesOptions;
  /** /v1/masking/policies (./admin-masking.ts); absent: not served. */
  readonly masking?: MaskingRoutesOptions;
  /** The schema registry's Confluent-compatible routes (./admin-schema-registry.ts), at their own rate; absent: not served. */
  readonly schemaRegistry?: SchemaRegistryRoutesOptions;
}

/**
 * The HTTP(S) admin endpoint: GET /metrics (Prometheus text format), /healthz (200 while the process
 * runs) and /readyz (200 when every readiness check passes, else 503 naming the failing ones). With a
 * bearer token configured every path needs it, compared in constant time; the token is never logged.
 */
export class AdminServer {
  readonly #o: AdminServerOptions;
  readonly #server: Server;
  /** SHA-256 of the expected token: comparing digests takes the same time whatever the lengths. */
  readonly #tokenDigest: Buffer | undefined;
  readonly #sessions: SessionRoutes | undefined;
  readonly #containment: ContainmentRoutes | undefined;
  readonly #access: AccessRoutes | undefined;
  readonly #backup: BackupRoutes | undefined;
  readonly #masking: MaskingRoutes | undefined;
  readonly #schemaRegistry: SchemaRegistryRoutes | undefined;
  #address: { host: string; port: number } | undefined;

  constructor(options: AdminServerOptions) {
    this.#o = options;
    const { config } = options;
    const limits = options.limits ?? DEFAULT_ADMIN_SERVER_LIMITS;
    this.#tokenDigest = config.bearerToken === undefined ? undefined : digest(readToken(config.bearerToken));
    const tokenDigest = this.#tokenDigest;
    const routes = options.routes;
    // One guard, so one rate bounds every authenticated route together.
    const guard = routes === undefined ? undefined : new AdminRouteGuard({ ...routes.guard, ...(tokenDigest === undefined ? {} : { tokenDigest }) });
    this.#sessions = guard === undefined || routes?.sessions === undefined ? undefined : new SessionRoutes(routes.sessions, guard);
    this.#containment = guard === undefined || routes?.containment === undefined ? undefined : new ContainmentRoutes(routes.containment, guard);
    this.#access = guard === undefined || routes?.access === undefined ? undefined : new AccessRoutes(routes.access, guard);
    this.#backup = guard === undefined || routes?.backup === undefined ? undefined : new BackupRoutes(routes.backup, guard);
    this.#masking = guard === undefined || routes?.masking === undefined ? undefined : new MaskingRoutes(routes.masking, guard);
    this.#schemaRegistry = guard === undefined || routes?.schemaRegistry === undefined ? undefined : new SchemaRegistryRoutes(routes.schemaRegistry, guard);
    const serverOptions = {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: Math.min(5000, limits.idleTimeoutMs),
      maxHeaderSize: limits.maxHeaderBytes,
      // How often the timeouts above are checked (Node's default, 30 s, would let a slow client stay that long).
      connectionsCheckingInterval: Math.max(100, Math.min(1000, limits.headersTimeoutMs / 2)),
    };
    const handle = (req: IncomingMessage, res: ServerResponse) => {
      this.#handle(req, res).catch((err: unknown) => {
        options.logger.error({ err: err instanceof Error ? err.message : String(err) }, 'admin endpoint: request failed');
        if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n');
        else res.destroy();
      });
    };
    const tls = config.tls;
    if (tls === undefined) {
      this.#server = createHttpServer(serverOptions, handle);
    } else {
      const mutual = tls.clientAuth === 'required';
      this.#server = createHttpsServer(
        {
          ...serverOptions,
          cert: readPem(tls.certFile, 'adminEndpoint.tls.certFile'),
          key: readPem(tls.keyFile, 'adminEndpoint.tls.keyFile'),
          ...(tls.caFile === undefined ? {} : { ca: readPem(tls.caFile, 'adminEndpoint.tls.caFile') }),
          minVersion: 'TLSv1.2',
          requestCert: mutual,
          rejectUnauthorized: mutual,
        },
        handle,
      );
    }
    this.#server.maxConnections = limits.maxConnections;
    this.#server.maxHeadersCount = limits.maxHeadersCount;
    // A socket idle this long (connected and silent, or between keep-alive requests) is destroyed.
    this.#server.setTimeout(limits.idleTimeoutMs, (socket) => socket.destroy());
  }

  /** Where it listens, once started. */
  get address(): { host: string; port: number } | undefined {
    return this.#address;
  }

  /** The URL to scrape, once started (`http://127.0.0.1:9644`). */
  get url(): string | undefined {
    if (this.#address === undefined) return undefined;
    const host = this.#address.host.includes(':') ? `[${this.#address.host}]` : this.#address.host;
    return `${this.#o.config.tls === undefined ? 'http' : 'https'}://${host}:${this.#address.port}`;
  }

  async start(): Promise<{ host: string; port: number }> {
    const { host, port } = this.#o.config;
    await new Promise<void>((resolve, reject) => {
      const failed = (err: NodeJS.ErrnoException) => {
        const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
        const why = err.code === 'EADDRINUSE' ? 'the address is already in use' : err.code === 'EADDRNOTAVAIL' ? 'it is not an address of this machine' : (err.code ?? err.message);
        reject(new ConfigError(`the admin endpoint cannot listen on ${where}: ${why}; choose another with adminEndpoint.host/port or --admin-listen HOST:PORT (port 0 picks a free one)`));
      };
      this.#server.once('error', failed);
      this.#server.listen(port, host, () => {
        this.#server.off('error', failed);
        resolve();
      });
    });
    const bound = this.#server.address();
    if (bound === null || typeof bound === 'string') throw new Error('unexpected admin endpoint address');
    this.#address = { host, port: bound.port };
    return this.#address;
  }

  async close(): Promise<void> {
    if (!this.#server.listening) return;
    const closed = new Promise<void>((resolve) => {
      this.#server.close(() => {
        resolve();
      });
    });
    this.#server.closeAllConnections();
    await closed;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    // The session routes authenticate every request themselves (a SCRAM user or the token), loopback or not.
    if (this.#sessions !== undefined && SessionRoutes.handles(path)) {
      await this.#sessions.handle(req, res, path);
      return;
    }
    if (this.#containment !== undefined && ContainmentRoutes.handles(path)) {
      await this.#containment.handle(req, res, path);
      return;
    }
    if (this.#access !== undefined && AccessRoutes.handles(path)) {
      await this.#access.handle(req, res, path);
      return;
    }
    if (this.#backup !== undefined && BackupRoutes.handles(path)) {
      await this.#backup.handle(req, res, path);
      return;
    }
    if (this.#masking !== undefined && MaskingRoutes.handles(path)) {
      await this.#masking.handle(req, res, path);
      return;
    }
    if (this.#schemaRegistry !== undefined && SchemaRegistryRoutes.handles(path)) {
      await this.#schemaRegistry.handle(req, res, path);
      return;
    }
    if (!this.#authorized(req)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="parapet"');
      send(res, 401, 'text/plain', 'unauthorized: send Authorization: Bearer <token>\n');
      return;
    }
    if (path !== '/metrics' && path !== '/healthz' && path !== '/readyz') {
      send(res, 404, 'text/plain', 'not found: GET /metrics, /healthz or /readyz\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      send(res, 405, 'text/plain', 'method not allowed\n');
      return;
    }
    if (path === '/healthz') {
      send(res, 200, 'text/plain', 'ok\n');
    } else if (path === '/readyz') {
      const report = evaluateReadiness(this.#o.checks());
      send(res, report.ready ? 200 : 503, 'application/json', `${JSON.stringify(report)}\n`);
    } else {
      send(res, 200, this.#o.metrics.contentType, await this.#o.metrics.metrics());
    }
  }

  #authorized(req: IncomingMessage): boolean {
    if (this.#tokenDigest === undefined) return true;
    const header = req.headers.authorization;
    const match = header === undefined ? null : /^Bearer (\S+)$/i.exec(header);
    const given = match?.[1];
    // Both sides are digests of the same length: the comparison's time tells nothing of the token.
    return given !== undefined && timingSafeEqual(digest(Buffer.from(given, 'utf8')), this.#tokenDigest);
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function digest(value: Buffer): Buffer {
  return createHash('sha256').update(value).digest();
}

/** The token, trimmed of the newline a file usually ends with; an empty one is refused. */
function readToken(ref: string): Buffer {
  const what = 'adminEndpoint.bearerToken';
  const token = readSecret(parseSecretRef(ref, what), what).toString('utf8').trim();
  if (token.length < 16) throw new ConfigError(`${what}: the token must be at least 16 characters (e.g. \`openssl rand -hex 32\`)`);
  if (/\s/.test(token)) throw new ConfigError(`${what}: the token must not contain spaces`);
  return Buffer.from(token, 'utf8');
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`${what}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}
