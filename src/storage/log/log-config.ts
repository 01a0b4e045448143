import type { RetentionConfig } from './retention.js';

/** The topic configs the log obeys; read on every use, so an altered config applies at once. */
export interface LogConfig extends RetentionConfig {
  readonly segmentBytes: number;
  readonly segmentMs: number;
  /** max.message.bytes: the largest batch an append takes. */
  readonly maxMessageBytes: number;
  /** message.timestamp.type=LogAppendTime: the log stamps each batch with its own clock. */
  readonly logAppendTime: boolean;
  /** Encryption at rest (the topic config `encryption`): new batches are sealed; absent means no. */
  readonly encrypted?: boolean;
  /** cleanup.policy holds `delete`: retention.ms and retention.bytes delete old segments. Absent means yes. */
  readonly deleteRetention?: boolean;
  /** compression.type: the codec (records/compression.ts) batches are stored in; absent keeps the producer's. */
  readonly compression?: number;
  /**
   * message.timestamp.before.max.ms / after.max.ms (KIP-937) of a CreateTime topic: how far before and
   * after the broker's clock a record's timestamp may be; Infinity for no bound. Absent: no bounds.
   */
  readonly timestampBounds?: { readonly beforeMs: number; readonly afterMs: number };
  /** cleanup.policy holds `compact`: the cleaner keeps the newest record of each key (compaction/). */
  readonly compaction?: CompactionConfig;
}

/**
 * Where the log manager reads a topic's effective configs (its overrides over the broker's defaults),
 * at each use. Given at construction: the log depends on this interface, not on who keeps the topics.
 */
export interface TopicConfigSource {
  configFor(topic: string): LogConfig;
}

/** The compaction configs of a topic whose cleanup.policy holds `compact` (Kafka's meanings). */
export interface CompactionConfig {
  /** min.cleanable.dirty.ratio: the share of never-cleaned bytes that makes a partition worth cleaning. */
  readonly minCleanableDirtyRatio: number;
  /** min.compaction.lag.ms: a record stays uncompacted at least this long after it was written. */
  readonly minCompactionLagMs: number;
  /** max.compaction.lag.ms: a record is compacted at most this long after it was written, whatever the ratio. */
  readonly maxCompactionLagMs: number;
  /** delete.retention.ms: how long a tombstone stays after the cleaner first saw it. */
  readonly deleteRetentionMs: number;
}
