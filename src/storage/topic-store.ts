import type { MetadataRefusal } from './outcomes.js';

/**
 * The topic records as topic administration and the topic config cache use them: names, ids,
 * partition counts and config overrides. The metadata store (SQLite, metadata-store.ts) implements it;
 * test/unit/storage/topic-store.suite.test.ts runs over every implementation.
 */

export interface TopicRecord {
  readonly name: string;
  /** A stable random id (Kafka's topic id), kept for Metadata v10+ later. */
  readonly id: string;
  readonly partitions: number;
  readonly configs: Readonly<Record<string, string>>;
}

/** A change of a topic's configs: `replace` swaps the whole set (AlterConfigs); else `set` upserts and `remove` deletes keys. */
export interface TopicConfigChange {
  readonly replace?: Record<string, string>;
  readonly set?: Record<string, string>;
  readonly remove?: readonly string[];
}

export interface TopicStore {
  /** Records a topic; refuses (`topic-exists`) a name already taken, leaving that topic as it was. */
  createTopic(name: string, id: string, partitions: number, configs?: Readonly<Record<string, string>>): { kind: 'created'; topic: TopicRecord } | MetadataRefusal;
  topic(name: string): TopicRecord | undefined;
  /** Every topic, by name. */
  topics(): TopicRecord[];
  /**
   * Deletes a topic with its configs, and every group's committed offsets for it in the same step (a
   * topic re-created with the same name starts without any, as in Kafka); false when it did not exist.
   */
  deleteTopic(name: string): boolean;
  /** Raises the partition count (Kafka never lowers it): `invalid-partitions` for a count not above it. */
  setPartitionCount(name: string, partitions: number): { kind: 'changed' } | MetadataRefusal;
  /** Applies a config change all or nothing. */
  alterConfigs(name: string, change: TopicConfigChange): { kind: 'changed' } | MetadataRefusal;
}
