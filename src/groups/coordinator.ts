import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { Principal } from '../security/types.js';
import { Group, GroupState, Member, type GroupStateName, type JoinOutcome, type MemberProtocol, type SyncOutcome } from './group.js';
import type { GroupRegistry } from './group-registry.js';
import { DEFAULT_GROUP_SIZE_LIMITS, LimitLog, memberCost, ownedCopy, ownedProtocols, pendingMemberCost, protocolBytes, type GroupSizeLimits } from './limits.js';
import type { GroupMembership } from './membership.js';
import type { GroupPersistence } from './persistence.js';
import type { Scheduler } from './scheduler.js';

export interface CoordinatorConfig extends GroupSizeLimits {
  /** Kafka's group.min.session.timeout.ms / group.max.session.timeout.ms. */
  readonly minSessionTimeoutMs: number;
  readonly maxSessionTimeoutMs: number;
  /** Kafka's group.initial.rebalance.delay.ms: a first join into an empty group waits this long for more. */
  readonly initialRebalanceDelayMs: number;
}

export const DEFAULT_COORDINATOR_CONFIG: CoordinatorConfig = {
  minSessionTimeoutMs: 6000,
  maxSessionTimeoutMs: 1_800_000,
  initialRebalanceDelayMs: 3000,
  ...DEFAULT_GROUP_SIZE_LIMITS,
};

export interface CoordinatorDeps {
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  /**
   * Committed offsets and saved group metadata: groups that exist only through their offsets (after a
   * restart) are listed and described as Empty, with the protocol type saved for them.
   */
  readonly persistence: GroupPersistence;
  /**
   * Which groups exist and what each principal holds (the offset manager shares it): a JoinGroup that
   * would create a group, or charge a principal's memory, past their bounds is refused.
   */
  readonly registry: GroupRegistry;
}

export interface JoinRequest {
  readonly groupId: string;
  /** Who sends it: holds the group if this join creates it, and is charged for the member. */
  readonly principal: Principal;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly sessionTimeoutMs: number;
  /** −1 (JoinGroup v0) means the session timeout. */
  readonly rebalanceTimeoutMs: number;
  readonly protocolType: string;
  readonly protocols: readonly MemberProtocol[];
  /** JoinGroup v4+: an unknown member must first be given an id (KIP-394); never below v4. */
  readonly requireKnownMemberId: boolean;
}

export interface SyncRequest {
  readonly groupId: string;
  /** Who sends it (named when a limit refuses the leader's assignments). */
  readonly principal: Principal;
  readonly memberId: string;
  readonly generationId: number;
  readonly groupInstanceId: string | null;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly assignments: readonly { memberId: string; assignment: Buffer }[];
}

export interface GroupSummary {
  readonly groupId: string;
  readonly state: GroupStateName;
  readonly protocolType: string;
  readonly protocolName: string;
  readonly members: readonly { memberId: string; groupInstanceId: string | null; clientId: string; clientHost: string; metadata: Buffer; assignment: Buffer }[];
}

const joinError = (errorCode: number, memberId = ''): JoinOutcome => ({
  errorCode,
  generationId: -1,
  protocolType: null,
  protocolName: null,
  leader: '',
  memberId,
  members: [],
});
const syncError = (errorCode: number): SyncOutcome => ({ errorCode, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) });
const EMPTY = Buffer.alloc(0);

/**
 * The classic consumer group coordinator (Kafka's GroupCoordinator;
 * docs/consumer-groups.md#how-a-rebalance-works): members join, the join phase ends when every member
 * has rejoined or the rebalance timeout passes, the leader's assignments are handed out by SyncGroup,
 * heartbeats keep sessions alive, and a member whose session expires is removed and triggers a
 * rebalance. Groups live in memory; committed offsets are stored apart (the offset handlers ask this
 * class through {@link GroupMembership}). Each completed generation saves the group's protocol type
 * and generation, so that a group rebuilt from its offsets after a restart describes as Kafka's does
 * (Empty, "consumer") and its next generation follows the last.
 */
export class GroupCoordinator implements GroupMembership {
  readonly #config: CoordinatorConfig;
  readonly #deps: CoordinatorDeps;
  readonly #groups = new Map<string, Group>();
  readonly #limitLog: LimitLog;

  constructor(config: CoordinatorConfig, deps: CoordinatorDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#limitLog = new LimitLog(deps.logger, () => deps.scheduler.now());
  }

  // ---- JoinGroup ------------------------------------------------------------------------------

  join(req: JoinRequest): Promise<JoinOutcome> {
    if (req.groupId.length === 0) return Promise.resolve(joinError(ErrorCode.INVALID_GROUP_ID, req.memberId));
    if (req.sessionTimeoutMs < this.#config.minSessionTimeoutMs || req.sessionTimeoutMs > this.#config.maxSessionTimeoutMs) {
      return Promise.resolve(joinError(ErrorCode.INVALID_SESSION_TIMEOUT, req.memberId));
    }
    // A member this large is refused whatever the group: before anything is looked up or created.
    if (req.protocols.length > this.#config.maxProtocolsPerMember || protocolBytes(req.protocols) > this.#config.maxMemberMetadataBytes) {
      return Promise.resolve(joinError(this.#refuse(ErrorCode.MESSAGE_TOO_LARGE, req, 'groupMaxMemberMetadataBytes'), req.memberId));
    }
    let group = this.#groups.get(req.groupId);
    if (group === undefined) {
      if (req.memberId !== '') return Promise.resolve(joinError(ErrorCode.UNKNOWN_MEMBER_ID, req.memberId));
      const refused = this.#deps.registry.canHold(req.groupId, req.principal);
      if (refused !== ErrorCode.NONE) return Promise.resolve(joinError(this.#refuse(refused, req, 'groupMaxGroupsPerPrincipal or groupMaxGroups'), req.memberId));
      group = this.#restoreGroup(req.groupId);
      this.#groups.set(req.groupId, group);
      this.#deps.registry.hold(req.groupId, req.principal);
      this.#deps.registry.setLive(req.groupId, true);
    }
    // A full group refuses a new member before the protocols are matched (linear in its size).
    if (req.memberId === '' && req.groupInstanceId === null && this.#isFull(group)) {
      return this.#refuseJoin(group, req, this.#refuse(ErrorCode.GROUP_MAX_SIZE_REACHED, req, 'groupMaxSize'));
    }
    if (!group.supports(req.protocolType, req.protocols)) {
      this.#forgetIfUnused(group);
      return Promise.resolve(joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, req.memberId));
    }
    return req.memberId === '' ? this.#joinUnknownMember(group, req) : this.#joinKnownMember(group, req);
  }

  /**
   * A group not in memory, as Kafka loads it: with the generation and protocol type saved when its
   * last generation completed (kept only while it has committed offsets), else new at generation 0.
   */
  #restoreGroup(groupId: string): Group {
    const group = new Group(groupId);
    const saved = this.#deps.persistence.groupMetadata(groupId);
    if (saved !== undefined) {
      group.generationId = saved.generationId;
      group.protocolType = saved.protocolType;
    }
    return group;
  }

  /**
   * Drops an Empty group that has no members, no pending member ids and no committed offsets (Kafka
   * marks it Dead), so that joins with ever new group ids cannot grow memory without bound; its
   * saved metadata goes too (there is some only once a generation has completed).
   */
  #forgetIfUnused(group: Group): void {
    if (!group.is(GroupState.Empty) || group.members.size > 0 || group.pendingMembers.size > 0) return;
    if (this.#deps.persistence.hasOffsets(group.groupId)) return;
    this.#deps.scheduler.cancel(group.joinTimer);
    group.state = GroupState.Dead;
    this.#groups.delete(group.groupId);
    this.#deps.registry.setLive(group.groupId, false);
    if (group.generationId > 0) this.#deps.persistence.deleteGroupMetadata(group.groupId);
  }

  /** Logs a refusal by a limit (rate-limited) and returns its code. */
  #refuse(errorCode: number, req: { readonly groupId: string; readonly principal: Principal }, limit: string, api = 'JoinGroup'): number {
    return this.#limitLog.refused(errorCode, { api, group: req.groupId, principal: req.principal, limit });
  }

  /** Room for one more member or pending member id (Kafka's group.max.size, counting KIP-394 ids too). */
  #isFull(group: Group): boolean {
    return group.members.size + group.pendingMembers.size >= this.#config.maxGroupSize;
  }

  /** Forgets a pending member id (expired, used to join, left, or the join phase ended) and its charge. */
  #dropPending(group: Group, memberId: string): void {
    const pending = group.pendingMembers.get(memberId);
    if (pending === undefined) return;
    this.#deps.scheduler.cancel(pending.timer);
    group.pendingMembers.delete(memberId);
    this.#deps.registry.releaseMemory(pending.principal, pending.charged);
  }

  /**
   * Checks that the group and the member's principal can hold `member`, which replaces `replaced` (a
   * static member's old incarnation) if given, and charges the principal: NONE, or the refusal.
   */
  #charge(group: Group, member: Member, replaced?: Member): number {
    const replacedBytes = replaced === undefined ? 0 : replaced.protocolBytes + replaced.assignment.length;
    const bytes = member.protocolBytes + member.assignment.length;
    if (group.storedBytes() - replacedBytes + bytes > this.#config.maxGroupMetadataBytes) {
      return this.#refuse(ErrorCode.MESSAGE_TOO_LARGE, { groupId: group.groupId, principal: member.principal }, 'groupMaxMetadataBytes');
    }
    const cost = memberCost(member);
    if (!this.#deps.registry.chargeMemory(member.principal, cost)) {
      return this.#refuse(ErrorCode.POLICY_VIOLATION, { groupId: group.groupId, principal: member.principal }, 'groupMaxMemoryBytesPerPrincipal');
    }
    member.charged = cost;
    return ErrorCode.NONE;
  }

  /** Releases what a member no longer in the group was charged. */
  #uncharge(member: Member): void {
    this.#deps.registry.releaseMemory(member.principal, member.charged);
    member.charged = 0;
  }

  /** A known member rejoins with other protocols: re-charged, or refused and left as it was. */
  #changeProtocols(group: Group, member: Member, req: JoinRequest): number {
    const protocols = ownedProtocols(req.protocols);
    const grows = protocolBytes(protocols) - member.protocolBytes;
    if (group.storedBytes() + grows > this.#config.maxGroupMetadataBytes) return this.#refuse(ErrorCode.MESSAGE_TOO_LARGE, req, 'groupMaxMetadataBytes');
    const cost = memberCost({
      memberId: member.memberId,
      groupInstanceId: member.groupInstanceId,
      clientId: member.clientId,
      clientHost: member.clientHost,
      protocolType: req.protocolType,
      protocols,
      assignment: member.assignment,
    });
    if (!this.#deps.registry.chargeMemory(member.principal, cost - member.charged)) {
      return this.#refuse(ErrorCode.POLICY_VIOLATION, { groupId: group.groupId, principal: member.principal }, 'groupMaxMemoryBytesPerPrincipal');
    }
    member.charged = cost;
    member.protocols = protocols;
    member.protocolType = req.protocolType;
    return ErrorCode.NONE;
  }

  /**
   * Saves what describes the group after a restart, once a generation completes (Kafka writes its
   * group metadata record then). An Empty group without offsets is forgotten instead.
   */
  #saveGroup(group: Group): void {
    if (group.protocolType === null) return;
    if (group.is(GroupState.Empty) && !this.#deps.persistence.hasOffsets(group.groupId)) return;
    this.#deps.persistence.saveGroupMetadata(group.groupId, { protocolType: group.protocolType, generationId: group.generationId });
  }

  #joinUnknownMember(group: Group, req: JoinRequest): Promise<JoinOutcome> {
    const memberId = `${req.clientId}-${randomUUID()}`;
    if (req.groupInstanceId !== null) return this.#joinStaticMember(group, req, memberId);
    if (req.requireKnownMemberId) {
      // KIP-394: the client rejoins with this id; until then it is pending, and counts as a member the
      // join phase waits for, so that a group does not rebalance twice. Real clients rejoin at once, so
      // it expires sooner than Kafka's session timeout: ids handed out and never used must not keep a
      // group (and a principal's budget) for up to group.max.session.timeout.ms.
      const charged = pendingMemberCost(memberId);
      if (!this.#deps.registry.chargeMemory(req.principal, charged)) {
        return this.#refuseJoin(group, req, this.#refuse(ErrorCode.POLICY_VIOLATION, req, 'groupMaxMemoryBytesPerPrincipal'));
      }
      const timer = this.#deps.scheduler.schedule(
        () => {
          this.#dropPending(group, memberId);
          this.#maybeCompleteJoin(group);
          this.#forgetIfUnused(group);
        },
        Math.min(req.sessionTimeoutMs, this.#config.pendingMemberTimeoutMs),
      );
      group.pendingMembers.set(memberId, { timer, principal: req.principal, charged });
      return Promise.resolve(joinError(ErrorCode.MEMBER_ID_REQUIRED, memberId));
    }
    return this.#addMemberAndRebalance(group, req, memberId);
  }

  /**
   * Answers a refused join. A pending id refused on its rejoin is gone, so the join phase may be
   * complete now instead of at its deadline; a group this join created is forgotten again.
   */
  #refuseJoin(group: Group, req: JoinRequest, errorCode: number): Promise<JoinOutcome> {
    this.#maybeCompleteJoin(group);
    this.#forgetIfUnused(group);
    return Promise.resolve(joinError(errorCode, req.memberId));
  }

  /**
   * A static member (group.instance.id) joining without a member id: a known instance gets a new id and
   * takes over its old member's place, fencing the old id; when the group is stable and the protocols
   * did not change, it gets the current generation back without a rebalance (KIP-345).
   */
  #joinStaticMember(group: Group, req: JoinRequest, memberId: string): Promise<JoinOutcome> {
    const instanceId = req.groupInstanceId as string;
    const oldId = group.staticMembers.get(instanceId);
    const old = oldId === undefined ? undefined : group.members.get(oldId);
    if (old === undefined) {
      if (this.#isFull(group)) return this.#refuseJoin(group, req, this.#refuse(ErrorCode.GROUP_MAX_SIZE_REACHED, req, 'groupMaxSize'));
      return this.#addMemberAndRebalance(group, req, memberId);
    }
    const currentLeader = group.leaderId ?? '';
    const member = this.#newMember(req, memberId);
    member.assignment = old.assignment;
    // The new incarnation replaces the old one's charge: released first, so that a principal at its
    // budget can restart its static members; given back if the new one is refused.
    this.#deps.registry.releaseMemory(old.principal, old.charged);
    const refused = this.#charge(group, member, old);
    if (refused !== ErrorCode.NONE) {
      this.#deps.registry.chargeMemory(old.principal, old.charged);
      return Promise.resolve(joinError(refused, req.memberId));
    }
    old.charged = 0;
    this.#cancelSession(old);
    old.answerJoin(joinError(ErrorCode.FENCED_INSTANCE_ID, old.memberId));
    old.answerSync(syncError(ErrorCode.FENCED_INSTANCE_ID));
    group.members.delete(old.memberId);
    group.members.set(memberId, member);
    group.staticMembers.set(instanceId, memberId);
    if (group.leaderId === old.memberId) group.leaderId = memberId;
    if (group.is(GroupState.Stable) && old.sameProtocols(req.protocols)) {
      this.#startSession(group, member);
      // Like Kafka before JoinGroup v9 (no skip_assignment): the answer names the leader as it was and
      // carries no members, so a restarted static leader does not run an assignment that a Stable
      // group would ignore; it leads again from the next rebalance.
      return Promise.resolve({ ...group.joinOutcomeFor(member), leader: currentLeader, members: [] });
    }
    return this.#awaitRebalance(group, member, `static member ${instanceId} rejoined`);
  }

  #joinKnownMember(group: Group, req: JoinRequest): Promise<JoinOutcome> {
    if (group.pendingMembers.has(req.memberId)) {
      // Its place in the group was taken with the id (group.max.size counts pending ids).
      this.#dropPending(group, req.memberId);
      return this.#addMemberAndRebalance(group, req, req.memberId);
    }
    if (group.isFenced(req.memberId, req.groupInstanceId)) return Promise.resolve(joinError(ErrorCode.FENCED_INSTANCE_ID, req.memberId));
    const member = group.members.get(req.memberId);
    if (member === undefined || group.is(GroupState.Empty) || group.is(GroupState.Dead)) {
      return Promise.resolve(joinError(ErrorCode.UNKNOWN_MEMBER_ID, req.memberId));
    }
    const unchanged = member.sameProtocols(req.protocols);
    if (!unchanged || member.protocolType !== req.protocolType) {
      const refused = this.#changeProtocols(group, member, req);
      if (refused !== ErrorCode.NONE) return Promise.resolve(joinError(refused, req.memberId));
    }
    member.sessionTimeoutMs = req.sessionTimeoutMs;
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs < 0 ? req.sessionTimeoutMs : req.rebalanceTimeoutMs;
    switch (group.state) {
      case GroupState.PreparingRebalance:
        return this.#awaitRebalance(group, member, 'member rejoined');
      case GroupState.CompletingRebalance:
      case GroupState.Stable:
        // A follower rejoining with the same metadata gets the current generation; a leader rejoining,
        // or any member with new metadata (e.g. new subscriptions), starts a rebalance.
        if (unchanged && (group.is(GroupState.CompletingRebalance) || member.memberId !== group.leaderId)) {
          this.#startSession(group, member);
          return Promise.resolve(group.joinOutcomeFor(member));
        }
        return this.#awaitRebalance(group, member, 'member changed its metadata or the leader rejoined');
      default:
        return Promise.resolve(joinError(ErrorCode.UNKNOWN_MEMBER_ID, req.memberId));
    }
  }

  #newMember(req: JoinRequest, memberId: string): Member {
    return new Member({
      memberId,
      principal: req.principal,
      groupInstanceId: req.groupInstanceId,
      clientId: req.clientId,
      clientHost: req.clientHost,
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs < 0 ? req.sessionTimeoutMs : req.rebalanceTimeoutMs,
      protocolType: req.protocolType,
      protocols: ownedProtocols(req.protocols),
    });
  }

  /** Adds a member the group has room for (the caller checked group.max.size), within the byte limits. */
  #addMemberAndRebalance(group: Group, req: JoinRequest, memberId: string): Promise<JoinOutcome> {
    const member = this.#newMember(req, memberId);
    const refused = this.#charge(group, member);
    if (refused !== ErrorCode.NONE) return this.#refuseJoin(group, req, refused);
    if (group.members.size === 0) group.protocolType = req.protocolType;
    group.members.set(memberId, member);
    if (req.groupInstanceId !== null) group.staticMembers.set(req.groupInstanceId, memberId);
    group.leaderId ??= memberId;
    // Kafka's InitialDelayedJoin: while a group forms, each new member extends the delay (up to the
    // rebalance timeout), so consumers starting one after another still form one generation.
    const now = this.#deps.scheduler.now();
    if (group.is(GroupState.PreparingRebalance) && group.initialJoin && now < group.joinNotBefore) {
      group.joinNotBefore = Math.min(now + this.#config.initialRebalanceDelayMs, group.joinDeadline);
    }
    return this.#awaitRebalance(group, member, `member ${memberId} joined`);
  }

  /** Parks the member's JoinGroup until the join phase completes, starting a rebalance if none runs. */
  #awaitRebalance(group: Group, member: Member, reason: string): Promise<JoinOutcome> {
    const outcome = new Promise<JoinOutcome>((resolve) => {
      // A second JoinGroup from the same member replaces the first (Kafka answers the old one).
      member.answerJoin(joinError(ErrorCode.REBALANCE_IN_PROGRESS, member.memberId));
      member.awaitingJoin = resolve;
    });
    // A member waiting in the join phase is not expected to heartbeat; the join deadline governs it.
    this.#cancelSession(member);
    if (!group.is(GroupState.PreparingRebalance)) this.#prepareRebalance(group, reason);
    else this.#maybeCompleteJoin(group);
    return outcome;
  }

  #prepareRebalance(group: Group, reason: string): void {
    if (group.is(GroupState.CompletingRebalance)) {
      for (const m of group.members.values()) m.answerSync(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
    }
    const fromEmpty = group.is(GroupState.Empty);
    group.state = GroupState.PreparingRebalance;
    const now = this.#deps.scheduler.now();
    group.initialJoin = fromEmpty;
    group.joinNotBefore = fromEmpty ? now + this.#config.initialRebalanceDelayMs : now;
    group.joinDeadline = now + Math.max(group.rebalanceTimeoutMs(), fromEmpty ? this.#config.initialRebalanceDelayMs : 0);
    this.#deps.logger.info({ group: group.groupId, generation: group.generationId, reason }, 'group rebalancing');
    this.#scheduleJoinCheck(group);
    this.#maybeCompleteJoin(group);
  }

  #scheduleJoinCheck(group: Group): void {
    this.#deps.scheduler.cancel(group.joinTimer);
    const now = this.#deps.scheduler.now();
    const at = group.allMembersJoined() ? group.joinNotBefore : group.joinDeadline;
    group.joinTimer = this.#deps.scheduler.schedule(() => {
      group.joinTimer = null;
      const deadlinePassed = this.#deps.scheduler.now() >= group.joinDeadline;
      if (deadlinePassed) this.#completeJoin(group);
      else this.#maybeCompleteJoin(group);
    }, Math.max(0, at - now));
  }

  #maybeCompleteJoin(group: Group): void {
    if (!group.is(GroupState.PreparingRebalance)) return;
    if (group.allMembersJoined() && this.#deps.scheduler.now() >= group.joinNotBefore) this.#completeJoin(group);
    else this.#scheduleJoinCheck(group);
  }

  /** Ends the join phase: members that did not rejoin are dropped, the next generation starts. */
  #completeJoin(group: Group): void {
    if (!group.is(GroupState.PreparingRebalance)) return;
    this.#deps.scheduler.cancel(group.joinTimer);
    group.joinTimer = null;
    for (const m of [...group.members.values()]) if (m.awaitingJoin === null) this.#removeMember(group, m);
    for (const memberId of [...group.pendingMembers.keys()]) this.#dropPending(group, memberId);
    group.generationId++;
    if (group.members.size === 0) {
      group.state = GroupState.Empty;
      group.protocolName = null;
      group.leaderId = null;
      this.#deps.logger.info({ group: group.groupId, generation: group.generationId }, 'group is empty');
      this.#saveGroup(group);
      this.#forgetIfUnused(group);
      return;
    }
    group.protocolName = group.selectProtocol();
    if (group.leaderId === null || !group.members.has(group.leaderId)) group.leaderId = group.members.keys().next().value ?? null;
    group.state = GroupState.CompletingRebalance;
    this.#saveGroup(group);
    this.#deps.logger.info(
      { group: group.groupId, generation: group.generationId, members: group.members.size, protocol: group.protocolName },
      'group rebalanced: waiting for the leader to assign',
    );
    for (const m of group.members.values()) {
      this.#deps.registry.releaseMemory(m.principal, m.assignment.length);
      m.charged -= m.assignment.length;
      m.assignment = EMPTY;
      this.#startSession(group, m);
      m.answerJoin(group.joinOutcomeFor(m));
    }
  }

  // ---- SyncGroup ------------------------------------------------------------------------------

  sync(req: SyncRequest): Promise<SyncOutcome> {
    const group = this.#groups.get(req.groupId);
    if (group === undefined || group.is(GroupState.Dead)) return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    if (group.isFenced(req.memberId, req.groupInstanceId)) return Promise.resolve(syncError(ErrorCode.FENCED_INSTANCE_ID));
    const member = group.members.get(req.memberId);
    if (member === undefined) return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    if (req.generationId !== group.generationId) return Promise.resolve(syncError(ErrorCode.ILLEGAL_GENERATION));
    if ((req.protocolType !== null && req.protocolType !== group.protocolType) || (req.protocolName !== null && req.protocolName !== group.protocolName)) {
      return Promise.resolve(syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    switch (group.state) {
      case GroupState.PreparingRebalance:
        return Promise.resolve(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      case GroupState.Stable:
        this.#startSession(group, member);
        return Promise.resolve(this.#syncOutcome(group, member));
      case GroupState.CompletingRebalance: {
        this.#startSession(group, member);
        const outcome = new Promise<SyncOutcome>((resolve) => {
          member.answerSync(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
          member.awaitingSync = resolve;
        });
        if (member.memberId === group.leaderId) {
          const refused = this.#assign(group, req);
          if (refused !== ErrorCode.NONE) {
            // As Kafka does when it cannot store the group's assignment (resetAndPropagateAssignmentError):
            // every waiting member gets the error, and the group rebalances.
            for (const m of group.members.values()) m.answerSync(syncError(refused));
            this.#prepareRebalance(group, 'the leader sent assignments over the group limits');
            return outcome;
          }
          group.state = GroupState.Stable;
          this.#deps.logger.info({ group: group.groupId, generation: group.generationId }, 'group stable');
          for (const m of group.members.values()) {
            // Kafka's propagateAssignment: a member that waited here could not heartbeat, so its
            // session starts afresh with the answer.
            if (m.awaitingSync !== null) this.#startSession(group, m);
            m.answerSync(this.#syncOutcome(group, m));
          }
        }
        return outcome;
      }
      default:
        return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    }
  }

  /**
   * Stores the leader's assignments when each fits maxMemberMetadataBytes, the group's metadata and
   * assignments fit maxGroupMetadataBytes and every member's principal can be charged; else nothing
   * changes and the refusal is returned. Assignments for ids that are not members are ignored.
   */
  #assign(group: Group, req: SyncRequest): number {
    const given = new Map(req.assignments.map((a) => [a.memberId, a.assignment]));
    const next: { member: Member; assignment: Buffer }[] = [];
    const growth = new Map<Principal, number>();
    let total = 0;
    for (const m of group.members.values()) {
      const assignment = given.get(m.memberId) ?? EMPTY;
      if (assignment.length > this.#config.maxMemberMetadataBytes) return this.#refuse(ErrorCode.MESSAGE_TOO_LARGE, req, 'groupMaxMemberMetadataBytes', 'SyncGroup');
      total += m.protocolBytes + assignment.length;
      growth.set(m.principal, (growth.get(m.principal) ?? 0) + assignment.length - m.assignment.length);
      next.push({ member: m, assignment });
    }
    if (total > this.#config.maxGroupMetadataBytes) return this.#refuse(ErrorCode.MESSAGE_TOO_LARGE, req, 'groupMaxMetadataBytes', 'SyncGroup');
    for (const [principal, bytes] of growth) {
      if (bytes > this.#deps.registry.memoryRoom(principal)) {
        return this.#refuse(ErrorCode.POLICY_VIOLATION, { groupId: req.groupId, principal }, 'groupMaxMemoryBytesPerPrincipal', 'SyncGroup');
      }
    }
    for (const { member, assignment } of next) {
      this.#deps.registry.chargeMemory(member.principal, assignment.length - member.assignment.length);
      member.charged += assignment.length - member.assignment.length;
      member.assignment = ownedCopy(assignment);
    }
    return ErrorCode.NONE;
  }

  #syncOutcome(group: Group, member: Member): SyncOutcome {
    return { errorCode: ErrorCode.NONE, protocolType: group.protocolType, protocolName: group.protocolName, assignment: member.assignment };
  }

  // ---- Heartbeat, LeaveGroup, session expiry ---------------------------------------------------

  /** Kafka's handleHeartbeat: the error code, and the session timer restarts for a known member. */
  heartbeat(groupId: string, memberId: string, generationId: number, groupInstanceId: string | null): number {
    const group = this.#groups.get(groupId);
    if (group === undefined || group.is(GroupState.Dead)) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (group.isFenced(memberId, groupInstanceId)) return ErrorCode.FENCED_INSTANCE_ID;
    const member = group.members.get(memberId);
    if (member === undefined || group.is(GroupState.Empty)) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    this.#startSession(group, member);
    return group.is(GroupState.PreparingRebalance) ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE;
  }

  /** LeaveGroup for one member (by member id, or by instance id for a static member); returns its error code. */
  leave(groupId: string, memberId: string, groupInstanceId: string | null): number {
    const group = this.#groups.get(groupId);
    if (group === undefined || group.is(GroupState.Dead)) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (group.pendingMembers.has(memberId)) {
      this.#dropPending(group, memberId);
      this.#maybeCompleteJoin(group);
      this.#forgetIfUnused(group);
      return ErrorCode.NONE;
    }
    // KIP-345: a static member may leave by instance id alone (member id empty).
    const id = memberId === '' && groupInstanceId !== null ? (group.staticMembers.get(groupInstanceId) ?? '') : memberId;
    if (group.isFenced(id, groupInstanceId)) return ErrorCode.FENCED_INSTANCE_ID;
    const member = group.members.get(id);
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    this.#deps.logger.info({ group: groupId, member: id }, 'member left the group');
    this.#removeMemberAndRebalance(group, member, `member ${id} left`);
    return ErrorCode.NONE;
  }

  #removeMemberAndRebalance(group: Group, member: Member, reason: string): void {
    this.#removeMember(group, member);
    if (group.is(GroupState.Stable) || group.is(GroupState.CompletingRebalance)) this.#prepareRebalance(group, reason);
    else if (group.is(GroupState.PreparingRebalance)) this.#maybeCompleteJoin(group);
  }

  #removeMember(group: Group, member: Member): void {
    this.#cancelSession(member);
    member.answerJoin(joinError(ErrorCode.UNKNOWN_MEMBER_ID, member.memberId));
    member.answerSync(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    group.members.delete(member.memberId);
    this.#uncharge(member);
    if (member.groupInstanceId !== null && group.staticMembers.get(member.groupInstanceId) === member.memberId) {
      group.staticMembers.delete(member.groupInstanceId);
    }
    if (group.leaderId === member.memberId) group.leaderId = group.members.keys().next().value ?? null;
  }

  #startSession(group: Group, member: Member): void {
    this.#cancelSession(member);
    member.sessionTimer = this.#deps.scheduler.schedule(() => {
      member.sessionTimer = null;
      if (group.members.get(member.memberId) !== member) return;
      // A member whose JoinGroup or SyncGroup is parked cannot heartbeat (its connection answers in
      // order) and counts as alive, as in Kafka (MemberMetadata.hasSatisfiedHeartbeat): the join
      // deadline or the leader's own session bounds the wait, and the answer restarts its session.
      if (member.awaitingJoin !== null || member.awaitingSync !== null) return;
      this.#deps.logger.info({ group: group.groupId, member: member.memberId, sessionTimeoutMs: member.sessionTimeoutMs }, 'member session expired');
      this.#removeMemberAndRebalance(group, member, `member ${member.memberId} session expired`);
    }, member.sessionTimeoutMs);
  }

  #cancelSession(member: Member): void {
    if (member.sessionTimer !== null) this.#deps.scheduler.cancel(member.sessionTimer);
    member.sessionTimer = null;
  }

  // ---- DescribeGroups, ListGroups, DeleteGroups -------------------------------------------------

  describe(groupId: string): GroupSummary {
    const group = this.#groups.get(groupId);
    if (group === undefined) {
      // Known only by its offsets (after a restart): Empty, with the protocol type its members used,
      // or "" for a group that only ever committed without joining (Kafka's "simple" groups).
      if (!this.#deps.persistence.hasOffsets(groupId)) return { groupId, state: GroupState.Dead, protocolType: '', protocolName: '', members: [] };
      return { groupId, state: GroupState.Empty, protocolType: this.#savedProtocolType(groupId), protocolName: '', members: [] };
    }
    // Like Kafka: member metadata and assignments, and the protocol, only once the group is stable.
    const stable = group.is(GroupState.Stable);
    return {
      groupId,
      state: group.state,
      protocolType: group.protocolType ?? '',
      protocolName: stable ? (group.protocolName ?? '') : '',
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        metadata: stable ? m.metadataFor(group.protocolName ?? '') : Buffer.alloc(0),
        assignment: stable ? m.assignment : Buffer.alloc(0),
      })),
    };
  }

  list(): { groupId: string; protocolType: string; state: GroupStateName }[] {
    const listed = [...this.#groups.values()]
      .filter((g) => !g.is(GroupState.Dead))
      .map((g) => ({ groupId: g.groupId, protocolType: g.protocolType ?? '', state: g.state }));
    const inMemory = new Set(listed.map((g) => g.groupId));
    for (const id of this.#deps.persistence.groupsWithOffsets()) {
      if (!inMemory.has(id)) listed.push({ groupId: id, protocolType: this.#savedProtocolType(id), state: GroupState.Empty });
    }
    return listed.sort((a, b) => a.groupId.localeCompare(b.groupId));
  }

  #savedProtocolType(groupId: string): string {
    return this.#deps.persistence.groupMetadata(groupId)?.protocolType ?? '';
  }

  /** DeleteGroups for one group: only an empty group; its committed offsets go too. */
  delete(groupId: string): number {
    const group = this.#groups.get(groupId);
    if (group !== undefined && !group.is(GroupState.Empty) && !group.is(GroupState.Dead)) return ErrorCode.NON_EMPTY_GROUP;
    const hadOffsets = this.#deps.persistence.deleteGroupOffsets(groupId) > 0;
    this.#deps.registry.setOffsetBytes(groupId, 0);
    if (group === undefined && !hadOffsets) return ErrorCode.GROUP_ID_NOT_FOUND;
    if (group !== undefined) {
      group.state = GroupState.Dead;
      this.#groups.delete(groupId);
      this.#deps.registry.setLive(groupId, false);
    }
    return ErrorCode.NONE;
  }

  // ---- GroupMembership (for OffsetCommit and offset expiry) ------------------------------------

  checkCommit(groupId: string, memberId: string, generationId: number, groupInstanceId: string | null): number {
    const group = this.#groups.get(groupId);
    // Kafka's handleCommitOffsets: a commit without a generation is a standalone consumer's, allowed
    // while no group protocol uses the group id; a generation on an unknown group is an old one (e.g.
    // from before a restart) → ILLEGAL_GENERATION, and the consumer rejoins.
    if (group === undefined) return generationId < 0 ? ErrorCode.NONE : ErrorCode.ILLEGAL_GENERATION;
    if (group.is(GroupState.Dead)) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (generationId < 0 && group.is(GroupState.Empty)) return ErrorCode.NONE;
    if (group.isFenced(memberId, groupInstanceId)) return ErrorCode.FENCED_INSTANCE_ID;
    if (!group.members.has(memberId)) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    // The member has the generation but not yet its assignment: let it retry once the group is stable.
    if (group.is(GroupState.CompletingRebalance)) return ErrorCode.REBALANCE_IN_PROGRESS;
    const member = group.members.get(memberId);
    if (member !== undefined) this.#startSession(group, member);
    return ErrorCode.NONE;
  }

  hasMembers(groupId: string): boolean {
    return (this.#groups.get(groupId)?.members.size ?? 0) > 0;
  }

  /**
   * The group's last committed offsets are gone (offset expiry, topic deletion): an Empty group in
   * memory is forgotten now, as Kafka marks it Dead, instead of describing as Empty until a restart.
   */
  offsetsGone(groupId: string): void {
    const group = this.#groups.get(groupId);
    if (group !== undefined) this.#forgetIfUnused(group);
  }

  /** Cancels every timer and answers parked requests (broker shutdown). */
  close(): void {
    for (const group of this.#groups.values()) {
      this.#deps.scheduler.cancel(group.joinTimer);
      for (const pending of group.pendingMembers.values()) this.#deps.scheduler.cancel(pending.timer);
      for (const m of group.members.values()) {
        this.#cancelSession(m);
        m.answerJoin(joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE, m.memberId));
        m.answerSync(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
      }
    }
  }
}
