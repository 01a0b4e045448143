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
}

/**
 * Where the log manager reads a topic's effective configs (its overrides over the broker's defaults),
 * at each use. Given at construction: the log depends on this interface, not on who keeps the topics.
 */
export interface TopicConfigSource {
  configFor(topic: string): LogConfig;
}
