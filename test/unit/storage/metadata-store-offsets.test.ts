import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { ParapetError } from '../../../src/errors.js';
import { MetadataStore } from '../../../src/storage/metadata-store.js';
import { offset } from './metadata-store-permutations.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-meta-offsets-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

function open(t: TestContext, dir = tempDir(t)): MetadataStore {
  const store = new MetadataStore(dir);
  t.after(() => {
    store.close();
  });
  return store;
}


function userVersion(dir: string): number {
  const db = new Database(join(dir, 'metadata.db'), { readonly: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}

// The OffsetStore behaviour (commits, fetches, expiry, group metadata, topic deletion) is tested over
// every implementation in offset-store.suite.test.ts; what is SQLite's own is here.

describe('MetadataStore: committed offsets in SQLite', () => {
  it('a commit is all or nothing', (t) => {
    const store = open(t);
    store.commitOffsets('g', [offset('a', 0, 1n)]);
    // partition −1 violates the table's CHECK: the whole batch is rolled back.
    assert.throws(() => {
      store.commitOffsets('g', [offset('a', 0, 9n), offset('a', -1, 9n)]);
    });
    assert.deepEqual(store.fetchOffsets('g', null), [offset('a', 0, 1n)]);
  });
});

describe('MetadataStore: schema migration', () => {
  it('creates a new store at the current schema (v13)', (t) => {
    const dir = tempDir(t);
    new MetadataStore(dir).close();
    assert.equal(userVersion(dir), 13);
  });

  it('migrates a v4 store to v13, whose broker secrets are made once and kept across reopening', (t) => {
    const dir = tempDir(t);
    const v4 = new MetadataStore(dir);
    v4.close();
    const db = new Database(join(dir, 'metadata.db'));
    db.exec('DROP TABLE schema_registry_versions; DROP TABLE schema_registry_schemas; DROP TABLE schema_registry_settings; DROP TABLE schema_registry_ids; DROP TABLE transaction_offsets; DROP TABLE transactions; DROP TABLE broker_secrets; DROP TABLE client_quotas; DROP TABLE disabled_principals; DROP TABLE lockdown; DROP TABLE observed_access; DROP TABLE observed_logins; DROP TABLE access_log_state; ALTER TABLE scram_credentials DROP COLUMN set_at; DROP TABLE backup_history; PRAGMA user_version = 4;');
    db.close();

    const store = new MetadataStore(dir);
    assert.equal(userVersion(dir), 13);
    let made = 0;
    const make = () => {
      made++;
      return Buffer.from(`secret-${made}`);
    };
    const first = store.brokerSecret('one', make);
    assert.deepEqual(first, Buffer.from('secret-1'));
    assert.deepEqual(store.brokerSecret('one', make), first, 'asked again, the stored secret is returned');
    assert.deepEqual(store.brokerSecret('two', make), Buffer.from('secret-2'), 'each name has its own');
    store.close();
    const again = open(t, dir);
    assert.deepEqual(again.brokerSecret('one', make), first, 'a restart keeps it');
    assert.equal(made, 2);
  });

  it('migrates a v3 store to v13, keeping offsets, ACLs and credentials; its groups have no saved metadata', (t) => {
    const dir = tempDir(t);
    mkdirSync(dir, { recursive: true });
    // The v3 schema exactly as Parapet created it before group metadata.
    const v3 = new Database(join(dir, 'metadata.db'));
    v3.pragma('journal_mode = WAL');
    v3.exec(`
      CREATE TABLE topics (name TEXT PRIMARY KEY, id TEXT NOT NULL UNIQUE, partitions INTEGER NOT NULL CHECK (partitions > 0));
      CREATE TABLE topic_configs (
        topic TEXT NOT NULL REFERENCES topics(name) ON DELETE CASCADE,
        key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (topic, key));
      CREATE TABLE group_offsets (
        group_id TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL CHECK (partition >= 0),
        committed_offset INTEGER NOT NULL, leader_epoch INTEGER NOT NULL, metadata TEXT, commit_timestamp INTEGER NOT NULL,
        PRIMARY KEY (group_id, topic, partition)) WITHOUT ROWID;
      CREATE INDEX group_offsets_by_topic ON group_offsets (topic);
      CREATE TABLE acl_bindings (
        resource_type INTEGER NOT NULL, resource_name TEXT NOT NULL, pattern_type INTEGER NOT NULL, principal TEXT NOT NULL,
        host TEXT NOT NULL, operation INTEGER NOT NULL, permission INTEGER NOT NULL,
        PRIMARY KEY (resource_type, resource_name, pattern_type, principal, host, operation, permission)) WITHOUT ROWID;
      CREATE TABLE scram_credentials (
        user_name TEXT NOT NULL, mechanism TEXT NOT NULL, salt BLOB NOT NULL, stored_key BLOB NOT NULL, server_key BLOB NOT NULL,
        iterations INTEGER NOT NULL CHECK (iterations > 0), PRIMARY KEY (user_name, mechanism)) WITHOUT ROWID;
      PRAGMA user_version = 3;`);
    v3.prepare('INSERT INTO topics (name, id, partitions) VALUES (?, ?, ?)').run('orders', 'id-1', 3);
    v3.prepare('INSERT INTO group_offsets VALUES (?, ?, ?, ?, ?, ?, ?)').run('g', 'orders', 1, 42, 0, null, 5);
    v3.prepare('INSERT INTO acl_bindings VALUES (?, ?, ?, ?, ?, ?, ?)').run(2, 'orders', 3, 'User:bob', '*', 3, 3);
    v3.prepare('INSERT INTO scram_credentials VALUES (?, ?, ?, ?, ?, ?)').run('bob', 'SCRAM-SHA-512', Buffer.from('s'), Buffer.from('k1'), Buffer.from('k2'), 4096);
    v3.close();

    const store = new MetadataStore(dir);
    assert.equal(store.topic('orders')?.partitions, 3);
    assert.deepEqual(store.fetchOffsets('g', null), [offset('orders', 1, 42n, { leaderEpoch: 0, metadata: null, commitTimestamp: 5 })]);
    assert.equal(store.aclBindings().length, 1);
    assert.equal(store.scramCredential('bob', 'SCRAM-SHA-512')?.iterations, 4096);
    assert.equal(store.groupMetadata('g'), undefined, 'a group from before v4 describes as a simple group until its next generation');
    store.saveGroupMetadata('g', { protocolType: 'consumer', generationId: 1 });
    store.close();
    assert.equal(userVersion(dir), 13);

    const again = open(t, dir);
    assert.deepEqual(again.groupMetadata('g'), { protocolType: 'consumer', generationId: 1 }, 'reopening migrates nothing again');
  });

  it('migrates a v1 store to the current schema, keeping its topics and configs', (t) => {
    const dir = tempDir(t);
    mkdirSync(dir, { recursive: true });
    // The v1 schema exactly as Parapet v1 created it.
    const v1 = new Database(join(dir, 'metadata.db'));
    v1.pragma('journal_mode = WAL');
    v1.exec(`
      CREATE TABLE topics (name TEXT PRIMARY KEY, id TEXT NOT NULL UNIQUE, partitions INTEGER NOT NULL CHECK (partitions > 0));
      CREATE TABLE topic_configs (
        topic TEXT NOT NULL REFERENCES topics(name) ON DELETE CASCADE,
        key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (topic, key));
      PRAGMA user_version = 1;`);
    v1.prepare('INSERT INTO topics (name, id, partitions) VALUES (?, ?, ?)').run('orders', 'id-1', 3);
    v1.prepare('INSERT INTO topic_configs (topic, key, value) VALUES (?, ?, ?)').run('orders', 'retention.ms', '1000');
    v1.close();

    const store = new MetadataStore(dir);
    assert.deepEqual(store.topic('orders'), { name: 'orders', id: 'id-1', partitions: 3, configs: { 'retention.ms': '1000' } });
    assert.deepEqual(store.groupsWithOffsets(), []);
    store.commitOffsets('g', [offset('orders', 2, 10n)]);
    store.close();
    assert.equal(userVersion(dir), 13);

    // Reopening a migrated store migrates nothing again and keeps the offsets.
    const again = open(t, dir);
    assert.deepEqual(again.fetchOffsets('g', null), [offset('orders', 2, 10n)]);
  });

  it('refuses a store from a newer Parapet', (t) => {
    const dir = tempDir(t);
    new MetadataStore(dir).close();
    const db = new Database(join(dir, 'metadata.db'));
    db.pragma('user_version = 99');
    db.close();
    assert.throws(
      () => new MetadataStore(dir),
      (err: unknown) => err instanceof ParapetError && err.code === 'METADATA_ERROR',
    );
  });
});
