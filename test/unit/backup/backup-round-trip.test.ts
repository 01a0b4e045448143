import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { crc32c } from '@node-rs/crc32';
import { BackupErrorKinds, isBackupError } from '../../../src/backup/backup-error.js';
import { chunkKey } from '../../../src/backup/format/chunk-seal.js';
import { keyFingerprint } from '../../../src/backup/keys/key-fingerprint.js';
import { listBackups, readManifest, restoreFiles, verifyBackup } from '../../../src/backup/reader.js';
import { writeBackup } from '../../../src/backup/writer.js';
import { CRC_START } from '../../../src/records/batch.js';
import { capture, must, segment, setup, type Setup } from './backup-fixtures.js';

const MiB = 1024 * 1024;

/** Every file under `dir`, recursively. */
function allFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
}

/** A small data directory's worth of captured files: metadata, one partition of two segments. */
function sampleCapture(s: Setup, marker = 'record'): ReturnType<typeof capture> {
  const seg0 = segment(0n, 4, 3, marker);
  const seg1 = segment(12n, 2, 3, marker);
  return capture(
    [
      s.file('metadata.db', 'metadata', randomBytes(8 * MiB + 100)),
      s.file('logs/orders-0/partition.json', 'partition-meta', Buffer.from('{"formatVersion":1,"topic":"orders","partition":0,"topicId":"t1"}\n')),
      s.file('logs/orders-0/00000000000000000000.log', 'segment', seg0),
      // The active segment grew after the capture: only the captured length is taken.
      s.file('logs/orders-0/00000000000000000012.log', 'segment', Buffer.concat([seg1, segment(18n, 1, 3, marker)]), seg1.length),
    ],
    [{ topic: 'orders', partition: 0, topicId: 't1', logStartOffset: '0', endOffset: '18' }],
  );
}

describe('backup write, verify and restore', () => {
  it('round-trips a capture byte for byte, verifies it, lists it', async (t) => {
    const s = setup(t);
    const cap = sampleCapture(s);
    const { manifest, storedBytes, reusedBytes } = await writeBackup(cap, s.target, s.keys, { dataDir: s.dataDir });
    assert.equal(reusedBytes, 0);
    assert.ok(storedBytes > 8 * MiB);
    assert.equal(manifest.files[0]?.chunks.length, 2, 'a file over 8 MiB is two pieces');
    const report = await verifyBackup(s.target, cap.id, { trusted: s.trusted, identity: s.identity });
    assert.deepEqual(report.problems, []);
    assert.equal(report.ok, true);
    assert.equal(report.decrypted, true);
    assert.deepEqual(report.partitions, [{ topic: 'orders', partition: 0, logStartOffset: '0', endOffset: '18', restorableEndOffset: '18' }]);

    const dest = join(s.root, 'restored');
    const result = await restoreFiles(s.target, await readManifest(s.target, cap.id, s.trusted), s.identity, dest);
    assert.equal(result.files, 4);
    for (const f of cap.files) {
      assert.deepEqual(readFileSync(join(dest, f.path)), readFileSync(f.source).subarray(0, f.length), f.path);
      assert.equal(statSync(join(dest, f.path)).mode & 0o777, 0o600);
    }
    assert.equal(statSync(join(dest, 'logs/orders-0')).mode & 0o777, 0o700);
    await assert.rejects(restoreFiles(s.target, manifest, s.identity, dest), (err: unknown) => isBackupError(err, BackupErrorKinds.EXISTS), 'never overwrites');

    const [listed] = await listBackups(s.target, { trusted: s.trusted });
    assert.equal(listed?.complete, true);
    assert.equal(listed.totalBytes, cap.files.reduce((n, f) => n + f.length, 0));
    assert.deepEqual(listed.topics, ['orders']);
    // Without an identity, verify checks what it can and says what it did not.
    const sealedOnly = await verifyBackup(s.target, cap.id, { trusted: s.trusted });
    assert.equal(sealedOnly.ok, true);
    assert.equal(sealedOnly.decrypted, false);
    assert.match(sealedOnly.notes.join(), /not decrypted/);
  });

  it('leaves no record marker in clear anywhere in the target', async (t) => {
    const s = setup(t);
    const marker = 'PARAPET-MARKER-7f3c';
    const cap = sampleCapture(s, marker);
    const plain = s.file('producer-ids.json', 'producer-ids', Buffer.from(marker.repeat(60_000)));
    await writeBackup({ ...cap, files: [...cap.files, plain] }, s.target, s.keys, { dataDir: s.dataDir });
    const objects = allFiles(s.targetDir);
    assert.ok(objects.length > 5);
    assert.ok(readFileSync(must(cap.files[2]).source).includes(marker), 'the marker is in the source');
    for (const object of objects) assert.equal(readFileSync(object).includes(marker), false, object);
  });

  it('names a flipped byte in a chunk and a missing chunk; restore refuses and leaves no partial file', async (t) => {
    const s = setup(t);
    const cap = sampleCapture(s);
    const { manifest } = await writeBackup(cap, s.target, s.keys, { dataDir: s.dataDir });
    const segmentChunk = must(must(manifest.files[2]).chunks[0]);
    const path = join(s.targetDir, chunkKey(segmentChunk.id));
    const bytes = readFileSync(path);
    bytes[bytes.length - 40] = (bytes[bytes.length - 40] ?? 0) ^ 0x10;
    writeFileSync(path, bytes);
    const report = await verifyBackup(s.target, cap.id, { trusted: s.trusted, identity: s.identity });
    assert.equal(report.ok, false);
    assert.deepEqual(report.problems.map((p) => p.where), [segmentChunk.id]);
    assert.match(must(report.problems[0]).what, /SHA-256 .* the manifest lists .*logs\/orders-0\/00000000000000000000\.log/);
    assert.equal(report.partitions[0]?.restorableEndOffset, '0', 'nothing after the damaged first segment restores whole');

    const dest = join(s.root, 'restored');
    await assert.rejects(restoreFiles(s.target, manifest, s.identity, dest), (err: unknown) => isBackupError(err, BackupErrorKinds.CHUNK_HASH) && err.where === segmentChunk.id);
    assert.equal(existsSync(join(dest, must(manifest.files[2]).path)), false);
    assert.deepEqual(allFiles(dest).filter((f) => f.includes('.restore-')), [], 'no temporary file is left');

    const metaChunk = must(must(manifest.files[0]).chunks[1]);
    await s.target.remove(chunkKey(metaChunk.id));
    const missing = await verifyBackup(s.target, cap.id, { trusted: s.trusted, identity: s.identity });
    const problem = missing.problems.find((p) => p.where === metaChunk.id);
    assert.match(problem?.what ?? '', /is missing from directory/);
    assert.equal(missing.partitions[0]?.restorableEndOffset, null, 'without the metadata store nothing restores');
  });

  it('refuses a changed manifest, one signed by another key, and a wrong identity', async (t) => {
    const s = setup(t);
    const cap = sampleCapture(s);
    const { manifest } = await writeBackup(cap, s.target, s.keys, { dataDir: s.dataDir });
    const key = join(s.targetDir, 'backups', cap.id, 'manifest.json');
    const original = readFileSync(key, 'utf8');

    const other = generateKeyPairSync('ed25519');
    const otherFp = keyFingerprint(other.publicKey);
    const untrusted = await verifyBackup(s.target, cap.id, { trusted: { publicKey: other.publicKey, fingerprint: otherFp } });
    assert.equal(untrusted.ok, false);
    assert.match(must(untrusted.problems[0]).what, new RegExp(`signed by the key ${s.keys.signerFingerprint}, not by the trusted key ${otherFp}`));

    const wrong = generateKeyPairSync('x25519');
    const wrongIdentity = { privateKey: wrong.privateKey, fingerprint: keyFingerprint(wrong.publicKey) };
    const report = await verifyBackup(s.target, cap.id, { trusted: s.trusted, identity: wrongIdentity });
    assert.equal(report.ok, false);
    assert.equal(report.decrypted, false);
    assert.match(must(report.problems[0]).what, new RegExp(`not encrypted to the identity ${wrongIdentity.fingerprint}`));
    await assert.rejects(restoreFiles(s.target, manifest, wrongIdentity, join(s.root, 'r')), (err: unknown) => isBackupError(err, BackupErrorKinds.WRONG_IDENTITY));

    writeFileSync(key, original.replace('"endOffset": "18"', '"endOffset": "30"'));
    const changed = await verifyBackup(s.target, cap.id, { trusted: s.trusted, identity: s.identity });
    assert.equal(changed.ok, false);
    assert.deepEqual(changed.problems.map((p) => p.where), [`backups/${cap.id}/manifest.json`]);
    assert.match(must(changed.problems[0]).what, /changed after it was signed/);
    await assert.rejects(readManifest(s.target, cap.id, s.trusted), (err: unknown) => isBackupError(err, BackupErrorKinds.MANIFEST_BAD_SIGNATURE));
  });

  it('checks the CRC of every record batch and reports what restores whole; sealed batches by framing and CRC', async (t) => {
    const s = setup(t);
    const seg = segment(0n, 3, 3);
    const batchSize = seg.length / 3;
    // Records of the second batch damaged at rest, before the backup: the backup holds it faithfully.
    seg[batchSize + 70] = (seg[batchSize + 70] ?? 0) ^ 0xff;
    // The third batch relabelled as a sealed one (magic 0x50) with its CRC recomputed: framing holds.
    seg[2 * batchSize + 16] = 0x50;
    seg.writeUInt32BE(crc32c(seg.subarray(2 * batchSize + CRC_START)) >>> 0, 2 * batchSize + 17);
    const cap = capture(
      [s.file('logs/t-1/partition.json', 'partition-meta', Buffer.from('{}')), s.file('logs/t-1/00000000000000000000.log', 'segment', seg)],
      [{ topic: 't', partition: 1, topicId: 'x', logStartOffset: '0', endOffset: '9' }],
    );
    await writeBackup(cap, s.target, s.keys, { dataDir: s.dataDir });
    const report = await verifyBackup(s.target, cap.id, { trusted: s.trusted, identity: s.identity });
    assert.equal(report.ok, false);
    assert.deepEqual(report.problems, [{ where: 'logs/t-1/00000000000000000000.log', what: `record batch at byte ${batchSize} (offsets 3..5): CRC-32C mismatch` }]);
    assert.equal(report.partitions[0]?.restorableEndOffset, '3');
    assert.match(report.notes.join(), /1 record batches are sealed/);
  });

  it('stores only the new last piece of a grown file the second time (measured in bytes)', async (t) => {
    const s = setup(t);
    const first = randomBytes(8 * MiB + 1000);
    const file = s.file('logs/orders-0/00000000000000000000.log', 'snapshot', first);
    const cap1 = capture([file]);
    const one = await writeBackup(cap1, s.target, s.keys, { dataDir: s.dataDir });
    assert.ok(one.storedBytes >= 8 * MiB + 1000);
    const grown = randomBytes(4000);
    appendFileSync(file.source, grown);
    const cap2 = capture([{ ...file, length: first.length + grown.length }]);
    const two = await writeBackup(cap2, s.target, s.keys, { dataDir: s.dataDir });
    const overhead = 4 + 1 + cap2.id.length + 12 + 16;
    assert.equal(two.storedBytes, 1000 + 4000 + overhead, 'only the last piece, sealed');
    assert.equal(two.reusedBytes, 8 * MiB);
    assert.equal(two.manifest.totals.newChunks, 1);
    assert.deepEqual(Object.keys(two.manifest.deks).sort(), [cap1.id, cap2.id].sort(), 'the manifest carries the first backup\'s data key');
    const dest = join(s.root, 'restored');
    await restoreFiles(s.target, await readManifest(s.target, cap2.id, s.trusted), s.identity, dest);
    assert.deepEqual(readFileSync(join(dest, file.path)), Buffer.concat([first, grown]));
    assert.equal((await verifyBackup(s.target, cap1.id, { trusted: s.trusted, identity: s.identity })).ok, true, 'the first backup is untouched');
    // A chunk the target lost is stored again by the next backup rather than pointed at.
    const lost = must(must(one.manifest.files[0]).chunks[0]);
    await s.target.remove(chunkKey(lost.id));
    const cap3 = capture([{ ...file, length: first.length + grown.length }]);
    const three = await writeBackup(cap3, s.target, s.keys, { dataDir: s.dataDir });
    assert.equal(three.reusedBytes, 5000);
    assert.equal(must(must(three.manifest.files[0]).chunks[0]).dekOf, cap3.id);
    assert.equal((await verifyBackup(s.target, cap3.id, { trusted: s.trusted, identity: s.identity })).ok, true);
  });

  it('lists an interrupted backup as incomplete, reuses its chunks, and lists a damaged manifest', async (t) => {
    const s = setup(t);
    const data = randomBytes(3000);
    const good = s.file('metadata.db', 'metadata', data);
    const broken = capture([good, { path: 'producer-ids.json', kind: 'producer-ids', length: 10, source: join(s.root, 'gone') }]);
    await assert.rejects(writeBackup(broken, s.target, s.keys, { dataDir: s.dataDir }), /ENOENT/);
    await s.target.put('backups/x-damaged/manifest.json', Buffer.from('{"formatVersion":1}'));
    const next = capture([good]);
    const result = await writeBackup(next, s.target, s.keys, { dataDir: s.dataDir });
    assert.equal(result.storedBytes, 0, 'the chunk the interrupted backup stored is reused');
    assert.equal(result.manifest.files[0]?.chunks[0]?.dekOf, broken.id);
    const listed = await listBackups(s.target);
    assert.deepEqual(
      listed.map((l) => [l.id, l.complete]),
      [
        [broken.id, false],
        [next.id, true],
        ['x-damaged', false],
      ],
    );
    assert.match(listed[0]?.createdAt ?? '', /^\d{4}-/);
    assert.match(listed[2]?.damaged ?? '', /not a backup manifest/);
    const incomplete = await verifyBackup(s.target, broken.id, { trusted: s.trusted });
    assert.match(must(incomplete.problems[0]).what, /is incomplete: it has no manifest/);
    const dest = join(s.root, 'restored');
    await restoreFiles(s.target, await readManifest(s.target, next.id, s.trusted), s.identity, dest);
    assert.deepEqual(readFileSync(join(dest, 'metadata.db')), data);
  });

  it('refuses to reuse data not encrypted for a new recipient, an existing id, and a short source', async (t) => {
    const s = setup(t);
    const file = s.file('metadata.db', 'metadata', randomBytes(100));
    const cap = capture([file]);
    await writeBackup(cap, s.target, s.keys, { dataDir: s.dataDir });
    await assert.rejects(writeBackup(cap, s.target, s.keys, { dataDir: s.dataDir }), (err: unknown) => isBackupError(err, BackupErrorKinds.EXISTS));
    const other = generateKeyPairSync('x25519');
    const otherRecipient = { publicKey: other.publicKey, fingerprint: keyFingerprint(other.publicKey) };
    await assert.rejects(
      writeBackup(capture([file]), s.target, { ...s.keys, recipients: [otherRecipient] }, { dataDir: s.dataDir }),
      (err: unknown) => isBackupError(err, BackupErrorKinds.RECIPIENTS_CHANGED) && err.message.includes(otherRecipient.fingerprint),
    );
    await assert.rejects(
      writeBackup(capture([{ ...file, length: 200 }]), s.target, s.keys, { dataDir: s.dataDir }),
      (err: unknown) => isBackupError(err, BackupErrorKinds.SOURCE_SHORT) && /ends at 100 bytes; the capture says 200/.test(err.message),
    );
  });

  it('paces reads to the rate', async (t) => {
    const s = setup(t);
    let now = 1_000_000;
    let slept = 0;
    const clock = {
      now: () => now,
      sleep: (ms: number) => {
        slept += ms;
        now += ms;
        return Promise.resolve();
      },
    };
    const cap = capture([s.file('metadata.db', 'metadata', randomBytes(3 * MiB))]);
    await writeBackup(cap, s.target, s.keys, { dataDir: s.dataDir, rateBytesPerSecond: MiB, clock });
    assert.ok(Math.abs(slept - 3000) < 1, `slept ${slept} ms for 3 MiB at 1 MiB/s`);
    slept = 0;
    await writeBackup(capture([s.file('producer-ids.json', 'producer-ids', randomBytes(MiB))]), s.target, s.keys, { dataDir: s.dataDir, clock });
    assert.equal(slept, 0, 'no rate, no waiting');
  });
});
