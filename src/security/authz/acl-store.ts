import { ParapetError } from '../../errors.js';
import {
  AclOperation,
  AclPermissionType,
  CLUSTER_RESOURCE_NAME,
  PatternType,
  ResourceType,
  WILDCARD_RESOURCE_NAME,
  aclOperationName,
  aclPermissionTypeName,
  patternTypeName,
  resourceTypeName,
} from '../../protocol/acl.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { StoredAclBinding } from '../../storage/metadata-store.js';
import type { Principal } from '../types.js';
import { isValidAclHost } from './host-match.js';

/**
 * The ACL bindings of the cluster (Kafka's CreateAcls/DescribeAcls/DeleteAcls model, KIP-140 and
 * KIP-290), persisted in the metadata store and mirrored in memory, which is what the authorizer
 * reads. Every change bumps `generation`, so readers that derive state from the bindings (the
 * authorizer's index and decision cache) know when to rebuild it.
 */

export type BindingPatternType = typeof PatternType.LITERAL | typeof PatternType.PREFIXED;
export type BindingPermission = typeof AclPermissionType.ALLOW | typeof AclPermissionType.DENY;

/** A stored, validated binding: every field concrete (no ANY, MATCH or UNKNOWN). */
export interface AclBinding {
  readonly resourceType: ResourceType;
  readonly resourceName: string;
  readonly patternType: BindingPatternType;
  readonly principal: Principal;
  readonly host: string;
  readonly operation: AclOperation;
  readonly permission: BindingPermission;
}

/**
 * A binding as a request or the CLI spells it, before validation: codes are whatever was sent. It has
 * the shape the metadata store keeps, which stores only validated ones.
 */
export type AclBindingInput = StoredAclBinding;

/**
 * Kafka's `AclBindingFilter`: ANY codes and null strings match everything; pattern type MATCH matches
 * the bindings that would apply to `resourceName` (equal LITERAL, the `*` LITERAL, PREFIXED prefixes).
 */
export interface AclBindingFilter {
  readonly resourceType: number;
  readonly resourceName: string | null;
  readonly patternType: number;
  readonly principal: string | null;
  readonly host: string | null;
  readonly operation: number;
  readonly permission: number;
}

/** A per-item outcome as the ACL responses carry it: code 0 and a null message on success. */
export interface AclError {
  readonly code: number;
  readonly message: string | null;
}

export interface AclCreateResult extends AclError {
  /** The validated binding; null when it was refused. */
  readonly binding: AclBinding | null;
  /** False when refused or when the binding existed already. */
  readonly created: boolean;
}

export interface AclFilterResult extends AclError {
  /** The bindings the filter matched (for a deletion: those it removed); empty on error. */
  readonly bindings: readonly AclBinding[];
}

const OK: AclError = Object.freeze({ code: ErrorCode.NONE, message: null });
const USER_PREFIX = 'User:';

const invalid = (message: string): AclError => ({ code: ErrorCode.INVALID_REQUEST, message });
const describeCode = (code: number, name: (c: number) => string | undefined): string => `${name(code) ?? 'unknown'} (${code})`;

function isPrincipal(text: string): text is Principal {
  return text.startsWith(USER_PREFIX) && text.length > USER_PREFIX.length;
}

/**
 * Kafka's CreateAcls validation (AclControlManager.validateNewAcl and the broker's CLUSTER name
 * check), narrowed to what Parapet can enforce: only `User:` principals exist here, and the host must
 * be `*`, an IP address or a CIDR range. Every refusal is INVALID_REQUEST with the reason.
 */
export function validateAclBinding(input: AclBindingInput): { binding: AclBinding } | { error: AclError } {
  const { resourceType, patternType, operation, permission, principal } = input;
  if (resourceType === ResourceType.UNKNOWN || resourceType === ResourceType.ANY || resourceTypeName(resourceType) === undefined) {
    return { error: invalid(`Invalid resource type ${describeCode(resourceType, resourceTypeName)} for an ACL binding`) };
  }
  if (patternType !== PatternType.LITERAL && patternType !== PatternType.PREFIXED) {
    return { error: invalid(`Invalid pattern type ${describeCode(patternType, patternTypeName)}: a binding is LITERAL or PREFIXED`) };
  }
  if (operation === AclOperation.UNKNOWN || operation === AclOperation.ANY || aclOperationName(operation) === undefined) {
    return { error: invalid(`Invalid operation ${describeCode(operation, aclOperationName)} for an ACL binding`) };
  }
  if (permission !== AclPermissionType.ALLOW && permission !== AclPermissionType.DENY) {
    return { error: invalid(`Invalid permission type ${describeCode(permission, aclPermissionTypeName)}: a binding is ALLOW or DENY`) };
  }
  if (input.resourceName === '') return { error: invalid('Invalid empty resource name') };
  if (resourceType === ResourceType.CLUSTER && input.resourceName !== CLUSTER_RESOURCE_NAME) {
    return { error: invalid(`The only valid name for the CLUSTER resource is ${CLUSTER_RESOURCE_NAME}`) };
  }
  if (!isPrincipal(principal)) {
    return { error: invalid(`Invalid principal ${JSON.stringify(principal)}: expected User:<name> (or User:* for every user)`) };
  }
  if (!isValidAclHost(input.host)) {
    return { error: invalid(`Invalid host ${JSON.stringify(input.host)}: expected *, an IP address or a CIDR range such as 10.0.0.0/8`) };
  }
  return {
    binding: Object.freeze({
      resourceType: resourceType as ResourceType,
      resourceName: input.resourceName,
      patternType,
      principal,
      host: input.host,
      operation: operation as AclOperation,
      permission,
    }),
  };
}

/**
 * Kafka refuses filters with an UNKNOWN field (AclControlManager.validateFilter); codes this broker
 * does not know count as UNKNOWN, so a newer client's filter is refused rather than read as ANY.
 */
export function validateAclFilter(filter: AclBindingFilter): AclError {
  const known = (code: number, name: (c: number) => string | undefined): boolean => code !== 0 && name(code) !== undefined;
  if (!known(filter.resourceType, resourceTypeName)) return invalid(`Unknown resource type ${filter.resourceType} in the ACL filter`);
  if (!known(filter.patternType, patternTypeName)) return invalid(`Unknown pattern type ${filter.patternType} in the ACL filter`);
  if (!known(filter.operation, aclOperationName)) return invalid(`Unknown operation ${filter.operation} in the ACL filter`);
  if (!known(filter.permission, aclPermissionTypeName)) return invalid(`Unknown permission type ${filter.permission} in the ACL filter`);
  return OK;
}

/**
 * Kafka's `AclBindingFilter.matches` (ResourcePatternFilter and AccessControlEntryFilter), except that
 * resource type ANY does not reach Parapet's SUBJECT bindings (code 100): a Kafka client that lists or
 * deletes "every" binding must not meet a type it cannot read (kafka-python raises on it), nor delete
 * what it could not have seen. A filter naming SUBJECT reaches them.
 */
export function aclFilterMatches(filter: AclBindingFilter, binding: AclBinding): boolean {
  if (filter.resourceType === ResourceType.ANY ? binding.resourceType === ResourceType.SUBJECT : filter.resourceType !== binding.resourceType) return false;
  const patternIsAny = filter.patternType === PatternType.ANY;
  const patternIsMatch = filter.patternType === PatternType.MATCH;
  if (!patternIsAny && !patternIsMatch && filter.patternType !== binding.patternType) return false;
  if (filter.resourceName !== null) {
    if (!patternIsMatch) {
      if (filter.resourceName !== binding.resourceName) return false;
    } else if (binding.patternType === PatternType.LITERAL) {
      if (filter.resourceName !== binding.resourceName && binding.resourceName !== WILDCARD_RESOURCE_NAME) return false;
    } else if (!filter.resourceName.startsWith(binding.resourceName)) {
      return false;
    }
  }
  if (filter.principal !== null && filter.principal !== binding.principal) return false;
  if (filter.host !== null && filter.host !== binding.host) return false;
  if (filter.operation !== AclOperation.ANY && filter.operation !== binding.operation) return false;
  return filter.permission === AclPermissionType.ANY || filter.permission === binding.permission;
}

/** What AclStore needs of the metadata store (the MetadataStore methods of the same names). */
export interface AclPersistence {
  aclBindings(): StoredAclBinding[];
  addAclBindings(bindings: readonly StoredAclBinding[]): number;
  removeAclBindings(bindings: readonly StoredAclBinding[]): number;
}

export interface AclStoreOptions {
  readonly store: AclPersistence;
}

const keyOf = (b: AclBinding): string =>
  JSON.stringify([b.resourceType, b.resourceName, b.patternType, b.principal, b.host, b.operation, b.permission]);

export class AclStore {
  readonly #store: AclPersistence;
  readonly #bindings = new Map<string, AclBinding>();
  #generation = 0;
  #snapshot: readonly AclBinding[] | null = null;

  /**
   * Loads every stored binding. A stored binding that no longer validates means the store was edited
   * or corrupted; skipping it could silently drop a DENY, so opening fails instead.
   */
  constructor(options: AclStoreOptions) {
    this.#store = options.store;
    for (const stored of this.#store.aclBindings()) {
      const checked = validateAclBinding(stored);
      if ('error' in checked) {
        throw new ParapetError('METADATA_ERROR', `stored ACL binding is invalid: ${checked.error.message ?? ''}`);
      }
      this.#bindings.set(keyOf(checked.binding), checked.binding);
    }
  }

  /** Increases whenever the set of bindings changes. */
  get generation(): number {
    return this.#generation;
  }

  /** Every binding, in a stable order; the array is frozen and replaced (not mutated) on change. */
  bindings(): readonly AclBinding[] {
    this.#snapshot ??= Object.freeze([...this.#bindings.values()]);
    return this.#snapshot;
  }

  /**
   * Creates bindings (CreateAcls): one outcome per input, in order. Valid bindings are stored together
   * in one transaction; one that exists already succeeds without a change, as in Kafka.
   */
  create(inputs: readonly AclBindingInput[]): AclCreateResult[] {
    const fresh = new Map<string, AclBinding>();
    const results = inputs.map((input): AclCreateResult => {
      const checked = validateAclBinding(input);
      if ('error' in checked) return { ...checked.error, binding: null, created: false };
      const key = keyOf(checked.binding);
      // The first of two equal inputs creates the binding; the second finds it there.
      const created = !this.#bindings.has(key) && !fresh.has(key);
      if (created) fresh.set(key, checked.binding);
      return { ...OK, binding: checked.binding, created };
    });
    if (fresh.size > 0) {
      this.#store.addAclBindings([...fresh.values()]);
      for (const [key, binding] of fresh) this.#bindings.set(key, binding);
      this.#changed();
    }
    return results;
  }

  /** The bindings one filter matches (DescribeAcls), or INVALID_REQUEST for a filter with unknown codes. */
  describe(filter: AclBindingFilter): AclFilterResult {
    const error = validateAclFilter(filter);
    if (error.code !== ErrorCode.NONE) return { ...error, bindings: [] };
    return { ...OK, bindings: this.bindings().filter((b) => aclFilterMatches(filter, b)) };
  }

  /**
   * Deletes what each filter matches (DeleteAcls), all in one transaction. As in Kafka, every filter
   * is matched against the bindings as they were before the request, so a binding two filters match
   * is reported in both results.
   */
  delete(filters: readonly AclBindingFilter[]): AclFilterResult[] {
    const before = this.bindings();
    const doomed = new Map<string, AclBinding>();
    const results = filters.map((filter): AclFilterResult => {
      const error = validateAclFilter(filter);
      if (error.code !== ErrorCode.NONE) return { ...error, bindings: [] };
      const matched = before.filter((b) => aclFilterMatches(filter, b));
      for (const b of matched) doomed.set(keyOf(b), b);
      return { ...OK, bindings: matched };
    });
    if (doomed.size > 0) {
      this.#store.removeAclBindings([...doomed.values()]);
      for (const key of doomed.keys()) this.#bindings.delete(key);
      this.#changed();
    }
    return results;
  }

  #changed(): void {
    this.#snapshot = null;
    this.#generation++;
  }
}
