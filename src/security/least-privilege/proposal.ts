/**
 * `parapet acl advise`: the smallest set of ALLOW bindings that covers what a principal did, from its
 * observed access (docs/security/least-privilege.md#how-the-proposal-is-made):
 *
 * - What requests needed and were allowed is proposed: the resources they named, and the broad grant
 *   Kafka tries first when that is what let the request through (CREATE on the cluster for CreateTopics,
 *   DESCRIBE on the cluster for ListGroups). Checks that only filtered a listing (Metadata or
 *   ListGroups of everything) or probed for more (auto-creation) needed nothing and are not proposed.
 * - An idempotent producer (InitProducerId) needs IDEMPOTENT_WRITE on the cluster or WRITE on any
 *   topic (KIP-679): when the proposal has a topic WRITE, nothing more is added.
 * - Operations implied by another one on the same resource are left out (READ and WRITE imply
 *   DESCRIBE); names are grouped into PREFIXED patterns only where exact (./prefix-groups.ts).
 * - What was attempted and denied is shown apart and proposed flagged, never applied unasked.
 */
import { AclOperation, AclPermissionType, CLUSTER_RESOURCE_NAME, PatternType, ResourceType, WILDCARD_RESOURCE_NAME } from '../../protocol/acl.js';
import type { ObservedAccess } from '../access-log/observed-access.js';
import { grantCovers, implies, patternContains, type Binding } from './grants.js';
import { groupExactPrefixes } from './prefix-groups.js';

export interface ProposalInput {
  readonly principal: string;
  /** The principal's observations in the window. */
  readonly observed: readonly ObservedAccess[];
  /** Names of the resources that exist now, by type: grouping into prefixes is checked against them. */
  readonly existing: ReadonlyMap<ResourceType, readonly string[]>;
  /** The host of the proposed bindings. */
  readonly host: string;
}

export interface ProposedGrant {
  readonly binding: Binding;
  /** The observed names it covers (one for a literal; the names under a prefix). */
  readonly covers: readonly string[];
  /** Why, when it is not simply "the requests named it". */
  readonly note?: string;
}

export interface Proposal {
  /** Allowed access the requests needed, as observed (for display). */
  readonly used: readonly ObservedAccess[];
  /** Access attempted and denied. */
  readonly denied: readonly ObservedAccess[];
  /** The bindings that cover what was allowed. */
  readonly grants: readonly ProposedGrant[];
  /** The bindings that would cover what was denied (not covered by `grants`): flagged, applied only on request. */
  readonly flagged: readonly ProposedGrant[];
  /** Observations that needed nothing: listing filters, probes, denied alternatives. */
  readonly notNeeded: number;
  readonly notes: readonly string[];
}

type Needs = Map<ResourceType, Map<string, Set<AclOperation>>>;

function need(needs: Needs, type: ResourceType, name: string, op: AclOperation): void {
  let byName = needs.get(type);
  if (byName === undefined) needs.set(type, (byName = new Map<string, Set<AclOperation>>()));
  let ops = byName.get(name);
  if (ops === undefined) byName.set(name, (ops = new Set<AclOperation>()));
  ops.add(op);
}

const isIdempotence = (a: ObservedAccess) =>
  (a.scope === 'alternative' && a.resourceType === ResourceType.CLUSTER && a.operation === AclOperation.IDEMPOTENT_WRITE) ||
  (a.scope === 'any' && a.resourceType === ResourceType.TOPIC && a.operation === AclOperation.WRITE);

/** Leaves out, per resource, the operations another one of its set implies. */
function withoutImplied(ops: ReadonlySet<AclOperation>): AclOperation[] {
  return [...ops].filter((op) => ![...ops].some((other) => implies(other, op))).sort((a, b) => a - b);
}

export function proposeGrants(input: ProposalInput): Proposal {
  const { principal, host } = input;
  const allow = (resourceType: ResourceType, resourceName: string, patternType: PatternType, operation: AclOperation): Binding => ({
    resourceType,
    resourceName,
    patternType,
    principal,
    host,
    operation,
    permission: AclPermissionType.ALLOW,
  });
  const mine = input.observed.filter((a) => a.principal === principal);
  const used = mine.filter((a) => a.allowed && (a.scope === 'named' || a.scope === 'alternative' || a.scope === 'any'));
  const denied = mine.filter((a) => !a.allowed && (a.scope === 'named' || a.scope === 'any'));
  const notNeeded = mine.length - used.length - denied.length;
  const notes: string[] = [];

  const needs: Needs = new Map();
  let idempotentProducer = false;
  for (const a of used) {
    if (isIdempotence(a)) idempotentProducer = true;
    else if (a.scope !== 'any') need(needs, a.resourceType, a.resourceName, a.operation);
  }
  const grants: ProposedGrant[] = [];
  for (const [type, byName] of needs) {
    const namesByOp = new Map<AclOperation, string[]>();
    for (const [name, ops] of byName) {
      if (name === WILDCARD_RESOURCE_NAME && type !== ResourceType.CLUSTER) {
        notes.push(`a resource named "*" was used: a LITERAL binding on "*" would grant every resource of its type, so none is proposed for it`);
        continue;
      }
      for (const op of withoutImplied(ops)) namesByOp.set(op, [...(namesByOp.get(op) ?? []), name]);
    }
    const existing = input.existing.get(type);
    for (const [op, names] of namesByOp) {
      // Only topics and groups can be listed, so only their prefixes can be checked to be exact.
      const patterns = existing === undefined ? names.map((name) => ({ name, prefixed: false, covers: [name] })) : groupExactPrefixes(names, existing);
      for (const p of patterns) grants.push({ binding: allow(type, p.name, p.prefixed ? PatternType.PREFIXED : PatternType.LITERAL, op), covers: p.covers });
    }
  }
  const minimal = grants.filter((g) => !grants.some((other) => other !== g && implies(other.binding.operation, g.binding.operation) && other.binding.resourceType === g.binding.resourceType && patternContains(other.binding, g.binding)));

  if (idempotentProducer) {
    const topicWrite = minimal.some((g) => g.binding.resourceType === ResourceType.TOPIC && g.binding.operation === AclOperation.WRITE);
    if (topicWrite) notes.push('an idempotent producer was seen: the proposed WRITE on a topic lets it in (KIP-679), so IDEMPOTENT_WRITE on the cluster is not proposed');
    else minimal.push({ binding: allow(ResourceType.CLUSTER, CLUSTER_RESOURCE_NAME, PatternType.LITERAL, AclOperation.IDEMPOTENT_WRITE), covers: [CLUSTER_RESOURCE_NAME], note: 'an idempotent producer (InitProducerId) that wrote to no topic' });
  }

  const flagged: ProposedGrant[] = [];
  const deniedNeeds: Needs = new Map();
  for (const a of denied) {
    if (minimal.some((g) => grantCovers(g.binding, a))) continue;
    if (a.scope === 'any' && isIdempotence(a)) need(deniedNeeds, ResourceType.CLUSTER, CLUSTER_RESOURCE_NAME, AclOperation.IDEMPOTENT_WRITE);
    else if (a.scope === 'named' && !(a.resourceName === WILDCARD_RESOURCE_NAME && a.resourceType !== ResourceType.CLUSTER)) need(deniedNeeds, a.resourceType, a.resourceName, a.operation);
  }
  for (const [type, byName] of deniedNeeds) {
    for (const [name, ops] of byName) {
      for (const op of withoutImplied(ops)) flagged.push({ binding: allow(type, name, PatternType.LITERAL, op), covers: [name], note: 'denied when attempted' });
    }
  }
  const order = (a: ProposedGrant, b: ProposedGrant) =>
    a.binding.resourceType - b.binding.resourceType || (a.binding.resourceName < b.binding.resourceName ? -1 : a.binding.resourceName > b.binding.resourceName ? 1 : 0) || a.binding.operation - b.binding.operation;
  return { used, denied, grants: minimal.sort(order), flagged: flagged.sort(order), notNeeded, notes };
}
