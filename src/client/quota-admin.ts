import { AlterClientQuotas } from '../protocol/messages/alter-client-quotas.js';
import { DescribeClientQuotas } from '../protocol/messages/describe-client-quotas.js';
import type { ClusterConnections } from './cluster-connections.js';
import { throwIfError } from './errors.js';

/**
 * A quota entity as KIP-546 names it: a user, a client id, or both; null is the type's default
 * (`<default>` in kafka-configs), an absent side is not part of the entity.
 */
export interface QuotaEntityName {
  readonly user?: string | null;
  readonly clientId?: string | null;
}

export interface QuotaDescription {
  readonly entity: QuotaEntityName;
  readonly values: Readonly<Record<string, number>>;
}

type Components = { entityType: string; entityName: string | null }[];

function componentsOf(entity: QuotaEntityName): Components {
  const out: Components = [];
  if (entity.user !== undefined) out.push({ entityType: 'user', entityName: entity.user });
  if (entity.clientId !== undefined) out.push({ entityType: 'client-id', entityName: entity.clientId });
  return out;
}

function entityOf(components: readonly { entityType: string; entityName: string | null }[]): QuotaEntityName {
  let entity: { user?: string | null; clientId?: string | null } = {};
  for (const c of components) {
    if (c.entityType === 'user') entity = { ...entity, user: c.entityName };
    else if (c.entityType === 'client-id') entity = { ...entity, clientId: c.entityName };
  }
  return entity;
}

/** `user=alice client-id=<default>`, as kafka-configs and the audit trail name an entity. */
export function formatQuotaEntity(entity: QuotaEntityName): string {
  const parts: string[] = [];
  if (entity.user !== undefined) parts.push(`user=${entity.user ?? '<default>'}`);
  if (entity.clientId !== undefined) parts.push(`client-id=${entity.clientId ?? '<default>'}`);
  return parts.join(' ');
}

/** Client quotas over DescribeClientQuotas and AlterClientQuotas (KIP-546). */
export class QuotaAdmin {
  readonly #cluster: ClusterConnections;

  constructor(cluster: ClusterConnections) {
    this.#cluster = cluster;
  }

  /**
   * The stored entities matching `filter`: each side given matches exactly (null: the default); with
   * `strict`, entities that also name another type are left out. No filter: every entity.
   */
  async describe(filter: QuotaEntityName = {}, strict = false): Promise<QuotaDescription[]> {
    const components = componentsOf(filter).map((c) => ({ entityType: c.entityType, matchType: c.entityName === null ? 1 : 0, match: c.entityName }));
    const response = await this.#cluster.bootstrap.request(DescribeClientQuotas, { components, strict });
    throwIfError('describe client quotas', response.errorCode, response.errorMessage);
    return (response.entries ?? [])
      .map((e) => ({ entity: entityOf(e.entity), values: Object.fromEntries(e.values.map((v) => [v.key, v.value])) }))
      .sort((a, b) => (formatQuotaEntity(a.entity) < formatQuotaEntity(b.entity) ? -1 : 1));
  }

  /** Sets and removes values of one entity, all or none; `validateOnly` checks without storing. */
  async alter(entity: QuotaEntityName, set: Readonly<Record<string, number>>, remove: readonly string[] = [], validateOnly = false): Promise<void> {
    const ops = [...Object.entries(set).map(([key, value]) => ({ key, value, remove: false })), ...remove.map((key) => ({ key, value: 0, remove: true }))];
    const response = await this.#cluster.bootstrap.request(AlterClientQuotas, { entries: [{ entity: componentsOf(entity), ops }], validateOnly });
    for (const result of response.entries) throwIfError(`alter client quotas of ${formatQuotaEntity(entity)}`, result.errorCode, result.errorMessage);
  }
}
