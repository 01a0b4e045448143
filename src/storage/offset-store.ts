/**
 * Consumer groups' committed offsets and the group metadata that outlives a restart, as the group
 * coordinator (src/groups/offsets.ts, persistence.ts) uses them. The metadata store (SQLite,
 * metadata-store.ts) implements it; test/unit/storage/offset-store.suite.test.ts runs over every
 * implementation.
 */

/** One committed offset of a consumer group (OffsetCommit), as stored. */
export interface CommittedOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  /** The leader epoch the consumer saw (OffsetCommit v6+), −1 when unknown. */
  readonly leaderEpoch: number;
  readonly metadata: string | null;
  /** Broker time of the commit, in ms since the epoch; offset retention counts from it. */
  readonly commitTimestamp: number;
}

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/**
 * What survives a restart of a consumer group besides its offsets (a reduced form of Kafka's group
 * metadata record): the protocol type its members used (e.g. "consumer") and its last generation.
 */
export interface StoredGroupMetadata {
  readonly protocolType: string;
  readonly generationId: number;
}

/**
 * What one committed offset counts for, in bytes: its group id, topic and metadata in UTF-8, plus what
 * the numbers and the row take. Part of the contract, not of one store: the per-principal bound on
 * committed offsets (GroupRegistry) counts new commits with it and restarts from what
 * {@link OffsetStore.offsetBytesByGroup} sums, so every store must sum the same.
 */
export const OFFSET_ROW_OVERHEAD_BYTES = 64;

export function committedOffsetBytes(groupId: string, topic: string, metadata: string | null): number {
  return OFFSET_ROW_OVERHEAD_BYTES + Buffer.byteLength(groupId) + Buffer.byteLength(topic) + (metadata === null ? 0 : Buffer.byteLength(metadata));
}

export interface OffsetStore {
  /** Stores a group's offsets all or none; a partition named twice keeps the last. */
  commitOffsets(groupId: string, entries: readonly CommittedOffset[]): void;
  /** The group's offsets of `partitions` (those never committed left out), or all of them for null; by topic and partition. */
  fetchOffsets(groupId: string, partitions: readonly TopicPartition[] | null): CommittedOffset[];
  hasOffsets(groupId: string): boolean;
  /** Every group with at least one committed offset, sorted. */
  groupsWithOffsets(): string[];
  /** Every group with offsets and what they count for ({@link committedOffsetBytes}), in group order. */
  offsetBytesByGroup(): Map<string, number>;
  /** What one group's offsets count for; 0 when it has none. */
  groupOffsetBytes(groupId: string): number;
  /** Deletes a group: its offsets and its metadata together (DeleteGroups); returns how many offsets it had. */
  deleteGroupOffsets(groupId: string): number;
  /**
   * Deletes the group's offsets committed at or before `cutoffMs`; a group left without any loses its
   * metadata in the same step. Returns how many offsets were deleted.
   */
  deleteExpiredOffsets(groupId: string, cutoffMs: number): number;
  /** Stores (replaces) a group's metadata. */
  saveGroupMetadata(groupId: string, metadata: StoredGroupMetadata): void;
  groupMetadata(groupId: string): StoredGroupMetadata | undefined;
  /** Deletes a group's metadata alone; returns whether it had any. */
  deleteGroupMetadata(groupId: string): boolean;
  /** Groups with metadata but no committed offset (a topic deletion took them), sorted. */
  groupMetadataWithoutOffsets(): string[];
}
