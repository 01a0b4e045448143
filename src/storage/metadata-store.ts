import Database from 'better-sqlite3';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ParapetError } from '../errors.js';

/**
 * The embedded metadata store: topics, partition counts and topic configs in SQLite (WAL mode) inside
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

/** The schema version of the store; each migration step moves it by one. */
const SCHEMA_VERSION = 1;

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
    this.#migrate();
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

  /** Deletes a topic and its configs; returns false when it did not exist. */
  deleteTopic(name: string): boolean {
    return this.#stmts.deleteTopic.run(name).changes > 0;
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

  close(): void {
    this.#db.close();
  }
}
