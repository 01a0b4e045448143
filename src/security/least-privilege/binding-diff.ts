/**
 * A proposal against the principal's bindings now (DescribeAcls): what `--apply` adds and removes so
 * that the principal is left with exactly the proposal. DENY bindings are kept (taking one away
 * widens access), and so are bindings of `User:*`, which belong to everyone.
 */
import { AclPermissionType } from '../../protocol/acl.js';
import type { ObservedAccess } from '../access-log/observed-access.js';
import { grantCovers, sameBinding, type Binding } from './grants.js';
import type { Proposal } from './proposal.js';

export interface Removal {
  readonly binding: Binding;
  /** `unused`: it covered nothing the principal was seen doing; `replaced`: the proposal covers what it was used for. */
  readonly why: 'unused' | 'replaced';
}

export interface BindingDiff {
  readonly add: readonly Binding[];
  /** Proposed and there already. */
  readonly keep: readonly Binding[];
  readonly remove: readonly Removal[];
  /** The principal's DENY bindings, left as they are. */
  readonly keepDeny: readonly Binding[];
  /** Flagged proposals (denied when attempted) not there: added only when asked for. */
  readonly flagged: readonly Binding[];
}

/**
 * The host proposals are made for: the one host every ALLOW binding of the principal names now, so
 * that a principal bound to an address stays bound to it; `*` otherwise.
 */
export function proposalHost(current: readonly Binding[]): string {
  const hosts = new Set(current.filter((b) => b.permission === AclPermissionType.ALLOW).map((b) => b.host));
  const [only] = hosts;
  return hosts.size === 1 && only !== undefined ? only : '*';
}

/** `current`: the bindings whose principal is exactly this one; `observed`: its allowed access (any scope), to tell unused grants from replaced ones. */
export function diffBindings(proposal: Proposal, current: readonly Binding[], observed: readonly ObservedAccess[]): BindingDiff {
  const proposed = proposal.grants.map((g) => g.binding);
  const flagged = proposal.flagged.map((g) => g.binding);
  const allows = current.filter((b) => b.permission === AclPermissionType.ALLOW);
  const has = (list: readonly Binding[], b: Binding) => list.some((x) => sameBinding(x, b));
  const used = observed.filter((a) => a.allowed);
  return {
    add: proposed.filter((b) => !has(allows, b)),
    keep: proposed.filter((b) => has(allows, b)),
    // A flagged binding already there stays: it is the proposal's too, applied or not.
    remove: allows.filter((b) => !has(proposed, b) && !has(flagged, b)).map((binding) => ({ binding, why: used.some((a) => grantCovers(binding, a)) ? 'replaced' : 'unused' })),
    keepDeny: current.filter((b) => b.permission !== AclPermissionType.ALLOW),
    flagged: flagged.filter((b) => !has(allows, b)),
  };
}
