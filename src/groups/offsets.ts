import type { Logger } from '../logger.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { Principal } from '../security/types.js';
import { committedOffsetBytes, type CommittedOffset, type OffsetStore } from '../storage/offset-store.js';
import type { GroupRegistry } from './group-registry.js';
import { LimitLog } from './limits.js';
import type { GroupMembership } from './membership.js';

/** Kafka's offsets.retention.minutes default (KIP-186): 7 days. */
export const DEFAULT_OFFSET_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
/** Kafka's offsets.retention.check.interval.ms default: how often the broker should call {@link OffsetManager.expireOffsets}. */
export const DEFAULT_OFFSET_RETENTION_CHECK_INTERVAL_MS = 10 * 60 * 1000;
/**
 * Kafka's offset.metadata.max.bytes default. Despite the name Kafka compares `String.length()`, i.e.
 * UTF-16 code units, which is what a JS string's `length` counts too.
 */
export const DEFAULT_MAX_METADATA_LENGTH = 4096;

/** The topics the broker hosts (TopicAdmin satisfies it). */
export interface TopicLookup {
  get(name: string): { readonly partitions: number } | undefined;
}

export interface OffsetManagerDeps {
  readonly store: OffsetStore;
  readonly membership: GroupMembership;
  /**
   * Which groups exist and what each principal holds (shared with the coordinator): a commit that
   * would create a group past the principal's or the broker's bound, or grow the offsets of the
   * principal holding the group past its byte bound, is refused.
   */
  readonly registry: GroupRegistry;
  readonly topics: TopicLookup;
  /** Where refusals by a limit are reported (rate-limited); none when absent. */
  readonly logger?: Logger;
  /** Milliseconds since the epoch. */
  readonly clock: () => number;
  /** Kafka's offsets.retention.minutes, in ms; default {@link DEFAULT_OFFSET_RETENTION_MS}. */
  readonly retentionMs?: number;
  /** Kafka's offset.metadata.max.bytes; default {@link DEFAULT_MAX_METADATA_LENGTH}. */
  readonly maxMetadataLength?: number;
}

export interface CommitRequest {
  readonly groupId: string;
  /** Who commits: holds the group if this commit creates it. */
  readonly principal: Principal;
  /** '' for a standalone commit (and OffsetCommit v0). */
  readonly memberId: string;
  /** −1 for a standalone commit (and OffsetCommit v0). */
  readonly generationId: number;
  readonly groupInstanceId: string | null;
  readonly topics: readonly {
    readonly name: string;
    readonly partitions: readonly {
      readonly partitionIndex: number;
      readonly offset: bigint;
      readonly leaderEpoch: number;
      readonly metadata: string | null;
    }[];
  }[];
}

export interface CommitResult {
  readonly name: string;
  readonly partitions: { partitionIndex: number; errorCode: number }[];
}

export interface FetchedPartition {
  partitionIndex: number;
  /** −1 when the group has no commit for the partition. */
  committedOffset: bigint;
  /** −1 when unknown. */
  committedLeaderEpoch: number;
  /** '' when absent (Kafka's OffsetAndMetadata.NO_METADATA), never null. */
  metadata: string;
  errorCode: number;
}

export interface FetchResult {
  /** A group-level error; `topics` is then empty. */
  readonly errorCode: number;
  readonly topics: { name: string; partitions: FetchedPartition[] }[];
}

export interface ExpiryReport {
  /** How many offsets were deleted. */
  readonly expired: number;
  /**
   * Groups without members found without any committed offset by this run: left so by it, or earlier
   * by a topic deletion (their saved metadata was deleted). An Empty group with no offset is forgotten
   * (the broker passes them to GroupCoordinator.offsetsGone), as Kafka marks it Dead.
   */
  readonly groupsEmptied: readonly string[];
}

/**
 * Committed offsets of consumer groups (OffsetCommit/OffsetFetch,
 * docs/consumer-groups.md#committed-offsets): validation with Kafka's error codes, durable storage in
 * the metadata store, and offset retention.
 *
 * Retention follows Kafka after KIP-211: the offsets of a group that has members never expire; once
 * the group is empty, an offset expires when both its commit and the group's last sign of activity
 * are older than the retention period. Counting from the last activity and not only from the commit
 * matters: a consumer that stays on an idle partition for a week does not recommit it (librdkafka
 * commits only changed offsets), and must not lose that offset the moment it restarts. Activity is
 * a member's accepted commit or a sweep that found members; it is kept in memory, so after a broker
 * restart a group that never comes back expires from its commit times alone.
 *
 * Deliberate differences from Kafka, which still honours them for old versions: OffsetCommit v1's
 * per-partition commitTimestamp and v2-4's retentionTimeMs are ignored. Every client we target sends
 * the defaults (−1), and letting a client choose when its offsets expire would let it outlive the
 * operator's retention (a commit timestamp in the future never expires). The commit time is always
 * the broker's clock.
 */
export class OffsetManager {
  readonly #store: OffsetStore;
  readonly #membership: GroupMembership;
  readonly #registry: GroupRegistry;
  readonly #limitLog: LimitLog | undefined;
  readonly #topics: TopicLookup;
  readonly #clock: () => number;
  readonly #retentionMs: number;
  readonly #maxMetadataLength: number;
  /** The last time each group was seen with members, for retention. */
  readonly #lastActive = new Map<string, number>();

  constructor(deps: OffsetManagerDeps) {
    this.#store = deps.store;
    this.#membership = deps.membership;
    this.#registry = deps.registry;
    this.#limitLog = deps.logger === undefined ? undefined : new LimitLog(deps.logger, deps.clock);
    this.#topics = deps.topics;
    this.#clock = deps.clock;
    this.#retentionMs = deps.retentionMs ?? DEFAULT_OFFSET_RETENTION_MS;
    this.#maxMetadataLength = deps.maxMetadataLength ?? DEFAULT_MAX_METADATA_LENGTH;
    if (!(this.#retentionMs > 0)) throw new RangeError('offset retention must be a positive number of ms');
  }

  /**
   * Validates and stores a commit; every requested partition gets an error code, in request order.
   * Precedence, as in Kafka (KafkaApis checks topics before the coordinator sees the rest): an unknown
   * topic or partition → UNKNOWN_TOPIC_OR_PARTITION; then a group-level error (INVALID_GROUP_ID, or
   * what the coordinator says about this member and generation) for every other partition; then
   * OFFSET_METADATA_TOO_LARGE per partition; then the group bounds: POLICY_VIOLATION for every
   * partition when the commit would create a group its principal or the broker may not hold, and
   * INVALID_COMMIT_OFFSET_SIZE (Kafka's code for a commit too large to store) for each partition that
   * would grow the holder's offsets past groupMaxOffsetBytesPerPrincipal, in request order, so that
   * recommitting partitions already stored (which does not grow them) always succeeds. The accepted
   * partitions are stored in one transaction.
   */
  commit(request: CommitRequest): CommitResult[] {
    const { results, candidates, now } = this.#validate(request, true);
    if (candidates.length > 0) this.#storeWithinBounds(request, candidates, now);
    return results;
  }

  /**
   * TxnOffsetCommit's validation (Kafka's GroupCoordinator.handleTxnCommitOffsets): as {@link commit},
   * but nothing is stored: the offsets accepted are returned, to be kept pending until the transaction
   * commits. The member and generation are checked (KIP-447: a zombie of a rebalanced-away consumer is
   * fenced) only when the request carries them (`checkMember`, TxnOffsetCommit v3+ with a member id or
   * generation); the group bounds are checked as for a commit, with what the offsets would add.
   */
  validateTransactional(request: CommitRequest, checkMember: boolean): { results: CommitResult[]; accepted: CommittedOffset[] } {
    const { results, candidates, now } = this.#validate(request, checkMember);
    if (candidates.length === 0) return { results, accepted: [] };
    const accepted = this.#withinBounds(request, candidates);
    return { results, accepted: accepted.offsets.map((o) => ({ ...o, commitTimestamp: now })) };
  }

  /**
   * Offsets a transaction made visible to a group (stored by the transaction store in the commit's
   * step): the group is held by the transaction's principal and its bytes counted again from the store.
   */
  transactionCommitted(groupId: string, principal: Principal): void {
    this.#registry.hold(groupId, principal);
    this.#registry.setOffsetBytes(groupId, this.#store.groupOffsetBytes(groupId));
  }

  #validate(request: CommitRequest, checkMember: boolean): { results: CommitResult[]; candidates: { offset: CommittedOffset; result: { partitionIndex: number; errorCode: number } }[]; now: number } {
    const partitionCounts = new Map<string, number>();
    const known = (topic: string, partition: number): boolean => {
      let count = partitionCounts.get(topic);
      if (count === undefined) {
        count = this.#topics.get(topic)?.partitions ?? 0;
        partitionCounts.set(topic, count);
      }
      return partition >= 0 && partition < count;
    };
    const anyKnown = request.topics.some((t) => t.partitions.some((p) => known(t.name, p.partitionIndex)));
    // The coordinator is asked once per request, and only when something may be stored: a member's
    // commit also counts as its heartbeat there (Kafka's classic groups).
    const groupError = !anyKnown
      ? ErrorCode.NONE
      : request.groupId === ''
        ? ErrorCode.INVALID_GROUP_ID
        : checkMember
          ? this.#membership.checkCommit(request.groupId, request.memberId, request.generationId, request.groupInstanceId)
          : ErrorCode.NONE;

    const now = this.#clock();
    const candidates: { offset: CommittedOffset; result: { partitionIndex: number; errorCode: number } }[] = [];
    const results = request.topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map((p) => {
        const result = { partitionIndex: p.partitionIndex, errorCode: ErrorCode.NONE as number };
        if (!known(topic.name, p.partitionIndex)) result.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        else if (groupError !== ErrorCode.NONE) result.errorCode = groupError;
        else if (p.metadata !== null && p.metadata.length > this.#maxMetadataLength) result.errorCode = ErrorCode.OFFSET_METADATA_TOO_LARGE;
        else {
          const offset: CommittedOffset = {
            topic: topic.name,
            partition: p.partitionIndex,
            offset: p.offset,
            leaderEpoch: p.leaderEpoch < 0 ? -1 : p.leaderEpoch,
            // Kafka stores a null metadata as '' (OffsetAndMetadata.NO_METADATA).
            metadata: p.metadata ?? '',
            commitTimestamp: now,
          };
          candidates.push({ offset, result });
        }
        return result;
      }),
    }));
    return { results, candidates, now };
  }

  /** Applies the group bounds to the valid partitions of a commit and stores those within them. */
  #storeWithinBounds(request: CommitRequest, candidates: readonly { offset: CommittedOffset; result: { errorCode: number } }[], now: number): void {
    const { groupId, principal } = request;
    const { offsets, growth } = this.#withinBounds(request, candidates);
    if (offsets.length === 0) return;
    this.#store.commitOffsets(groupId, offsets);
    this.#registry.hold(groupId, principal);
    this.#registry.addOffsetBytes(groupId, growth);
    // A generation ≥ 0 was checked against the group's current one: the group is active now.
    if (request.generationId >= 0) this.#lastActive.set(groupId, now);
  }

  /** The candidates within the group bounds (the others get their error code), and what they add. */
  #withinBounds(request: CommitRequest, candidates: readonly { offset: CommittedOffset; result: { errorCode: number } }[]): { offsets: CommittedOffset[]; growth: number } {
    const { groupId, principal } = request;
    const refused = this.#registry.canHold(groupId, principal);
    if (refused !== ErrorCode.NONE) {
      this.#refuse(refused, request, 'groupMaxGroupsPerPrincipal or groupMaxGroups');
      for (const c of candidates) c.result.errorCode = refused;
      return { offsets: [], growth: 0 };
    }
    // What each partition adds: its size now minus what is stored for it (or was accepted earlier in
    // this request, which commits a partition twice only by mistake: the last one wins, as stored).
    const key = (topic: string, partition: number) => `${partition}:${topic}`;
    const stored = new Map<string, number>();
    for (const o of this.#store.fetchOffsets(groupId, candidates.map((c) => ({ topic: c.offset.topic, partition: c.offset.partition })))) {
      stored.set(key(o.topic, o.partition), committedOffsetBytes(groupId, o.topic, o.metadata));
    }
    let room = this.#registry.offsetRoom(groupId, principal);
    let growth = 0;
    const accepted: CommittedOffset[] = [];
    for (const { offset, result } of candidates) {
      const k = key(offset.topic, offset.partition);
      const bytes = committedOffsetBytes(groupId, offset.topic, offset.metadata);
      const grows = bytes - (stored.get(k) ?? 0);
      if (grows > 0 && grows > room) {
        result.errorCode = this.#refuse(ErrorCode.INVALID_COMMIT_OFFSET_SIZE, request, 'groupMaxOffsetBytesPerPrincipal');
        continue;
      }
      room -= grows;
      growth += grows;
      stored.set(k, bytes);
      accepted.push(offset);
    }
    return { offsets: accepted, growth };
  }

  #refuse(errorCode: number, request: CommitRequest, limit: string): number {
    return this.#limitLog?.refused(errorCode, { api: 'OffsetCommit', group: request.groupId, principal: request.principal, limit }) ?? errorCode;
  }

  /**
   * A group's committed offsets: of the requested partitions (uncommitted → offset −1, no error), or
   * of every committed partition when `topics` is null. Unknown topics are not an error (Kafka v1+).
   */
  fetch(groupId: string, topics: readonly { name: string; partitionIndexes: readonly number[] }[] | null): FetchResult {
    if (groupId === '') return { errorCode: ErrorCode.INVALID_GROUP_ID, topics: [] };
    if (topics === null) {
      const byTopic = new Map<string, FetchedPartition[]>();
      for (const o of this.#store.fetchOffsets(groupId, null)) {
        let partitions = byTopic.get(o.topic);
        if (partitions === undefined) {
          partitions = [];
          byTopic.set(o.topic, partitions);
        }
        partitions.push(fetched(o.partition, o));
      }
      return { errorCode: ErrorCode.NONE, topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })) };
    }
    const key = (topic: string, partition: number) => `${partition}:${topic}`;
    const wanted = new Map<string, { topic: string; partition: number }>();
    for (const t of topics) for (const partition of t.partitionIndexes) wanted.set(key(t.name, partition), { topic: t.name, partition });
    const found = new Map(this.#store.fetchOffsets(groupId, [...wanted.values()]).map((o) => [key(o.topic, o.partition), o]));
    // Each partition's offset, and its metadata of up to offset.metadata.max.bytes, is sent once per
    // request: a partition named again gets DUPLICATE_RESOURCE, so that a small request cannot ask for
    // the same kilobytes of metadata many times. Clients name each partition once.
    const seen = new Set<string>();
    return {
      errorCode: ErrorCode.NONE,
      topics: topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((partition) => {
          const k = key(t.name, partition);
          if (seen.has(k)) return { ...fetched(partition, undefined), errorCode: ErrorCode.DUPLICATE_RESOURCE };
          seen.add(k);
          return fetched(partition, found.get(k));
        }),
      })),
    };
  }

  /**
   * Offset retention (Kafka's offsets.retention.minutes): deletes the expired offsets of every group
   * without members (see the class comment). Synchronous, so no commit interleaves with a group's
   * check and deletion. The broker calls it every {@link DEFAULT_OFFSET_RETENTION_CHECK_INTERVAL_MS}.
   */
  expireOffsets(now: number = this.#clock()): ExpiryReport {
    const cutoff = now - this.#retentionMs;
    let expired = 0;
    const groupsEmptied: string[] = [];
    // One pass over the stored offsets: which groups have some, and what they count for (the registry
    // is brought in line with it below, which also catches offsets that went with a deleted topic).
    const stored = this.#store.offsetBytesByGroup();
    const groups = [...stored.keys()];
    // Forget the activity of groups whose offsets went another way (topic deletion).
    for (const groupId of this.#lastActive.keys()) if (!stored.has(groupId)) this.#lastActive.delete(groupId);
    for (const groupId of groups) {
      if (this.#membership.hasMembers(groupId)) {
        this.#lastActive.set(groupId, now);
        continue;
      }
      const lastActive = this.#lastActive.get(groupId);
      if (lastActive !== undefined && lastActive > cutoff) continue;
      const deleted = this.#store.deleteExpiredOffsets(groupId, cutoff);
      if (deleted === 0) continue;
      expired += deleted;
      const remaining = this.#store.groupOffsetBytes(groupId);
      stored.set(groupId, remaining);
      if (remaining === 0) {
        groupsEmptied.push(groupId);
        this.#lastActive.delete(groupId);
      }
    }
    this.#registry.reconcile(stored);
    // Saved group metadata is bounded by the groups with offsets or members: a group whose offsets
    // went with a deleted topic, or that had members but no commit when the broker stopped, goes.
    for (const groupId of this.#store.groupMetadataWithoutOffsets()) {
      if (this.#membership.hasMembers(groupId)) continue;
      this.#store.deleteGroupMetadata(groupId);
      groupsEmptied.push(groupId);
    }
    return { expired, groupsEmptied };
  }

  /** Deletes all of a group's committed offsets (DeleteGroups); returns how many there were. */
  deleteGroupOffsets(groupId: string): number {
    this.#lastActive.delete(groupId);
    const deleted = this.#store.deleteGroupOffsets(groupId);
    this.#registry.setOffsetBytes(groupId, 0);
    return deleted;
  }

  /** Every group with a committed offset (the coordinator lists them as Empty groups). */
  groupsWithOffsets(): string[] {
    return this.#store.groupsWithOffsets();
  }
}

function fetched(partitionIndex: number, offset: CommittedOffset | undefined): FetchedPartition {
  return {
    partitionIndex,
    committedOffset: offset?.offset ?? -1n,
    committedLeaderEpoch: offset?.leaderEpoch ?? -1,
    metadata: offset?.metadata ?? '',
    errorCode: ErrorCode.NONE,
  };
}
