import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { ParapetError } from '../../../../src/errors.js';
import { CredentialStore } from '../../../../src/security/credentials/credential-store.js';
import { credentialFromSaltedPassword, deriveScramCredential, saltedPassword } from '../../../../src/security/credentials/scram-keys.js';
import type { ScramCredential } from '../../../../src/security/types.js';
import { MetadataStore } from '../../../../src/storage/metadata-store.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-cred-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

function open(t: TestContext, dir = tempDir(t)): { meta: MetadataStore; store: CredentialStore; dir: string } {
  const meta = new MetadataStore(dir);
  t.after(() => {
    meta.close();
  });
  return { meta, store: new CredentialStore({ store: meta }), dir };
}

const cred = (iterations = 4096, salt = Buffer.from('sixteen-byte-slt')): ScramCredential =>
  credentialFromSaltedPassword('SCRAM-SHA-256', Buffer.alloc(32, 7), salt, iterations);

function unacceptable(fn: () => unknown): void {
  assert.throws(fn, (err: unknown) => err instanceof ParapetError && err.code === 'METADATA_ERROR' && err.context.kafkaErrorCode === 93);
}

describe('CredentialStore', () => {
  it('keeps the RFC 7677 credential byte for byte, across reopen', (t) => {
    const dir = tempDir(t);
    const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
    const first = new MetadataStore(dir);
    new CredentialStore({ store: first }).upsert('user', 'SCRAM-SHA-256', credentialFromSaltedPassword('SCRAM-SHA-256', saltedPassword('SCRAM-SHA-256', 'pencil', salt, 4096), salt, 4096));
    first.close();
    const { store } = open(t, dir);
    const found = store.scram('user', 'SCRAM-SHA-256');
    assert.ok(found !== undefined);
    assert.equal(found.storedKey.toString('base64'), 'WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=');
    assert.equal(found.serverKey.toString('base64'), 'wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=');
    assert.deepEqual(found.salt, salt);
    assert.equal(found.iterations, 4096);
    assert.deepEqual(Object.keys(found).sort(), ['iterations', 'salt', 'serverKey', 'storedKey']);
    assert.equal(store.scram('user', 'SCRAM-SHA-512'), undefined, 'one credential per mechanism');
    assert.equal(store.scram('nobody', 'SCRAM-SHA-256'), undefined);
  });

  it('stores no password or salted password: only salt, keys and iterations', (t) => {
    const { store, dir } = open(t);
    const password = 'correct horse battery staple';
    const salt = Buffer.from('0123456789abcdef');
    const salted = saltedPassword('SCRAM-SHA-512', password, salt, 4096);
    store.upsert('alice', 'SCRAM-SHA-512', credentialFromSaltedPassword('SCRAM-SHA-512', salted, salt, 4096));
    const db = new Database(join(dir, 'metadata.db'), { readonly: true });
    try {
      const columns = (db.prepare("SELECT name FROM pragma_table_info('scram_credentials')").all() as { name: string }[]).map((c) => c.name);
      // set_at: when the credential was set (schema v9, for the posture scan's password age), a time.
      assert.deepEqual(columns.sort(), ['iterations', 'mechanism', 'salt', 'server_key', 'set_at', 'stored_key', 'user_name']);
      const row = db.prepare('SELECT * FROM scram_credentials').get() as Record<string, unknown>;
      for (const value of Object.values(row)) {
        if (Buffer.isBuffer(value)) {
          assert.equal(value.includes(salted), false);
          assert.equal(value.includes(Buffer.from(password)), false);
        } else {
          assert.notEqual(value, password);
        }
      }
    } finally {
      db.close();
    }
  });

  it('upsert replaces a credential; delete says whether there was one', (t) => {
    const { store } = open(t);
    store.upsert('alice', 'SCRAM-SHA-256', cred(4096));
    store.upsert('alice', 'SCRAM-SHA-256', cred(8192));
    store.upsert('alice', 'SCRAM-SHA-512', deriveScramCredential('SCRAM-SHA-512', 'pw', { iterations: 4096 }));
    assert.equal(store.scram('alice', 'SCRAM-SHA-256')?.iterations, 8192);
    assert.equal(store.delete('alice', 'SCRAM-SHA-256'), true);
    assert.equal(store.delete('alice', 'SCRAM-SHA-256'), false);
    assert.equal(store.scram('alice', 'SCRAM-SHA-256'), undefined);
    assert.equal(store.scram('alice', 'SCRAM-SHA-512')?.iterations, 4096, 'the other mechanism stays');
  });

  it('describes mechanisms and iterations only, for all users or the ones asked, leaving out users without any', (t) => {
    const { store } = open(t);
    store.upsert('carol', 'SCRAM-SHA-512', cred(10000));
    store.upsert('alice', 'SCRAM-SHA-512', cred(4096));
    store.upsert('alice', 'SCRAM-SHA-256', cred(8192));
    assert.deepEqual(store.describe(null), [
      { user: 'alice', credentials: [{ mechanism: 'SCRAM-SHA-256', iterations: 8192 }, { mechanism: 'SCRAM-SHA-512', iterations: 4096 }] },
      { user: 'carol', credentials: [{ mechanism: 'SCRAM-SHA-512', iterations: 10000 }] },
    ]);
    assert.deepEqual(store.describe(['carol', 'nobody', 'carol']), [{ user: 'carol', credentials: [{ mechanism: 'SCRAM-SHA-512', iterations: 10000 }] }]);
    assert.deepEqual(store.describe([]), []);
  });

  it('refuses unacceptable credentials with UNACCEPTABLE_CREDENTIAL and stores nothing', (t) => {
    const { store } = open(t);
    unacceptable(() => {
      store.upsert('alice', 'SCRAM-SHA-256', cred(4095));
    });
    unacceptable(() => {
      store.upsert('alice', 'SCRAM-SHA-256', cred(16385));
    });
    unacceptable(() => {
      store.upsert('', 'SCRAM-SHA-256', cred());
    });
    unacceptable(() => {
      store.upsert('alice', 'SCRAM-SHA-256', cred(4096, Buffer.alloc(0)));
    });
    unacceptable(() => {
      store.upsert('alice', 'SCRAM-SHA-256', cred(4096, Buffer.alloc(15)));
    });
    unacceptable(() => {
      store.upsert('alice', 'SCRAM-SHA-256', cred(4096, Buffer.alloc(1025)));
    });
    // The store applies the user-name rule whoever calls it (parapet init comes here directly).
    for (const name of ['ANONYMOUS', '*', 'a\nb', 'User:x', ' admin']) {
      unacceptable(() => {
        store.upsert(name, 'SCRAM-SHA-256', cred());
      });
    }
    store.upsert('alice', 'SCRAM-SHA-256', cred(16384, Buffer.alloc(1024)));
    assert.deepEqual(store.describe(null), [{ user: 'alice', credentials: [{ mechanism: 'SCRAM-SHA-256', iterations: 16384 }] }]);
  });

  it('applies a batch all or none', (t) => {
    const { store } = open(t);
    store.upsert('old', 'SCRAM-SHA-256', cred());
    unacceptable(() =>
      store.alter({
        deletions: [{ user: 'old', mechanism: 'SCRAM-SHA-256' }],
        upsertions: [
          { user: 'new', mechanism: 'SCRAM-SHA-256', credential: cred() },
          { user: 'bad', mechanism: 'SCRAM-SHA-256', credential: cred(1) },
        ],
      }),
    );
    assert.deepEqual(store.describe(null).map((u) => u.user), ['old']);
    const existed = store.alter({
      deletions: [{ user: 'old', mechanism: 'SCRAM-SHA-256' }, { user: 'ghost', mechanism: 'SCRAM-SHA-512' }],
      upsertions: [{ user: 'new', mechanism: 'SCRAM-SHA-256', credential: cred() }],
    });
    assert.deepEqual(existed, [true, false]);
    assert.deepEqual(store.describe(null).map((u) => u.user), ['new']);
  });

  it('knows the shape most credentials of a mechanism have, for the fake credentials of unknown users', (t) => {
    const { store } = open(t);
    assert.deepEqual(store.typicalShape('SCRAM-SHA-512'), { saltBytes: 32, iterations: 8192 }, 'no user: what parapet user add gives');
    store.upsert('a', 'SCRAM-SHA-512', cred(4096, Buffer.alloc(26)));
    assert.deepEqual(store.typicalShape('SCRAM-SHA-512'), { saltBytes: 26, iterations: 4096 }, 'the change is seen at once');
    store.upsert('b', 'SCRAM-SHA-512', cred(8192, Buffer.alloc(32)));
    assert.deepEqual(store.typicalShape('SCRAM-SHA-512'), { saltBytes: 32, iterations: 8192 }, 'a tie goes to the defaults');
    store.upsert('c', 'SCRAM-SHA-512', cred(4096, Buffer.alloc(26)));
    assert.deepEqual(store.typicalShape('SCRAM-SHA-512'), { saltBytes: 26, iterations: 4096 }, 'the most common wins');
    assert.deepEqual(store.typicalShape('SCRAM-SHA-256'), { saltBytes: 32, iterations: 8192 }, 'per mechanism');
    store.delete('c', 'SCRAM-SHA-512');
    store.delete('a', 'SCRAM-SHA-512');
    assert.deepEqual(store.typicalShape('SCRAM-SHA-512'), { saltBytes: 32, iterations: 8192 });
  });
});
