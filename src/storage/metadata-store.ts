import Database from 'better-sqlite3';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ParapetError } from '../errors.js';

/**
 * The embedded metadata store: topics, partition counts, topic configs and consumer groups' committed
 * offsets in SQLite (WAL mode) inside
 * the data directory. It has no network surface at all (DESIGN.md control 5); the file is created
 * owner-only (0600) because later issues keep credentials and ACLs in it.
 */

export interface TopicRecord {
  readonly name: string;
  /** A stable random id (Kafka's topic id), kept for Metadata v10+ later. */
  readonly id: string;
  readonly partitions: number;
  readonly configs: Readonly<Record<string, string>>;
}

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

interface OffsetRow {
  topic: string;
  partition: bigint;
  committed_offset: bigint;
  leader_epoch: bigint;
  metadata: string | null;
  commit_timestamp: bigint;
}

const offsetFromRow = (row: OffsetRow): CommittedOffset => ({
  topic: row.topic,
  partition: Number(row.partition),
  offset: row.committed_offset,
  leaderEpoch: Number(row.leader_epoch),
  metadata: row.metadata,
  commitTimestamp: Number(row.commit_timestamp),
});

/** The schema version of the store; each migration step moves it by one. */
const SCHEMA_VERSION = 2;

export class MetadataStore {
  readonly #db: Database.Database;
  readonly #stmts: {
    insertTopic: Database.Statement<[string, string, number]>;
    insertConfig: Database.Statement<[string, string, string]>;
    deleteConfigs: Database.Statement<[string]>;
    deleteConfig: Database.Statement<[string, string]>;
    deleteTopic: Database.Statement<[string]>;
    topic: Database.Statement<[string], { name: string; id: string; partitions: number }>;
    topics: Database.Statement<[], { name: string; id: string; partitions: number }>;
    configs: Database.Statement<[string], { key: string; value: string }>;
    setPartitions: Database.Statement<[number, string]>;
    upsertOffset: Database.Statement<[string, string, number, bigint, number, string | null, number]>;
    offset: Database.Statement<[string, string, number], OffsetRow>;
    groupOffsets: Database.Statement<[string], OffsetRow>;
    groupsWithOffsets: Database.Statement<[], { group_id: string }>;
    deleteGroupOffsets: Database.Statement<[string]>;
    deleteExpiredOffsets: Database.Statement<[string, number]>;
    deleteTopicOffsets: Database.Statement<[string]>;
  };

  /** Opens (creating if needed) `<dataDir>/metadata.db`. */
  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const file = join(dataDir, 'metadata.db');
    this.#db = new Database(file);
    chmodSync(file, 0o600);
    this.#db.pragma('journal_mode = WAL');
    // FULL: a topic created and acknowledged survives a power loss, not only a process crash.
    this.#db.pragma('synchronous = FULL');
    this.#db.pragma('foreign_keys = ON');
    try {
      this.#migrate();
    } catch (err) {
      this.#db.close();
      throw err;
    }
    const db = this.#db;
    this.#stmts = {
      insertTopic: db.prepare('INSERT INTO topics (name, id, partitions) VALUES (?, ?, ?)'),
      insertConfig: db.prepare('INSERT OR REPLACE INTO topic_configs (topic, key, value) VALUES (?, ?, ?)'),
      deleteConfigs: db.prepare('DELETE FROM topic_configs WHERE topic = ?'),
      deleteConfig: db.prepare('DELETE FROM topic_configs WHERE topic = ? AND key = ?'),
      deleteTopic: db.prepare('DELETE FROM topics WHERE name = ?'),
      topic: db.prepare('SELECT name, id, partitions FROM topics WHERE name = ?'),
      topics: db.prepare('SELECT name, id, partitions FROM topics ORDER BY name'),
      configs: db.prepare('SELECT key, value FROM topic_configs WHERE topic = ? ORDER BY key'),
      setPartitions: db.prepare('UPDATE topics SET partitions = ? WHERE name = ?'),
      upsertOffset: db.prepare(
        `INSERT OR REPLACE INTO group_offsets (group_id, topic, partition, committed_offset, leader_epoch, metadata, commit_timestamp)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      // safeIntegers: offsets are int64 on the wire and must not lose precision as JS numbers.
      offset: db
        .prepare<[string, string, number], OffsetRow>(
          `SELECT topic, partition, committed_offset, leader_epoch, metadata, commit_timestamp
           FROM group_offsets WHERE group_id = ? AND topic = ? AND partition = ?`,
        )
        .safeIntegers(true),
      groupOffsets: db
        .prepare<[string], OffsetRow>(
          `SELECT topic, partition, committed_offset, leader_epoch, metadata, commit_timestamp
           FROM group_offsets WHERE group_id = ? ORDER BY topic, partition`,
        )
        .safeIntegers(true),
      groupsWithOffsets: db.prepare('SELECT DISTINCT group_id FROM group_offsets ORDER BY group_id'),
      deleteGroupOffsets: db.prepare('DELETE FROM group_offsets WHERE group_id = ?'),
      deleteExpiredOffsets: db.prepare('DELETE FROM group_offsets WHERE group_id = ? AND commit_timestamp <= ?'),
      deleteTopicOffsets: db.prepare('DELETE FROM group_offsets WHERE topic = ?'),
    };
  }

  #migrate(): void {
    const version = this.#db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new ParapetError('METADATA_ERROR', `metadata store schema v${version} is newer than this Parapet (v${SCHEMA_VERSION})`);
    }
    if (version < 1) {
      this.#db.exec(`
        CREATE TABLE topics (name TEXT PRIMARY KEY, id TEXT NOT NULL UNIQUE, partitions INTEGER NOT NULL CHECK (partitions > 0));
        CREATE TABLE topic_configs (
          topic TEXT NOT NULL REFERENCES topics(name) ON DELETE CASCADE,
          key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (topic, key));
        PRAGMA user_version = 1;`);
    }
    if (version < 2) {
      // v2: consumer groups' committed offsets (OffsetCommit/OffsetFetch). No foreign key to topics:
      // deleteTopic removes a topic's offsets explicitly, in its own transaction.
      this.#db.transaction(() => {
        this.#db.exec(`
          CREATE TABLE group_offsets (
            group_id TEXT NOT NULL,
            topic TEXT NOT NULL,
            partition INTEGER NOT NULL CHECK (partition >= 0),
            committed_offset INTEGER NOT NULL,
            leader_epoch INTEGER NOT NULL,
            metadata TEXT,
            commit_timestamp INTEGER NOT NULL,
            PRIMARY KEY (group_id, topic, partition)) WITHOUT ROWID;
          CREATE INDEX group_offsets_by_topic ON group_offsets (topic);
          PRAGMA user_version = 2;`);
      })();
    }
  }

  createTopic(name: string, id: string, partitions: number, configs: Readonly<Record<string, string>> = {}): TopicRecord {
    const create = this.#db.transaction(() => {
      if (this.#stmts.topic.get(name) !== undefined) {
        throw new ParapetError('METADATA_ERROR', `topic ${name} already exists`, { kafkaErrorCode: 36 });
      }
      this.#stmts.insertTopic.run(name, id, partitions);
      for (const [key, value] of Object.entries(configs)) this.#stmts.insertConfig.run(name, key, value);
    });
    create();
    return { name, id, partitions, configs: { ...configs } };
  }

  topic(name: string): TopicRecord | undefined {
    const row = this.#stmts.topic.get(name);
    return row === undefined ? undefined : { ...row, configs: this.#configs(name) };
  }

  topics(): TopicRecord[] {
    return this.#stmts.topics.all().map((row) => ({ ...row, configs: this.#configs(row.name) }));
  }

  #configs(name: string): Record<string, string> {
    return Object.fromEntries(this.#stmts.configs.all(name).map((c) => [c.key, c.value]));
  }

  /**
   * Deletes a topic, its configs and every group's committed offsets for it (a topic created later
   * under the same name starts with no offsets, as in Kafka); returns false when it did not exist.
   */
  deleteTopic(name: string): boolean {
    const remove = this.#db.transaction(() => {
      const existed = this.#stmts.deleteTopic.run(name).changes > 0;
      this.#stmts.deleteTopicOffsets.run(name);
      return existed;
    });
    return remove();
  }

  /** Raises the partition count (Kafka never lowers it). */
  setPartitionCount(name: string, partitions: number): void {
    const current = this.#stmts.topic.get(name);
    if (current === undefined) throw new ParapetError('METADATA_ERROR', `unknown topic ${name}`, { kafkaErrorCode: 3 });
    if (partitions <= current.partitions) {
      throw new ParapetError('METADATA_ERROR', `topic ${name} has ${current.partitions} partitions; cannot set ${partitions}`, { kafkaErrorCode: 37 });
    }
    this.#stmts.setPartitions.run(partitions, name);
  }

  /**
   * Applies config changes atomically: `replace` swaps the whole set (AlterConfigs); otherwise
   * `set` upserts and `remove` deletes keys (IncrementalAlterConfigs).
   */
  alterConfigs(name: string, change: { replace?: Record<string, string>; set?: Record<string, string>; remove?: readonly string[] }): void {
    const apply = this.#db.transaction(() => {
      if (this.#stmts.topic.get(name) === undefined) throw new ParapetError('METADATA_ERROR', `unknown topic ${name}`, { kafkaErrorCode: 3 });
      if (change.replace !== undefined) {
        this.#stmts.deleteConfigs.run(name);
        for (const [k, v] of Object.entries(change.replace)) this.#stmts.insertConfig.run(name, k, v);
      }
      for (const [k, v] of Object.entries(change.set ?? {})) this.#stmts.insertConfig.run(name, k, v);
      for (const k of change.remove ?? []) this.#stmts.deleteConfig.run(name, k);
    });
    apply();
  }

  /**
   * Stores a group's committed offsets, all or none (one transaction); a partition committed twice
   * in `entries` keeps the last. The caller has validated the commit (group, topics, metadata size).
   */
  commitOffsets(groupId: string, entries: readonly CommittedOffset[]): void {
    const commit = this.#db.transaction(() => {
      for (const e of entries) {
        this.#stmts.upsertOffset.run(groupId, e.topic, e.partition, e.offset, e.leaderEpoch, e.metadata, e.commitTimestamp);
      }
    });
    commit();
  }

  /**
   * A group's committed offsets: of the given partitions (those without a commit are left out), or
   * of every partition it committed when `partitions` is null, ordered by topic and partition.
   */
  fetchOffsets(groupId: string, partitions: readonly TopicPartition[] | null): CommittedOffset[] {
    if (partitions === null) return this.#stmts.groupOffsets.all(groupId).map(offsetFromRow);
    // One read transaction: a consistent view even if a commit lands between two lookups.
    const read = this.#db.transaction(() => {
      const found: CommittedOffset[] = [];
      for (const { topic, partition } of partitions) {
        const row = this.#stmts.offset.get(groupId, topic, partition);
        if (row !== undefined) found.push(offsetFromRow(row));
      }
      return found;
    });
    return read();
  }

  /** Every group that has at least one committed offset, sorted. */
  groupsWithOffsets(): string[] {
    return this.#stmts.groupsWithOffsets.all().map((row) => row.group_id);
  }

  /** Deletes all of a group's committed offsets (DeleteGroups); returns how many there were. */
  deleteGroupOffsets(groupId: string): number {
    return this.#stmts.deleteGroupOffsets.run(groupId).changes;
  }

  /**
   * Deletes a group's offsets committed at or before `cutoffMs` (offset retention: Kafka expires an
   * offset once now − commitTimestamp ≥ offsets.retention.ms); returns how many were deleted.
   */
  deleteExpiredOffsets(groupId: string, cutoffMs: number): number {
    return this.#stmts.deleteExpiredOffsets.run(groupId, cutoffMs).changes;
  }

  close(): void {
    this.#db.close();
  }
}
