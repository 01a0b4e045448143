import { ErrorCode } from '../protocol/error-codes.js';
import type { Principal } from '../security/types.js';

/** What the principals together, and each principal, may hold of consumer groups. */
export interface GroupRegistryLimits {
  /** Groups on the broker: in the coordinator's memory or with committed offsets. */
  readonly maxGroups: number;
  /** Groups one principal created and still holds (live or with committed offsets). */
  readonly maxGroupsPerPrincipal: number;
  /** Members, pending member ids, their metadata and assignments charged to one principal. */
  readonly maxMemoryBytesPerPrincipal: number;
  /** Committed offsets (as the metadata store counts them) of the groups one principal holds. */
  readonly maxOffsetBytesPerPrincipal: number;
}

export const DEFAULT_GROUP_REGISTRY_LIMITS: GroupRegistryLimits = {
  maxGroups: 50_000,
  maxGroupsPerPrincipal: 1000,
  maxMemoryBytesPerPrincipal: 32 * 1024 * 1024,
  maxOffsetBytesPerPrincipal: 64 * 1024 * 1024,
};

interface GroupEntry {
  /** The principal that created the group; null for a group known only from the store since the start. */
  owner: Principal | null;
  /** In the coordinator's memory (it has or had members or pending member ids). */
  live: boolean;
  /** Its committed offsets as the store counts them (0: none). */
  offsetBytes: number;
}

export interface PrincipalUsage {
  groups: number;
  memoryBytes: number;
  offsetBytes: number;
}

/**
 * Which groups exist and who holds what of them: the accounting behind the per-principal and
 * broker-wide group bounds. Kafka has none of these (any principal with READ on a group id may create
 * it, and its offsets, for ever); a broker that one principal can fill with groups, members or offsets
 * until memory or the disk runs out is what they prevent.
 *
 * A group exists while it is live in the coordinator or has committed offsets, and is held by the
 * principal whose JoinGroup or OffsetCommit created it; another principal allowed to use it (ACLs)
 * adds members and offsets to it without holding it. Ownership is kept in memory only: after a
 * restart, groups loaded from the store count towards the broker-wide bound, and each is adopted by the
 * first principal that joins or commits to it (even past that principal's bound, which then only stops
 * it from creating new groups). Memory is charged to the principal that joined each member.
 *
 * Keys are group ids and principals: both bounded in length before a request reaches the coordinator
 * (the request's group id by the protocol's length rules; a principal by authentication), and entries
 * go as soon as nothing is held, so the maps stay within maxGroups and the principals holding groups.
 */
export class GroupRegistry {
  readonly limits: GroupRegistryLimits;
  readonly #groups = new Map<string, GroupEntry>();
  readonly #principals = new Map<Principal, PrincipalUsage>();

  /** `storedOffsetBytes`: the groups with committed offsets at start-up, and their bytes. */
  constructor(limits: GroupRegistryLimits, storedOffsetBytes: ReadonlyMap<string, number> = new Map()) {
    this.limits = limits;
    for (const [groupId, bytes] of storedOffsetBytes) {
      if (bytes > 0) this.#groups.set(groupId, { owner: null, live: false, offsetBytes: bytes });
    }
  }

  /** How many groups exist. */
  get size(): number {
    return this.#groups.size;
  }

  has(groupId: string): boolean {
    return this.#groups.has(groupId);
  }

  usage(principal: Principal): PrincipalUsage {
    return { ...(this.#principals.get(principal) ?? { groups: 0, memoryBytes: 0, offsetBytes: 0 }) };
  }

  ownerOf(groupId: string): Principal | null | undefined {
    return this.#groups.get(groupId)?.owner;
  }

  /**
   * NONE when the principal may use the group: it exists, or the principal and the broker are below
   * their bounds; else POLICY_VIOLATION (44), which every client reports as a broker policy refusal
   * and does not retry. Changes nothing: {@link hold} registers the group once something is stored.
   */
  canHold(groupId: string, principal: Principal): number {
    if (this.#groups.has(groupId)) return ErrorCode.NONE;
    if (this.#groups.size >= this.limits.maxGroups) return ErrorCode.POLICY_VIOLATION;
    if ((this.#principals.get(principal)?.groups ?? 0) >= this.limits.maxGroupsPerPrincipal) return ErrorCode.POLICY_VIOLATION;
    return ErrorCode.NONE;
  }

  /**
   * Registers a new group as held by `principal`, or gives an existing group without an owner (one
   * loaded at start-up) to it. The caller has checked {@link canHold} in the same turn.
   */
  hold(groupId: string, principal: Principal): void {
    const entry = this.#groups.get(groupId);
    if (entry === undefined) {
      this.#groups.set(groupId, { owner: principal, live: false, offsetBytes: 0 });
      this.#usageOf(principal).groups++;
      return;
    }
    if (entry.owner !== null) return;
    entry.owner = principal;
    const usage = this.#usageOf(principal);
    usage.groups++;
    usage.offsetBytes += entry.offsetBytes;
  }

  /** The coordinator keeps the group in memory (true) or forgot it (false). */
  setLive(groupId: string, live: boolean): void {
    const entry = this.#groups.get(groupId);
    if (entry === undefined) return;
    entry.live = live;
    this.#releaseIfUnused(groupId, entry);
  }

  /**
   * How many more offset bytes a commit by `principal` may add to the group: what its holder (or
   * `principal`, who would hold a new or unowned group) has left. Negative when over the bound.
   */
  offsetRoom(groupId: string, principal: Principal): number {
    const entry = this.#groups.get(groupId);
    const holder = entry?.owner ?? principal;
    const adopted = entry !== undefined && entry.owner === null ? entry.offsetBytes : 0;
    return this.limits.maxOffsetBytesPerPrincipal - ((this.#principals.get(holder)?.offsetBytes ?? 0) + adopted);
  }

  /** A commit changed the group's stored offsets by `delta` bytes. */
  addOffsetBytes(groupId: string, delta: number): void {
    const entry = this.#groups.get(groupId);
    if (entry !== undefined) this.#setOffsetBytes(groupId, entry, entry.offsetBytes + delta);
  }

  /** The group's stored offsets now take `bytes` (after expiry or deletion); 0 and not live: it is gone. */
  setOffsetBytes(groupId: string, bytes: number): void {
    const entry = this.#groups.get(groupId);
    if (entry !== undefined) this.#setOffsetBytes(groupId, entry, bytes);
  }

  /**
   * Brings the offset bytes in line with the store (`stored`: every group with committed offsets):
   * the periodic offset expiry calls it, which also catches offsets deleted with a topic.
   */
  reconcile(stored: ReadonlyMap<string, number>): void {
    for (const [groupId, entry] of [...this.#groups]) this.#setOffsetBytes(groupId, entry, stored.get(groupId) ?? 0);
    for (const [groupId, bytes] of stored) {
      if (!this.#groups.has(groupId) && bytes > 0) this.#groups.set(groupId, { owner: null, live: false, offsetBytes: bytes });
    }
  }

  /** Charges `bytes` (negative: gives back) to the principal's memory; false, charging nothing, past its bound. */
  chargeMemory(principal: Principal, bytes: number): boolean {
    const usage = this.#usageOf(principal);
    if (bytes > 0 && usage.memoryBytes + bytes > this.limits.maxMemoryBytesPerPrincipal) {
      this.#dropIfIdle(principal, usage);
      return false;
    }
    usage.memoryBytes += bytes;
    this.#dropIfIdle(principal, usage);
    return true;
  }

  releaseMemory(principal: Principal, bytes: number): void {
    this.chargeMemory(principal, -bytes);
  }

  /** What the principal may still charge to its memory budget. */
  memoryRoom(principal: Principal): number {
    return this.limits.maxMemoryBytesPerPrincipal - (this.#principals.get(principal)?.memoryBytes ?? 0);
  }

  #setOffsetBytes(groupId: string, entry: GroupEntry, bytes: number): void {
    const next = Math.max(0, bytes);
    if (entry.owner !== null) {
      const usage = this.#usageOf(entry.owner);
      usage.offsetBytes += next - entry.offsetBytes;
      this.#dropIfIdle(entry.owner, usage);
    }
    entry.offsetBytes = next;
    this.#releaseIfUnused(groupId, entry);
  }

  #releaseIfUnused(groupId: string, entry: GroupEntry): void {
    if (entry.live || entry.offsetBytes > 0) return;
    this.#groups.delete(groupId);
    if (entry.owner === null) return;
    const usage = this.#usageOf(entry.owner);
    usage.groups--;
    this.#dropIfIdle(entry.owner, usage);
  }

  #usageOf(principal: Principal): PrincipalUsage {
    let usage = this.#principals.get(principal);
    if (usage === undefined) {
      usage = { groups: 0, memoryBytes: 0, offsetBytes: 0 };
      this.#principals.set(principal, usage);
    }
    return usage;
  }

  #dropIfIdle(principal: Principal, usage: PrincipalUsage): void {
    if (usage.groups === 0 && usage.memoryBytes === 0 && usage.offsetBytes === 0) this.#principals.delete(principal);
  }
}
