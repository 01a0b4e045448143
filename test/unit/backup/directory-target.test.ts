import assert from 'node:assert/strict';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BackupErrorKinds, isBackupError } from '../../../src/backup/backup-error.js';
import { DirectoryTarget } from '../../../src/backup/targets/directory-target.js';
import { tempDir } from './backup-fixtures.js';

describe('the directory target', () => {
  it('stores objects 0600 in 0700 directories, lists them sorted, and leaves no temporary file', async (t) => {
    const root = join(tempDir(t), 'target');
    const target = new DirectoryTarget(root);
    assert.equal(statSync(root).mode & 0o777, 0o700);
    await target.put('chunks/ab/ab12', Buffer.from('one'));
    await target.put('backups/b2/started.json', Buffer.from('{}'));
    await target.put('backups/b1/manifest.json', Buffer.from('{}'));
    await target.put('backups/b1/started.json', Buffer.from('{}'));
    assert.equal(statSync(join(root, 'chunks/ab/ab12')).mode & 0o777, 0o600);
    assert.equal(statSync(join(root, 'chunks/ab')).mode & 0o777, 0o700);
    assert.deepEqual(await target.list('backups/'), ['backups/b1/manifest.json', 'backups/b1/started.json', 'backups/b2/started.json']);
    assert.deepEqual(await target.list('backups/b1'), ['backups/b1/manifest.json', 'backups/b1/started.json']);
    assert.deepEqual(await target.list(''), ['backups/b1/manifest.json', 'backups/b1/started.json', 'backups/b2/started.json', 'chunks/ab/ab12']);
    assert.deepEqual(readdirSync(join(root, 'chunks/ab')), ['ab12']);
    assert.deepEqual(await target.get('chunks/ab/ab12'), Buffer.from('one'));
    assert.equal(await target.get('chunks/ab/none'), null);
    assert.equal(await target.has('chunks/ab/ab12'), true);
    assert.equal(await target.has('chunks/ab'), false, 'a directory is not an object');
    await target.remove('chunks/ab/ab12');
    await target.remove('chunks/ab/ab12');
    assert.equal(await target.has('chunks/ab/ab12'), false);
    // A temporary file left by a crash is never listed.
    writeFileSync(join(root, 'backups/b1/.put-0011'), 'partial');
    assert.deepEqual(await target.list('backups/b1/'), ['backups/b1/manifest.json', 'backups/b1/started.json']);
  });

  it('refuses keys that could leave the directory or name a temporary file', async (t) => {
    const target = new DirectoryTarget(join(tempDir(t), 'target'));
    for (const key of ['../x', 'a/../../x', '/etc/passwd', 'a//b', 'a/./b', '.put-x', 'a b', 'a/', '', 'ä']) {
      await assert.rejects(target.put(key, Buffer.from('x')), (err: unknown) => isBackupError(err, BackupErrorKinds.BAD_KEY), key);
      await assert.rejects(target.get(key), (err: unknown) => isBackupError(err, BackupErrorKinds.BAD_KEY), key);
    }
    await assert.rejects(target.list('../'), (err: unknown) => isBackupError(err, BackupErrorKinds.BAD_KEY));
  });
});
