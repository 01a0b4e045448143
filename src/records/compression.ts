import { constants as bufferConstants } from 'node:buffer';
import { promisify } from 'node:util';
import { gunzip, gunzipSync, gzip, gzipSync } from 'node:zlib';
import { compress as zstdCompress, decompress as zstdDecompress } from '@mongodb-js/zstd';
import { compressFrameSync, decompressFrameSync } from 'lz4-napi';
import { compressSync as snappyCompressSync, uncompressSync as snappyUncompressSync } from 'snappy';
import { ParapetError } from '../errors.js';
import { recordsFault } from './faults.js';
import { corruptCompressed, isXerialFramed, lz4Frames, snappyDeclaredLength, xerialBlocks, zstdFrames, type FramedPayload } from './size-bounds.js';

/**
 * Record batch compression (the codec is attributes & 0x07; zstd is KIP-110).
 *
 * Sync or async: `@mongodb-js/zstd` 1.x only has promise-returning `compress`/`decompress` (they run on
 * the libuv pool), so {@link compress}/{@link decompress} are async and handle every codec, while
 * {@link compressSync}/{@link decompressSync} handle none, gzip, snappy and lz4 and refuse zstd with a
 * COMPRESSION_ERROR that says to use the async form. The produce and fetch paths store and serve
 * batches verbatim and need neither; decompression is for features that read records (schema
 * validation, masking, internal topics).
 *
 * Bounding (`maxBytes`, the largest decompressed payload accepted):
 * - gzip: zlib's `maxOutputLength` stops inflating at the limit.
 * - snappy: the uncompressed length each raw block declares (the decoder allocates exactly that) is
 *   summed over xerial blocks and checked before decoding.
 * - lz4: frames are walked first; the bound is the size of stored blocks plus
 *   min(block maximum, 255 × size) per compressed block, checked before decoding; a declared
 *   content size above the limit is refused too. Full blocks are counted exactly, so the bound
 *   overestimates by less than one block maximum (64 KiB…4 MiB) per frame.
 * - zstd: frames are walked first; the bound is exact for raw/RLE blocks and 128 KiB per compressed
 *   block (RFC 8878), so a payload within 128 KiB per frame of the limit may be refused.
 * Every output is also checked after decoding.
 */

export const CompressionCodec = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
export type CompressionCodecId = (typeof CompressionCodec)[keyof typeof CompressionCodec];

const CODEC_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

export function isKnownCodec(codec: number): codec is CompressionCodecId {
  return Number.isInteger(codec) && codec >= 0 && codec < CODEC_NAMES.length;
}

export function codecName(codec: number): string {
  return isKnownCodec(codec) ? CODEC_NAMES[codec] : `unknown(${codec})`;
}

function checkCodec(codec: number): CompressionCodecId {
  if (!isKnownCodec(codec)) {
    throw recordsFault('COMPRESSION_ERROR', `unknown compression codec ${codec}`, 'unsupported-compression');
  }
  return codec;
}

function checkMaxBytes(maxBytes: number): void {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new RangeError(`maxBytes must be a non-negative integer, got ${maxBytes}`);
}

function tooLarge(codec: CompressionCodecId, size: number | bigint | string, maxBytes: number): ParapetError {
  const what = codec === CompressionCodec.none ? 'uncompressed payload has' : `${CODEC_NAMES[codec]} payload decompresses to`;
  return recordsFault(
    'COMPRESSION_ERROR',
    `${what} ${String(size)} bytes, over the limit of ${maxBytes}`,
    'too-large',
  );
}

function checkBound(codec: CompressionCodecId, framed: FramedPayload, maxBytes: number): void {
  if (framed.declared !== null && framed.declared > BigInt(maxBytes)) throw tooLarge(codec, framed.declared, maxBytes);
  if (framed.bound > maxBytes) throw tooLarge(codec, `up to ${framed.bound}`, maxBytes);
}

function checkOutput(codec: CompressionCodecId, out: Buffer, maxBytes: number): Buffer {
  if (out.length > maxBytes) throw tooLarge(codec, out.length, maxBytes);
  return out;
}

/** A native decoder's error becomes a COMPRESSION_ERROR (CORRUPT_MESSAGE): the payload is the client's. */
function decodeFailed(codec: CompressionCodecId, err: unknown): ParapetError {
  if (err instanceof ParapetError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return corruptCompressed(`${CODEC_NAMES[codec]} payload could not be decompressed: ${detail}`);
}

function encodeFailed(codec: CompressionCodecId, err: unknown): ParapetError {
  if (err instanceof ParapetError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new ParapetError('COMPRESSION_ERROR', `${CODEC_NAMES[codec]} compression failed: ${detail}`);
}

function zstdIsAsync(): ParapetError {
  return new ParapetError('COMPRESSION_ERROR', 'zstd is asynchronous only (@mongodb-js/zstd 1.x): use compress()/decompress()');
}

/** zlib wants maxOutputLength in 1..buffer.constants.MAX_LENGTH; the exact limit is rechecked after. */
function zlibOptions(maxBytes: number): { maxOutputLength: number } {
  return { maxOutputLength: Math.min(Math.max(1, maxBytes), bufferConstants.MAX_LENGTH) };
}

function isBufferTooLarge(err: unknown): boolean {
  return err instanceof RangeError && (err as RangeError & { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE';
}

function gunzipFailed(err: unknown, maxBytes: number): ParapetError {
  return isBufferTooLarge(err) ? tooLarge(CompressionCodec.gzip, `more than ${maxBytes}`, maxBytes) : decodeFailed(CompressionCodec.gzip, err);
}

/**
 * Writes raw snappy (one block), as librdkafka does; every client reads raw snappy or tells it apart from
 * the xerial framing by its magic.
 */
export function compressSync(codec: number, data: Buffer): Buffer {
  const id = checkCodec(codec);
  try {
    switch (id) {
      case CompressionCodec.none:
        return data;
      case CompressionCodec.gzip:
        return gzipSync(data);
      case CompressionCodec.snappy:
        return snappyCompressSync(data);
      case CompressionCodec.lz4:
        // Independent blocks, no checksums: what lz4-napi writes by default, and what Kafka's
        // KafkaLZ4BlockInputStream and librdkafka read (KIP-57: correct header checksum for magic ≥ 1).
        return compressFrameSync(data);
      case CompressionCodec.zstd:
        throw zstdIsAsync();
    }
  } catch (err) {
    throw encodeFailed(id, err);
  }
}

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

export async function compress(codec: number, data: Buffer): Promise<Buffer> {
  const id = checkCodec(codec);
  try {
    if (id === CompressionCodec.gzip) return await gzipAsync(data);
    if (id === CompressionCodec.zstd) return await zstdCompress(data);
  } catch (err) {
    throw encodeFailed(id, err);
  }
  return compressSync(id, data);
}

function snappyDecode(data: Buffer, maxBytes: number): Buffer {
  const blocks = isXerialFramed(data) ? xerialBlocks(data) : [data];
  let total = 0;
  for (const block of blocks) total += snappyDeclaredLength(block);
  if (total > maxBytes) throw tooLarge(CompressionCodec.snappy, total, maxBytes);
  const out: Buffer[] = [];
  for (const block of blocks) {
    const decoded = snappyUncompressSync(block, { asBuffer: true });
    if (typeof decoded === 'string') throw corruptCompressed('snappy decoder returned a string');
    out.push(decoded);
  }
  return out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out);
}

function lz4Decode(data: Buffer, maxBytes: number): Buffer {
  const framed = lz4Frames(data);
  checkBound(CompressionCodec.lz4, framed, maxBytes);
  // lz4-napi stops after the first frame, so concatenated frames are decoded one by one.
  const out = framed.frames.map((frame) => decompressFrameSync(frame));
  return out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out);
}

/** Decompresses a batch's records payload; never returns more than `maxBytes` bytes (see the module notes). */
export function decompressSync(codec: number, data: Buffer, maxBytes: number): Buffer {
  const id = checkCodec(codec);
  checkMaxBytes(maxBytes);
  let out: Buffer;
  try {
    switch (id) {
      case CompressionCodec.none:
        out = data;
        break;
      case CompressionCodec.gzip:
        try {
          out = gunzipSync(data, zlibOptions(maxBytes));
        } catch (err) {
          throw gunzipFailed(err, maxBytes);
        }
        break;
      case CompressionCodec.snappy:
        out = snappyDecode(data, maxBytes);
        break;
      case CompressionCodec.lz4:
        out = lz4Decode(data, maxBytes);
        break;
      case CompressionCodec.zstd:
        throw zstdIsAsync();
    }
  } catch (err) {
    throw decodeFailed(id, err);
  }
  return checkOutput(id, out, maxBytes);
}

/** Decompresses a batch's records payload for any codec; never returns more than `maxBytes` bytes. */
export async function decompress(codec: number, data: Buffer, maxBytes: number): Promise<Buffer> {
  const id = checkCodec(codec);
  checkMaxBytes(maxBytes);
  if (id === CompressionCodec.gzip) {
    let out: Buffer;
    try {
      out = await gunzipAsync(data, zlibOptions(maxBytes));
    } catch (err) {
      throw gunzipFailed(err, maxBytes);
    }
    return checkOutput(id, out, maxBytes);
  }
  if (id === CompressionCodec.zstd) {
    checkBound(id, zstdFrames(data), maxBytes);
    let out: Buffer;
    try {
      out = await zstdDecompress(data);
    } catch (err) {
      throw decodeFailed(id, err);
    }
    return checkOutput(id, out, maxBytes);
  }
  return decompressSync(id, data, maxBytes);
}
