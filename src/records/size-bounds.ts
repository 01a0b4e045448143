import type { ParapetError } from '../errors.js';
import { DEFAULT_READ_LIMITS } from '../bytes/reader.js';
import { FaultReader, recordsFault } from './faults.js';

/**
 * Upper bounds on decompressed sizes, computed from the compressed bytes' own framing before any
 * decoder runs. The native decoders size their output from these frames (snappy allocates its declared
 * length up front; the LZ4 and zstd decoders grow as they go, possibly from a declared content size), so
 * refusing a payload whose bound exceeds the limit keeps a decompression bomb from allocating at all.
 */

export function corruptCompressed(message: string): ParapetError {
  return recordsFault('COMPRESSION_ERROR', message, 'corrupt');
}

function need(data: Buffer, at: number, n: number, what: string): void {
  if (n > data.length - at) throw corruptCompressed(`truncated ${what}: needs ${n} bytes at ${at}, ${Math.max(0, data.length - at)} remain`);
}

// ---- snappy ---------------------------------------------------------------------------------------

/** snappy-java (xerial) stream header: magic `\x82SNAPPY\0`, int32 version, int32 compatible version. */
export const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_SIZE = XERIAL_MAGIC.length + 8;

export function isXerialFramed(data: Buffer): boolean {
  return data.length >= XERIAL_MAGIC.length && data.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC);
}

/** Raw snappy starts with its uncompressed length as an unsigned varint (at most 32 bits). */
export function snappyDeclaredLength(block: Buffer): number {
  return new FaultReader(block, 'COMPRESSION_ERROR', 'corrupt').uvarint();
}

/**
 * The raw snappy blocks of a xerial-framed payload (views): header, then repeated `int32 length` (big-endian)
 * + raw snappy block. Java producers write this form; librdkafka reads it the same way
 * (rdkafka_msgset_reader.c). The version fields are not checked: every known writer uses 1/1.
 */
export function xerialBlocks(data: Buffer): Buffer[] {
  // Block lengths are bounded by what remains; the payload itself was already bounded by the frame size.
  const limits = { ...DEFAULT_READ_LIMITS, maxBytesLength: data.length };
  const r = new FaultReader(data, 'COMPRESSION_ERROR', 'corrupt', limits);
  if (!isXerialFramed(data)) r.fail('missing snappy-java stream magic');
  r.skip(XERIAL_HEADER_SIZE);
  const blocks: Buffer[] = [];
  while (r.remaining > 0) blocks.push(r.view(r.int32(), 'snappy-java block'));
  return blocks;
}

// ---- LZ4 frame ------------------------------------------------------------------------------------

const LZ4_MAGIC = 0x184d2204;
/** KIP-57: the pre-frame "legacy" format; Kafka producers never write it. */
const LZ4_LEGACY_MAGIC = 0x184c2102;
const SKIPPABLE_MIN = 0x184d2a50;
const SKIPPABLE_MAX = 0x184d2a5f;
/**
 * An LZ4 block of n compressed bytes decodes to at most 255·n bytes: every output byte comes from a
 * literal (one input byte each) or a match, whose length grows by at most 255 per input byte.
 */
const LZ4_MAX_RATIO = 255;

export interface FramedPayload {
  /** Each frame as a view, skippable frames left out. */
  readonly frames: Buffer[];
  /** Upper bound of the decompressed size of all frames. */
  readonly bound: number;
  /** Sum of the content sizes the frames declare, or null when some frame declares none. */
  readonly declared: bigint | null;
}

function skippable(data: Buffer, at: number, what: string): number {
  need(data, at, 8, `${what} skippable frame`);
  const size = data.readUInt32LE(at + 4);
  need(data, at + 8, size, `${what} skippable frame`);
  return at + 8 + size;
}

/**
 * Walks LZ4 frames (lz4 frame format spec v1.6.x: magic, FLG, BD, [content size], [dict id], HC,
 * blocks of `uint32le size` (high bit = stored uncompressed) + data + [checksum], end mark 0,
 * [content checksum]). Returns frames separately because lz4-napi decodes only the first frame of a
 * concatenation.
 */
export function lz4Frames(data: Buffer): FramedPayload {
  const frames: Buffer[] = [];
  let bound = 0;
  let declared: bigint | null = 0n;
  let at = 0;
  if (data.length === 0) throw corruptCompressed('empty LZ4 payload');
  while (at < data.length) {
    need(data, at, 4, 'LZ4 frame magic');
    const magic = data.readUInt32LE(at);
    if (magic >= SKIPPABLE_MIN && magic <= SKIPPABLE_MAX) {
      at = skippable(data, at, 'LZ4');
      continue;
    }
    if (magic === LZ4_LEGACY_MAGIC) throw corruptCompressed('legacy LZ4 format is not supported, only the LZ4 frame format');
    if (magic !== LZ4_MAGIC) throw corruptCompressed(`not an LZ4 frame (magic ${magic.toString(16)})`);
    const start = at;
    need(data, at, 7, 'LZ4 frame header');
    const flg = data.readUInt8(at + 4);
    const bd = data.readUInt8(at + 5);
    if (flg >> 6 !== 1) throw corruptCompressed(`unsupported LZ4 frame version ${flg >> 6}`);
    if ((flg & 0x02) !== 0 || (bd & 0x8f) !== 0) throw corruptCompressed('reserved bits set in the LZ4 frame descriptor');
    const blockSizeId = (bd >> 4) & 0x07;
    if (blockSizeId < 4) throw corruptCompressed(`invalid LZ4 block size id ${blockSizeId}`);
    const blockMax = 1 << (2 * blockSizeId + 8); // 4 → 64 KiB … 7 → 4 MiB
    const hasBlockChecksum = (flg & 0x10) !== 0;
    const hasContentSize = (flg & 0x08) !== 0;
    const hasContentChecksum = (flg & 0x04) !== 0;
    const hasDictId = (flg & 0x01) !== 0;
    at += 6;
    if (hasContentSize) {
      need(data, at, 8, 'LZ4 content size');
      if (declared !== null) declared += data.readBigUInt64LE(at);
      at += 8;
    } else {
      declared = null;
    }
    if (hasDictId) at += 4;
    at += 1; // header checksum, verified by the decoder
    for (;;) {
      need(data, at, 4, 'LZ4 block size');
      const word = data.readUInt32LE(at);
      at += 4;
      if (word === 0) break; // end mark
      const stored = word >>> 31 === 1;
      const size = word & 0x7fffffff;
      if (size > blockMax) throw corruptCompressed(`LZ4 block of ${size} bytes exceeds the frame's block size ${blockMax}`);
      need(data, at, size + (hasBlockChecksum ? 4 : 0), 'LZ4 block');
      at += size + (hasBlockChecksum ? 4 : 0);
      bound += stored ? size : Math.min(blockMax, size * LZ4_MAX_RATIO);
    }
    if (hasContentChecksum) {
      need(data, at, 4, 'LZ4 content checksum');
      at += 4;
    }
    frames.push(data.subarray(start, at));
  }
  if (frames.length === 0) throw corruptCompressed('no LZ4 frame in the payload');
  return { frames, bound, declared };
}

// ---- zstd -----------------------------------------------------------------------------------------

const ZSTD_MAGIC = 0xfd2fb528;
/** Block_Maximum_Size is min(Window_Size, 128 KiB) (RFC 8878 §3.1.1.2.4); 128 KiB bounds every block. */
const ZSTD_BLOCK_MAX = 128 * 1024;
const FCS_FIELD_SIZES = [0, 2, 4, 8] as const;
const DICT_ID_SIZES = [0, 1, 2, 4] as const;

/**
 * Walks zstd frames (RFC 8878 §3.1): frame header, then blocks with a 3-byte little-endian header
 * (last flag, type, size). Raw and RLE blocks regenerate exactly `size` bytes; a compressed block at
 * most 128 KiB, which libzstd enforces. The bound is exact for raw/RLE blocks and overestimates by
 * less than 128 KiB per compressed block that is not full (usually the last one of each frame).
 */
export function zstdFrames(data: Buffer): FramedPayload {
  const frames: Buffer[] = [];
  let bound = 0;
  let declared: bigint | null = 0n;
  let at = 0;
  if (data.length === 0) throw corruptCompressed('empty zstd payload');
  while (at < data.length) {
    need(data, at, 4, 'zstd frame magic');
    const magic = data.readUInt32LE(at);
    if (magic >= SKIPPABLE_MIN && magic <= SKIPPABLE_MAX) {
      at = skippable(data, at, 'zstd');
      continue;
    }
    if (magic !== ZSTD_MAGIC) throw corruptCompressed(`not a zstd frame (magic ${magic.toString(16)})`);
    const start = at;
    need(data, at, 5, 'zstd frame header');
    const fhd = data.readUInt8(at + 4);
    at += 5;
    if ((fhd & 0x08) !== 0) throw corruptCompressed('reserved bit set in the zstd frame header');
    const singleSegment = (fhd & 0x20) !== 0;
    const fcsFlag = fhd >> 6;
    const fcsSize = fcsFlag === 0 ? (singleSegment ? 1 : 0) : (FCS_FIELD_SIZES[fcsFlag] ?? 0);
    const dictIdSize = DICT_ID_SIZES[fhd & 0x03] ?? 0;
    const hasChecksum = (fhd & 0x04) !== 0;
    const headerRest = (singleSegment ? 0 : 1) + dictIdSize + fcsSize;
    need(data, at, headerRest, 'zstd frame header');
    at += (singleSegment ? 0 : 1) + dictIdSize;
    if (fcsSize === 0) {
      declared = null;
    } else {
      let fcs = data.readUIntLE(at, Math.min(fcsSize, 4));
      let fcsBig = BigInt(fcs);
      if (fcsSize === 8) fcsBig = data.readBigUInt64LE(at);
      if (fcsSize === 2) {
        fcs += 256; // RFC 8878: the 2-byte field is offset by 256
        fcsBig = BigInt(fcs);
      }
      if (declared !== null) declared += fcsBig;
      at += fcsSize;
    }
    for (;;) {
      need(data, at, 3, 'zstd block header');
      const word = data.readUIntLE(at, 3);
      at += 3;
      const last = (word & 1) === 1;
      const type = (word >> 1) & 0x03;
      const size = word >>> 3;
      if (type === 0) {
        need(data, at, size, 'zstd raw block');
        at += size;
        bound += size;
      } else if (type === 1) {
        need(data, at, 1, 'zstd RLE block');
        at += 1;
        bound += size;
      } else if (type === 2) {
        need(data, at, size, 'zstd compressed block');
        at += size;
        bound += ZSTD_BLOCK_MAX;
      } else {
        throw corruptCompressed('reserved zstd block type');
      }
      if (last) break;
    }
    if (hasChecksum) {
      need(data, at, 4, 'zstd content checksum');
      at += 4;
    }
    frames.push(data.subarray(start, at));
  }
  if (frames.length === 0) throw corruptCompressed('no zstd frame in the payload');
  return { frames, bound, declared };
}
