/**
 * Kafka's client quota entities (KIP-55, KIP-257): a quota is set on a user, a client id, or a user and
 * a client id together, each either named or the default of its type. Which setting applies to a request
 * follows Kafka's precedence, the most specific first, separately for each quota key:
 *
 *   1. /config/users/<user>/clients/<client-id>
 *   2. /config/users/<user>/clients/<default>
 *   3. /config/users/<user>
 *   4. /config/users/<default>/clients/<client-id>
 *   5. /config/users/<default>/clients/<default>
 *   6. /config/users/<default>
 *   7. /config/clients/<client-id>
 *   8. /config/clients/<default>
 *
 * and then, where none of those is set, the config file's default (Parapet's own level, applied per user).
 */

/** The quota keys of users and client ids, as Kafka names them (QuotaConfigs). */
export const QuotaKeys = {
  PRODUCER_BYTE_RATE: 'producer_byte_rate',
  CONSUMER_BYTE_RATE: 'consumer_byte_rate',
  REQUEST_PERCENTAGE: 'request_percentage',
  CONTROLLER_MUTATION_RATE: 'controller_mutation_rate',
} as const;
export type QuotaKey = (typeof QuotaKeys)[keyof typeof QuotaKeys];
export const QUOTA_KEYS: readonly QuotaKey[] = Object.values(QuotaKeys);

/** Keys whose value is a whole number in Kafka (LONG configs); the others are doubles. */
const WHOLE_KEYS: ReadonlySet<string> = new Set([QuotaKeys.PRODUCER_BYTE_RATE, QuotaKeys.CONSUMER_BYTE_RATE]);

export function isQuotaKey(key: string): key is QuotaKey {
  return (QUOTA_KEYS as readonly string[]).includes(key);
}

export const EntityTypes = { USER: 'user', CLIENT_ID: 'client-id', IP: 'ip' } as const;

/**
 * One side of an entity: absent (the entity does not name this type), the type's default, or a name.
 * A string, so that it can be a map key: '' absent, '*' the default, '=' + name a name.
 */
export type EntityPart = string;
const ABSENT = '';
const DEFAULT = '*';
export const part = {
  absent: ABSENT,
  default: DEFAULT,
  named: (name: string): EntityPart => `=${name}`,
  /** The wire form: null for the default, the name otherwise; undefined when absent. */
  wire(p: EntityPart): string | null | undefined {
    return p === ABSENT ? undefined : p === DEFAULT ? null : p.slice(1);
  },
};

/** A user/client-id entity; at least one side is present. */
export interface QuotaEntity {
  readonly user: EntityPart;
  readonly clientId: EntityPart;
}

/** The entity's key in maps and in the metadata store: JSON, so that any name round-trips. */
export function entityKey(e: QuotaEntity): string {
  return JSON.stringify([e.user, e.clientId]);
}

export function entityFromKey(key: string): QuotaEntity {
  const parsed: unknown = JSON.parse(key);
  if (!Array.isArray(parsed) || parsed.length !== 2 || typeof parsed[0] !== 'string' || typeof parsed[1] !== 'string') throw new Error(`not a quota entity key: ${key}`);
  return { user: parsed[0], clientId: parsed[1] };
}

/** How the entity reads in messages and the audit trail: `user=alice client-id=<default>`. */
export function entityLabel(e: QuotaEntity): string {
  const side = (type: string, p: EntityPart) => (p === ABSENT ? [] : [`${type}=${p === DEFAULT ? '<default>' : p.slice(1)}`]);
  return [...side(EntityTypes.USER, e.user), ...side(EntityTypes.CLIENT_ID, e.clientId)].join(' ');
}

/** The entity as the wire lists it: [{ entityType, entityName }], user first. */
export function entityComponents(e: QuotaEntity): { entityType: string; entityName: string | null }[] {
  const out: { entityType: string; entityName: string | null }[] = [];
  const user = part.wire(e.user);
  if (user !== undefined) out.push({ entityType: EntityTypes.USER, entityName: user });
  const client = part.wire(e.clientId);
  if (client !== undefined) out.push({ entityType: EntityTypes.CLIENT_ID, entityName: client });
  return out;
}

/** The answer to an entity or value that cannot be used: the message says why. */
export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

/** Per-IP connection rates are the connection limits' business, set in the config file. */
export const IP_ENTITY_MESSAGE =
  'ip quota entities (connection_creation_rate) are not set through AlterClientQuotas on Parapet: per-IP connection rates are set in the config file (docs/security/network.md)';

/** Reads an entity from its wire components (AlterClientQuotas), refusing what Kafka refuses. */
export function entityFromComponents(components: readonly { entityType: string; entityName: string | null }[]): Checked<QuotaEntity> {
  let user: EntityPart = ABSENT;
  let clientId: EntityPart = ABSENT;
  if (components.length === 0) return { ok: false, message: 'the entity names no entity type' };
  for (const c of components) {
    const value = c.entityName === null ? DEFAULT : part.named(c.entityName);
    if (c.entityName !== null && c.entityName === '') return { ok: false, message: `an empty ${c.entityType} name is not an entity (use the default, a null name)` };
    if (c.entityType === EntityTypes.USER) {
      if (user !== ABSENT) return { ok: false, message: 'the entity names the user type twice' };
      user = value;
    } else if (c.entityType === EntityTypes.CLIENT_ID) {
      if (clientId !== ABSENT) return { ok: false, message: 'the entity names the client-id type twice' };
      clientId = value;
    } else if (c.entityType === EntityTypes.IP) {
      return { ok: false, message: IP_ENTITY_MESSAGE };
    } else {
      return { ok: false, message: `unknown quota entity type ${JSON.stringify(c.entityType)} (user, client-id)` };
    }
  }
  return { ok: true, value: { user, clientId } };
}

/** Checks one value of a key: positive, finite, whole for the byte rates (Kafka's LONG configs). */
export function checkQuotaValue(key: string, value: number): Checked<number> {
  if (!isQuotaKey(key)) return { ok: false, message: `unknown quota key ${JSON.stringify(key)} (${QUOTA_KEYS.join(', ')})` };
  if (!Number.isFinite(value) || value <= 0) return { ok: false, message: `${key} must be a positive number, not ${value}` };
  if (WHOLE_KEYS.has(key) && !Number.isInteger(value)) return { ok: false, message: `${key} must be a whole number of bytes per second, not ${value}` };
  return { ok: true, value };
}

/**
 * The entities that may apply to a request of `user` with `clientId`, in Kafka's order of precedence
 * (most specific first), each with the part of (user, client id) its measure is shared by: a named or
 * default user shares by user, a default client id by client id, so that every user (or client) under
 * a default has its own measure, as in Kafka.
 */
export function precedence(user: string, clientId: string): readonly { entity: QuotaEntity; shared: QuotaEntity }[] {
  const u = part.named(user);
  const c = part.named(clientId);
  const both = { user: u, clientId: c };
  const byUser = { user: u, clientId: ABSENT };
  const byClient = { user: ABSENT, clientId: c };
  return [
    { entity: both, shared: both },
    { entity: { user: u, clientId: DEFAULT }, shared: both },
    { entity: byUser, shared: byUser },
    { entity: { user: DEFAULT, clientId: c }, shared: both },
    { entity: { user: DEFAULT, clientId: DEFAULT }, shared: both },
    { entity: { user: DEFAULT, clientId: ABSENT }, shared: byUser },
    { entity: byClient, shared: byClient },
    { entity: { user: ABSENT, clientId: DEFAULT }, shared: byClient },
  ];
}
