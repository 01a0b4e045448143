import { createCipheriv, createDecipheriv, randomFillSync, type KeyObject } from 'node:crypto';
import { crc32c } from '@node-rs/crc32';
import { BatchOffsets, CRC_START, LOG_OVERHEAD } from '../../records/batch.js';

/**
 * The sealed (encrypted) form of a stored record batch (docs/storage-format.md#sealed-batches). The
 * fields that the log itself needs without any key stay in the clear and at the places a v2 batch has
 * them, so that recovery, the indexes and retention read both forms alike:
 *
 * | bytes | field |
 * |---|---|
 * | 0–7 | baseOffset |
 * | 8–11 | length of the rest (as batchLength) |
 * | 12–15 | partitionLeaderEpoch |
 * | 16 | magic: {@link SEALED_MAGIC}, a value no Kafka message format uses |
 * | 17–20 | CRC-32C of bytes 21..end: torn writes and bit rot are found without a key |
 * | 21–22 | sealing version (1) |
 * | 23–26 | lastOffsetDelta |
 * | 27–30 | data key id (in the partition's `data-keys.json`) |
 * | 31–34 | reserved (0) |
 * | 35–42 | maxTimestamp |
 * | 43–54 | nonce (96 random bits) |
 * | 55… | AES-256-GCM ciphertext of the original batch from byte 17 on (its CRC, attributes, producer fields, records), then the 16-byte tag |
 *
 * The associated data binds the ciphertext to its place: the topic id, the partition, the base offset
 * and every clear field but the epoch and the CRC. A batch copied to another partition or offset, or
 * with a clear field changed, fails authentication.
 */
export const SEALED_MAGIC = 0x50;
export const SEALING_VERSION = 1;
export const SealedOffsets = {
  version: 21,
  lastOffsetDelta: BatchOffsets.lastOffsetDelta,
  dekId: 27,
  reserved: 31,
  maxTimestamp: BatchOffsets.maxTimestamp,
  nonce: 43,
  ciphertext: 55,
} as const;
const TAG_BYTES = 16;
/** The original batch's bytes 0–16 are rebuilt from the clear header; everything after is ciphertext. */
const CLEAR_PREFIX = BatchOffsets.crc;
/** Bytes a sealed entry adds to the batch it holds. */
export const SEALING_OVERHEAD = SealedOffsets.ciphertext + TAG_BYTES - CLEAR_PREFIX;

/** Where a batch is stored: what its associated data binds it to. */
export interface BatchPlace {
  readonly topicId: string;
  readonly partition: number;
}

export function isSealed(entry: Buffer, at = 0): boolean {
  return entry.readInt8(at + BatchOffsets.magic) === SEALED_MAGIC;
}

/** The data key id of a sealed entry. */
export function sealedDekId(entry: Buffer, at = 0): number {
  return entry.readUInt32BE(at + SealedOffsets.dekId);
}

/** The place's part of the associated data (topic id, partition), kept for the partitions seen last. */
const placePrefixes = new Map<string, Buffer>();

function placePrefix(place: BatchPlace): Buffer {
  const k = `${place.topicId}\0${place.partition}`;
  let prefix = placePrefixes.get(k);
  if (prefix === undefined) {
    const id = Buffer.from(place.topicId, 'utf8');
    prefix = Buffer.allocUnsafe(2 + id.length + 4);
    prefix.writeUInt16BE(id.length, 0);
    id.copy(prefix, 2);
    prefix.writeInt32BE(place.partition, 2 + id.length);
    if (placePrefixes.size >= 1024) placePrefixes.clear();
    placePrefixes.set(k, prefix);
  }
  return prefix;
}

/** Authenticated, not stored: the place, then the clear header fields (all but the epoch and the CRC). */
function associatedData(place: BatchPlace, entry: Buffer): Buffer {
  const prefix = placePrefix(place);
  const aad = Buffer.allocUnsafe(prefix.length + 8 + 1 + (SealedOffsets.nonce - SealedOffsets.version));
  let at = prefix.copy(aad, 0);
  at += entry.copy(aad, at, BatchOffsets.baseOffset, BatchOffsets.batchLength);
  at += entry.copy(aad, at, BatchOffsets.magic, BatchOffsets.magic + 1);
  entry.copy(aad, at, SealedOffsets.version, SealedOffsets.nonce);
  return aad;
}

/**
 * Random 96-bit nonces, drawn from the CSPRNG 256 at a time: one randomFillSync per batch cost about
 * as much as a third of the encryption of a 16 KiB batch. Nonces are stored in clear; each is used once.
 */
const NONCE_BYTES = SealedOffsets.ciphertext - SealedOffsets.nonce;
const nonces = Buffer.allocUnsafeSlow(NONCE_BYTES * 256);
let nextNonce = nonces.length;

function takeNonce(into: Buffer): void {
  if (nextNonce === nonces.length) {
    randomFillSync(nonces);
    nextNonce = 0;
  }
  nextNonce += nonces.copy(into, 0, nextNonce, nextNonce + NONCE_BYTES);
}

/**
 * Seals a v2 batch whose offsets are assigned: into `scratch` when it is large enough (a view of it,
 * valid until the caller reuses it), else into a new buffer; `batch` is left as it is. Synchronous,
 * as the commit step of an append must be.
 */
export function sealBatch(batch: Buffer, place: BatchPlace, dekId: number, key: KeyObject, scratch?: Buffer): Buffer {
  const plain = batch.subarray(CLEAR_PREFIX);
  const size = batch.length + SEALING_OVERHEAD;
  const entry = scratch !== undefined && scratch.length >= size ? scratch.subarray(0, size) : Buffer.allocUnsafe(size);
  batch.copy(entry, 0, 0, BatchOffsets.magic);
  entry.writeInt32BE(entry.length - LOG_OVERHEAD, BatchOffsets.batchLength);
  entry.writeInt8(SEALED_MAGIC, BatchOffsets.magic);
  entry.writeInt16BE(SEALING_VERSION, SealedOffsets.version);
  entry.writeInt32BE(batch.readInt32BE(BatchOffsets.lastOffsetDelta), SealedOffsets.lastOffsetDelta);
  entry.writeUInt32BE(dekId, SealedOffsets.dekId);
  entry.writeUInt32BE(0, SealedOffsets.reserved);
  batch.copy(entry, SealedOffsets.maxTimestamp, BatchOffsets.maxTimestamp, BatchOffsets.maxTimestamp + 8);
  const nonce = entry.subarray(SealedOffsets.nonce, SealedOffsets.ciphertext);
  takeNonce(nonce);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData(place, entry));
  let at = SealedOffsets.ciphertext;
  at += cipher.update(plain).copy(entry, at);
  at += cipher.final().copy(entry, at);
  cipher.getAuthTag().copy(entry, at);
  entry.writeUInt32BE(crc32c(entry.subarray(CRC_START)) >>> 0, BatchOffsets.crc);
  return entry;
}

/** Why a sealed entry could not be opened. */
export type UnsealFailure = { readonly kind: 'unsupported'; readonly reason: string } | { readonly kind: 'forged'; readonly reason: string };

/**
 * Opens a sealed entry: the original batch's bytes from 17 on (its CRC, attributes … records), or why
 * not. Nothing is returned before the tag is checked: a failed authentication means the entry was
 * changed or moved, and none of it may be served.
 */
export function openSealed(entry: Buffer, place: BatchPlace, key: KeyObject): Buffer | UnsealFailure {
  const version = entry.readInt16BE(SealedOffsets.version);
  if (version !== SEALING_VERSION) return { kind: 'unsupported', reason: `sealing version ${version} is not supported` };
  const tagAt = entry.length - TAG_BYTES;
  if (tagAt < SealedOffsets.ciphertext) return { kind: 'forged', reason: 'sealed entry too short' };
  const decipher = createDecipheriv('aes-256-gcm', key, entry.subarray(SealedOffsets.nonce, SealedOffsets.ciphertext), { authTagLength: TAG_BYTES });
  decipher.setAAD(associatedData(place, entry));
  decipher.setAuthTag(entry.subarray(tagAt));
  const body = decipher.update(entry.subarray(SealedOffsets.ciphertext, tagAt));
  try {
    decipher.final();
  } catch {
    body.fill(0);
    return { kind: 'forged', reason: 'the sealed batch failed authentication (changed, or copied from another partition or offset)' };
  }
  return body;
}

/**
 * Writes the original batch of a sealed entry whose `body` {@link openSealed} gave: bytes 0–16 from the
 * clear header (magic 2), then the body, at `outAt` of `out`, which may be the buffer the entry is in,
 * at or before it (every clear field is read before anything is written).
 */
export function writeOpened(entry: Buffer, body: Buffer, out: Buffer, outAt: number): number {
  const size = CLEAR_PREFIX + body.length;
  entry.copy(out, outAt, 0, BatchOffsets.magic);
  out.writeInt32BE(size - LOG_OVERHEAD, outAt + BatchOffsets.batchLength);
  out.writeInt8(2, outAt + BatchOffsets.magic);
  body.copy(out, outAt + CLEAR_PREFIX);
  return size;
}

/** The original batch of a sealed entry, in a buffer of its own; or why not. */
export function unsealBatch(entry: Buffer, place: BatchPlace, key: KeyObject): Buffer | UnsealFailure {
  const body = openSealed(entry, place, key);
  if (!Buffer.isBuffer(body)) return body;
  const out = Buffer.allocUnsafe(CLEAR_PREFIX + body.length);
  writeOpened(entry, body, out, 0);
  return out;
}
