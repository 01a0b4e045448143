import assert from 'node:assert/strict';
import { chmodSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { backupKeysDir, defaultIdentityFile, ensureBackupKeys, loadIdentity, loadTrustedSigner, loadWriterKeys } from '../../../src/backup/keys/backup-keys.js';
import { ConfigError } from '../../../src/config-error.js';
import { tempDir } from './backup-fixtures.js';

describe('backup keys', () => {
  it('live beside the data directory, 0700, private files 0600 and public ones 0644, made once', (t) => {
    const dataDir = join(tempDir(t), 'parapet-data/');
    const dir = backupKeysDir(dataDir);
    assert.equal(dir, `${dataDir.slice(0, -1)}-keys/backup`);
    const made = ensureBackupKeys(dataDir);
    assert.deepEqual(made.created.sort(), ['dedupe.key', 'identity.key', 'recipient.pub', 'signing.key', 'signing.key.pub']);
    assert.deepEqual(ensureBackupKeys(dataDir).created, [], 'the second call keeps every key');
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    for (const name of ['signing.key', 'dedupe.key', 'identity.key']) assert.equal(statSync(join(dir, name)).mode & 0o777, 0o600, name);
    for (const name of ['signing.key.pub', 'recipient.pub']) assert.equal(statSync(join(dir, name)).mode & 0o777, 0o644, name);
    const keys = loadWriterKeys(dataDir);
    assert.equal(keys.dedupeKey.length, 32);
    assert.equal(keys.recipients.length, 1);
    assert.equal(keys.signingKey.asymmetricKeyType, 'ed25519');
    assert.equal(loadTrustedSigner(join(dir, 'signing.key.pub')).fingerprint, keys.signerFingerprint);
    assert.equal(loadIdentity(join(dir, 'identity.key')).fingerprint, keys.recipients[0]?.fingerprint);
    assert.match(keys.signerFingerprint, /^[0-9a-f]{64}$/);
  });

  it('make no new identity when identity.key was moved offline and recipient.pub stayed', (t) => {
    const root = tempDir(t);
    const dataDir = join(root, 'data');
    ensureBackupKeys(dataDir);
    const recipientBefore = readFileSync(join(backupKeysDir(dataDir), 'recipient.pub'), 'utf8');
    renameSync(defaultIdentityFile(dataDir), join(root, 'offline-identity.key'));
    assert.deepEqual(ensureBackupKeys(dataDir).created, []);
    assert.equal(readFileSync(join(backupKeysDir(dataDir), 'recipient.pub'), 'utf8'), recipientBefore);
    // The writer still works: it needs only the public half.
    assert.equal(loadWriterKeys(dataDir).recipients.length, 1);
    assert.equal(loadIdentity(join(root, 'offline-identity.key')).fingerprint, loadWriterKeys(dataDir).recipients[0]?.fingerprint);
  });

  it('refuse a private key others may read, naming the file and the chmod, never the key', (t) => {
    const dataDir = join(tempDir(t), 'data');
    ensureBackupKeys(dataDir);
    const identity = defaultIdentityFile(dataDir);
    const pem = readFileSync(identity, 'utf8');
    chmodSync(identity, 0o644);
    assert.throws(
      () => loadIdentity(identity),
      (err: unknown) => err instanceof ConfigError && err.message.includes(`chmod 600 ${identity}`) && !err.message.includes(pem.split('\n')[1] ?? 'x'),
    );
    const signing = join(backupKeysDir(dataDir), 'signing.key');
    chmodSync(signing, 0o640);
    assert.throws(() => loadWriterKeys(dataDir), (err: unknown) => err instanceof ConfigError && err.message.includes(`chmod 600 ${signing}`));
  });

  it('refuse a key of the wrong kind and a file that is not a key, with the path', (t) => {
    const dataDir = join(tempDir(t), 'data');
    ensureBackupKeys(dataDir);
    const dir = backupKeysDir(dataDir);
    // The signing key's public half is Ed25519, not an X25519 recipient.
    assert.throws(() => loadWriterKeys(dataDir, [join(dir, 'signing.key.pub')]), /signing\.key\.pub is a ed25519 key, not x25519/);
    assert.throws(() => loadTrustedSigner(join(dir, 'recipient.pub')), /recipient\.pub is a x25519 key, not ed25519/);
    assert.throws(() => loadTrustedSigner(join(dir, 'dedupe.key')), /dedupe\.key is not a public key in PEM/);
    assert.throws(() => loadTrustedSigner(join(dir, 'missing.pub')), /cannot read .*missing\.pub \(ENOENT\)/);
  });
});
