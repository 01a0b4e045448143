import { crc32c } from '@node-rs/crc32';
import { CompressionCodec, isKnownCodec } from './compression.js';
import { recordsFault, type RecordFault, type RecordFaultKind } from './faults.js';

/**
 * Record batch v2 (magic 2) header: byte offsets of each field (Kafka's documentation,
 * kafka.apache.org/documentation/#recordbatch). All integers are big-endian.
 */
export const BatchOffsets = {
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordCount: 57,
  records: 61,
} as const;

/** Size of the v2 header; the records (or the compressed blob) start here. */
export const BATCH_HEADER_SIZE = 61;
/** baseOffset + batchLength: the bytes not counted by batchLength (Kafka's LOG_OVERHEAD). */
export const LOG_OVERHEAD = 12;
/** The CRC covers attributes..end, so baseOffset, batchLength and partitionLeaderEpoch can be rewritten. */
export const CRC_START = BatchOffsets.attributes;
export const CURRENT_MAGIC = 2;

export const BatchAttributes = {
  compressionMask: 0x07,
  logAppendTime: 0x08,
  transactional: 0x10,
  control: 0x20,
  hasDeleteHorizon: 0x40,
} as const;

export const TimestampType = { createTime: 0, logAppendTime: 1 } as const;
export type TimestampTypeId = (typeof TimestampType)[keyof typeof TimestampType];

/** Kafka's RecordBatch.NO_PRODUCER_ID: the batch is neither idempotent nor transactional. */
export const NO_PRODUCER_ID = -1n;

export interface BatchHeader {
  readonly baseOffset: bigint;
  readonly batchLength: number;
  readonly partitionLeaderEpoch: number;
  readonly magic: number;
  readonly crc: number;
  readonly attributes: number;
  readonly lastOffsetDelta: number;
  readonly baseTimestamp: bigint;
  readonly maxTimestamp: bigint;
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly recordCount: number;
  /** `attributes & 0x07`, not checked here: 5..7 are refused by {@link validateBatch}. */
  readonly compression: number;
  readonly timestampType: TimestampTypeId;
  readonly isTransactional: boolean;
  readonly isControl: boolean;
  readonly hasDeleteHorizon: boolean;
}

function corrupt(message: string, kind: RecordFaultKind = 'corrupt', offset?: number): RecordFault {
  return recordsFault('CORRUPT_RECORDS', message, kind, offset);
}

function requireHeader(batch: Buffer): void {
  if (batch.length < BATCH_HEADER_SIZE) {
    throw corrupt(`record batch of ${batch.length} bytes is shorter than the ${BATCH_HEADER_SIZE}-byte header`);
  }
}

/** Reads the v2 header fields and decodes the attribute flags. Checks only that the header is present. */
export function readBatchHeader(batch: Buffer): BatchHeader {
  requireHeader(batch);
  const attributes = batch.readInt16BE(BatchOffsets.attributes);
  return {
    baseOffset: batch.readBigInt64BE(BatchOffsets.baseOffset),
    batchLength: batch.readInt32BE(BatchOffsets.batchLength),
    partitionLeaderEpoch: batch.readInt32BE(BatchOffsets.partitionLeaderEpoch),
    magic: batch.readInt8(BatchOffsets.magic),
    crc: batch.readUInt32BE(BatchOffsets.crc),
    attributes,
    lastOffsetDelta: batch.readInt32BE(BatchOffsets.lastOffsetDelta),
    baseTimestamp: batch.readBigInt64BE(BatchOffsets.baseTimestamp),
    maxTimestamp: batch.readBigInt64BE(BatchOffsets.maxTimestamp),
    producerId: batch.readBigInt64BE(BatchOffsets.producerId),
    producerEpoch: batch.readInt16BE(BatchOffsets.producerEpoch),
    baseSequence: batch.readInt32BE(BatchOffsets.baseSequence),
    recordCount: batch.readInt32BE(BatchOffsets.recordCount),
    compression: attributes & BatchAttributes.compressionMask,
    timestampType: (attributes & BatchAttributes.logAppendTime) === 0 ? TimestampType.createTime : TimestampType.logAppendTime,
    isTransactional: (attributes & BatchAttributes.transactional) !== 0,
    isControl: (attributes & BatchAttributes.control) !== 0,
    hasDeleteHorizon: (attributes & BatchAttributes.hasDeleteHorizon) !== 0,
  };
}

/**
 * Smallest batchLength accepted when splitting: enough to reach the magic byte, which sits at offset 16
 * in every message format (v0/v1 messages have `crc, magic` where v2 has `partitionLeaderEpoch, magic`),
 * so that a legacy message set is split and then refused with UNSUPPORTED_FOR_MESSAGE_FORMAT rather than
 * as garbage. The full v2 size is checked by {@link validateBatch}.
 */
const MIN_SPLIT_LENGTH = BatchOffsets.magic + 1 - LOG_OVERHEAD;

export interface SplitOptions {
  /**
   * Drop a trailing partial batch instead of failing. Fetch responses may end with one (the broker cuts at
   * max_bytes, KIP-74); a Produce request must not, so the default is to fail.
   */
  readonly allowPartialTail?: boolean;
}

/**
 * Splits a `records` field into its batches, as views into `records` (no copies). Each batch's
 * batchLength is checked against what remains before the view is taken.
 */
export function splitBatches(records: Buffer, options: SplitOptions = {}): Buffer[] {
  const batches: Buffer[] = [];
  let at = 0;
  while (at < records.length) {
    const remaining = records.length - at;
    if (remaining < LOG_OVERHEAD) {
      if (options.allowPartialTail === true) break;
      throw corrupt(`${remaining} trailing bytes are too few for a record batch header`, 'corrupt', at);
    }
    const batchLength = records.readInt32BE(at + BatchOffsets.batchLength);
    if (batchLength < MIN_SPLIT_LENGTH) {
      throw corrupt(`record batch length ${batchLength} is below the minimum of ${MIN_SPLIT_LENGTH}`, 'corrupt', at);
    }
    if (batchLength > remaining - LOG_OVERHEAD) {
      if (options.allowPartialTail === true) break;
      throw corrupt(
        `record batch length ${batchLength} exceeds the ${remaining - LOG_OVERHEAD} bytes that remain`,
        'corrupt',
        at,
      );
    }
    const end = at + LOG_OVERHEAD + batchLength;
    batches.push(records.subarray(at, end));
    at = end;
  }
  return batches;
}

/** CRC-32C (Castagnoli) over attributes..end, as stored in the crc field (KIP-98). */
export function computeBatchCrc(batch: Buffer): number {
  requireHeader(batch);
  return crc32c(batch.subarray(CRC_START)) >>> 0;
}

/** Recomputes the CRC and writes it in place; returns it. */
export function writeBatchCrc(batch: Buffer): number {
  const crc = computeBatchCrc(batch);
  batch.writeUInt32BE(crc, BatchOffsets.crc);
  return crc;
}

export interface ValidateOptions {
  /** Default true. Only skip when the batch was verified before (e.g. read back from our own log). */
  readonly verifyCrc?: boolean;
  /**
   * The Produce version the batch came with, when it came from a client: zstd needs Produce v7+
   * (KIP-110; Kafka's ProduceRequest.validateRecords answers UNSUPPORTED_COMPRESSION_TYPE).
   */
  readonly produceVersion?: number;
  /**
   * The batch was read back from a log that compaction may have cleaned: an uncompressed batch may then
   * hold fewer records than its offset range (never more), because a cleaned v2 batch keeps its base
   * offset and lastOffsetDelta (Kafka's MemoryRecords.filterTo) so that producer sequences stay valid.
   * Default false: a client's batch must number its records 0..n−1.
   */
  readonly allowCleaned?: boolean;
}

/**
 * Validates one batch (a view from {@link splitBatches}) the way Kafka's broker does before appending
 * (ProduceRequest.validateRecords, LogValidator.validateBatch). Does not parse the records: uncompressed
 * records are checked by `readRecords`. Returns the header.
 */
export function validateBatch(batch: Buffer, options: ValidateOptions = {}): BatchHeader {
  if (batch.length <= BatchOffsets.magic) {
    throw corrupt(`record batch of ${batch.length} bytes is too short to hold a magic byte`);
  }
  const magic = batch.readInt8(BatchOffsets.magic);
  if (magic === 0 || magic === 1) {
    // Legacy message sets (magic 0 and 1): no supported client sends them once Produce v3+ is advertised,
    // and Parapet does no format conversion.
    throw corrupt(
      `message format v${magic} (magic ${magic}) is not supported: only record batch v2 (Kafka 0.11+) is accepted; ` +
        'the client must use Produce v3 or later',
      'unsupported-format',
      BatchOffsets.magic,
    );
  }
  if (magic !== CURRENT_MAGIC) {
    throw corrupt(`unknown record batch magic ${magic}`, 'corrupt', BatchOffsets.magic);
  }
  const header = readBatchHeader(batch);
  if (header.batchLength !== batch.length - LOG_OVERHEAD) {
    throw corrupt(
      `record batch length field ${header.batchLength} does not match the ${batch.length - LOG_OVERHEAD} bytes present`,
      'corrupt',
      BatchOffsets.batchLength,
    );
  }
  if (options.verifyCrc !== false) {
    const actual = computeBatchCrc(batch);
    if (actual !== header.crc) {
      throw corrupt(
        `record batch CRC mismatch: stored ${hex32(header.crc)}, computed ${hex32(actual)}`,
        'corrupt',
        BatchOffsets.crc,
      );
    }
  }
  if (!isKnownCodec(header.compression)) {
    throw recordsFault(
      'COMPRESSION_ERROR',
      `unknown compression codec ${header.compression} in the batch attributes`,
      'unsupported-compression',
      BatchOffsets.attributes,
    );
  }
  if (header.compression === CompressionCodec.zstd && options.produceVersion !== undefined && options.produceVersion < 7) {
    throw recordsFault(
      'COMPRESSION_ERROR',
      `zstd compression needs Produce v7 or later, the request is v${options.produceVersion}`,
      'unsupported-compression',
      BatchOffsets.attributes,
    );
  }
  if (header.recordCount < 0) {
    throw corrupt(`negative record count ${header.recordCount}`, 'invalid-record', BatchOffsets.recordCount);
  }
  // Uncompressed batches are written record by record, so the offset range must match the count
  // (LogValidator: "Inconsistent batch offset range and record count"). Compressed batches are checked
  // record by record after decompression, if at all: the broker stores them verbatim.
  if (options.allowCleaned === true) {
    if (header.compression === CompressionCodec.none && header.recordCount > header.lastOffsetDelta + 1) {
      throw corrupt(
        `record count ${header.recordCount} exceeds the ${header.lastOffsetDelta + 1} offsets lastOffsetDelta ${header.lastOffsetDelta} spans`,
        'invalid-record',
        BatchOffsets.lastOffsetDelta,
      );
    }
  } else if (header.compression === CompressionCodec.none && header.lastOffsetDelta !== header.recordCount - 1) {
    throw corrupt(
      `lastOffsetDelta ${header.lastOffsetDelta} does not match record count ${header.recordCount}`,
      'invalid-record',
      BatchOffsets.lastOffsetDelta,
    );
  }
  // LogValidator.validateBatch: an idempotent or transactional batch (producerId set) needs a sequence.
  // Control batches (transaction markers) carry their producer's id but no sequence (NO_SEQUENCE, −1).
  if (header.producerId >= 0n && header.baseSequence < 0 && !header.isControl) {
    throw corrupt(
      `invalid base sequence ${header.baseSequence} for producer id ${String(header.producerId)}`,
      'invalid-record',
      BatchOffsets.baseSequence,
    );
  }
  return header;
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/**
 * Sets baseOffset and partitionLeaderEpoch in place, as the leader does on append. Neither field is
 * covered by the CRC, so the CRC is deliberately not recomputed (test/unit/records/batch.test.ts: the
 * kafka-python vector keeps its CRC `c622acfa`).
 * Returns the next offset (the new log-end offset): baseOffset + lastOffsetDelta + 1.
 */
export function assignOffsets(batch: Buffer, baseOffset: bigint, leaderEpoch: number): bigint {
  requireHeader(batch);
  batch.writeBigInt64BE(baseOffset, BatchOffsets.baseOffset);
  batch.writeInt32BE(leaderEpoch, BatchOffsets.partitionLeaderEpoch);
  return baseOffset + BigInt(batch.readInt32BE(BatchOffsets.lastOffsetDelta)) + 1n;
}

/**
 * For topics with message.timestamp.type=LogAppendTime: sets the LogAppendTime attribute and
 * maxTimestamp = now, then recomputes the CRC in place because both are covered by it. Consumers use
 * maxTimestamp for every record of such a batch (KIP-32).
 */
export function applyLogAppendTime(batch: Buffer, nowMs: bigint | number): void {
  requireHeader(batch);
  const attributes = batch.readInt16BE(BatchOffsets.attributes);
  batch.writeInt16BE(attributes | BatchAttributes.logAppendTime, BatchOffsets.attributes);
  batch.writeBigInt64BE(BigInt(nowMs), BatchOffsets.maxTimestamp);
  writeBatchCrc(batch);
}
