import type { IncomingMessage, ServerResponse } from 'node:http';
import { AclOperation, aclOperationName, CLUSTER_RESOURCE_NAME, ResourceType } from '../protocol/acl.js';
import {
  httpStatusOf,
  invalidVersion,
  isRefusal,
  parseVersionSpec,
  RegistryErrorCode,
  type RegistryOutcome,
  type SchemaInput,
  type SchemaRegistry,
  type SubjectVersion,
  type VersionSpec,
} from '../schemas/registry.js';
import { SCHEMA_TYPES, type RegisteredSchema, type SchemaReference, type SchemaType } from '../schemas/types.js';
import type { TokenBucket } from '../token-bucket.js';
import { readJsonBody, type AdminCaller, type AdminRouteGuard } from './admin-route-guard.js';

/**
 * The schema registry's REST routes on the admin endpoint: the subset of Confluent's Schema Registry
 * API that the serializers use (docs.confluent.io/platform/current/schema-registry/develop/api.html),
 * at the same paths, so a client is pointed at `https://broker:9644` as it would be at a registry:
 *
 *   GET    /schemas/types
 *   GET    /schemas/ids/{id}[/schema|/versions]
 *   GET    /subjects                                  ?deleted=true, ?subjectPrefix=
 *   GET    /subjects/{s}/versions                     ?deleted=true
 *   POST   /subjects/{s}/versions                     register
 *   POST   /subjects/{s}                              look up   ?deleted=true
 *   GET    /subjects/{s}/versions/{v|latest|-1}[/schema]   ?deleted=true
 *   DELETE /subjects/{s}[/versions/{v}]               ?permanent=true
 *   POST   /compatibility/subjects/{s}/versions[/{v|latest}]   ?verbose=true
 *   GET|PUT|DELETE /config[/{s}]                      ?defaultToGlobal=true
 *   GET|PUT|DELETE /mode[/{s}]                        (DELETE on a subject only)
 *
 * Every request passes the guard's authentication (HTTP Basic of a SCRAM user, the bearer token, or the
 * mTLS principal) under the registry's own rate, then the ACLs of the SUBJECT resource (Parapet's type
 * 100): READ to read a subject's versions or look a schema up (an id: READ on a subject that holds it),
 * WRITE to register, DELETE to delete, ALTER to change its config or mode, DESCRIBE to see it listed or
 * read its settings. The global config and mode need DESCRIBE_CONFIGS / ALTER_CONFIGS on the CLUSTER.
 * Answers and errors are Confluent's JSON (`{"error_code":40401,"message":"…"}`); 401 is 40101, 403 40301,
 * 429 42901. Every change, and every refusal of the ACLs, is audited (`admin-request`) with the subject
 * and the id, never the schema's text; successful reads are not, as serializers read at every start.
 */
export interface SchemaRegistryRoutesOptions {
  readonly registry: SchemaRegistry;
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';
const ROOTS = new Set(['schemas', 'subjects', 'config', 'mode', 'compatibility']);

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** What a request asks for, once its path is matched. */
type Route =
  | { readonly kind: 'types' }
  | { readonly kind: 'schema-by-id'; readonly id: number; readonly part: 'whole' | 'schema' | 'versions' }
  | { readonly kind: 'subjects' }
  | { readonly kind: 'subject'; readonly subject: string }
  | { readonly kind: 'versions'; readonly subject: string }
  | { readonly kind: 'version'; readonly subject: string; readonly version: string; readonly raw: boolean }
  | { readonly kind: 'compatibility'; readonly subject: string; readonly version: string | undefined }
  | { readonly kind: 'config'; readonly subject: string | null }
  | { readonly kind: 'mode'; readonly subject: string | null };

/** The methods each route answers. */
const METHODS: Readonly<Record<Route['kind'], readonly Method[]>> = {
  types: ['GET'],
  'schema-by-id': ['GET'],
  subjects: ['GET'],
  subject: ['POST', 'DELETE'],
  versions: ['GET', 'POST'],
  version: ['GET', 'DELETE'],
  compatibility: ['POST'],
  config: ['GET', 'PUT', 'DELETE'],
  mode: ['GET', 'PUT', 'DELETE'],
};

/** An answer in Confluent's error shape, thrown from deep in a route and sent by `handle`. */
class Answer extends Error {
  override readonly name = 'Answer';
  constructor(
    readonly status: number,
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

export class SchemaRegistryRoutes {
  readonly #registry: SchemaRegistry;
  readonly #guard: AdminRouteGuard;
  readonly #bucket: TokenBucket;
  readonly #maxRequestBytes: number;

  constructor(options: SchemaRegistryRoutesOptions, guard: AdminRouteGuard) {
    this.#registry = options.registry;
    this.#guard = guard;
    const limits = options.registry.limits;
    // Its own bucket: serializers ask at every start, far more often than an operator's CLI does.
    this.#bucket = guard.bucket(limits.requestsPerSecond, limits.requestBurst);
    this.#maxRequestBytes = limits.maxRequestBytes;
  }

  /** Whether the path is one of the registry's (its first segment). */
  static handles(path: string): boolean {
    return ROOTS.has(path.split('/', 2)[1] ?? '');
  }

  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const route = matchRoute(path);
    if (route === undefined) {
      sendError(res, new Answer(404, 404, 'HTTP 404 Not Found'));
      return;
    }
    const method = req.method ?? 'GET';
    if (!(METHODS[route.kind] as readonly string[]).includes(method)) {
      res.setHeader('Allow', METHODS[route.kind].join(', '));
      sendError(res, new Answer(405, 405, 'HTTP 405 Method Not Allowed'));
      return;
    }
    const who = await this.#guard.identify(req, path, this.#bucket);
    if (who.kind === 'limited') {
      res.setHeader('Retry-After', '1');
      sendError(res, new Answer(429, 42901, 'too many requests to the schema registry; retry in a second'));
      return;
    }
    if (who.kind === 'unauthenticated') {
      res.setHeader('WWW-Authenticate', 'Basic realm="parapet", charset="UTF-8"');
      sendError(res, new Answer(401, 40101, 'Unauthorized: send the credentials of a SCRAM user (HTTP Basic), the bearer token, or a client certificate'));
      return;
    }
    const query = new URL(req.url ?? '/', 'http://registry').searchParams;
    const request: Request = { req, res, path, caller: who.caller, method: method as Method, query };
    try {
      await this.#dispatch(request, route);
    } catch (err) {
      if (!(err instanceof Answer)) throw err;
      sendError(res, err);
    }
  }

  async #dispatch(r: Request, route: Route): Promise<void> {
    const registry = this.#registry;
    const deleted = flag(r.query, 'deleted');
    switch (route.kind) {
      case 'types':
        send(r.res, 200, registry.types());
        return;
      case 'schema-by-id': {
        const schema = registry.schemaById(route.id);
        const holders = registry.versionsOfId(route.id, true);
        if (schema === undefined) throw new Answer(404, RegistryErrorCode.SCHEMA_NOT_FOUND, `Schema ${route.id} not found`);
        if (!holders.some((h) => this.#may(r, AclOperation.READ, h.subject))) {
          this.#deny(r, AclOperation.READ, `any subject that holds schema id ${route.id}`);
        }
        if (route.part === 'schema') sendRaw(r.res, schema.schema);
        else if (route.part === 'versions') send(r.res, 200, registry.versionsOfId(route.id, deleted).filter((h) => this.#may(r, AclOperation.DESCRIBE, h.subject)));
        else send(r.res, 200, schemaJson(schema));
        return;
      }
      case 'subjects': {
        const prefix = r.query.get('subjectPrefix') ?? '';
        send(r.res, 200, registry.subjects(deleted).filter((s) => s.startsWith(prefix) && this.#may(r, AclOperation.DESCRIBE, s)));
        return;
      }
      case 'versions':
        if (r.method === 'GET') {
          this.#need(r, AclOperation.READ, route.subject);
          send(r.res, 200, ok(registry.versions(route.subject, deleted)));
          return;
        }
        await this.#register(r, route.subject);
        return;
      case 'subject':
        if (r.method === 'POST') {
          this.#need(r, AclOperation.READ, route.subject);
          const input = schemaInput(await this.#body(r));
          send(r.res, 200, versionJson(ok(registry.lookup(route.subject, input, deleted))));
          return;
        }
        this.#need(r, AclOperation.DELETE, route.subject);
        send(r.res, 200, this.#change(r, `subject '${route.subject}' deleted${flag(r.query, 'permanent') ? ' permanently' : ''}`, registry.deleteSubject(route.subject, flag(r.query, 'permanent')), (v) => `versions ${JSON.stringify(v)}`));
        return;
      case 'version': {
        const spec = versionSpec(route.version);
        if (r.method === 'GET') {
          this.#need(r, AclOperation.READ, route.subject);
          const found = ok(registry.version(route.subject, spec, deleted));
          if (route.raw) sendRaw(r.res, found.schema);
          else send(r.res, 200, versionJson(found));
          return;
        }
        this.#need(r, AclOperation.DELETE, route.subject);
        const permanent = flag(r.query, 'permanent');
        const held = registry.version(route.subject, spec, true);
        const id = isRefusal(held) ? undefined : held.ok.id;
        send(r.res, 200, this.#change(r, `subject '${route.subject}' version ${route.version} deleted${permanent ? ' permanently' : ''}`, registry.deleteVersion(route.subject, spec, permanent), (v) => `version ${v}${id === undefined ? '' : ` (id ${id})`}`));
        return;
      }
      case 'compatibility': {
        this.#need(r, AclOperation.READ, route.subject);
        const spec = route.version === undefined ? undefined : versionSpec(route.version);
        const input = schemaInput(await this.#body(r));
        const verdict = ok(registry.testCompatibility(route.subject, spec, input));
        send(r.res, 200, flag(r.query, 'verbose') ? { is_compatible: verdict.compatible, messages: verdict.messages } : { is_compatible: verdict.compatible });
        return;
      }
      case 'config':
      case 'mode':
        await this.#settings(r, route.kind, route.subject);
        return;
    }
  }

  async #register(r: Request, subject: string): Promise<void> {
    this.#need(r, AclOperation.WRITE, subject);
    const input = schemaInput(await this.#body(r));
    const outcome = this.#registry.register(subject, input);
    const done = this.#change(r, `register under subject '${subject}'`, outcome, (v) => (v.created ? `version ${v.version} id ${v.id} registered` : `already version ${v.version} id ${v.id}`));
    send(r.res, 200, { id: done.id });
  }

  async #settings(r: Request, key: 'config' | 'mode', subject: string | null): Promise<void> {
    const registry = this.#registry;
    const field = key === 'config' ? 'compatibilityLevel' : 'mode';
    const what = `${key === 'config' ? 'compatibility' : 'mode'} of ${subject === null ? 'the registry' : `subject '${subject}'`}`;
    if (r.method === 'GET') {
      if (subject === null) this.#needCluster(r, AclOperation.DESCRIBE_CONFIGS);
      else this.#need(r, AclOperation.DESCRIBE, subject);
      const defaultToGlobal = flag(r.query, 'defaultToGlobal');
      send(r.res, 200, { [field]: ok(key === 'config' ? registry.compatibility(subject, defaultToGlobal) : registry.mode(subject, defaultToGlobal)) });
      return;
    }
    if (subject === null) this.#needCluster(r, AclOperation.ALTER_CONFIGS);
    else this.#need(r, AclOperation.ALTER, subject);
    if (r.method === 'DELETE') {
      if (key === 'mode' && subject === null) throw new Answer(405, 405, 'HTTP 405 Method Not Allowed');
      const removed = key === 'config' ? registry.deleteCompatibility(subject) : registry.deleteMode(subject ?? '');
      send(r.res, 200, { [field]: this.#change(r, `${what} removed`, removed, (v) => `was ${v}`) });
      return;
    }
    const body = await this.#body(r);
    const value = key === 'config' ? body.compatibility : body.mode;
    const set = key === 'config' ? registry.setCompatibility(subject, value) : registry.setMode(subject, value);
    send(r.res, 200, { [key === 'config' ? 'compatibility' : 'mode']: this.#change(r, `${what} set`, set, (v) => `to ${v}`) });
  }

  /** The outcome of a change, audited either way (`what` names the subject and `detail` the ids, never a schema's text). */
  #change<T>(r: Request, what: string, outcome: RegistryOutcome<T>, detail: (value: T) => string): T {
    if (isRefusal(outcome)) {
      const status = httpStatusOf(outcome.errorCode);
      this.#guard.audit(r.caller, r.path, status, `${what}: refused with error ${outcome.errorCode}`);
      throw new Answer(status, outcome.errorCode, outcome.message);
    }
    this.#guard.audit(r.caller, r.path, 200, `${what}: ${detail(outcome.ok)}`);
    return outcome.ok;
  }

  #may(r: Request, operation: AclOperation, subject: string): boolean {
    return this.#guard.authorize(r.caller, r.req, operation, ResourceType.SUBJECT, subject);
  }

  #need(r: Request, operation: AclOperation, subject: string): void {
    if (!this.#may(r, operation, subject)) this.#deny(r, operation, `subject '${subject}'`);
  }

  #needCluster(r: Request, operation: AclOperation): void {
    if (!this.#guard.authorize(r.caller, r.req, operation, ResourceType.CLUSTER, CLUSTER_RESOURCE_NAME)) this.#deny(r, operation, 'the CLUSTER');
  }

  #deny(r: Request, operation: AclOperation, on: string): never {
    const name = aclOperationName(operation) ?? String(operation);
    this.#guard.audit(r.caller, r.path, 403, `${name} on ${on} is not allowed`);
    throw new Answer(403, 40301, `Forbidden: ${r.caller.principal} may not ${name} ${on} (an ACL on it, or a super user, is needed)`);
  }

  /** The JSON object of the body, at most maxRequestBytes (the rest is not read). */
  async #body(r: Request): Promise<Record<string, unknown>> {
    const declared = Number(r.req.headers['content-length'] ?? 0);
    if (declared > this.#maxRequestBytes) throw new Answer(413, 413, `the request body must be at most ${this.#maxRequestBytes} bytes (schemaRegistry.limits.maxRequestBytes)`);
    const body = await readJsonBody(r.req, this.#maxRequestBytes);
    if (body.kind === 'object') return body.value;
    if (body.kind === 'too-large') throw new Answer(413, 413, `the request body must be at most ${this.#maxRequestBytes} bytes (schemaRegistry.limits.maxRequestBytes)`);
    const status = body.kind === 'not-json' ? 400 : 422;
    throw new Answer(status, status, body.message);
  }
}

interface Request {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly path: string;
  readonly caller: AdminCaller;
  readonly method: Method;
  readonly query: URLSearchParams;
}

/** The route of a path, its segments percent-decoded (a subject may hold `/` as %2F); undefined: 404. */
function matchRoute(path: string): Route | undefined {
  let parts: string[];
  try {
    parts = path.split('/').slice(1).map(decodeURIComponent);
  } catch {
    return undefined;
  }
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  const [root, a, b, c, d] = parts;
  const n = parts.length;
  switch (root) {
    case 'schemas':
      if (n === 2 && a === 'types') return { kind: 'types' };
      if (a === 'ids' && b !== undefined && /^[1-9][0-9]{0,9}$/.test(b) && Number(b) <= 2 ** 31 - 1) {
        if (n === 3) return { kind: 'schema-by-id', id: Number(b), part: 'whole' };
        if (n === 4 && (c === 'schema' || c === 'versions')) return { kind: 'schema-by-id', id: Number(b), part: c };
      }
      return undefined;
    case 'subjects':
      if (n === 1) return { kind: 'subjects' };
      if (a === undefined || a === '') return undefined;
      if (n === 2) return { kind: 'subject', subject: a };
      if (b !== 'versions') return undefined;
      if (n === 3) return { kind: 'versions', subject: a };
      if (c !== undefined && (n === 4 || (n === 5 && d === 'schema'))) return { kind: 'version', subject: a, version: c, raw: n === 5 };
      return undefined;
    case 'compatibility':
      if (a !== 'subjects' || b === undefined || b === '' || c !== 'versions') return undefined;
      if (n === 4) return { kind: 'compatibility', subject: b, version: undefined };
      if (n === 5 && d !== undefined) return { kind: 'compatibility', subject: b, version: d };
      return undefined;
    case 'config':
    case 'mode':
      if (n === 1) return { kind: root, subject: null };
      if (n === 2 && a !== undefined && a !== '') return { kind: root, subject: a };
      return undefined;
    default:
      return undefined;
  }
}

function versionSpec(text: string): VersionSpec {
  const spec = parseVersionSpec(text);
  if (spec === undefined) {
    const refusal = invalidVersion(text);
    throw new Answer(422, refusal.errorCode, refusal.message);
  }
  return spec;
}

function ok<T>(outcome: RegistryOutcome<T>): T {
  if (isRefusal(outcome)) throw new Answer(httpStatusOf(outcome.errorCode), outcome.errorCode, outcome.message);
  return outcome.ok;
}

/** `?name=true` (Confluent's boolean query parameters). */
function flag(query: URLSearchParams, name: string): boolean {
  return query.get(name)?.toLowerCase() === 'true';
}

const invalidSchema = (message: string) => new Answer(422, RegistryErrorCode.INVALID_SCHEMA, message);

/** The schema of a register, lookup or compatibility body: `schema`, `schemaType` (default AVRO), `references`. */
function schemaInput(body: Record<string, unknown>): SchemaInput {
  const { schema, schemaType, references } = body;
  if (typeof schema !== 'string' || schema.trim() === '') throw invalidSchema('Empty schema');
  let type: SchemaType = 'AVRO';
  if (schemaType !== undefined && schemaType !== null) {
    const known = typeof schemaType === 'string' ? SCHEMA_TYPES.find((t) => t === schemaType.toUpperCase()) : undefined;
    if (known === undefined) throw invalidSchema(`unsupported schema type ${JSON.stringify(schemaType).slice(0, 40)}`);
    type = known;
  }
  const refs: SchemaReference[] = [];
  if (references !== undefined && references !== null) {
    if (!Array.isArray(references)) throw invalidSchema('references must be an array of {name, subject, version}');
    for (const ref of references as unknown[]) {
      const { name, subject, version } = (ref ?? {}) as Record<string, unknown>;
      if (typeof name !== 'string' || name === '' || typeof subject !== 'string' || subject === '' || typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
        throw invalidSchema('a reference is {"name": "…", "subject": "…", "version": N} with N ≥ 1');
      }
      refs.push({ name, subject, version });
    }
  }
  return { schema, schemaType: type, references: refs };
}

/** Confluent's schema JSON: `schemaType` left out for AVRO, `references` only when there are any. */
function schemaJson(s: RegisteredSchema): Record<string, unknown> {
  return {
    schema: s.schema,
    ...(s.schemaType === 'AVRO' ? {} : { schemaType: s.schemaType }),
    ...(s.references.length === 0 ? {} : { references: s.references.map((r) => ({ name: r.name, subject: r.subject, version: r.version })) }),
  };
}

function versionJson(v: SubjectVersion): Record<string, unknown> {
  return { subject: v.subject, version: v.version, id: v.id, ...schemaJson(v) };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': CONTENT_TYPE, 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  res.end(text);
}

/** A schema's own text as the body (`…/schema` routes): Confluent answers the schema itself, not a JSON string of it. */
function sendRaw(res: ServerResponse, schema: string): void {
  res.writeHead(200, { 'Content-Type': CONTENT_TYPE, 'Content-Length': Buffer.byteLength(schema), 'Cache-Control': 'no-store' });
  res.end(schema);
}

function sendError(res: ServerResponse, answer: Answer): void {
  send(res, answer.status, { error_code: answer.errorCode, message: answer.message });
}
