import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { ParapetError } from '../../../src/errors.js';
import { MetadataStore } from '../../../src/storage/metadata-store.js';
import type { NewStoredSchema } from '../../../src/storage/schema-store.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-schema-store-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

function open(t: TestContext, dir: string): MetadataStore {
  const store = new MetadataStore(dir);
  t.after(() => {
    store.close();
  });
  return store;
}

const schema = (n: number): NewStoredSchema => ({ schemaType: 'JSON', schema: `{"title":"s${n}"}`, canonical: `{"title":"s${n}"}`, references: [], fingerprint: `fp-${n}` });

describe('the schema registry tables (metadata store v12)', () => {
  it('a v11 store migrates (v12 and on) with its data kept and an empty registry whose first id is 1', (t) => {
    const dir = tempDir(t);
    const first = new MetadataStore(dir);
    first.createTopic('orders', 'id-1', 3);
    first.close();
    const db = new Database(join(dir, 'metadata.db'));
    db.exec('DROP TABLE schema_registry_versions; DROP TABLE schema_registry_schemas; DROP TABLE schema_registry_settings; DROP TABLE schema_registry_ids; PRAGMA user_version = 11;');
    db.close();

    const store = open(t, dir);
    assert.equal(store.topic('orders')?.partitions, 3);
    assert.deepEqual(store.schemaRegistry.load(), { schemas: [], versions: [], settings: [], nextId: 1 });
    assert.equal(store.schemaRegistry.addVersion('orders-value', 1, schema(1)), 1);
    const check = new Database(join(dir, 'metadata.db'), { readonly: true });
    t.after(() => check.close());
    assert.equal(check.pragma('user_version', { simple: true }), 13, 'the current schema');
  });

  it('keeps versions, schemas and settings across a reopen', (t) => {
    const dir = tempDir(t);
    const store = new MetadataStore(dir);
    const r = store.schemaRegistry;
    assert.equal(r.addVersion('a', 1, { ...schema(1), references: [{ name: 'x.json', subject: 'b', version: 2 }] }), 1);
    assert.equal(r.addVersion('b', 1, 1), 1, 'an existing schema keeps its id under another subject');
    r.softDeleteVersions('b', [1]);
    r.setSetting('a', 'compatibility', 'FULL');
    r.setSetting(null, 'mode', 'READONLY');
    store.close();

    const again = open(t, dir).schemaRegistry.load();
    assert.deepEqual(again.schemas, [{ id: 1, schemaType: 'JSON', schema: '{"title":"s1"}', canonical: '{"title":"s1"}', references: [{ name: 'x.json', subject: 'b', version: 2 }], fingerprint: 'fp-1' }]);
    assert.deepEqual(again.versions, [
      { subject: 'a', version: 1, schemaId: 1, deleted: false },
      { subject: 'b', version: 1, schemaId: 1, deleted: true },
    ]);
    assert.deepEqual(again.settings, [
      { subject: null, compatibility: null, mode: 'READONLY' },
      { subject: 'a', compatibility: 'FULL', mode: null },
    ]);
    assert.equal(again.nextId, 2);
  });

  it('never hands out an id again once its schema was deleted for good, across reopening too', (t) => {
    const dir = tempDir(t);
    const store = new MetadataStore(dir);
    const r = store.schemaRegistry;
    assert.equal(r.addVersion('s', 1, schema(1)), 1);
    assert.equal(r.addVersion('s', 2, schema(2)), 2);
    r.hardDeleteVersions('s', [2], false);
    assert.deepEqual(
      r.load().schemas.map((s) => s.id),
      [1],
      'the schema no version holds is gone',
    );
    assert.equal(r.addVersion('s', 2, schema(2)), 3, 'the same schema registered again takes a new id: 2 is never reused');
    r.hardDeleteVersions('s', [1, 2], true);
    store.close();
    const reopened = open(t, dir).schemaRegistry;
    assert.equal(reopened.load().nextId, 4);
    assert.equal(reopened.addVersion('t', 1, schema(9)), 4);
  });

  it('is part of the metadata store’s online backup (what a backup capture copies): ids and the counter come back', async (t) => {
    const dir = tempDir(t);
    const store = open(t, dir);
    store.schemaRegistry.addVersion('s', 1, schema(1));
    store.schemaRegistry.addVersion('s', 2, schema(2));
    store.schemaRegistry.hardDeleteVersions('s', [2], false);
    const restored = join(dir, 'restored');
    mkdirSync(restored);
    await store.backupTo(join(restored, 'metadata.db'));
    const copy = open(t, restored).schemaRegistry.load();
    assert.deepEqual(copy.versions, [{ subject: 's', version: 1, schemaId: 1, deleted: false }]);
    assert.equal(copy.nextId, 3, 'a restored registry does not hand out the deleted id 2 again');
  });

  it('a version that names a schema that is not stored is refused, and nothing of it is kept', (t) => {
    const r = open(t, tempDir(t)).schemaRegistry;
    assert.throws(() => r.addVersion('s', 1, 42));
    assert.throws(() => r.addVersion('s', 1, { ...schema(1), fingerprint: 'dup' }) && r.addVersion('s', 2, { ...schema(2), fingerprint: 'dup' }));
    const state = r.load();
    assert.deepEqual(state.versions.map((v) => v.version), [1], 'the second insert rolled back whole');
    assert.equal(state.nextId, 2, 'a rolled-back insert does not use up an id');
  });

  it('an empty settings row is removed: clearing both settings leaves nothing behind', (t) => {
    const r = open(t, tempDir(t)).schemaRegistry;
    r.setSetting('a', 'compatibility', 'NONE');
    r.setSetting('a', 'mode', 'READONLY');
    r.setSetting('a', 'compatibility', null);
    assert.deepEqual(r.load().settings, [{ subject: 'a', compatibility: null, mode: 'READONLY' }]);
    r.setSetting('a', 'mode', null);
    assert.deepEqual(r.load().settings, []);
  });

  it('a stored schema whose references cannot be read stops the load', (t) => {
    const dir = tempDir(t);
    const store = open(t, dir);
    store.schemaRegistry.addVersion('s', 1, schema(1));
    const db = new Database(join(dir, 'metadata.db'));
    db.prepare("UPDATE schema_registry_schemas SET refs = 'nonsense'").run();
    db.close();
    assert.throws(() => store.schemaRegistry.load(), (err: unknown) => err instanceof ParapetError && err.code === 'METADATA_ERROR');
  });
});
