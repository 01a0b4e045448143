import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { isFault } from '../../../../src/errors.js';
import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../../../../src/protocol/acl.js';
import { ErrorCode } from '../../../../src/protocol/error-codes.js';
import {
  AclStore,
  type AclBinding,
  type AclBindingFilter,
  type AclBindingInput,
} from '../../../../src/security/authz/acl-store.js';
import { MetadataStore, type StoredAclBinding } from '../../../../src/storage/metadata-store.js';
import { aclInput as binding, memoryAclPersistence } from './acl-fixtures.js';

const { TOPIC, GROUP, CLUSTER } = ResourceType;
const { LITERAL, PREFIXED } = PatternType;
const { ALLOW, DENY } = AclPermissionType;
const { READ, WRITE, ALL } = AclOperation;

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-acl-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

const filter = (over: Partial<AclBindingFilter> = {}): AclBindingFilter => ({
  resourceType: ResourceType.ANY,
  resourceName: null,
  patternType: PatternType.ANY,
  principal: null,
  host: null,
  operation: AclOperation.ANY,
  permission: AclPermissionType.ANY,
  ...over,
});

const names = (bindings: readonly AclBinding[]) => bindings.map((b) => `${b.patternType === PREFIXED ? 'P:' : ''}${b.resourceName}`).sort();

describe('AclStore.create', () => {
  it('accepts every concrete resource type, both pattern types, User:* and every host form', () => {
    const store = new AclStore({ store: memoryAclPersistence() });
    const results = store.create([
      binding(),
      binding({ resourceType: GROUP, resourceName: 'billing-', patternType: PREFIXED }),
      binding({ resourceType: CLUSTER, resourceName: 'kafka-cluster', operation: AclOperation.ALTER }),
      binding({ resourceType: ResourceType.TRANSACTIONAL_ID, resourceName: 'tx' }),
      binding({ resourceType: ResourceType.DELEGATION_TOKEN, resourceName: 'tok' }),
      binding({ resourceType: ResourceType.USER, resourceName: 'bob', operation: AclOperation.CREATE_TOKENS }),
      binding({ principal: 'User:*', resourceName: '*' }),
      binding({ host: '10.0.0.0/8' }),
      binding({ host: 'fd00::1' }),
      binding({ permission: DENY, operation: ALL }),
    ]);
    assert.deepEqual(results.map((r) => r.code), Array<number>(10).fill(ErrorCode.NONE));
    assert.ok(results.every((r) => r.message === null && r.created && r.binding !== null));
    assert.equal(store.bindings().length, 10);
  });

  it("refuses what Kafka's CreateAcls refuses with INVALID_REQUEST and a reason, creating the rest", () => {
    const persistence = memoryAclPersistence();
    const store = new AclStore({ store: persistence });
    const cases: [Partial<AclBindingInput>, RegExp][] = [
      [{ resourceType: ResourceType.ANY }, /resource type/],
      [{ resourceType: ResourceType.UNKNOWN }, /resource type/],
      [{ resourceType: 42 }, /resource type/],
      [{ patternType: PatternType.ANY }, /pattern type/],
      [{ patternType: PatternType.MATCH }, /pattern type/],
      [{ patternType: PatternType.UNKNOWN }, /pattern type/],
      [{ operation: AclOperation.ANY }, /operation/],
      [{ operation: AclOperation.UNKNOWN }, /operation/],
      [{ operation: 99 }, /operation/],
      [{ permission: AclPermissionType.ANY }, /permission/],
      [{ permission: AclPermissionType.UNKNOWN }, /permission/],
      [{ resourceName: '' }, /empty resource name/],
      [{ resourceType: CLUSTER, resourceName: 'my-cluster' }, /kafka-cluster/],
      [{ principal: 'alice' }, /principal/],
      [{ principal: 'Group:admins' }, /principal/],
      [{ principal: 'User:' }, /principal/],
      [{ principal: 'user:alice' }, /principal/],
      [{ host: 'localhost' }, /host/],
      [{ host: '10.0.0.0/40' }, /host/],
      [{ host: '' }, /host/],
    ];
    const results = store.create([...cases.map(([over]) => binding(over)), binding({ resourceName: 'valid' })]);
    cases.forEach(([over, reason], i) => {
      const r = results[i];
      assert.equal(r?.code, ErrorCode.INVALID_REQUEST, JSON.stringify(over));
      assert.match(r.message ?? '', reason, JSON.stringify(over));
      assert.equal(r.binding, null);
    });
    assert.equal(results.at(-1)?.code, ErrorCode.NONE);
    assert.deepEqual(names(store.bindings()), ['valid']);
    assert.equal(persistence.rows.length, 1);
  });

  it('is idempotent: a duplicate, in the same request or later, succeeds and stores nothing new', () => {
    const persistence = memoryAclPersistence();
    const store = new AclStore({ store: persistence });
    const first = store.create([binding(), binding()]);
    assert.deepEqual(first.map((r) => [r.code, r.created]), [[0, true], [0, false]]);
    const generation = store.generation;
    const again = store.create([binding()]);
    assert.deepEqual(again.map((r) => [r.code, r.created]), [[0, false]]);
    assert.equal(store.generation, generation, 'nothing changed, so readers keep their caches');
    assert.equal(store.bindings().length, 1);
    assert.equal(persistence.rows.length, 1);
    assert.equal(persistence.writes, 1, 'no write for a request that changes nothing');
  });

  it('changes nothing in memory when the store fails to write', () => {
    const persistence = memoryAclPersistence();
    const store = new AclStore({ store: persistence });
    persistence.fail = true;
    assert.throws(() => store.create([binding()]), /SQLITE_FULL/);
    assert.equal(store.bindings().length, 0);
    assert.equal(store.generation, 0);
  });
});

describe('AclStore.describe (Kafka filter semantics)', () => {
  const store = new AclStore({ store: memoryAclPersistence() });
  store.create([
    binding({ resourceName: 'orders' }),
    binding({ resourceName: '*' }),
    binding({ resourceName: 'ord', patternType: PREFIXED }),
    binding({ resourceName: 'orders-eu', patternType: PREFIXED }),
    binding({ resourceName: 'payments', principal: 'User:bob', host: '10.0.0.0/8', operation: WRITE, permission: DENY }),
    binding({ resourceType: GROUP, resourceName: 'orders' }),
  ]);

  it('ANY and null match everything', () => {
    assert.equal(store.describe(filter()).bindings.length, 6);
    assert.equal(store.describe(filter({ resourceType: GROUP })).bindings.length, 1);
  });

  it('a concrete pattern type matches that type and the exact name only', () => {
    assert.deepEqual(names(store.describe(filter({ resourceType: TOPIC, patternType: LITERAL, resourceName: 'orders' })).bindings), ['orders']);
    assert.deepEqual(names(store.describe(filter({ resourceType: TOPIC, patternType: LITERAL, resourceName: '*' })).bindings), ['*']);
    assert.deepEqual(names(store.describe(filter({ resourceType: TOPIC, patternType: PREFIXED, resourceName: 'orders' })).bindings), []);
    assert.deepEqual(names(store.describe(filter({ resourceType: TOPIC, patternType: PREFIXED })).bindings), ['P:ord', 'P:orders-eu']);
  });

  it('ANY pattern with a name matches that exact name in either pattern type', () => {
    assert.deepEqual(names(store.describe(filter({ resourceName: 'ord' })).bindings), ['P:ord']);
    assert.deepEqual(names(store.describe(filter({ resourceType: TOPIC, resourceName: 'orders' })).bindings), ['orders']);
  });

  it('MATCH finds every binding that applies to the name: equal literal, the * literal, prefixes', () => {
    const found = store.describe(filter({ resourceType: TOPIC, patternType: PatternType.MATCH, resourceName: 'orders-eu-1' })).bindings;
    assert.deepEqual(names(found), ['*', 'P:ord', 'P:orders-eu']);
    const exact = store.describe(filter({ resourceType: TOPIC, patternType: PatternType.MATCH, resourceName: 'orders' })).bindings;
    assert.deepEqual(names(exact), ['*', 'P:ord', 'orders']);
    assert.equal(store.describe(filter({ resourceType: TOPIC, patternType: PatternType.MATCH })).bindings.length, 5, 'MATCH without a name matches all');
  });

  it('principal, host, operation and permission filter by equality', () => {
    assert.deepEqual(names(store.describe(filter({ principal: 'User:bob' })).bindings), ['payments']);
    assert.deepEqual(names(store.describe(filter({ host: '10.0.0.0/8' })).bindings), ['payments']);
    assert.deepEqual(names(store.describe(filter({ host: '10.0.0.1' })).bindings), [], 'a host filter is a string, not a range test');
    assert.deepEqual(names(store.describe(filter({ operation: WRITE })).bindings), ['payments']);
    assert.deepEqual(names(store.describe(filter({ permission: DENY })).bindings), ['payments']);
    assert.equal(store.describe(filter({ permission: ALLOW })).bindings.length, 5);
    assert.equal(store.describe(filter({ principal: 'User:*' })).bindings.length, 0);
  });

  it('refuses a filter with an UNKNOWN or unknown code', () => {
    for (const bad of [{ resourceType: 0 }, { resourceType: 9 }, { patternType: 0 }, { patternType: 5 }, { operation: 0 }, { operation: 77 }, { permission: 0 }, { permission: 4 }]) {
      const r = store.describe(filter(bad));
      assert.equal(r.code, ErrorCode.INVALID_REQUEST, JSON.stringify(bad));
      assert.ok(r.message !== null && r.message.length > 0);
      assert.equal(r.bindings.length, 0);
    }
  });
});

describe('AclStore.delete', () => {
  it('deletes what each filter matched; a binding two filters match is reported by both', () => {
    const persistence = memoryAclPersistence();
    const store = new AclStore({ store: persistence });
    store.create([binding({ resourceName: 'a' }), binding({ resourceName: 'b' }), binding({ resourceName: 'c', operation: WRITE })]);
    const generation = store.generation;
    const results = store.delete([filter({ resourceName: 'a' }), filter({ operation: READ }), filter({ operation: 0 }), filter({ resourceName: 'zzz' })]);
    assert.deepEqual(results.map((r) => r.code), [0, 0, ErrorCode.INVALID_REQUEST, 0]);
    assert.deepEqual(names(results[0]?.bindings ?? []), ['a']);
    assert.deepEqual(names(results[1]?.bindings ?? []), ['a', 'b']);
    assert.deepEqual(results[3]?.bindings, []);
    assert.deepEqual(names(store.bindings()), ['c']);
    assert.deepEqual(persistence.rows.map((r) => r.resourceName), ['c']);
    assert.ok(store.generation > generation);
  });

  it('a deletion that matches nothing changes nothing', () => {
    const persistence = memoryAclPersistence();
    const store = new AclStore({ store: persistence });
    store.create([binding()]);
    const generation = store.generation;
    const writes = persistence.writes;
    assert.deepEqual(store.delete([filter({ principal: 'User:nobody' })])[0]?.bindings, []);
    assert.equal(store.generation, generation);
    assert.equal(persistence.writes, writes);
  });

  it('hands out a new snapshot after a change and keeps old ones intact', () => {
    const store = new AclStore({ store: memoryAclPersistence() });
    store.create([binding({ resourceName: 'a' })]);
    const before = store.bindings();
    assert.equal(store.bindings(), before, 'the same snapshot while nothing changes');
    store.create([binding({ resourceName: 'b' })]);
    assert.equal(before.length, 1);
    assert.equal(store.bindings().length, 2);
    assert.ok(Object.isFrozen(store.bindings()));
  });
});

describe('AclStore over the metadata store', () => {
  it('keeps bindings across reopen, deletions included', (t) => {
    const dir = tempDir(t);
    const meta = new MetadataStore(dir);
    const store = new AclStore({ store: meta });
    store.create([binding({ resourceName: 'a' }), binding({ resourceName: 'p-', patternType: PREFIXED, host: '192.168.0.0/16', permission: DENY, operation: ALL })]);
    store.create([binding({ resourceName: 'gone' })]);
    store.delete([filter({ resourceName: 'gone' })]);
    meta.close();

    const again = new MetadataStore(dir);
    t.after(() => {
      again.close();
    });
    const reopened = new AclStore({ store: again });
    assert.deepEqual(
      [...reopened.bindings()].sort((x, y) => x.resourceName.localeCompare(y.resourceName)),
      [
        { resourceType: TOPIC, resourceName: 'a', patternType: LITERAL, principal: 'User:alice', host: '*', operation: READ, permission: ALLOW },
        { resourceType: TOPIC, resourceName: 'p-', patternType: PREFIXED, principal: 'User:alice', host: '192.168.0.0/16', operation: ALL, permission: DENY },
      ],
    );
  });

  it('refuses to open over a stored binding that no longer validates (it could be a DENY)', () => {
    const bad: StoredAclBinding = { ...binding(), host: 'not-a-host' };
    assert.throws(
      () => new AclStore({ store: memoryAclPersistence([bad]) }),
      (err: unknown) => isFault(err, 'METADATA_ERROR') && /host/.test(err.message),
    );
  });

  it('migrates a v2 metadata store to the current schema, keeping topics and offsets and adding ACLs and credentials', (t) => {
    const dir = tempDir(t);
    mkdirSync(dir, { recursive: true });
    // The v2 schema as Parapet created it before ACLs.
    const v2 = new Database(join(dir, 'metadata.db'));
    v2.exec(`
      CREATE TABLE topics (name TEXT PRIMARY KEY, id TEXT NOT NULL UNIQUE, partitions INTEGER NOT NULL CHECK (partitions > 0));
      CREATE TABLE topic_configs (
        topic TEXT NOT NULL REFERENCES topics(name) ON DELETE CASCADE,
        key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (topic, key));
      CREATE TABLE group_offsets (
        group_id TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL CHECK (partition >= 0),
        committed_offset INTEGER NOT NULL, leader_epoch INTEGER NOT NULL, metadata TEXT, commit_timestamp INTEGER NOT NULL,
        PRIMARY KEY (group_id, topic, partition)) WITHOUT ROWID;
      CREATE INDEX group_offsets_by_topic ON group_offsets (topic);
      PRAGMA user_version = 2;`);
    v2.prepare('INSERT INTO topics (name, id, partitions) VALUES (?, ?, ?)').run('orders', 'id-1', 3);
    v2.prepare('INSERT INTO group_offsets VALUES (?, ?, ?, ?, ?, ?, ?)').run('g', 'orders', 1, 42, 0, null, 5);
    v2.close();

    const meta = new MetadataStore(dir);
    assert.equal(meta.topic('orders')?.partitions, 3);
    assert.equal(meta.fetchOffsets('g', null)[0]?.offset, 42n);
    assert.deepEqual(meta.aclBindings(), []);
    assert.deepEqual(meta.scramCredentials(null), []);
    assert.equal(meta.addAclBindings([binding()]), 1);
    meta.close();

    const db = new Database(join(dir, 'metadata.db'));
    assert.equal(db.pragma('user_version', { simple: true }), 13);
    db.close();
    const again = new MetadataStore(dir);
    t.after(() => {
      again.close();
    });
    assert.equal(again.aclBindings().length, 1, 'reopening migrates nothing again and keeps the binding');
  });

  it('refuses a store from a newer Parapet', (t) => {
    const dir = tempDir(t);
    new MetadataStore(dir).close();
    const db = new Database(join(dir, 'metadata.db'));
    db.pragma('user_version = 99');
    db.close();
    assert.throws(() => new MetadataStore(dir), (err: unknown) => isFault(err, 'METADATA_ERROR'));
  });
});

describe('AclStore: Parapet’s SUBJECT resource (code 100, the schema registry)', () => {
  it('stores SUBJECT bindings; a filter of type ANY neither lists nor deletes them, one naming SUBJECT does', () => {
    const store = new AclStore({ store: memoryAclPersistence() });
    const created = store.create([binding({ resourceName: 'orders-' }), binding({ resourceType: ResourceType.SUBJECT, resourceName: 'orders-', patternType: PREFIXED, operation: WRITE })]);
    assert.deepEqual(created.map((r) => r.code), [0, 0]);
    assert.deepEqual(store.describe(filter()).bindings.map((b) => b.resourceType), [TOPIC], 'kafka-python raises on a resource type it does not know');
    assert.deepEqual(store.describe(filter({ resourceType: ResourceType.SUBJECT })).bindings.map((b) => b.resourceName), ['orders-']);
    assert.deepEqual(store.delete([filter()])[0]?.bindings.map((b) => b.resourceType), [TOPIC]);
    assert.deepEqual(store.bindings().map((b) => b.resourceType), [ResourceType.SUBJECT], 'a delete-everything of a Kafka client leaves them');
    assert.equal(store.delete([filter({ resourceType: ResourceType.SUBJECT })])[0]?.bindings.length, 1);
    assert.equal(store.bindings().length, 0);
  });
});
