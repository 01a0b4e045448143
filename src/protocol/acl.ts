/**
 * Kafka's ACL enums and operation implications as data. The codes are the int8 values CreateAcls,
 * DescribeAcls and DeleteAcls carry on the wire and the values the authorizer and the CLI speak; they
 * follow Apache Kafka's `ResourceType`, `PatternType`, `AclOperation` and `AclPermissionType`.
 *
 * `UNKNOWN` is what a code we do not understand decodes to; `ANY` (and `MATCH` for patterns) exist only
 * in filters (DescribeAcls, DeleteAcls) and never in a stored ACL binding.
 */

export const ResourceType = {
  UNKNOWN: 0,
  ANY: 1,
  TOPIC: 2,
  GROUP: 3,
  CLUSTER: 4,
  TRANSACTIONAL_ID: 5,
  DELEGATION_TOKEN: 6,
  USER: 7,
  /**
   * Parapet's own: a subject of the schema registry (docs/governance/schemas.md), named and matched as
   * topics are (LITERAL, PREFIXED, `*`). The code is far from Kafka's 0–7 so that a future Kafka type
   * never takes it; DescribeAcls and DeleteAcls with resource type ANY leave these bindings out, since
   * Kafka clients refuse a type they do not know (kafka-python raises), and a filter naming 100 reaches them.
   */
  SUBJECT: 100,
} as const;
export type ResourceTypeName = keyof typeof ResourceType;
export type ResourceType = (typeof ResourceType)[ResourceTypeName];

/**
 * How a binding's resource name matches (KIP-290). Requests before v1 of the ACL APIs carry no pattern
 * type: their names are LITERAL.
 */
export const PatternType = {
  UNKNOWN: 0,
  ANY: 1,
  /** Filter only: matches literal, wildcard and prefixed bindings that apply to the given name. */
  MATCH: 2,
  LITERAL: 3,
  PREFIXED: 4,
} as const;
export type PatternTypeName = keyof typeof PatternType;
export type PatternType = (typeof PatternType)[PatternTypeName];

export const AclOperation = {
  UNKNOWN: 0,
  ANY: 1,
  ALL: 2,
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
  /** On a USER resource: create delegation tokens for that user (KIP-373). */
  CREATE_TOKENS: 13,
  /** On a USER resource: describe that user's delegation tokens (KIP-373). */
  DESCRIBE_TOKENS: 14,
} as const;
export type AclOperationName = keyof typeof AclOperation;
export type AclOperation = (typeof AclOperation)[AclOperationName];

export const AclPermissionType = {
  UNKNOWN: 0,
  ANY: 1,
  DENY: 2,
  ALLOW: 3,
} as const;
export type AclPermissionTypeName = keyof typeof AclPermissionType;
export type AclPermissionType = (typeof AclPermissionType)[AclPermissionTypeName];

interface CodeLookup<N extends string, C extends number> {
  name(code: number): N | undefined;
  parse(text: string): C | undefined;
}

/**
 * Name lookups both ways. `parse` is for people (the CLI, the config file): case-insensitive, and it
 * accepts Kafka's CLI spellings too (`DescribeConfigs`, `describe-configs`, `transactional_id`).
 */
function codeLookup<N extends string, C extends number>(table: Readonly<Record<N, C>>): CodeLookup<N, C> {
  const entries = Object.entries(table) as [N, C][];
  const byCode = new Map<number, N>(entries.map(([name, code]) => [code, name]));
  const byName = new Map<string, C>(entries);
  return {
    name: (code) => byCode.get(code),
    parse: (text) =>
      byName.get(
        text
          .trim()
          .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
          .replace(/[-\s]+/g, '_')
          .toUpperCase(),
      ),
  };
}

const resourceTypes = codeLookup(ResourceType);
const patternTypes = codeLookup(PatternType);
const aclOperations = codeLookup(AclOperation);
const aclPermissionTypes = codeLookup(AclPermissionType);

export function resourceTypeName(code: number): ResourceTypeName | undefined {
  return resourceTypes.name(code);
}
export function parseResourceType(text: string): ResourceType | undefined {
  return resourceTypes.parse(text);
}
export function patternTypeName(code: number): PatternTypeName | undefined {
  return patternTypes.name(code);
}
export function parsePatternType(text: string): PatternType | undefined {
  return patternTypes.parse(text);
}
export function aclOperationName(code: number): AclOperationName | undefined {
  return aclOperations.name(code);
}
export function parseAclOperation(text: string): AclOperation | undefined {
  return aclOperations.parse(text);
}
export function aclPermissionTypeName(code: number): AclPermissionTypeName | undefined {
  return aclPermissionTypes.name(code);
}
export function parseAclPermissionType(text: string): AclPermissionType | undefined {
  return aclPermissionTypes.parse(text);
}

/** The only name a CLUSTER resource has; Kafka rejects cluster ACLs on any other name. */
export const CLUSTER_RESOURCE_NAME = 'kafka-cluster';
/** A LITERAL binding with this name applies to every resource of its type. */
export const WILDCARD_RESOURCE_NAME = '*';

/**
 * What an ALLOW binding grants besides its own operation (Kafka's `AclOperation` contract, applied by
 * `StandardAuthorizer`). A DENY binding denies only its own operation: DENY READ leaves DESCRIBE alone.
 * ALL is not listed: in either permission it matches every operation.
 */
export const ALLOW_IMPLIES: Readonly<Partial<Record<AclOperationName, readonly AclOperationName[]>>> = Object.freeze({
  READ: ['DESCRIBE'],
  WRITE: ['DESCRIBE'],
  DELETE: ['DESCRIBE'],
  ALTER: ['DESCRIBE'],
  ALTER_CONFIGS: ['DESCRIBE_CONFIGS'],
});

/** Operations a binding may hold and a request may need: everything but UNKNOWN and ANY. */
export const CONCRETE_ACL_OPERATIONS: readonly AclOperation[] = Object.freeze(
  Object.values(AclOperation).filter((op) => op !== AclOperation.UNKNOWN && op !== AclOperation.ANY),
);

const IMPLIED: ReadonlyMap<AclOperation, ReadonlySet<AclOperation>> = new Map(
  CONCRETE_ACL_OPERATIONS.map((op) => {
    if (op === AclOperation.ALL) return [op, new Set(CONCRETE_ACL_OPERATIONS)];
    const implied = ALLOW_IMPLIES[aclOperationName(op) ?? 'UNKNOWN'] ?? [];
    return [op, new Set([op, ...implied.map((name) => AclOperation[name])])];
  }),
);
const NOTHING: ReadonlySet<AclOperation> = new Set();

/**
 * The operations an ALLOW binding on `op` permits, `op` itself included; ALL permits every operation.
 * Empty for UNKNOWN and ANY, which never grant anything.
 */
export function impliedOperations(op: AclOperation): ReadonlySet<AclOperation> {
  return IMPLIED.get(op) ?? NOTHING;
}

/**
 * Whether a binding with this operation and permission applies to a request that needs `requested`.
 * ALLOW follows the implications; DENY matches only its own operation, or every one for ALL.
 */
export function aclOperationApplies(
  bindingOperation: AclOperation,
  permission: AclPermissionType,
  requested: AclOperation,
): boolean {
  if (permission === AclPermissionType.ALLOW) return impliedOperations(bindingOperation).has(requested);
  if (permission === AclPermissionType.DENY) {
    return impliedOperations(requested).size > 0 && (bindingOperation === AclOperation.ALL || bindingOperation === requested);
  }
  return false;
}
