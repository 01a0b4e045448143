import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MaskingPolicy } from '../governance/masking/policy.js';
import type { MaskingRegistry } from '../governance/masking/registry.js';
import { AclOperation } from '../protocol/acl.js';
import { readJsonObject, refuseMethod, sendJson, type AdminRouteGuard } from './admin-route-guard.js';

/**
 * The admin endpoint's masking routes, which `parapet mask add|list|remove` use (docs/governance/masking.md;
 * the Kafka protocol has no API for them):
 *
 *   GET    /v1/masking/policies         every policy in force, the config's and the CLI's    (DESCRIBE on the CLUSTER)
 *   POST   /v1/masking/policies         {"name","topics","principals"?,"exempt"?,"fields"}  (ALTER on the CLUSTER)
 *   DELETE /v1/masking/policies/NAME    a policy added with the CLI                          (ALTER on the CLUSTER)
 *
 * Authenticated, authorized, rate-bounded and audited by the guard every admin route shares
 * (./admin-route-guard.ts). A change applies from the next fetch on. The masking secret behind the
 * `hash` rule is never part of an answer.
 */
export interface MaskingRoutesOptions {
  readonly registry: MaskingRegistry;
}

/**
 * A policy at its bounds (1,000 principals of 512 characters, 64 fields of 256-character paths) is
 * about 600 KB of JSON; anything longer is refused unread.
 */
const MAX_BODY_BYTES = 1024 * 1024;
const BASE = '/v1/masking/policies';

export class MaskingRoutes {
  readonly #o: MaskingRoutesOptions;
  readonly #guard: AdminRouteGuard;

  constructor(options: MaskingRoutesOptions, guard: AdminRouteGuard) {
    this.#o = options;
    this.#guard = guard;
  }

  static handles(path: string): boolean {
    return path === BASE || path.startsWith(`${BASE}/`);
  }

  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const method = req.method ?? 'GET';
    const named = path.startsWith(`${BASE}/`) ? safeDecode(path.slice(BASE.length + 1)) : undefined;
    if (named === undefined && path !== BASE) {
      sendJson(res, 404, { error: `not found: GET or POST ${BASE}, DELETE ${BASE}/NAME` });
      return;
    }
    const allowed = named === undefined ? ['GET', 'POST'] : ['DELETE'];
    if (!allowed.includes(method)) {
      refuseMethod(res, allowed.join(', '), path);
      return;
    }
    const caller = await this.#guard.admit(req, res, path, method === 'GET' ? AclOperation.DESCRIBE : AclOperation.ALTER);
    if (caller === undefined) return;
    const answer = (status: number, body: object, detail: string) => {
      this.#guard.audit(caller, path, status, detail);
      sendJson(res, status, body);
    };
    const { registry } = this.#o;
    if (method === 'GET') {
      const policies = registry.list();
      answer(200, { policies, principalGroups: registry.principalGroups }, `${policies.length} masking policy(ies) listed`);
      return;
    }
    if (method === 'DELETE') {
      const removed = registry.remove(named ?? '');
      if (removed.kind === 'refused') answer(removed.status, { error: removed.message }, removed.message);
      else answer(200, { removed: removed.kind === 'removed' ? removed.name : '' }, `masking policy ${named ?? ''} removed`);
      return;
    }
    const body = await readJsonObject(req, MAX_BODY_BYTES);
    const policy = typeof body === 'string' ? body : policyOf(body);
    if (typeof policy === 'string') {
      answer(400, { error: policy }, policy);
      return;
    }
    const added = registry.add(policy, caller.principal);
    if (added.kind === 'refused') answer(added.status, { error: added.message }, added.message.slice(0, 500));
    else if (added.kind === 'added') answer(201, { policy: added.policy }, `masking policy ${policy.name} added (${policy.fields.length} field(s) on ${policy.topics.join(', ').slice(0, 200)})`);
  }
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

function strings(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v) : undefined;
}

/** The body as a policy's shape (its content is checked by the registry), or what is wrong with it. */
function policyOf(body: Record<string, unknown>): MaskingPolicy | string {
  const usage = 'send {"name":"…","topics":["…"],"fields":[{"path":"card.number","rule":"keep-last 4"}]} with optional "principals" and "exempt" lists';
  const { name, topics, principals, exempt, fields } = body;
  if (typeof name !== 'string' || strings(topics) === undefined || !Array.isArray(fields)) return usage;
  if ((principals !== undefined && strings(principals) === undefined) || (exempt !== undefined && strings(exempt) === undefined)) return `"principals" and "exempt" are lists of strings: ${usage}`;
  const parsed: MaskingPolicy['fields'][number][] = [];
  for (const f of fields as unknown[]) {
    if (typeof f !== 'object' || f === null) return usage;
    const { path, rule, part } = f as Record<string, unknown>;
    if (typeof path !== 'string' || typeof rule !== 'string' || (part !== undefined && part !== 'value' && part !== 'key')) return `each field is {"path":"…","rule":"…","part":"value"|"key"}`;
    parsed.push({ path, rule, ...(part === undefined ? {} : { part }) });
  }
  return {
    name,
    topics: strings(topics) ?? [],
    ...(principals === undefined ? {} : { principals: strings(principals) ?? [] }),
    ...(exempt === undefined ? {} : { exempt: strings(exempt) ?? [] }),
    fields: parsed,
  };
}
