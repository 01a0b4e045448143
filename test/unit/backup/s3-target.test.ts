import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { BackupErrorKinds, isBackupError } from '../../../src/backup/backup-error.js';
import { acquireS3Lock, LOCK_KEY } from '../../../src/backup/targets/s3-lock.js';
import { S3Target } from '../../../src/backup/targets/s3-target.js';
import { startS3StandIn, type S3StandIn } from '../../helpers/s3-stand-in.js';

/** The S3 target against the test stand-in (test/helpers/s3-stand-in.ts: in-memory, SigV4 checked), not real S3. */

async function standIn(t: TestContext, options: Parameters<typeof startS3StandIn>[0] = {}): Promise<S3StandIn> {
  const server = await startS3StandIn(options);
  t.after(() => server.close());
  return server;
}

function targetOn(t: TestContext, server: S3StandIn, url = 's3://backups/site-a', secret = server.secretAccessKey, accessKeyId = server.accessKeyId): S3Target {
  const target = new S3Target(url, { endpoint: server.endpoint, pathStyle: true, region: 'us-east-1', credentials: { accessKeyId, secretAccessKey: secret } });
  t.after(() => {
    target.close();
  });
  return target;
}

describe('the S3 target (against the stand-in)', () => {
  it('round-trips objects under its prefix: put, get, has, list sorted, remove twice, missing is null', async (t) => {
    const server = await standIn(t);
    const target = targetOn(t, server);
    await target.put('chunks/ab/ab12', Buffer.from('one'));
    await target.put('backups/b2/started.json', Buffer.from('{}'));
    await target.put('backups/b1/manifest.json', Buffer.from('{"m":1}'));
    assert.deepEqual([...(server.buckets.get('backups')?.keys() ?? [])].sort(), ['site-a/backups/b1/manifest.json', 'site-a/backups/b2/started.json', 'site-a/chunks/ab/ab12']);
    assert.deepEqual(await target.get('backups/b1/manifest.json'), Buffer.from('{"m":1}'));
    assert.equal(await target.get('backups/b1/none.json'), null);
    assert.equal(await target.has('chunks/ab/ab12'), true);
    assert.equal(await target.has('chunks/ab/none'), false);
    // An object put by something else, with a name no target key can have, is not listed.
    server.buckets.get('backups')?.set('site-a/backups/a b/../x', Buffer.from('x'));
    assert.deepEqual(await target.list('backups/'), ['backups/b1/manifest.json', 'backups/b2/started.json']);
    assert.deepEqual(await target.list(''), ['backups/b1/manifest.json', 'backups/b2/started.json', 'chunks/ab/ab12']);
    await target.remove('chunks/ab/ab12');
    await target.remove('chunks/ab/ab12');
    assert.equal(await target.has('chunks/ab/ab12'), false);
    await assert.rejects(target.put('../x', Buffer.from('x')), (err: unknown) => isBackupError(err, BackupErrorKinds.BAD_KEY));
  });

  it('follows ListObjectsV2 continuation across pages', async (t) => {
    const server = await standIn(t, { maxKeys: 3 });
    const target = targetOn(t, server);
    const keys = Array.from({ length: 10 }, (_, i) => `chunks/0${i % 2}/k${String(9 - i).padStart(2, '0')}`);
    for (const key of keys) await target.put(key, Buffer.from(key));
    assert.deepEqual(await target.list('chunks/'), [...keys].sort());
    assert.ok(server.requests.filter((r) => r.includes('continuation-token=')).length >= 3, 'several pages were asked for');
  });

  it('creates an object only once with putIfAbsent', async (t) => {
    const target = targetOn(t, await standIn(t));
    assert.equal(await target.putIfAbsent('locks/writer.json', Buffer.from('a')), true);
    assert.equal(await target.putIfAbsent('locks/writer.json', Buffer.from('b')), false);
    assert.deepEqual(await target.get('locks/writer.json'), Buffer.from('a'));
  });

  it('refuses wrong credentials, a missing bucket and an endpoint that does not answer with a clear error that holds no secret', async (t) => {
    const server = await standIn(t);
    const wrongSecret = 'wrong-secret-value-0123456789';
    const cases: [S3Target, RegExp][] = [
      [targetOn(t, server, 's3://backups', wrongSecret), /credentials are refused/],
      [targetOn(t, server, 's3://backups', wrongSecret, 'UNKNOWNKEY'), /credentials are refused/],
      [targetOn(t, server, 's3://no-such-bucket'), /bucket no-such-bucket does not exist/],
    ];
    for (const [target, message] of cases) {
      await assert.rejects(target.list('backups/'), (err: unknown) => {
        assert.ok(isBackupError(err, BackupErrorKinds.TARGET_UNAVAILABLE), String(err));
        assert.match(err.message, message);
        assert.ok(!err.message.includes(wrongSecret) && !err.message.includes(server.secretAccessKey), err.message);
        return true;
      });
    }
    assert.equal(server.buckets.get('backups')?.size, 0);
    await server.close();
    const gone = targetOn(t, server, 's3://backups');
    await assert.rejects(gone.get('backups/x'), (err: unknown) => isBackupError(err, BackupErrorKinds.TARGET_UNAVAILABLE) && /does not answer/.test(err.message));
  });

  it('refuses a malformed URL', () => {
    for (const url of ['s3://', 's3://UPPER', 's3://b', 's3://bucket/../x', 'http://bucket']) {
      assert.throws(() => new S3Target(url), (err: unknown) => isBackupError(err, BackupErrorKinds.BAD_KEY), url);
    }
  });
});

describe('the S3 target lock (against the stand-in)', () => {
  it('lets one writer in at a time, takes over an expired lease, and is gone after release', async (t) => {
    const server = await standIn(t);
    const target = targetOn(t, server);
    let now = Date.UTC(2026, 11, 7);
    const first = await acquireS3Lock(target, { purpose: 'first', now: () => now, leaseMs: 60_000 });
    await assert.rejects(acquireS3Lock(target, { purpose: 'second', now: () => now }), (err: unknown) => {
      assert.ok(isBackupError(err, BackupErrorKinds.TARGET_LOCKED));
      assert.match(err.message, /locked by first on .* until 2026-12-07T00:01:00\.000Z/);
      return true;
    });
    await first.release();
    assert.equal(await target.has(LOCK_KEY), false);

    // A holder that died: its lease runs out and the next writer takes the lock over.
    await acquireS3Lock(target, { purpose: 'dead', now: () => now, leaseMs: 60_000 });
    now += 61_000;
    const next = await acquireS3Lock(target, { purpose: 'next', now: () => now, leaseMs: 60_000 });
    assert.match(String(await target.get(LOCK_KEY)), /"owner":"next on /);
    await next.release();
    assert.equal(await target.has(LOCK_KEY), false);
  });
});
