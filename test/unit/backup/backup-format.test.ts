import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BackupErrorKinds, isBackupError } from '../../../src/backup/backup-error.js';
import { canonicalJson } from '../../../src/backup/format/canonical-json.js';
import { PIECE_BYTES, chunkIdOf, chunkKey, openChunk, sealChunk, sealedBy } from '../../../src/backup/format/chunk-seal.js';
import { unwrapDek, wrapDek } from '../../../src/backup/format/dek-wrap.js';
import { parseManifest, serializeManifest, signManifest } from '../../../src/backup/format/manifest.js';
import type { UnsignedManifest } from '../../../src/backup/format/manifest-schema.js';
import { keyFingerprint } from '../../../src/backup/keys/key-fingerprint.js';
import { must } from './backup-fixtures.js';

const x25519 = (): { privateKey: import('node:crypto').KeyObject; publicKey: import('node:crypto').KeyObject; fingerprint: string } => {
  const pair = generateKeyPairSync('x25519');
  return { ...pair, fingerprint: keyFingerprint(pair.publicKey) };
};

describe('chunk sealing', () => {
  const dek = randomBytes(32);
  const dedupe = randomBytes(32);

  it('round-trips any bytes, and any single changed byte fails authentication or the header check', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 4096 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (bytes, at, xor) => {
        const piece = Buffer.from(bytes);
        const id = chunkIdOf(dedupe, piece);
        const sealed = sealChunk(piece, id, 'b1', dek);
        assert.equal(sealedBy(sealed, id), 'b1');
        assert.deepEqual(openChunk(sealed, id, 'b1', dek), piece);
        const changed = Buffer.from(sealed);
        const i = at % changed.length;
        changed[i] = (changed[i] ?? 0) ^ xor;
        assert.throws(
          () => openChunk(changed, id, 'b1', dek),
          (err: unknown) => isBackupError(err) && (err.kind === BackupErrorKinds.CHUNK_AUTH || err.kind === BackupErrorKinds.CHUNK_FORMAT) && err.where === id,
        );
      }),
      { numRuns: 300 },
    );
  });

  it('is bound to its chunk id, its backup and its key', () => {
    const piece = Buffer.from('some bytes of a segment');
    const id = chunkIdOf(dedupe, piece);
    const sealed = sealChunk(piece, id, 'b1', dek);
    const other = chunkIdOf(dedupe, Buffer.from('other'));
    assert.throws(() => openChunk(sealed, other, 'b1', dek), (err: unknown) => isBackupError(err, BackupErrorKinds.CHUNK_AUTH));
    assert.throws(() => openChunk(sealed, id, 'b2', dek), (err: unknown) => isBackupError(err, BackupErrorKinds.CHUNK_FORMAT) && /names backup b1/.test(err.message));
    assert.throws(() => openChunk(sealed, id, 'b1', randomBytes(32)), (err: unknown) => isBackupError(err, BackupErrorKinds.CHUNK_AUTH));
    assert.throws(() => openChunk(Buffer.from('PBK'), id, 'b1', dek), (err: unknown) => isBackupError(err, BackupErrorKinds.CHUNK_FORMAT));
  });

  it('names chunks with a keyed hash, 8 MiB pieces, under chunks/<2 hex>/', () => {
    const piece = Buffer.from('x');
    assert.notEqual(chunkIdOf(randomBytes(32), piece), chunkIdOf(randomBytes(32), piece), 'another dedupe key, another name');
    const id = chunkIdOf(dedupe, piece);
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.equal(chunkKey(id), `chunks/${id.slice(0, 2)}/${id}`);
    assert.equal(PIECE_BYTES, 8 * 1024 * 1024);
  });
});

describe('data key wrapping', () => {
  it('opens with the recipient identity only, and not once moved to another backup id', () => {
    const alice = x25519();
    const bob = x25519();
    const dek = randomBytes(32);
    const entries = [wrapDek(dek, 'b1', alice), wrapDek(dek, 'b1', bob)];
    assert.deepEqual(unwrapDek(entries, 'b1', alice), dek);
    assert.deepEqual(unwrapDek(entries, 'b1', bob), dek);
    const eve = x25519();
    assert.throws(
      () => unwrapDek(entries, 'b1', eve),
      (err: unknown) => isBackupError(err, BackupErrorKinds.WRONG_IDENTITY) && err.message.includes(eve.fingerprint) && err.message.includes(alice.fingerprint),
    );
    assert.throws(() => unwrapDek(entries, 'b2', alice), (err: unknown) => isBackupError(err, BackupErrorKinds.WRONG_IDENTITY));
    // Relabelling an entry for another recipient does not make it open for them.
    const relabelled = [{ ...must(entries[0]), recipient: eve.fingerprint }];
    assert.throws(() => unwrapDek(relabelled, 'b1', eve), (err: unknown) => isBackupError(err, BackupErrorKinds.WRONG_IDENTITY));
  });

  it('fails with a typed error, never a crash, when any byte of a wrapped key changes', () => {
    const alice = x25519();
    const dek = randomBytes(32);
    const entry = wrapDek(dek, 'b1', alice);
    for (const field of ['ephemeralPublicKey', 'nonce', 'wrapped', 'tag'] as const) {
      const bytes = Buffer.from(entry[field], 'base64');
      for (let i = 0; i < bytes.length; i++) {
        const changed = Buffer.from(bytes);
        changed[i] = (changed[i] ?? 0) ^ 0x01;
        assert.throws(() => unwrapDek([{ ...entry, [field]: changed.toString('base64') }], 'b1', alice), (err: unknown) => isBackupError(err, BackupErrorKinds.WRONG_IDENTITY), `${field}[${i}]`);
      }
    }
    assert.throws(() => unwrapDek([{ ...entry, nonce: 'AAAA' }], 'b1', alice), (err: unknown) => isBackupError(err, BackupErrorKinds.DEK_DAMAGED));
  });
});

describe('manifests', () => {
  const signer = generateKeyPairSync('ed25519');
  const trusted = { publicKey: signer.publicKey, fingerprint: keyFingerprint(signer.publicKey) };
  const recipient = x25519();
  const unsigned: UnsignedManifest = {
    formatVersion: 1,
    id: 'b1',
    createdAt: '2026-12-07T17:15:00.000Z',
    completedAt: '2026-12-07T17:15:02.000Z',
    productVersion: '0.1.0',
    source: { dataDir: '/srv/parapet-data', host: 'h' },
    partitions: [{ topic: 'orders', partition: 0, topicId: 't', logStartOffset: '0', endOffset: '10' }],
    deks: { b1: [wrapDek(randomBytes(32), 'b1', recipient)] },
    files: [{ path: 'logs/orders-0/00000000000000000000.log', kind: 'segment', length: 3, sha256: 'a'.repeat(64), chunks: [{ id: 'b'.repeat(64), offset: 0, length: 3, sealedSha256: 'c'.repeat(64), dekOf: 'b1' }] }],
    totals: { bytes: 3, newBytes: 40, chunks: 1, newChunks: 1 },
  };
  const signed = serializeManifest(signManifest(unsigned, signer.privateKey, trusted.fingerprint));

  it('canonical JSON sorts keys and drops whitespace', () => {
    assert.equal(canonicalJson({ b: 1, a: [true, null, 'x'], c: { z: 1, y: 2 } }), '{"a":[true,null,"x"],"b":1,"c":{"y":2,"z":1}}');
  });

  it('round-trips, signed over its canonical form', () => {
    const manifest = parseManifest(signed, trusted);
    assert.equal(manifest.id, 'b1');
    assert.equal(manifest.signature.signer, trusted.fingerprint);
  });

  it('names what is wrong: not JSON, not a manifest, another signer (both fingerprints), a changed field', () => {
    const fails = (bytes: Buffer, kind: string, pattern: RegExp): void => {
      assert.throws(() => parseManifest(bytes, trusted), (err: unknown) => isBackupError(err) && err.kind === kind && pattern.test(err.message));
    };
    fails(Buffer.from('{"formatVersion":'), BackupErrorKinds.MANIFEST_NOT_JSON, /not JSON/);
    fails(Buffer.from(JSON.stringify({ ...JSON.parse(signed.toString()), extra: 1 })), BackupErrorKinds.MANIFEST_SCHEMA, /not a backup manifest/);
    const json = JSON.parse(signed.toString()) as { files: { chunks: { offset: number }[] }[] };
    must(must(json.files[0]).chunks[0]).offset = 5;
    fails(Buffer.from(JSON.stringify(json)), BackupErrorKinds.MANIFEST_SCHEMA, /chunk 0 is not at offset 0/);
    const changed = signed.toString().replace('"endOffset": "10"', '"endOffset": "11"');
    assert.notEqual(changed, signed.toString());
    fails(Buffer.from(changed), BackupErrorKinds.MANIFEST_BAD_SIGNATURE, /changed after it was signed/);
    const mallory = generateKeyPairSync('ed25519');
    const malloryFp = keyFingerprint(mallory.publicKey);
    const forged = serializeManifest(signManifest(unsigned, mallory.privateKey, malloryFp));
    fails(forged, BackupErrorKinds.MANIFEST_UNTRUSTED_SIGNER, new RegExp(`signed by the key ${malloryFp}, not by the trusted key ${trusted.fingerprint}`));
    // Claiming the trusted fingerprint does not help a signature by another key.
    const claimed = JSON.parse(forged.toString()) as { signature: { signer: string } };
    claimed.signature.signer = trusted.fingerprint;
    fails(Buffer.from(JSON.stringify(claimed)), BackupErrorKinds.MANIFEST_BAD_SIGNATURE, /fails its signature check/);
  });
});
