import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { credentialSetTimeFromJson, credentialSetTimesJson, CredentialSetTimeFormatError } from '../../../src/security/credentials/credential-age.js';
import { CredentialStore } from '../../../src/security/credentials/credential-store.js';
import { deriveScramCredential } from '../../../src/security/credentials/scram-keys.js';
import { MetadataStore } from '../../../src/storage/metadata-store.js';

/** When each SCRAM credential was set (schema v9), for `parapet posture`'s password age. */

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-meta-credtimes-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

function userVersion(dir: string): number {
  const db = new Database(join(dir, 'metadata.db'), { readonly: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}

const credential = (iterations = 4096) => ({ salt: Buffer.alloc(16, 1), storedKey: Buffer.alloc(32, 2), serverKey: Buffer.alloc(32, 3), iterations });

describe('MetadataStore: when SCRAM credentials were set', () => {
  it('a v8 store opens at the current version and keeps its credentials, their set time unknown (null), not made up', (t) => {
    const dir = tempDir(t);
    // A v8 store as Parapet wrote it: the scram_credentials table without set_at, a credential in it.
    new MetadataStore(dir).close();
    const v8 = new Database(join(dir, 'metadata.db'));
    v8.exec('DROP TABLE schema_registry_versions; DROP TABLE schema_registry_schemas; DROP TABLE schema_registry_settings; DROP TABLE schema_registry_ids; DROP TABLE transaction_offsets; DROP TABLE transactions; ALTER TABLE scram_credentials DROP COLUMN set_at; DROP TABLE backup_history; PRAGMA user_version = 8;');
    v8.prepare('INSERT INTO scram_credentials (user_name, mechanism, salt, stored_key, server_key, iterations) VALUES (?, ?, ?, ?, ?, ?)').run(
      'alice',
      'SCRAM-SHA-512',
      Buffer.alloc(16, 1),
      Buffer.alloc(64, 2),
      Buffer.alloc(64, 3),
      8192,
    );
    v8.close();
    assert.equal(userVersion(dir), 8);

    const store = new MetadataStore(dir);
    t.after(() => {
      store.close();
    });
    assert.equal(userVersion(dir), 13);
    assert.equal(store.scramCredential('alice', 'SCRAM-SHA-512')?.iterations, 8192, 'the credential is kept');
    assert.deepEqual(store.scramCredentialSetTimes(), [{ user: 'alice', mechanism: 'SCRAM-SHA-512', setAtMs: null }]);
    assert.deepEqual(credentialSetTimesJson(store), [{ principal: 'User:alice', mechanism: 'SCRAM-SHA-512', setAt: null }]);
  });

  it('records the time of every set, replaces it on a change and forgets it on a deletion', (t) => {
    const dir = tempDir(t);
    const store = new MetadataStore(dir);
    t.after(() => {
      store.close();
    });
    let now = Date.parse('2025-01-02T03:04:05.000Z');
    const credentials = new CredentialStore({ store, clock: () => now });
    credentials.upsert('bob', 'SCRAM-SHA-256', credential());
    credentials.upsert('bob', 'SCRAM-SHA-512', deriveScramCredential('SCRAM-SHA-512', 'bob-password-1'));
    now += 1000;
    credentials.upsert('carol', 'SCRAM-SHA-512', credential());
    assert.deepEqual(credentialSetTimesJson(store), [
      { principal: 'User:bob', mechanism: 'SCRAM-SHA-256', setAt: '2025-01-02T03:04:05.000Z' },
      { principal: 'User:bob', mechanism: 'SCRAM-SHA-512', setAt: '2025-01-02T03:04:05.000Z' },
      { principal: 'User:carol', mechanism: 'SCRAM-SHA-512', setAt: '2025-01-02T03:04:06.000Z' },
    ]);
    now = Date.parse('2026-06-01T00:00:00.000Z');
    credentials.alter({ upsertions: [{ user: 'bob', mechanism: 'SCRAM-SHA-512', credential: credential(8192) }], deletions: [{ user: 'carol', mechanism: 'SCRAM-SHA-512' }] });
    assert.deepEqual(store.scramCredentialSetTimes(), [
      { user: 'bob', mechanism: 'SCRAM-SHA-256', setAtMs: Date.parse('2025-01-02T03:04:05.000Z') },
      { user: 'bob', mechanism: 'SCRAM-SHA-512', setAtMs: Date.parse('2026-06-01T00:00:00.000Z') },
    ]);
  });

  it('a mechanism this broker does not know is left out, as DescribeUserScramCredentials leaves it out', (t) => {
    const store = new MetadataStore(tempDir(t));
    t.after(() => {
      store.close();
    });
    store.alterScramCredentials({ deletions: [], upsertions: [{ user: 'dave', mechanism: 'SCRAM-SHA-3-512', ...credential() }], setAtMs: 5 });
    assert.equal(store.scramCredentialSetTimes().length, 1);
    assert.deepEqual(credentialSetTimesJson(store), []);
  });

  it('reads the JSON back, and refuses an entry of another shape with a clear error', () => {
    assert.deepEqual(credentialSetTimeFromJson({ principal: 'User:a', mechanism: 'SCRAM-SHA-256', setAt: '2025-01-02T03:04:05.000Z' }), {
      principal: 'User:a',
      mechanism: 'SCRAM-SHA-256',
      setAtMs: Date.parse('2025-01-02T03:04:05.000Z'),
    });
    assert.deepEqual(credentialSetTimeFromJson({ principal: 'User:a', mechanism: 'SCRAM-SHA-256', setAt: null }).setAtMs, null);
    assert.throws(() => credentialSetTimeFromJson({ principal: 'User:a', mechanism: 'SCRAM-SHA-256', setAt: 'yesterday' }), CredentialSetTimeFormatError);
    assert.throws(() => credentialSetTimeFromJson({ principal: 'User:a', setAt: null }), /no principal or mechanism/);
    assert.throws(() => credentialSetTimeFromJson('User:a'), /not an object/);
  });
});
