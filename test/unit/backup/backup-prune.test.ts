import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { BackupTarget } from '../../../src/backup/contracts.js';
import { chunkIdOf, chunkKey, sealChunk } from '../../../src/backup/format/chunk-seal.js';
import { manifestKey, startedKey } from '../../../src/backup/format/manifest.js';
import { parseDuration, planPrune, pruneBackups } from '../../../src/backup/prune.js';
import { listBackups, readManifest, verifyBackup } from '../../../src/backup/reader.js';
import { writeBackup } from '../../../src/backup/writer.js';
import { capture, setup, type Setup } from './backup-fixtures.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);

/** A backup of a shared file and one file of its own, taken `daysAgo` before NOW; returns its id and the chunk only it has. */
async function backupWith(s: Setup, shared: Buffer, own: string, daysAgo: number): Promise<{ id: string; ownChunk: string; sharedChunk: string }> {
  const cap = { ...capture([s.file('metadata.db', 'metadata', shared), s.file(`own/${own}`, 'config', Buffer.from(`only in ${own} ${randomBytes(8).toString('hex')}`))]), takenAtMs: NOW - daysAgo * DAY };
  const { manifest } = await writeBackup(cap, s.target, s.keys, { dataDir: s.dataDir });
  const chunkOf = (path: string): string => {
    const id = manifest.files.find((f) => f.path === path)?.chunks[0]?.id;
    assert.ok(id !== undefined, path);
    return id;
  };
  return { id: cap.id, ownChunk: chunkOf(`own/${own}`), sharedChunk: chunkOf('metadata.db') };
}

async function completeIds(target: BackupTarget, s: Setup): Promise<string[]> {
  return (await listBackups(target, { trusted: s.trusted })).filter((b) => b.complete).map((b) => b.id);
}

describe('backup retention (prune)', () => {
  it('--keep N removes older backups and their own chunks, keeps shared chunks, and the kept ones still verify', async (t) => {
    const s = setup(t);
    const shared = randomBytes(4096);
    const b = [];
    for (const [i, name] of ['one', 'two', 'three', 'four'].entries()) b.push(await backupWith(s, shared, name, 10 - i));
    const [b1, b2, b3, b4] = b as [(typeof b)[0], (typeof b)[0], (typeof b)[0], (typeof b)[0]];
    // An interrupted run older than the newest complete backup, with a chunk it stored, and a newer interrupted one.
    const oldRun = '20261207T171500Z-interrupted';
    const newRun = '20991231T000000Z-running';
    for (const id of [oldRun, newRun]) await s.target.put(startedKey(id), Buffer.from(JSON.stringify({ id, startedAt: new Date(NOW).toISOString(), deks: [] })));
    const orphan = async (sealer: string): Promise<string> => {
      const piece = randomBytes(100);
      const id = chunkIdOf(s.keys.dedupeKey, piece);
      await s.target.put(chunkKey(id), sealChunk(piece, id, sealer, randomBytes(32)));
      return id;
    };
    const oldOrphan = await orphan(oldRun);
    const newOrphan = await orphan(newRun);

    const report = await pruneBackups(s.target, { policy: { keep: 2 }, trusted: s.trusted, now: () => NOW });
    assert.deepEqual(report.pruned.map((p) => p.id).sort(), [b1.id, b2.id, oldRun].sort());
    assert.deepEqual([...report.kept].sort(), [b3.id, b4.id, newRun].sort());
    assert.equal(report.chunksRemoved, 3, 'the own chunks of b1 and b2, and the old run orphan');
    assert.deepEqual(await completeIds(s.target, s), [b3.id, b4.id]);
    for (const id of [b1.id, b2.id, oldRun]) {
      assert.equal(await s.target.has(manifestKey(id)), false, id);
      assert.equal(await s.target.has(startedKey(id)), false, id);
    }
    for (const gone of [b1.ownChunk, b2.ownChunk, oldOrphan]) assert.equal(await s.target.has(chunkKey(gone)), false, gone);
    for (const kept of [b3.ownChunk, b4.ownChunk, b1.sharedChunk, newOrphan]) assert.equal(await s.target.has(chunkKey(kept)), true, kept);
    assert.equal(b1.sharedChunk, b4.sharedChunk, 'the shared file is one chunk, stored by b1 and reused');
    for (const id of [b3.id, b4.id]) {
      const verified = await verifyBackup(s.target, id, { trusted: s.trusted, identity: s.identity });
      assert.deepEqual(verified.problems, [], id);
      assert.equal(verified.ok, true);
    }
    // b3 and b4 name b1's data key for the shared chunk: their manifests carry it, so they stand alone.
    assert.equal((await readManifest(s.target, b4.id, s.trusted)).files.find((f) => f.path === 'metadata.db')?.chunks[0]?.dekOf, b1.id);

    // Nothing more to do the second time; a backup after the prune still writes and verifies.
    const again = await pruneBackups(s.target, { policy: { keep: 2 }, trusted: s.trusted, now: () => NOW });
    assert.deepEqual([again.pruned.length, again.chunksRemoved], [0, 0]);
    const b5 = await backupWith(s, shared, 'five', 0);
    assert.equal((await verifyBackup(s.target, b5.id, { trusted: s.trusted, identity: s.identity })).ok, true);
  });

  it('--keep-within keeps what is younger than the duration, by the clock given; --dry-run removes nothing', async (t) => {
    const s = setup(t);
    const shared = randomBytes(1000);
    const old = await backupWith(s, shared, 'old', 40);
    const mid = await backupWith(s, shared, 'mid', 20);
    const recent = await backupWith(s, shared, 'recent', 1);
    const policy = { keepWithinMs: 30 * DAY };

    const dry = await pruneBackups(s.target, { policy, trusted: s.trusted, now: () => NOW, dryRun: true });
    assert.deepEqual(dry.pruned.map((p) => p.id), [old.id]);
    assert.equal(dry.chunksRemoved, 1);
    assert.deepEqual(await completeIds(s.target, s), [old.id, mid.id, recent.id], 'a dry run removes nothing');
    assert.equal(await s.target.has(chunkKey(old.ownChunk)), true);

    await pruneBackups(s.target, { policy, trusted: s.trusted, now: () => NOW });
    assert.deepEqual(await completeIds(s.target, s), [mid.id, recent.id]);
    assert.equal(await s.target.has(chunkKey(old.ownChunk)), false);
    // Ten days later only `recent` is within 30 days… and with --keep 2 `mid` stays too.
    await pruneBackups(s.target, { policy: { keepWithinMs: 30 * DAY, keep: 2 }, trusted: s.trusted, now: () => NOW + 15 * DAY });
    assert.deepEqual(await completeIds(s.target, s), [mid.id, recent.id]);
    await pruneBackups(s.target, { policy, trusted: s.trusted, now: () => NOW + 15 * DAY });
    assert.deepEqual(await completeIds(s.target, s), [recent.id]);
    // Even when every backup is older than the duration, the newest complete one stays.
    await pruneBackups(s.target, { policy, trusted: s.trusted, now: () => NOW + 365 * DAY });
    assert.deepEqual(await completeIds(s.target, s), [recent.id]);
    assert.equal((await verifyBackup(s.target, recent.id, { trusted: s.trusted, identity: s.identity })).ok, true);
  });

  it('a crash while chunks are removed leaves no listed-complete backup with missing chunks, and the next prune finishes', async (t) => {
    const s = setup(t);
    const shared = randomBytes(1000);
    const first = await backupWith(s, shared, 'first', 3);
    const second = await backupWith(s, shared, 'second', 2);
    const third = await backupWith(s, shared, 'third', 1);
    let removals = 0;
    const crashing: BackupTarget = {
      description: s.target.description,
      put: (k, d) => s.target.put(k, d),
      get: (k) => s.target.get(k),
      has: (k) => s.target.has(k),
      list: (p) => s.target.list(p),
      remove: async (k) => {
        if (k.startsWith('chunks/') && ++removals === 2) throw new Error('crash');
        await s.target.remove(k);
      },
    };
    await assert.rejects(pruneBackups(crashing, { policy: { keep: 1 }, trusted: s.trusted, now: () => NOW }), /crash/);
    const listed = await listBackups(s.target, { trusted: s.trusted });
    assert.deepEqual(listed.filter((b) => b.complete).map((b) => b.id), [third.id]);
    assert.deepEqual(listed.filter((b) => !b.complete).map((b) => b.id), [first.id, second.id], 'half-pruned backups show as incomplete');
    const finish = await pruneBackups(s.target, { policy: { keep: 1 }, trusted: s.trusted, now: () => NOW });
    assert.deepEqual(finish.pruned.map((p) => p.id), [first.id, second.id]);
    assert.deepEqual((await listBackups(s.target, { trusted: s.trusted })).map((b) => b.id), [third.id]);
    assert.equal(await s.target.has(chunkKey(second.ownChunk)), false);
    assert.equal(await s.target.has(chunkKey(first.ownChunk)), false);
    assert.equal((await verifyBackup(s.target, third.id, { trusted: s.trusted, identity: s.identity })).ok, true);
  });

  it('never prunes a damaged backup, nor incomplete backups newer than the newest complete one', () => {
    const listing = (id: string, complete: boolean, createdAt: string | null, damaged?: string) => ({
      id, createdAt, complete, totalBytes: 0, storedBytes: 0, partitions: 0, topics: [], ...(damaged === undefined ? {} : { damaged }),
    });
    const plan = planPrune(
      [listing('a', true, '2026-01-01T00:00:00Z'), listing('b', false, null, 'bad signature'), listing('c', false, null), listing('d', true, '2026-01-03T00:00:00Z'), listing('e', false, null)],
      { keep: 1 },
      NOW,
    );
    assert.deepEqual(plan.prune.map((b) => b.id), ['a', 'c']);
    assert.deepEqual(plan.keep.map((b) => b.id), ['b', 'd', 'e']);
  });

  it('reads durations', () => {
    assert.equal(parseDuration('30d'), 30 * DAY);
    assert.equal(parseDuration('12h'), 12 * 3_600_000);
    assert.equal(parseDuration('2w'), 14 * DAY);
    for (const bad of ['30', '0d', '-1d', '1y', 'd', '']) assert.equal(parseDuration(bad), null, bad);
  });
});
