import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { ParapetError } from '../../../src/errors.js';
import { MetadataStore, type CommittedOffset } from '../../../src/storage/metadata-store.js';

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

const offset = (topic: string, partition: number, value: bigint, extra: Partial<CommittedOffset> = {}): CommittedOffset => ({
  topic,
  partition,
  offset: value,
  leaderEpoch: -1,
  metadata: '',
  commitTimestamp: 1000,
  ...extra,
});

function userVersion(dir: string): number {
  const db = new Database(join(dir, 'metadata.db'), { readonly: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}

describe('MetadataStore: committed offsets', () => {
  it('stores and fetches offsets exactly (int64, leader epoch, null metadata, timestamp)', (t) => {
    const store = open(t);
    const big = 2n ** 62n + 1n;
    store.commitOffsets('g', [
      offset('b', 1, big, { leaderEpoch: 7, metadata: null, commitTimestamp: 1_700_000_000_123 }),
      offset('a', 0, 5n, { metadata: 'meta' }),
    ]);
    assert.deepEqual(store.fetchOffsets('g', null), [
      offset('a', 0, 5n, { metadata: 'meta' }),
      offset('b', 1, big, { leaderEpoch: 7, metadata: null, commitTimestamp: 1_700_000_000_123 }),
    ]);
    // Only partitions with a commit come back, in the order asked.
    assert.deepEqual(
      store.fetchOffsets('g', [
        { topic: 'b', partition: 1 },
        { topic: 'b', partition: 0 },
        { topic: 'a', partition: 0 },
        { topic: 'zz', partition: 0 },
      ]).map((o) => [o.topic, o.partition, o.offset]),
      [
        ['b', 1, big],
        ['a', 0, 5n],
      ],
    );
    assert.deepEqual(store.fetchOffsets('other', null), []);
  });

  it('a later commit replaces an earlier one; the last duplicate of a batch wins', (t) => {
    const store = open(t);
    store.commitOffsets('g', [offset('a', 0, 1n)]);
    store.commitOffsets('g', [offset('a', 0, 2n, { metadata: 'x' }), offset('a', 0, 3n, { metadata: 'y' })]);
    assert.deepEqual(store.fetchOffsets('g', null), [offset('a', 0, 3n, { metadata: 'y' })]);
  });

  it('a commit is all or nothing', (t) => {
    const store = open(t);
    store.commitOffsets('g', [offset('a', 0, 1n)]);
    // partition −1 violates the table's CHECK: the whole batch is rolled back.
    assert.throws(() => {
      store.commitOffsets('g', [offset('a', 0, 9n), offset('a', -1, 9n)]);
    });
    assert.deepEqual(store.fetchOffsets('g', null), [offset('a', 0, 1n)]);
  });

  it('keeps offsets across reopen', (t) => {
    const dir = tempDir(t);
    const first = new MetadataStore(dir);
    first.commitOffsets('g', [offset('a', 0, 42n, { leaderEpoch: 3, metadata: 'm', commitTimestamp: 77 })]);
    first.close();
    const again = open(t, dir);
    assert.deepEqual(again.fetchOffsets('g', null), [offset('a', 0, 42n, { leaderEpoch: 3, metadata: 'm', commitTimestamp: 77 })]);
    assert.deepEqual(again.groupsWithOffsets(), ['g']);
  });

  it('lists groups with offsets and deletes a group’s offsets with a count', (t) => {
    const store = open(t);
    store.commitOffsets('g2', [offset('a', 0, 1n)]);
    store.commitOffsets('g1', [offset('a', 0, 1n), offset('a', 1, 1n)]);
    assert.deepEqual(store.groupsWithOffsets(), ['g1', 'g2']);
    assert.equal(store.deleteGroupOffsets('g1'), 2);
    assert.equal(store.deleteGroupOffsets('g1'), 0);
    assert.deepEqual(store.groupsWithOffsets(), ['g2']);
  });

  it('deletes only the expired offsets of the given group (commit time at or before the cutoff)', (t) => {
    const store = open(t);
    store.commitOffsets('g', [offset('a', 0, 1n, { commitTimestamp: 100 }), offset('a', 1, 1n, { commitTimestamp: 200 }), offset('a', 2, 1n, { commitTimestamp: 201 })]);
    store.commitOffsets('h', [offset('a', 0, 1n, { commitTimestamp: 100 })]);
    assert.equal(store.deleteExpiredOffsets('g', 200), 2);
    assert.deepEqual(store.fetchOffsets('g', null).map((o) => o.partition), [2]);
    assert.equal(store.fetchOffsets('h', null).length, 1);
  });

  it('deleting a topic drops every group’s offsets for it, in the same operation', (t) => {
    const store = open(t);
    store.createTopic('a', 'id-a', 2);
    store.createTopic('b', 'id-b', 1);
    store.commitOffsets('g', [offset('a', 0, 1n), offset('a', 1, 1n), offset('b', 0, 1n)]);
    store.commitOffsets('h', [offset('a', 0, 1n)]);
    assert.equal(store.deleteTopic('a'), true);
    assert.deepEqual(store.fetchOffsets('g', null).map((o) => o.topic), ['b']);
    assert.deepEqual(store.groupsWithOffsets(), ['g']);
    // A topic recreated under the same name starts without offsets.
    store.createTopic('a', 'id-a2', 2);
    assert.deepEqual(store.fetchOffsets('h', [{ topic: 'a', partition: 0 }]), []);
  });
});

describe('MetadataStore: group metadata', () => {
  it('saves, replaces and keeps a group’s protocol type and generation across reopen', (t) => {
    const dir = tempDir(t);
    const first = new MetadataStore(dir);
    assert.equal(first.groupMetadata('g'), undefined);
    first.saveGroupMetadata('g', { protocolType: 'consumer', generationId: 1 });
    first.saveGroupMetadata('g', { protocolType: 'consumer', generationId: 4 });
    first.saveGroupMetadata('c', { protocolType: 'connect', generationId: 2 });
    first.close();
    const again = open(t, dir);
    assert.deepEqual(again.groupMetadata('g'), { protocolType: 'consumer', generationId: 4 });
    assert.deepEqual(again.groupMetadata('c'), { protocolType: 'connect', generationId: 2 });
    assert.equal(again.deleteGroupMetadata('c'), true);
    assert.equal(again.deleteGroupMetadata('c'), false);
    assert.equal(again.groupMetadata('c'), undefined);
  });

  it('deleting a group (DeleteGroups) deletes its metadata with its offsets; other groups keep theirs', (t) => {
    const store = open(t);
    store.commitOffsets('g', [offset('a', 0, 1n)]);
    store.saveGroupMetadata('g', { protocolType: 'consumer', generationId: 3 });
    store.commitOffsets('h', [offset('a', 0, 1n)]);
    store.saveGroupMetadata('h', { protocolType: 'consumer', generationId: 1 });
    assert.equal(store.hasOffsets('g'), true);
    assert.equal(store.deleteGroupOffsets('g'), 1);
    assert.equal(store.hasOffsets('g'), false);
    assert.equal(store.groupMetadata('g'), undefined);
    assert.deepEqual(store.groupMetadata('h'), { protocolType: 'consumer', generationId: 1 });
  });

  it('offset expiry deletes the metadata only of a group it leaves without offsets', (t) => {
    const store = open(t);
    store.commitOffsets('g', [offset('a', 0, 1n, { commitTimestamp: 100 }), offset('a', 1, 1n, { commitTimestamp: 300 })]);
    store.saveGroupMetadata('g', { protocolType: 'consumer', generationId: 2 });
    assert.equal(store.deleteExpiredOffsets('g', 200), 1);
    assert.deepEqual(store.groupMetadata('g'), { protocolType: 'consumer', generationId: 2 }, 'one offset is left');
    assert.equal(store.deleteExpiredOffsets('g', 300), 1);
    assert.equal(store.groupMetadata('g'), undefined);
  });

  it('lists the groups with metadata but no offsets (a topic deletion took them)', (t) => {
    const store = open(t);
    store.createTopic('a', 'id-a', 1);
    store.createTopic('b', 'id-b', 1);
    store.commitOffsets('g', [offset('a', 0, 1n)]);
    store.commitOffsets('h', [offset('a', 0, 1n), offset('b', 0, 1n)]);
    store.saveGroupMetadata('g', { protocolType: 'consumer', generationId: 1 });
    store.saveGroupMetadata('h', { protocolType: 'consumer', generationId: 1 });
    store.saveGroupMetadata('members-only', { protocolType: 'consumer', generationId: 1 });
    assert.deepEqual(store.groupMetadataWithoutOffsets(), ['members-only']);
    store.deleteTopic('a');
    assert.deepEqual(store.groupMetadataWithoutOffsets(), ['g', 'members-only']);
  });
});

describe('MetadataStore: schema migration', () => {
  it('creates a new store at the current schema (v5)', (t) => {
    const dir = tempDir(t);
    new MetadataStore(dir).close();
    assert.equal(userVersion(dir), 5);
  });

  it('migrates a v4 store to v5, whose broker secrets are made once and kept across reopening', (t) => {
    const dir = tempDir(t);
    const v4 = new MetadataStore(dir);
    v4.close();
    const db = new Database(join(dir, 'metadata.db'));
    db.exec('DROP TABLE broker_secrets; PRAGMA user_version = 4;');
    db.close();

    const store = new MetadataStore(dir);
    assert.equal(userVersion(dir), 5);
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

  it('migrates a v3 store to v5, keeping offsets, ACLs and credentials; its groups have no saved metadata', (t) => {
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
    assert.equal(userVersion(dir), 5);

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
    assert.equal(userVersion(dir), 5);

    // Reopening a migrated store migrates nothing again and keeps the offsets.
    const again = open(t, dir);
    assert.deepEqual(again.fetchOffsets('g', null), [offset('orders', 2, 10n)]);
  });

  it('refuses a store from a newer Parapet', (t) => {
    const dir = tempDir(t);
    new MetadataStore(dir).close();
    const db = new Database(join(dir, 'metadata.db'));
    db.pragma('user_version = 6');
    db.close();
    assert.throws(
      () => new MetadataStore(dir),
      (err: unknown) => err instanceof ParapetError && err.code === 'METADATA_ERROR',
    );
  });
});
