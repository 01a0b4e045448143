import Database from 'better-sqlite3';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ParapetError } from '../errors.js';
import { OFFSET_ROW_OVERHEAD_BYTES, type CommittedOffset, type OffsetStore, type StoredGroupMetadata, type TopicPartition } from './offset-store.js';
import type { MetadataRefusal } from './outcomes.js';
import type { TopicConfigChange, TopicRecord, TopicStore } from './topic-store.js';
import type { QuotaChange, QuotaStore, StoredQuota } from './quota-store.js';
import { CONTAINMENT_SCHEMA_V7, ContainmentTables, type ContainmentStore } from './containment-store.js';
import { ACCESS_SCHEMA_V8, AccessStore } from './access-store.js';
import { TRANSACTION_SCHEMA_V11, TransactionTables, type TransactionStore } from './transaction-store.js';
import { SCHEMA_REGISTRY_SCHEMA_V12, SchemaRegistryTables, type SchemaRegistryStore } from './schema-store.js';
import { MASKING_SCHEMA_V13, MaskingTables, type MaskingStore } from './masking-store.js';

/**
 * The embedded metadata store: topics, partition counts, topic configs, consumer groups' committed
 * offsets and metadata, ACL bindings and SCRAM credentials in SQLite (WAL mode) inside the data
 * directory. It has no network surface at all (docs/architecture.md#where-the-ten-controls-live); the
 * file is created owner-only (0600) because it holds the ACLs and the SCRAM keys. It stores what it is
 * given: validating bindings and credentials is the job of the security layer (src/security), which
 * alone gives the numbers and names meaning.
 */

// Defined with the store interfaces; re-exported where callers found them before.
export { committedOffsetBytes, OFFSET_ROW_OVERHEAD_BYTES } from './offset-store.js';
export type { CommittedOffset, StoredGroupMetadata, TopicPartition } from './offset-store.js';
export type { TopicRecord } from './topic-store.js';

/** What committed offsets count for, summed as {@link committedOffsetBytes} counts one. */
const OFFSET_BYTES_SQL = `SUM(${OFFSET_ROW_OVERHEAD_BYTES} + length(CAST(group_id AS BLOB)) + length(CAST(topic AS BLOB)) + COALESCE(length(CAST(metadata AS BLOB)), 0))`;

/**
 * One ACL binding as stored: the int8 codes of Kafka's ACL enums (src/protocol/acl.ts) and the
 * strings as the binding was created. The seven fields together are the binding's identity.
 */
export interface StoredAclBinding {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly patternType: number;
  readonly principal: string;
  readonly host: string;
  readonly operation: number;
  readonly permission: number;
}

/**
 * A user's SCRAM credential for one mechanism (RFC 5802 §3): the salt, iteration count and the two
 * derived keys. The password and the salted password are never stored.
 */
export interface StoredScramCredential {
  readonly user: string;
  readonly mechanism: string;
  readonly salt: Buffer;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
  readonly iterations: number;
}

/** A batch of SCRAM credential changes applied in one transaction. */
export interface ScramCredentialChanges {
  readonly upsertions: readonly StoredScramCredential[];
  readonly deletions: readonly { readonly user: string; readonly mechanism: string }[];
  /** When the upserted credentials were set (ms since the epoch); absent: not known, stored as NULL. */
  readonly setAtMs?: number;
}

/**
 * When a user's credential for one mechanism was last set (schema v9); null for a credential stored
 * before Parapet recorded it, whose age is unknown.
 */
export interface ScramCredentialSetTime {
  readonly user: string;
  readonly mechanism: string;
  readonly setAtMs: number | null;
}

interface AclRow {
  resource_type: number;
  resource_name: string;
  pattern_type: number;
  principal: string;
  host: string;
  operation: number;
  permission: number;
}

interface ScramRow {
  user_name: string;
  mechanism: string;
  salt: Buffer;
  stored_key: Buffer;
  server_key: Buffer;
  iterations: number;
}

const aclFromRow = (row: AclRow): StoredAclBinding => ({
  resourceType: row.resource_type,
  resourceName: row.resource_name,
  patternType: row.pattern_type,
  principal: row.principal,
  host: row.host,
  operation: row.operation,
  permission: row.permission,
});

const scramFromRow = (row: ScramRow): StoredScramCredential => ({
  user: row.user_name,
  mechanism: row.mechanism,
  salt: row.salt,
  storedKey: row.stored_key,
  serverKey: row.server_key,
  iterations: row.iterations,
});

type AclParams = [number, string, number, string, string, number, number];
const aclParams = (b: StoredAclBinding): AclParams => [b.resourceType, b.resourceName, b.patternType, b.principal, b.host, b.operation, b.permission];

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
const SCHEMA_VERSION = 13;

/** Backups remembered in backup_history: enough for a posture scan and a look back, never growing. */
const BACKUP_HISTORY_ROWS = 100;

/** A backup of this data directory that completed (`parapet backup create`). */
export interface CompletedBackup {
  readonly captureId: string;
  readonly takenAtMs: number;
  readonly completedAtMs: number;
  /** Where it went, as the command described it (`directory /mnt/backups`): never a secret. */
  readonly target: string;
}

/** What a change that the store made answers (a refusal says why it made none: storage/outcomes.ts). */
const CHANGED = Object.freeze({ kind: 'changed' as const });

export class MetadataStore implements TopicStore, OffsetStore, QuotaStore {
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
    offsetBytesByGroup: Database.Statement<[], { group_id: string; bytes: number }>;
    groupOffsetBytes: Database.Statement<[string], { bytes: number | null }>;
    deleteGroupOffsets: Database.Statement<[string]>;
    deleteExpiredOffsets: Database.Statement<[string, number]>;
    hasOffsets: Database.Statement<[string], { found: number }>;
    upsertGroupMetadata: Database.Statement<[string, string, number]>;
    groupMetadata: Database.Statement<[string], { protocol_type: string; generation_id: number }>;
    deleteGroupMetadata: Database.Statement<[string]>;
    groupMetadataWithoutOffsets: Database.Statement<[], { group_id: string }>;
    deleteTopicOffsets: Database.Statement<[string]>;
    aclBindings: Database.Statement<[], AclRow>;
    insertAcl: Database.Statement<AclParams>;
    deleteAcl: Database.Statement<AclParams>;
    scram: Database.Statement<[string, string], ScramRow>;
    scramAll: Database.Statement<[], ScramRow>;
    scramOfUser: Database.Statement<[string], ScramRow>;
    upsertScram: Database.Statement<[string, string, Buffer, Buffer, Buffer, number, number | null]>;
    scramSetTimes: Database.Statement<[], { user_name: string; mechanism: string; set_at: number | null }>;
    deleteScram: Database.Statement<[string, string]>;
    insertSecret: Database.Statement<[string, Buffer]>;
    quotas: Database.Statement<[], { entity: string; key: string; value: number }>;
    upsertQuota: Database.Statement<[string, string, number]>;
    deleteQuota: Database.Statement<[string, string]>;
    secret: Database.Statement<[string], { value: Buffer }>;
  };
  /** The disabled principals and the lockdown (incident response). */
  readonly #containment: ContainmentTables;
  /** The transaction coordinator's state (src/transactions/). */
  readonly #transactions: TransactionTables;
  /** The schema registry's subjects, versions and schemas (src/schemas/). */
  readonly #schemaRegistry: SchemaRegistryTables;
  /** The masking policies added with `parapet mask add` (src/governance/masking/). */
  readonly #masking: MaskingTables;

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
      offsetBytesByGroup: db.prepare(`SELECT group_id, ${OFFSET_BYTES_SQL} AS bytes FROM group_offsets GROUP BY group_id ORDER BY group_id`),
      groupOffsetBytes: db.prepare(`SELECT ${OFFSET_BYTES_SQL} AS bytes FROM group_offsets WHERE group_id = ?`),
      deleteGroupOffsets: db.prepare('DELETE FROM group_offsets WHERE group_id = ?'),
      deleteExpiredOffsets: db.prepare('DELETE FROM group_offsets WHERE group_id = ? AND commit_timestamp <= ?'),
      deleteTopicOffsets: db.prepare('DELETE FROM group_offsets WHERE topic = ?'),
      hasOffsets: db.prepare('SELECT EXISTS (SELECT 1 FROM group_offsets WHERE group_id = ?) AS found'),
      upsertGroupMetadata: db.prepare('INSERT OR REPLACE INTO group_metadata (group_id, protocol_type, generation_id) VALUES (?, ?, ?)'),
      groupMetadata: db.prepare('SELECT protocol_type, generation_id FROM group_metadata WHERE group_id = ?'),
      deleteGroupMetadata: db.prepare('DELETE FROM group_metadata WHERE group_id = ?'),
      groupMetadataWithoutOffsets: db.prepare(
        'SELECT group_id FROM group_metadata WHERE group_id NOT IN (SELECT group_id FROM group_offsets) ORDER BY group_id',
      ),
      aclBindings: db.prepare(
        `SELECT resource_type, resource_name, pattern_type, principal, host, operation, permission FROM acl_bindings
         ORDER BY resource_type, resource_name, pattern_type, principal, host, operation, permission`,
      ),
      insertAcl: db.prepare(
        `INSERT OR IGNORE INTO acl_bindings (resource_type, resource_name, pattern_type, principal, host, operation, permission)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      deleteAcl: db.prepare(
        `DELETE FROM acl_bindings WHERE resource_type = ? AND resource_name = ? AND pattern_type = ? AND principal = ?
         AND host = ? AND operation = ? AND permission = ?`,
      ),
      scram: db.prepare(
        `SELECT user_name, mechanism, salt, stored_key, server_key, iterations FROM scram_credentials
         WHERE user_name = ? AND mechanism = ?`,
      ),
      scramAll: db.prepare(
        'SELECT user_name, mechanism, salt, stored_key, server_key, iterations FROM scram_credentials ORDER BY user_name, mechanism',
      ),
      scramOfUser: db.prepare(
        'SELECT user_name, mechanism, salt, stored_key, server_key, iterations FROM scram_credentials WHERE user_name = ? ORDER BY mechanism',
      ),
      upsertScram: db.prepare(
        `INSERT OR REPLACE INTO scram_credentials (user_name, mechanism, salt, stored_key, server_key, iterations, set_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      scramSetTimes: db.prepare('SELECT user_name, mechanism, set_at FROM scram_credentials ORDER BY user_name, mechanism'),
      deleteScram: db.prepare('DELETE FROM scram_credentials WHERE user_name = ? AND mechanism = ?'),
      insertSecret: db.prepare('INSERT OR IGNORE INTO broker_secrets (name, value) VALUES (?, ?)'),
      secret: db.prepare('SELECT value FROM broker_secrets WHERE name = ?'),
      quotas: db.prepare('SELECT entity, key, value FROM client_quotas ORDER BY entity, key'),
      upsertQuota: db.prepare('INSERT OR REPLACE INTO client_quotas (entity, key, value) VALUES (?, ?, ?)'),
      deleteQuota: db.prepare('DELETE FROM client_quotas WHERE entity = ? AND key = ?'),
    };
    this.#containment = new ContainmentTables(db);
    this.#transactions = new TransactionTables(db);
    this.#schemaRegistry = new SchemaRegistryTables(db);
    this.#masking = new MaskingTables(db);
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
    if (version < 3) {
      // v3: ACL bindings and SCRAM credentials. A binding is its seven fields (the primary key), so
      // creating one twice stores it once, as Kafka does. Credentials keep only the salt and the keys
      // derived from the salted password (RFC 5802 §3), never anything a client could log in with.
      this.#db.transaction(() => {
        this.#db.exec(`
          CREATE TABLE acl_bindings (
            resource_type INTEGER NOT NULL,
            resource_name TEXT NOT NULL,
            pattern_type INTEGER NOT NULL,
            principal TEXT NOT NULL,
            host TEXT NOT NULL,
            operation INTEGER NOT NULL,
            permission INTEGER NOT NULL,
            PRIMARY KEY (resource_type, resource_name, pattern_type, principal, host, operation, permission)) WITHOUT ROWID;
          CREATE TABLE scram_credentials (
            user_name TEXT NOT NULL,
            mechanism TEXT NOT NULL,
            salt BLOB NOT NULL,
            stored_key BLOB NOT NULL,
            server_key BLOB NOT NULL,
            iterations INTEGER NOT NULL CHECK (iterations > 0),
            PRIMARY KEY (user_name, mechanism)) WITHOUT ROWID;
          PRAGMA user_version = 3;`);
      })();
    }
    if (version < 4) {
      // v4: group metadata, so that a group known only by its offsets after a restart describes with
      // the protocol type its members used ("consumer"), as Kafka's loaded groups do; a group that
      // only ever committed without joining (a "simple" group) has no row and describes with "".
      this.#db.transaction(() => {
        this.#db.exec(`
          CREATE TABLE group_metadata (
            group_id TEXT PRIMARY KEY,
            protocol_type TEXT NOT NULL,
            generation_id INTEGER NOT NULL CHECK (generation_id >= 0)) WITHOUT ROWID;
          PRAGMA user_version = 4;`);
      })();
    }
    if (version < 5) {
      // v5: secrets the broker makes for itself and must keep across restarts (the key of the fake
      // SCRAM salts of unknown users, so that an unknown name keeps its salt as a real user does).
      this.#db.transaction(() => {
        this.#db.exec(`
          CREATE TABLE broker_secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
          PRAGMA user_version = 5;`);
      })();
    }
    if (version < 6) {
      // v6: client quotas set with AlterClientQuotas (src/quotas): the entity as its JSON key, one row per value.
      this.#db.transaction(() => {
        this.#db.exec(`
          CREATE TABLE client_quotas (
            entity TEXT NOT NULL,
            key TEXT NOT NULL,
            value REAL NOT NULL CHECK (value > 0),
            PRIMARY KEY (entity, key)) WITHOUT ROWID;
          PRAGMA user_version = 6;`);
      })();
    }
    if (version < 7) {
      // v7: incident response (src/security/containment): disabled principals and the lockdown, with who, when, why.
      this.#db.transaction(() => {
        this.#db.exec(`${CONTAINMENT_SCHEMA_V7}
          PRAGMA user_version = 7;`);
      })();
    }
    if (version < 8) {
      // v8: the access log of the least-privilege advisor (./access-store.ts): observed access and logins.
      this.#db.transaction(() => {
        this.#db.exec(`${ACCESS_SCHEMA_V8}
          PRAGMA user_version = 8;`);
      })();
    }
    if (version < 9) {
      // v9: when each SCRAM credential was last set, for the posture scan's password age
      // (docs/security/posture.md). Credentials stored before keep NULL: their age is unknown, not old.
      this.#db.transaction(() => {
        this.#db.exec(`
          ALTER TABLE scram_credentials ADD COLUMN set_at INTEGER;
          PRAGMA user_version = 9;`);
      })();
    }
    if (version < 10) {
      // v10: the backups taken of this data directory (docs/operations/backup-and-recovery.md), for the
      // posture scan's backup age. Bounded: the newest BACKUP_HISTORY_ROWS only.
      this.#db.transaction(() => {
        this.#db.exec(`
          CREATE TABLE backup_history (
            capture_id TEXT PRIMARY KEY,
            taken_at INTEGER NOT NULL,
            completed_at INTEGER NOT NULL,
            target TEXT NOT NULL) WITHOUT ROWID;
          PRAGMA user_version = 10;`);
      })();
    }
    if (version < 11) {
      // v11: the transaction coordinator's state and the offsets committed inside open transactions
      // (docs/producers.md#transactions).
      this.#db.transaction(() => {
        this.#db.exec(`${TRANSACTION_SCHEMA_V11}
          PRAGMA user_version = 11;`);
      })();
    }
    if (version < 12) {
      // v12: the schema registry (docs/governance/schemas.md): schemas by global id, subjects' versions,
      // compatibility and mode settings, and the id counter (ids are never reused).
      this.#db.transaction(() => {
        this.#db.exec(`${SCHEMA_REGISTRY_SCHEMA_V12}
          PRAGMA user_version = 12;`);
      })();
    }
    if (version < 13) {
      // v13: the masking policies added with `parapet mask add` (docs/governance/masking.md).
      this.#db.transaction(() => {
        this.#db.exec(`${MASKING_SCHEMA_V13}
          PRAGMA user_version = 13;`);
      })();
    }
  }

  /** Records a backup that completed (its capture time is what it restores to). */
  recordBackup(backup: CompletedBackup): void {
    this.#db.transaction(() => {
      this.#db.prepare('INSERT OR REPLACE INTO backup_history (capture_id, taken_at, completed_at, target) VALUES (?, ?, ?, ?)').run(backup.captureId, backup.takenAtMs, backup.completedAtMs, backup.target);
      this.#db.prepare('DELETE FROM backup_history WHERE capture_id NOT IN (SELECT capture_id FROM backup_history ORDER BY taken_at DESC LIMIT ?)').run(BACKUP_HISTORY_ROWS);
    })();
  }

  /** The newest completed backup, by capture time; undefined when none was recorded. */
  lastBackup(): CompletedBackup | undefined {
    const row = this.#db.prepare('SELECT capture_id, taken_at, completed_at, target FROM backup_history ORDER BY taken_at DESC LIMIT 1').get() as
      | { capture_id: string; taken_at: number; completed_at: number; target: string }
      | undefined;
    return row === undefined ? undefined : { captureId: row.capture_id, takenAtMs: row.taken_at, completedAtMs: row.completed_at, target: row.target };
  }

  /** The access log's tables (observed access and logins); `now` marks when recording began, the first time. */
  accessStore(now: number): AccessStore {
    return new AccessStore(this.#db, now);
  }

  createTopic(name: string, id: string, partitions: number, configs: Readonly<Record<string, string>> = {}): { kind: 'created'; topic: TopicRecord } | MetadataRefusal {
    const create = this.#db.transaction((): MetadataRefusal | null => {
      if (this.#stmts.topic.get(name) !== undefined) return { kind: 'topic-exists', message: `topic ${name} already exists` };
      this.#stmts.insertTopic.run(name, id, partitions);
      for (const [key, value] of Object.entries(configs)) this.#stmts.insertConfig.run(name, key, value);
      return null;
    });
    return create() ?? { kind: 'created', topic: { name, id, partitions, configs: { ...configs } } };
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
  setPartitionCount(name: string, partitions: number): { kind: 'changed' } | MetadataRefusal {
    const current = this.#stmts.topic.get(name);
    if (current === undefined) return { kind: 'unknown-topic', message: `unknown topic ${name}` };
    if (partitions <= current.partitions) {
      return { kind: 'invalid-partitions', message: `topic ${name} has ${current.partitions} partitions; cannot set ${partitions}` };
    }
    this.#stmts.setPartitions.run(partitions, name);
    return CHANGED;
  }

  /**
   * Applies config changes atomically: `replace` swaps the whole set (AlterConfigs); otherwise
   * `set` upserts and `remove` deletes keys (IncrementalAlterConfigs).
   */
  alterConfigs(name: string, change: TopicConfigChange): { kind: 'changed' } | MetadataRefusal {
    const apply = this.#db.transaction((): { kind: 'changed' } | MetadataRefusal => {
      if (this.#stmts.topic.get(name) === undefined) return { kind: 'unknown-topic', message: `unknown topic ${name}` };
      if (change.replace !== undefined) {
        this.#stmts.deleteConfigs.run(name);
        for (const [k, v] of Object.entries(change.replace)) this.#stmts.insertConfig.run(name, k, v);
      }
      for (const [k, v] of Object.entries(change.set ?? {})) this.#stmts.insertConfig.run(name, k, v);
      for (const k of change.remove ?? []) this.#stmts.deleteConfig.run(name, k);
      return CHANGED;
    });
    return apply();
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

  hasOffsets(groupId: string): boolean {
    return this.#stmts.hasOffsets.get(groupId)?.found === 1;
  }

  /** Every group that has at least one committed offset, sorted. */
  groupsWithOffsets(): string[] {
    return this.#stmts.groupsWithOffsets.all().map((row) => row.group_id);
  }

  /**
   * Every group with committed offsets and what they count for ({@link committedOffsetBytes}), in
   * group order: one pass over the table, as {@link groupsWithOffsets} makes.
   */
  offsetBytesByGroup(): Map<string, number> {
    return new Map(this.#stmts.offsetBytesByGroup.all().map((row) => [row.group_id, row.bytes]));
  }

  /** What one group's committed offsets count for; 0 when it has none. */
  groupOffsetBytes(groupId: string): number {
    return this.#stmts.groupOffsetBytes.get(groupId)?.bytes ?? 0;
  }

  /**
   * Deletes a group: all its committed offsets and its metadata, in one transaction (DeleteGroups);
   * returns how many offsets there were.
   */
  deleteGroupOffsets(groupId: string): number {
    const remove = this.#db.transaction(() => {
      this.#stmts.deleteGroupMetadata.run(groupId);
      return this.#stmts.deleteGroupOffsets.run(groupId).changes;
    });
    return remove();
  }

  /**
   * Deletes a group's offsets committed at or before `cutoffMs` (offset retention: Kafka expires an
   * offset once now − commitTimestamp ≥ offsets.retention.ms); returns how many were deleted. The
   * caller expires only groups without members: one left without any offset is gone, as Kafka marks
   * it Dead, so its metadata goes in the same transaction.
   */
  deleteExpiredOffsets(groupId: string, cutoffMs: number): number {
    const expire = this.#db.transaction(() => {
      const deleted = this.#stmts.deleteExpiredOffsets.run(groupId, cutoffMs).changes;
      if (deleted > 0 && !this.hasOffsets(groupId)) this.#stmts.deleteGroupMetadata.run(groupId);
      return deleted;
    });
    return expire();
  }

  /** Stores (replaces) a group's metadata; the coordinator calls it when a generation completes. */
  saveGroupMetadata(groupId: string, metadata: StoredGroupMetadata): void {
    this.#stmts.upsertGroupMetadata.run(groupId, metadata.protocolType, metadata.generationId);
  }

  groupMetadata(groupId: string): StoredGroupMetadata | undefined {
    const row = this.#stmts.groupMetadata.get(groupId);
    return row === undefined ? undefined : { protocolType: row.protocol_type, generationId: row.generation_id };
  }

  /** Deletes a group's metadata alone (a group forgotten without offsets); returns whether it had any. */
  deleteGroupMetadata(groupId: string): boolean {
    return this.#stmts.deleteGroupMetadata.run(groupId).changes > 0;
  }

  /**
   * Groups with stored metadata but no committed offset, sorted: left so by a topic deletion or by a
   * restart while they had members and no commit. A restarted broker does not know them (only
   * offsets make a group outlive its members), so the offset expiry sweep deletes those without members.
   */
  groupMetadataWithoutOffsets(): string[] {
    return this.#stmts.groupMetadataWithoutOffsets.all().map((row) => row.group_id);
  }

  /** Every stored ACL binding, in a stable order (by resource type, then name, then the rest). */
  aclBindings(): StoredAclBinding[] {
    return this.#stmts.aclBindings.all().map(aclFromRow);
  }

  /** Stores bindings in one transaction, ignoring those already stored; returns how many were new. */
  addAclBindings(bindings: readonly StoredAclBinding[]): number {
    const add = this.#db.transaction(() => {
      let added = 0;
      for (const b of bindings) added += this.#stmts.insertAcl.run(...aclParams(b)).changes;
      return added;
    });
    return add();
  }

  /** Removes bindings in one transaction; returns how many were stored. */
  removeAclBindings(bindings: readonly StoredAclBinding[]): number {
    const remove = this.#db.transaction(() => {
      let removed = 0;
      for (const b of bindings) removed += this.#stmts.deleteAcl.run(...aclParams(b)).changes;
      return removed;
    });
    return remove();
  }

  scramCredential(user: string, mechanism: string): StoredScramCredential | undefined {
    const row = this.#stmts.scram.get(user, mechanism);
    return row === undefined ? undefined : scramFromRow(row);
  }

  /**
   * The credentials of the given users (users without any are left out), or of every user when
   * `users` is null; ordered by user (in the order given) and mechanism.
   */
  scramCredentials(users: readonly string[] | null): StoredScramCredential[] {
    if (users === null) return this.#stmts.scramAll.all().map(scramFromRow);
    const read = this.#db.transaction(() => users.flatMap((user) => this.#stmts.scramOfUser.all(user).map(scramFromRow)));
    return read();
  }

  /**
   * Applies credential changes all or none (AlterUserScramCredentials is atomic in Kafka); an
   * upsertion replaces the user's credential for that mechanism. Returns, per deletion in order,
   * whether there was a credential to delete.
   */
  alterScramCredentials(changes: ScramCredentialChanges): boolean[] {
    const alter = this.#db.transaction(() => {
      const deleted = changes.deletions.map((d) => this.#stmts.deleteScram.run(d.user, d.mechanism).changes > 0);
      for (const c of changes.upsertions) {
        this.#stmts.upsertScram.run(c.user, c.mechanism, c.salt, c.storedKey, c.serverKey, c.iterations, changes.setAtMs ?? null);
      }
      return deleted;
    });
    return alter();
  }

  /** When every stored SCRAM credential was last set, by user and mechanism. */
  scramCredentialSetTimes(): ScramCredentialSetTime[] {
    return this.#stmts.scramSetTimes.all().map((r) => ({ user: r.user_name, mechanism: r.mechanism, setAtMs: r.set_at }));
  }

  /**
   * The broker's own secret of this name, made by `create` and stored the first time it is asked for,
   * the same one every time after, also across restarts. It lives in this owner-only file, and in its backups.
   */
  brokerSecret(name: string, create: () => Buffer): Buffer {
    const get = this.#db.transaction(() => {
      const stored = this.#stmts.secret.get(name);
      if (stored !== undefined) return stored.value;
      this.#stmts.insertSecret.run(name, create());
      const row = this.#stmts.secret.get(name);
      if (row === undefined) throw new ParapetError('METADATA_ERROR', `broker secret ${name} was not stored`);
      return row.value;
    });
    return get();
  }

  /** Every stored client quota value. */
  quotas(): StoredQuota[] {
    return this.#stmts.quotas.all().map((row) => ({ entity: row.entity, key: row.key, value: row.value }));
  }

  /** Sets and removes client quota values in one transaction. */
  alterQuotas(changes: readonly QuotaChange[]): void {
    const alter = this.#db.transaction(() => {
      for (const c of changes) {
        if (c.value === null) this.#stmts.deleteQuota.run(c.entity, c.key);
        else this.#stmts.upsertQuota.run(c.entity, c.key, c.value);
      }
    });
    alter();
  }

  /** The disabled principals and the lockdown, kept across restarts. */
  get containment(): ContainmentStore {
    return this.#containment;
  }

  get transactions(): TransactionStore {
    return this.#transactions;
  }

  get masking(): MaskingStore {
    return this.#masking;
  }

  get schemaRegistry(): SchemaRegistryStore {
    return this.#schemaRegistry;
  }

  /**
   * Copies the store to `file` through SQLite's online backup API (https://sqlite.org/backup.html): a
   * consistent copy while the broker keeps writing (changes made through this connection meanwhile are
   * carried into the copy). The copy is owner-only: it holds the ACLs and SCRAM keys.
   */
  async backupTo(file: string): Promise<void> {
    await this.#db.backup(file);
    chmodSync(file, 0o600);
  }

  close(): void {
    this.#db.close();
  }
}
