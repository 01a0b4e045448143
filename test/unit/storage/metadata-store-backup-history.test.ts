import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { MetadataStore } from '../../../src/storage/metadata-store.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-backup-history-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

describe('MetadataStore: the backups taken (v10)', () => {
  it('a v9 store opens at v10 with no backup recorded; the newest by capture time is the last backup', (t) => {
    const dir = tempDir(t);
    new MetadataStore(dir).close();
    const v9 = new Database(join(dir, 'metadata.db'));
    v9.exec('DROP TABLE schema_registry_versions; DROP TABLE schema_registry_schemas; DROP TABLE schema_registry_settings; DROP TABLE schema_registry_ids; DROP TABLE transaction_offsets; DROP TABLE transactions; DROP TABLE backup_history; PRAGMA user_version = 9;');
    v9.close();
    const store = new MetadataStore(dir);
    t.after(() => {
      store.close();
    });
    assert.equal(store.lastBackup(), undefined);
    store.recordBackup({ captureId: '20261207T100000Z-aaaa', takenAtMs: 2000, completedAtMs: 2500, target: 'directory /b' });
    // Recorded later, captured earlier (a slow backup that finished after a quick one): not the last.
    store.recordBackup({ captureId: '20261207T090000Z-bbbb', takenAtMs: 1000, completedAtMs: 3000, target: 'directory /b' });
    assert.deepEqual(store.lastBackup(), { captureId: '20261207T100000Z-aaaa', takenAtMs: 2000, completedAtMs: 2500, target: 'directory /b' });
  });

  it('keeps the newest 100 backups only', (t) => {
    const dir = tempDir(t);
    const store = new MetadataStore(dir);
    for (let i = 0; i < 150; i++) store.recordBackup({ captureId: `id-${i}`, takenAtMs: i, completedAtMs: i + 1, target: 't' });
    assert.equal(store.lastBackup()?.captureId, 'id-149');
    store.close();
    const db = new Database(join(dir, 'metadata.db'), { readonly: true });
    const rows = db.prepare('SELECT min(taken_at) AS oldest, count(*) AS n FROM backup_history').get() as { oldest: number; n: number };
    db.close();
    assert.deepEqual(rows, { oldest: 50, n: 100 });
  });
});
