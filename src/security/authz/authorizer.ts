import { AclOperation, AclPermissionType, PatternType, WILDCARD_RESOURCE_NAME, aclOperationApplies, type ResourceType } from '../../protocol/acl.js';
import type { AuthorizationRequest, Authorizer, Principal } from '../types.js';
import type { AclBinding } from './acl-store.js';
import { parseClientAddress, parseHostPattern, type ClientAddress, type HostPattern } from './host-match.js';

/**
 * Kafka's StandardAuthorizer semantics (KIP-500's replacement of AclAuthorizer, same rules):
 * super users may do everything; otherwise the bindings of the request's resource type whose pattern
 * covers the name (LITERAL equal, LITERAL `*`, PREFIXED prefix), whose principal is the requester or
 * `User:*` and whose host covers the client are considered; any applying DENY denies, else any
 * applying ALLOW allows, else the request is denied. There is no `allow.everyone.if.no.acl.found`.
 */

/** Where the authorizer reads bindings from (AclStore); `generation` changes whenever they do. */
export interface AclBindingSource {
  readonly generation: number;
  bindings(): readonly AclBinding[];
}

export interface AclAuthorizerOptions {
  readonly acls: AclBindingSource;
  /** Principals allowed everything whatever the bindings say (Kafka's `super.users`). */
  readonly superUsers?: readonly Principal[];
  /** How many decisions to remember; the cache is emptied when it is full. Default 10 000. */
  readonly cacheSize?: number;
  /**
   * Longest cache key (principal, host and resource name together); a longer request is decided without
   * the cache. Default 4096, far below the 16,383 characters V8 hashes by content (longer keys collide).
   */
  readonly cacheKeyMaxLength?: number;
}

/** Why a request was allowed or denied, for the audit log and the least-privilege advisor. */
export type AuthorizationDecision =
  | { readonly allowed: true; readonly reason: 'super-user' }
  | { readonly allowed: true; readonly reason: 'allow'; readonly binding: AclBinding }
  | { readonly allowed: false; readonly reason: 'deny'; readonly binding: AclBinding }
  | { readonly allowed: false; readonly reason: 'no-match' };

const WILDCARD_PRINCIPAL: Principal = 'User:*';
/** Kafka's `Authorizer.authorizeByResourceType` first authorizes this made-up name (see authorizeAny). */
const PROBE_RESOURCE_NAME = 'hardcode';
const DEFAULT_CACHE_SIZE = 10_000;
const DEFAULT_CACHE_KEY_MAX_LENGTH = 4096;

const SUPER_USER: AuthorizationDecision = Object.freeze({ allowed: true, reason: 'super-user' });
const NO_MATCH: AuthorizationDecision = Object.freeze({ allowed: false, reason: 'no-match' });

interface Indexed {
  readonly binding: AclBinding;
  /** Null for a host that does not parse (AclStore refuses those; another source might not). */
  readonly host: HostPattern | null;
}

/** The bindings of one resource type, indexed by how their pattern can cover a resource name. */
interface TypeIndex {
  readonly all: Indexed[];
  readonly literal: Map<string, Indexed[]>;
  readonly wildcard: Indexed[];
  readonly prefixed: Map<string, Indexed[]>;
  /** The distinct prefix lengths, ascending: a lookup tries only these slices of the name. */
  prefixLengths: number[];
}

function push<K>(map: Map<K, Indexed[]>, key: K, entry: Indexed): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [entry]);
  else list.push(entry);
}

function buildIndex(bindings: readonly AclBinding[]): Map<ResourceType, TypeIndex> {
  const hosts = new Map<string, HostPattern | null>();
  const index = new Map<ResourceType, TypeIndex>();
  for (const binding of bindings) {
    let host = hosts.get(binding.host);
    if (host === undefined) {
      host = parseHostPattern(binding.host) ?? null;
      hosts.set(binding.host, host);
    }
    let forType = index.get(binding.resourceType);
    if (forType === undefined) {
      forType = { all: [], literal: new Map(), wildcard: [], prefixed: new Map(), prefixLengths: [] };
      index.set(binding.resourceType, forType);
    }
    const entry = { binding, host };
    forType.all.push(entry);
    if (binding.patternType === PatternType.PREFIXED) push(forType.prefixed, binding.resourceName, entry);
    else if (binding.resourceName === WILDCARD_RESOURCE_NAME) forType.wildcard.push(entry);
    else push(forType.literal, binding.resourceName, entry);
  }
  for (const forType of index.values()) {
    forType.prefixLengths = [...new Set([...forType.prefixed.keys()].map((p) => p.length))].sort((a, b) => a - b);
  }
  return index;
}

/**
 * Whether a binding's host covers the client. Whatever cannot be parsed fails closed: a client address
 * that does not parse (a listener bug, a socket already gone) needs `*` to be allowed and meets every
 * DENY; a binding host that does not parse allows nothing and denies everywhere.
 */
function hostApplies(entry: Indexed, client: ClientAddress | null): boolean {
  if (entry.host?.any === true) return true;
  if (entry.host === null || client === null) return entry.binding.permission === AclPermissionType.DENY;
  return entry.host.matches(client);
}

const principalApplies = (binding: AclBinding, principal: Principal): boolean =>
  binding.principal === principal || binding.principal === WILDCARD_PRINCIPAL;

export class AclAuthorizer implements Authorizer {
  readonly #acls: AclBindingSource;
  readonly #superUsers: ReadonlySet<string>;
  readonly #cacheSize: number;
  readonly #cacheKeyMaxLength: number;
  readonly #cache = new Map<string, AuthorizationDecision>();
  #generation = -1;
  #index = new Map<ResourceType, TypeIndex>();

  constructor(options: AclAuthorizerOptions) {
    this.#acls = options.acls;
    this.#superUsers = new Set(options.superUsers ?? []);
    this.#cacheSize = Math.max(1, options.cacheSize ?? DEFAULT_CACHE_SIZE);
    this.#cacheKeyMaxLength = options.cacheKeyMaxLength ?? DEFAULT_CACHE_KEY_MAX_LENGTH;
  }

  authorize(request: AuthorizationRequest): boolean {
    return this.decide(request).allowed;
  }

  /** How many decisions are cached now: at most `cacheSize` (for metrics and the tests of the bound). */
  get cachedDecisions(): number {
    return this.#cache.size;
  }

  /** The decision with its reason (the binding that decided it); cached until the bindings change. */
  decide(request: AuthorizationRequest): AuthorizationDecision {
    this.#refresh();
    if (this.#superUsers.has(request.principal)) return SUPER_USER;
    // Length-prefixed so that no two requests share a key whatever characters their strings hold.
    const { principal, host, resourceName } = request;
    // The name stage bounds resource names before they get here; this keeps the cache safe whoever calls.
    if (principal.length + host.length + resourceName.length > this.#cacheKeyMaxLength) return this.#evaluate(request);
    const key = `${request.resourceType}|${request.operation}|${principal.length}:${principal}|${host.length}:${host}|${resourceName}`;
    const cached = this.#cache.get(key);
    if (cached !== undefined) return cached;
    const decision = this.#evaluate(request);
    // Cleared rather than evicted one by one: simple, and a full cache means a working set this size
    // is being rebuilt anyway.
    if (this.#cache.size >= this.#cacheSize) this.#cache.clear();
    this.#cache.set(key, decision);
    return decision;
  }

  /**
   * Kafka's `Authorizer.authorizeByResourceType` default (KIP-679), which StandardAuthorizer keeps:
   * first the request is authorized on a made-up resource name, which lets super users and wildcard
   * grants through; then, over the bindings of the type that apply to the principal and host with the
   * requested operation exactly or ALL (no implied operations here), a DENY on the `*` literal denies,
   * an ALLOW on the `*` literal allows, and otherwise an ALLOW allows unless a DENY dominates it: the
   * same literal name, or a denied prefix of its name.
   */
  authorizeAny(request: Omit<AuthorizationRequest, 'resourceName'>): boolean {
    if (this.authorize({ ...request, resourceName: PROBE_RESOURCE_NAME })) return true;
    const forType = this.#index.get(request.resourceType);
    if (forType === undefined) return false;
    const client = parseClientAddress(request.host);
    const denyLiteral = new Set<string>();
    const denyPrefixed = new Set<string>();
    const allowed: AclBinding[] = [];
    let wildcardAllow = false;
    for (const entry of forType.all) {
      const { binding } = entry;
      if (binding.operation !== request.operation && binding.operation !== AclOperation.ALL) continue;
      if (!principalApplies(binding, request.principal) || !hostApplies(entry, client)) continue;
      const wildcard = binding.patternType === PatternType.LITERAL && binding.resourceName === WILDCARD_RESOURCE_NAME;
      if (binding.permission === AclPermissionType.DENY) {
        if (wildcard) return false;
        (binding.patternType === PatternType.LITERAL ? denyLiteral : denyPrefixed).add(binding.resourceName);
      } else if (wildcard) {
        wildcardAllow = true;
      } else {
        allowed.push(binding);
      }
    }
    if (wildcardAllow) return true;
    return allowed.some((binding) => {
      if (binding.patternType === PatternType.LITERAL && denyLiteral.has(binding.resourceName)) return false;
      for (let length = 1; length <= binding.resourceName.length; length++) {
        if (denyPrefixed.has(binding.resourceName.slice(0, length))) return false;
      }
      return true;
    });
  }

  #refresh(): void {
    const generation = this.#acls.generation;
    if (generation === this.#generation) return;
    this.#index = buildIndex(this.#acls.bindings());
    this.#cache.clear();
    this.#generation = generation;
  }

  #evaluate(request: AuthorizationRequest): AuthorizationDecision {
    const forType = this.#index.get(request.resourceType);
    if (forType === undefined) return NO_MATCH;
    const name = request.resourceName;
    const candidates: (readonly Indexed[] | undefined)[] = [forType.literal.get(name), forType.wildcard];
    for (const length of forType.prefixLengths) {
      if (length > name.length) break;
      candidates.push(forType.prefixed.get(name.slice(0, length)));
    }
    const client = parseClientAddress(request.host);
    let allow: AclBinding | undefined;
    for (const entries of candidates) {
      for (const entry of entries ?? []) {
        const { binding } = entry;
        if (!principalApplies(binding, request.principal) || !hostApplies(entry, client)) continue;
        if (!aclOperationApplies(binding.operation, binding.permission, request.operation)) continue;
        if (binding.permission === AclPermissionType.DENY) return { allowed: false, reason: 'deny', binding };
        allow ??= binding;
      }
    }
    return allow === undefined ? NO_MATCH : { allowed: true, reason: 'allow', binding: allow };
  }
}
