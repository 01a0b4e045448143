import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { compress as zstdCompress } from '@mongodb-js/zstd';
import { compressFrameSync } from 'lz4-napi';
import { compressSync as snappyRaw } from 'snappy';
import {
  CompressionCodec,
  buildBatch,
  compress,
  compressSync,
  decompress,
  decompressSync,
  readRecords,
  type CompressionCodecId,
} from '../../../src/records/index.js';
import { rejectsFault, throwsFault } from './helpers.js';

const CODECS = Object.entries(CompressionCodec) as [string, CompressionCodecId][];
const MiB = 1024 * 1024;

function zstdBlockHeader(last: boolean, type: number, size: number): Buffer {
  const b = Buffer.alloc(3);
  b.writeUIntLE((last ? 1 : 0) | (type << 1) | (size << 3), 0, 3);
  return b;
}

/** A zstd frame of `blocks` RLE blocks of 128 KiB each: 4 bytes per 128 KiB, no content size declared. */
function zstdRleBomb(blocks: number): Buffer {
  const parts: Buffer[] = [Buffer.from('28b52ffd', 'hex'), Buffer.from([0x00, 0x38])];
  for (let i = 0; i < blocks; i++) parts.push(zstdBlockHeader(i === blocks - 1, 1, 128 * 1024), Buffer.from([0x41]));
  return Buffer.concat(parts);
}

describe('codecs', () => {
  const data = Buffer.from('the quick brown fox jumps over the lazy dog. '.repeat(5000));
  for (const [name, codec] of CODECS) {
    // gzip and snappy know the exact size; the lz4 and zstd bounds come from block headers and may
    // overestimate by up to one block (the last, partial one) per frame, as compression.ts documents.
    const exact = codec !== CompressionCodec.lz4 && codec !== CompressionCodec.zstd;
    it(`${name} round-trips, async${codec === CompressionCodec.zstd ? '' : ' and sync'}, within ${exact ? 'an exact' : 'a block-rounded'} limit`, async () => {
      const limit = exact ? data.length : data.length + 128 * 1024;
      const packed = await compress(codec, data);
      assert.deepEqual(await decompress(codec, packed, limit), data);
      assert.deepEqual(await decompress(codec, await compress(codec, Buffer.alloc(0)), 0), Buffer.alloc(0));
      if (codec !== CompressionCodec.zstd) {
        assert.deepEqual(decompressSync(codec, compressSync(codec, data), limit), data);
        assert.deepEqual(decompressSync(codec, packed, limit), data);
      }
      if (exact) await rejectsFault(() => decompress(codec, packed, data.length - 1), 'COMPRESSION_ERROR', 'too-large');
    });
  }

  it('writes raw snappy (like librdkafka) and the LZ4 frame format', () => {
    const snappy = compressSync(CompressionCodec.snappy, Buffer.from('abc'));
    assert.deepEqual(snappy, snappyRaw(Buffer.from('abc')));
    assert.equal(compressSync(CompressionCodec.lz4, Buffer.from('abc')).readUInt32LE(0), 0x184d2204);
  });

  it('decodes concatenated LZ4 frames and skippable frames', () => {
    const a = compressFrameSync(Buffer.from('first '));
    const b = compressFrameSync(Buffer.from('second'));
    const skip = Buffer.from('502a4d1803000000010203', 'hex');
    assert.equal(decompressSync(CompressionCodec.lz4, Buffer.concat([a, skip, b]), 100).toString(), 'first second');
  });

  it('decodes a zstd frame without a content size (raw and RLE blocks)', async () => {
    const frame = Buffer.concat([Buffer.from('28b52ffd', 'hex'), Buffer.from([0x00, 0x38]), zstdBlockHeader(false, 1, 5), Buffer.from('z'), zstdBlockHeader(true, 0, 3), Buffer.from('abc')]);
    assert.equal((await decompress(CompressionCodec.zstd, frame, 8)).toString(), 'zzzzzabc');
    await rejectsFault(() => decompress(CompressionCodec.zstd, frame, 7), 'COMPRESSION_ERROR', 'too-large');
  });

  it('unknown codecs 5, 6 and 7 are unsupported-compression', async () => {
    for (const codec of [5, 6, 7]) {
      throwsFault(() => decompressSync(codec, Buffer.from('x'), 10), 'COMPRESSION_ERROR', 'unsupported-compression');
      throwsFault(() => compressSync(codec, Buffer.from('x')), 'COMPRESSION_ERROR', 'unsupported-compression');
      await rejectsFault(() => decompress(codec, Buffer.from('x'), 10), 'COMPRESSION_ERROR', 'unsupported-compression');
      await rejectsFault(() => compress(codec, Buffer.from('x')), 'COMPRESSION_ERROR', 'unsupported-compression');
    }
  });

  it('damaged payloads are refused as corrupt for every codec', async () => {
    const garbage = Buffer.from('definitely not compressed data, not at all');
    for (const codec of [CompressionCodec.gzip, CompressionCodec.snappy, CompressionCodec.lz4, CompressionCodec.zstd]) {
      await rejectsFault(() => decompress(codec, garbage, MiB), 'COMPRESSION_ERROR', 'corrupt');
      await rejectsFault(() => decompress(codec, Buffer.alloc(0), MiB), 'COMPRESSION_ERROR', 'corrupt');
    }
    const lz4 = compressFrameSync(Buffer.from('hello hello hello hello'));
    await rejectsFault(() => decompress(CompressionCodec.lz4, lz4.subarray(0, lz4.length - 2), MiB), 'COMPRESSION_ERROR', 'corrupt', /truncated/);
    await rejectsFault(() => decompress(CompressionCodec.lz4, Buffer.from('02214c18', 'hex'), MiB), 'COMPRESSION_ERROR', 'corrupt', /legacy/);
    const zstd = await zstdCompress(Buffer.from('hello hello hello hello'));
    await rejectsFault(() => decompress(CompressionCodec.zstd, zstd.subarray(0, zstd.length - 2), MiB), 'COMPRESSION_ERROR', 'corrupt');
  });
});

describe('decompression bombs stop at maxBytes', () => {
  const zeros = Buffer.alloc(16 * MiB);

  it('gzip: zlib stops inflating at the limit', async () => {
    const bomb = gzipSync(zeros);
    assert.ok(bomb.length < 32 * 1024);
    throwsFault(() => decompressSync(CompressionCodec.gzip, bomb, MiB), 'COMPRESSION_ERROR', 'too-large', /over the limit/);
    await rejectsFault(() => decompress(CompressionCodec.gzip, bomb, MiB), 'COMPRESSION_ERROR', 'too-large', /over the limit/);
  });

  it('snappy: the declared length is checked before the decoder allocates it', () => {
    throwsFault(() => decompressSync(CompressionCodec.snappy, snappyRaw(zeros), MiB), 'COMPRESSION_ERROR', 'too-large');
    // A 6-byte payload claiming 4 GiB − 1: refused without allocating.
    throwsFault(() => decompressSync(CompressionCodec.snappy, Buffer.from('ffffffff0f00', 'hex'), MiB), 'COMPRESSION_ERROR', 'too-large', /4294967295/);
    // Xerial blocks are summed: two blocks of 600 KiB each exceed 1 MiB.
    const block = snappyRaw(Buffer.alloc(600 * 1024));
    const len = Buffer.alloc(4);
    len.writeInt32BE(block.length);
    const framed = Buffer.concat([Buffer.from('82534e41505059000000000100000001', 'hex'), len, block, len, block]);
    throwsFault(() => decompressSync(CompressionCodec.snappy, framed, MiB), 'COMPRESSION_ERROR', 'too-large');
    assert.equal(decompressSync(CompressionCodec.snappy, framed, 2 * MiB).length, 1200 * 1024);
  });

  it('lz4: block sizes bound the output before decoding; a declared content size is checked', () => {
    throwsFault(() => decompressSync(CompressionCodec.lz4, compressFrameSync(zeros), MiB), 'COMPRESSION_ERROR', 'too-large');
    // FLG with content size (0x68), BD 64 KiB, content size 2^60, then an end mark.
    const header = Buffer.concat([Buffer.from('04224d186840', 'hex'), Buffer.from('0000000000000010', 'hex'), Buffer.from([0x00]), Buffer.alloc(4)]);
    throwsFault(() => decompressSync(CompressionCodec.lz4, header, MiB), 'COMPRESSION_ERROR', 'too-large', /1152921504606846976/);
  });

  it('zstd: blocks bound the output before decoding, with or without a content size', async () => {
    const packed = await zstdCompress(zeros);
    await rejectsFault(() => decompress(CompressionCodec.zstd, packed, MiB), 'COMPRESSION_ERROR', 'too-large');
    // 4 KiB of RLE blocks that would inflate to 128 MiB.
    const bomb = zstdRleBomb(1024);
    assert.ok(bomb.length < 5 * 1024);
    await rejectsFault(() => decompress(CompressionCodec.zstd, bomb, MiB), 'COMPRESSION_ERROR', 'too-large', /134217728/);
    assert.equal((await decompress(CompressionCodec.zstd, zstdRleBomb(8), MiB)).length, MiB);
  });

  it('readRecords passes its maxBytes to the decoder', async () => {
    const batch = await buildBatch({ records: [{ value: Buffer.alloc(2 * MiB) }], compression: CompressionCodec.zstd, baseTimestamp: 0 });
    await rejectsFault(() => readRecords(batch, { maxBytes: MiB }), 'COMPRESSION_ERROR', 'too-large');
    const [record] = await readRecords(batch, { maxBytes: 3 * MiB });
    assert.equal(record?.value?.length, 2 * MiB);
  });
});
