import { ErrorCode } from '../protocol/error-codes.js';
import type { Principal } from '../security/types.js';
import { protocolBytes } from './limits.js';

/**
 * The classic protocol's group states (docs/consumer-groups.md#how-a-rebalance-works), named as
 * DescribeGroups reports them.
 */
export const GroupState = {
  Empty: 'Empty',
  PreparingRebalance: 'PreparingRebalance',
  CompletingRebalance: 'CompletingRebalance',
  Stable: 'Stable',
  Dead: 'Dead',
} as const;
export type GroupStateName = (typeof GroupState)[keyof typeof GroupState];

export interface MemberProtocol {
  readonly name: string;
  readonly metadata: Buffer;
}

/** What a JoinGroup call is answered with (also the shape the handler encodes). */
export interface JoinOutcome {
  readonly errorCode: number;
  readonly generationId: number;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly leader: string;
  readonly memberId: string;
  readonly members: readonly { memberId: string; groupInstanceId: string | null; metadata: Buffer }[];
}

export interface SyncOutcome {
  readonly errorCode: number;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly assignment: Buffer;
}

export class Member {
  readonly memberId: string;
  /** Who joined it: its memory is charged to this principal (GroupRegistry). */
  readonly principal: Principal;
  /** What is charged for it now (memberCost). */
  charged = 0;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  #protocols: readonly MemberProtocol[] = [];
  #protocolNames: ReadonlySet<string> = new Set();
  #protocolBytes = 0;
  assignment: Buffer = Buffer.alloc(0);
  /** The member's JoinGroup waiting for the rebalance to complete. */
  awaitingJoin: ((outcome: JoinOutcome) => void) | null = null;
  /** The member's SyncGroup waiting for the leader's assignments. */
  awaitingSync: ((outcome: SyncOutcome) => void) | null = null;
  sessionTimer: unknown = null;

  constructor(init: {
    memberId: string;
    principal: Principal;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    sessionTimeoutMs: number;
    rebalanceTimeoutMs: number;
    protocolType: string;
    protocols: readonly MemberProtocol[];
  }) {
    this.memberId = init.memberId;
    this.principal = init.principal;
    this.groupInstanceId = init.groupInstanceId;
    this.clientId = init.clientId;
    this.clientHost = init.clientHost;
    this.sessionTimeoutMs = init.sessionTimeoutMs;
    this.rebalanceTimeoutMs = init.rebalanceTimeoutMs;
    this.protocolType = init.protocolType;
    this.protocols = init.protocols;
  }

  get protocols(): readonly MemberProtocol[] {
    return this.#protocols;
  }

  /** Sets the list with what every join of the group asks of it: its names and its bytes. */
  set protocols(protocols: readonly MemberProtocol[]) {
    this.#protocols = protocols;
    this.#protocolNames = new Set(protocols.map((p) => p.name));
    this.#protocolBytes = protocolBytes(protocols);
  }

  get protocolNames(): ReadonlySet<string> {
    return this.#protocolNames;
  }

  /** Its protocol names and metadata in bytes (limits.ts protocolBytes). */
  get protocolBytes(): number {
    return this.#protocolBytes;
  }

  metadataFor(protocol: string): Buffer {
    return this.protocols.find((p) => p.name === protocol)?.metadata ?? Buffer.alloc(0);
  }

  /** Same protocols with the same metadata: a rejoin that needs no rebalance. */
  sameProtocols(protocols: readonly MemberProtocol[]): boolean {
    return (
      protocols.length === this.protocols.length &&
      protocols.every((p, i) => p.name === this.protocols[i]?.name && p.metadata.equals(this.protocols[i].metadata))
    );
  }

  /** Answers a waiting JoinGroup, if any. */
  answerJoin(outcome: JoinOutcome): void {
    const answer = this.awaitingJoin;
    this.awaitingJoin = null;
    answer?.(outcome);
  }

  answerSync(outcome: SyncOutcome): void {
    const answer = this.awaitingSync;
    this.awaitingSync = null;
    answer?.(outcome);
  }
}

/** A member id handed out with MEMBER_ID_REQUIRED (KIP-394): its expiry timer and what it is charged. */
export interface PendingMember {
  readonly timer: unknown;
  readonly principal: Principal;
  readonly charged: number;
}

/** One consumer group: members, generation, chosen protocol and leader. */
export class Group {
  readonly groupId: string;
  state: GroupStateName = GroupState.Empty;
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  /** In join order: the first member becomes leader when there is none. */
  readonly members = new Map<string, Member>();
  /** KIP-394: ids handed out with MEMBER_ID_REQUIRED, not yet used to join. */
  readonly pendingMembers = new Map<string, PendingMember>();
  /** group.instance.id → current member id (static membership, KIP-345). */
  readonly staticMembers = new Map<string, string>();
  /** The timer that ends the join phase (initial delay or rebalance timeout). */
  joinTimer: unknown = null;
  /** The join phase may not complete before this time (initial rebalance delay). */
  joinNotBefore = 0;
  /** The current join phase started from Empty: members joining during the delay extend it. */
  initialJoin = false;
  /** The join phase completes at this time at the latest, without the members that did not rejoin. */
  joinDeadline = 0;

  constructor(groupId: string) {
    this.groupId = groupId;
  }

  is(state: GroupStateName): boolean {
    return this.state === state;
  }

  /** A static member whose instance id now belongs to another member id (the old one is fenced). */
  isFenced(memberId: string, groupInstanceId: string | null): boolean {
    if (groupInstanceId === null) return false;
    const current = this.staticMembers.get(groupInstanceId);
    return current !== undefined && current !== memberId;
  }

  /**
   * Could a member with these protocols join: same protocol type and a protocol every member supports.
   * Linear in members × protocols, as it runs for every join of a group of up to group.max.size members.
   */
  supports(protocolType: string, protocols: readonly MemberProtocol[]): boolean {
    if (this.members.size === 0) return protocolType.length > 0 && protocols.length > 0;
    if (protocolType !== this.protocolType) return false;
    const supportedByAll = this.#protocolsSupportedByAll();
    return protocols.some((p) => supportedByAll.has(p.name));
  }

  /** The protocol names every member lists. */
  #protocolsSupportedByAll(): Set<string> {
    const counts = new Map<string, number>();
    for (const m of this.members.values()) {
      for (const name of m.protocolNames) counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    return new Set([...counts].filter(([, n]) => n === this.members.size).map(([name]) => name));
  }

  /** Protocol metadata and assignments of every member: what maxGroupMetadataBytes bounds. */
  storedBytes(): number {
    let bytes = 0;
    for (const m of this.members.values()) bytes += m.protocolBytes + m.assignment.length;
    return bytes;
  }

  /**
   * The protocol for the next generation: among those every member supports, the one most members
   * list first... counted as Kafka does (each member votes for the first of its protocols that all
   * support; most votes wins, ties by the candidates' order).
   */
  selectProtocol(): string {
    const members = [...this.members.values()];
    const supportedByAll = this.#protocolsSupportedByAll();
    const candidates = (members[0]?.protocols ?? []).map((p) => p.name).filter((name) => supportedByAll.has(name));
    const votes = new Map<string, number>(candidates.map((c) => [c, 0]));
    for (const m of members) {
      const vote = m.protocols.find((p) => votes.has(p.name))?.name;
      if (vote !== undefined) votes.set(vote, (votes.get(vote) ?? 0) + 1);
    }
    let best = candidates[0] ?? '';
    for (const c of candidates) if ((votes.get(c) ?? 0) > (votes.get(best) ?? 0)) best = c;
    return best;
  }

  allMembersJoined(): boolean {
    return this.pendingMembers.size === 0 && [...this.members.values()].every((m) => m.awaitingJoin !== null);
  }

  /** The largest rebalance timeout of the members: how long the join phase waits for them. */
  rebalanceTimeoutMs(): number {
    return Math.max(0, ...[...this.members.values()].map((m) => m.rebalanceTimeoutMs));
  }

  joinOutcomeFor(member: Member): JoinOutcome {
    const isLeader = member.memberId === this.leaderId;
    const protocol = this.protocolName ?? '';
    return {
      errorCode: ErrorCode.NONE,
      generationId: this.generationId,
      protocolType: this.protocolType,
      protocolName: this.protocolName,
      leader: this.leaderId ?? '',
      memberId: member.memberId,
      members: isLeader
        ? [...this.members.values()].map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadataFor(protocol) }))
        : [],
    };
  }
}
