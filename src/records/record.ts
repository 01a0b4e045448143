import { ParapetError } from '../errors.js';
import { DEFAULT_READ_LIMITS, type ReadLimits } from '../bytes/reader.js';
import { Writer } from '../bytes/writer.js';
import {
  BATCH_HEADER_SIZE,
  BatchAttributes,
  CURRENT_MAGIC,
  NO_PRODUCER_ID,
  TimestampType,
  validateBatch,
  writeBatchCrc,
  type BatchHeader,
} from './batch.js';
import { CompressionCodec, compress, compressSync, decompress, decompressSync, type CompressionCodecId } from './compression.js';
import { FaultReader } from './faults.js';

/**
 * Records inside a v2 batch (kafka.apache.org/documentation/#record):
 * `varint length, int8 attributes, varlong timestampDelta, varint offsetDelta,
 * varint keyLength (−1 = null), key, varint valueLength (−1 = null), value, varint headerCount,
 * headers {varint keyLength, key, varint valueLength (−1 = null), value}`.
 */

export interface RecordHeader {
  readonly key: string;
  readonly value: Buffer | null;
}

export interface BatchRecord {
  /** baseOffset + offsetDelta. */
  readonly offset: bigint;
  /** baseTimestamp + timestampDelta, or the batch's maxTimestamp under LogAppendTime. */
  readonly timestamp: bigint;
  readonly attributes: number;
  readonly offsetDelta: number;
  readonly timestampDelta: bigint;
  /** Views into the batch (uncompressed) or into the decompressed payload; null when the length is −1. */
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly RecordHeader[];
}

export interface ReadRecordsOptions {
  /** Largest decompressed payload accepted; defaults to `limits.maxBytesLength`. */
  readonly maxBytes?: number;
  /** Length limits for the record fields; defaults to {@link DEFAULT_READ_LIMITS}. */
  readonly limits?: ReadLimits;
  /** Default true; the batch is always checked for magic and length. */
  readonly verifyCrc?: boolean;
  /** The batch comes from a log compaction may have cleaned (see ValidateOptions.allowCleaned); default false. */
  readonly allowCleaned?: boolean;
}

/**
 * Fewest bytes one record can take: length, attributes, timestampDelta, offsetDelta, keyLength,
 * valueLength and headerCount, one byte each. Bounds the record count by what remains.
 */
const MIN_RECORD_SIZE = 7;
/** Fewest bytes one header can take: keyLength and valueLength. */
const MIN_HEADER_SIZE = 2;

/** Record-level faults are `invalid-record`, as Kafka's are InvalidRecordException (KIP-467). */
function recordReader(buf: Buffer, limits: ReadLimits): FaultReader {
  return new FaultReader(buf, 'CORRUPT_RECORDS', 'invalid-record', limits);
}

function nullableView(r: FaultReader, what: string): Buffer | null {
  const len = r.varint();
  return len === -1 ? null : r.view(len, what);
}

/**
 * One record's place in an uncompressed payload and its fields (views into the payload). The log
 * cleaner copies the bytes `[start, end)` verbatim into a filtered batch: they hold the record's length
 * varint and body, whose offset and timestamp deltas stay valid while the batch keeps its base offset
 * and base timestamp.
 */
export interface RecordSpan {
  readonly index: number;
  /** Where the record's length varint starts in the payload. */
  readonly start: number;
  /** Where the record ends (exclusive). */
  readonly end: number;
  readonly attributes: number;
  readonly timestampDelta: bigint;
  readonly offsetDelta: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

const NO_HEADERS: readonly RecordHeader[] = Object.freeze([]);

/**
 * Parses every record of an uncompressed payload with the checks of {@link decodeRecords}; header
 * keys are decoded only when `withHeaders` (their lengths are always checked). `visit` runs after each
 * record is fully parsed, so what it throws is passed on untouched.
 */
function eachRecord(
  header: BatchHeader,
  payload: Buffer,
  limits: ReadLimits,
  withHeaders: boolean,
  visit: (span: RecordSpan, headers: readonly RecordHeader[]) => void,
): void {
  const r = recordReader(payload, limits);
  const count = r.checkLength(header.recordCount, limits.maxArrayLength, 'record count', MIN_RECORD_SIZE);
  for (let i = 0; i < count; i++) {
    const recordStart = r.offset;
    const length = r.varint();
    const start = r.offset;
    const body = r.view(length, 'record');
    const rr = recordReader(body, limits);
    let span: RecordSpan;
    let headers: readonly RecordHeader[] = NO_HEADERS;
    try {
      const attributes = rr.int8();
      const timestampDelta = rr.varlong();
      const offsetDelta = rr.varint();
      const key = nullableView(rr, 'record key');
      const value = nullableView(rr, 'record value');
      const headerCount = rr.checkLength(rr.varint(), limits.maxArrayLength, 'record header count', MIN_HEADER_SIZE);
      const decoded: RecordHeader[] = [];
      for (let h = 0; h < headerCount; h++) {
        const keyLength = rr.varint();
        const headerKey = rr.view(keyLength, 'record header key');
        const headerValue = nullableView(rr, 'record header value');
        if (withHeaders) decoded.push({ key: headerKey.toString('utf8'), value: headerValue });
      }
      if (rr.remaining !== 0) {
        rr.fail(`record ${i} declares ${length} bytes but its fields take ${length - rr.remaining}`);
      }
      if (withHeaders) headers = decoded;
      span = { index: i, start: recordStart, end: r.offset, attributes, timestampDelta, offsetDelta, key, value };
    } catch (err) {
      // Report where the record starts in the payload and that its declared length is what lied.
      if (err instanceof ParapetError && err.context.offset !== undefined) {
        err.context.offset += start;
        err.context.field = `records[${i}]`;
      }
      throw err;
    }
    visit(span, headers);
  }
  if (r.remaining !== 0) r.fail(`${r.remaining} bytes remain after the ${count} records the batch declares`);
}

/**
 * Decodes the records of a batch whose payload is already uncompressed. Each record's declared length
 * must equal what its fields take, exactly `recordCount` records must fill the payload, and every
 * length and count is bounded by what remains.
 */
export function decodeRecords(header: BatchHeader, payload: Buffer, limits: ReadLimits = DEFAULT_READ_LIMITS): BatchRecord[] {
  const logAppendTime = header.timestampType === TimestampType.logAppendTime;
  const records: BatchRecord[] = [];
  eachRecord(header, payload, limits, true, (span, headers) => {
    records.push({
      offset: header.baseOffset + BigInt(span.offsetDelta),
      timestamp: logAppendTime ? header.maxTimestamp : header.baseTimestamp + span.timestampDelta,
      attributes: span.attributes,
      offsetDelta: span.offsetDelta,
      timestampDelta: span.timestampDelta,
      key: span.key,
      value: span.value,
      headers,
    });
  });
  return records;
}

/**
 * Walks the records of an uncompressed payload with the same checks as {@link decodeRecords}, giving each
 * record's byte range and fields without building header objects (the log cleaner's reader).
 */
export function walkRecords(header: BatchHeader, payload: Buffer, limits: ReadLimits, visit: (span: RecordSpan) => void): void {
  eachRecord(header, payload, limits, false, visit);
}

function payloadOf(batch: Buffer): Buffer {
  return batch.subarray(BATCH_HEADER_SIZE);
}

/** Validates the batch (CRC unless disabled), decompresses its payload and decodes its records. */
export async function readRecords(batch: Buffer, options: ReadRecordsOptions = {}): Promise<BatchRecord[]> {
  const limits = options.limits ?? DEFAULT_READ_LIMITS;
  const header = validateBatch(batch, { verifyCrc: options.verifyCrc ?? true, allowCleaned: options.allowCleaned === true });
  const payload = await decompress(header.compression, payloadOf(batch), options.maxBytes ?? limits.maxBytesLength);
  return decodeRecords(header, payload, limits);
}

/** {@link readRecords} for every codec but zstd, which fails with a COMPRESSION_ERROR (async only). */
export function readRecordsSync(batch: Buffer, options: ReadRecordsOptions = {}): BatchRecord[] {
  const limits = options.limits ?? DEFAULT_READ_LIMITS;
  const header = validateBatch(batch, { verifyCrc: options.verifyCrc ?? true, allowCleaned: options.allowCleaned === true });
  const payload = decompressSync(header.compression, payloadOf(batch), options.maxBytes ?? limits.maxBytesLength);
  return decodeRecords(header, payload, limits);
}

// ---- building -------------------------------------------------------------------------------------

export interface HeaderInput {
  readonly key: string;
  readonly value?: Buffer | string | null;
}

export interface RecordInput {
  readonly key?: Buffer | string | null;
  readonly value?: Buffer | string | null;
  readonly headers?: readonly HeaderInput[];
  /** Milliseconds since the epoch; defaults to the batch's base timestamp. */
  readonly timestamp?: bigint | number;
}

export interface BuildBatchOptions {
  readonly records: readonly RecordInput[];
  readonly compression?: CompressionCodecId;
  readonly baseOffset?: bigint;
  /** Producers send −1 (Java) or 0 (kafka-python); the leader overwrites it. Default −1. */
  readonly partitionLeaderEpoch?: number;
  /** Defaults to the smallest record timestamp, else `now()`. */
  readonly baseTimestamp?: bigint | number;
  readonly producerId?: bigint;
  readonly producerEpoch?: number;
  readonly baseSequence?: number;
  readonly transactional?: boolean;
  readonly control?: boolean;
  readonly logAppendTime?: boolean;
  /** Clock for records without a timestamp (injectable for tests); default `Date.now`. */
  readonly now?: () => number;
}

function bytesOf(v: Buffer | string | null | undefined): Buffer | null {
  if (v === undefined || v === null) return null;
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

function writeNullable(w: Writer, v: Buffer | null): void {
  if (v === null) w.varint(-1);
  else w.varint(v.length).raw(v);
}

interface EncodedRecords {
  readonly records: Buffer;
  readonly count: number;
  readonly baseTimestamp: bigint;
  readonly maxTimestamp: bigint;
}

function encodeRecords(options: BuildBatchOptions): EncodedRecords {
  const explicit = options.records.flatMap((rec) => (rec.timestamp === undefined ? [] : [BigInt(rec.timestamp)]));
  let baseTimestamp: bigint;
  if (options.baseTimestamp !== undefined) baseTimestamp = BigInt(options.baseTimestamp);
  else if (explicit.length > 0) baseTimestamp = explicit.reduce((a, b) => (b < a ? b : a));
  else baseTimestamp = BigInt((options.now ?? Date.now)());
  let maxTimestamp = baseTimestamp;
  const w = new Writer();
  options.records.forEach((rec, i) => {
    const timestamp = rec.timestamp === undefined ? baseTimestamp : BigInt(rec.timestamp);
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    const body = new Writer();
    body.int8(0).varlong(timestamp - baseTimestamp).varint(i);
    writeNullable(body, bytesOf(rec.key));
    writeNullable(body, bytesOf(rec.value));
    const headers = rec.headers ?? [];
    body.varint(headers.length);
    for (const h of headers) {
      const key = Buffer.from(h.key, 'utf8');
      body.varint(key.length).raw(key);
      writeNullable(body, bytesOf(h.value));
    }
    w.varint(body.length).append(body);
  });
  return { records: w.toBuffer(), count: options.records.length, baseTimestamp, maxTimestamp };
}

function assemble(options: BuildBatchOptions, encoded: EncodedRecords, payload: Buffer): Buffer {
  const codec = options.compression ?? CompressionCodec.none;
  let attributes: number = codec;
  if (options.logAppendTime === true) attributes |= BatchAttributes.logAppendTime;
  if (options.transactional === true) attributes |= BatchAttributes.transactional;
  if (options.control === true) attributes |= BatchAttributes.control;
  const header = new Writer(BATCH_HEADER_SIZE)
    .int64(options.baseOffset ?? 0n)
    .int32(BATCH_HEADER_SIZE - 12 + payload.length)
    .int32(options.partitionLeaderEpoch ?? -1)
    .int8(CURRENT_MAGIC)
    .uint32(0) // CRC, written below once the bytes it covers are in place
    .int16(attributes)
    .int32(encoded.count - 1)
    .int64(encoded.baseTimestamp)
    .int64(encoded.maxTimestamp)
    .int64(options.producerId ?? NO_PRODUCER_ID)
    .int16(options.producerEpoch ?? -1)
    .int32(options.baseSequence ?? -1)
    .int32(encoded.count)
    .toBuffer();
  const batch = Buffer.concat([header, payload], header.length + payload.length);
  writeBatchCrc(batch);
  return batch;
}

/**
 * Builds a valid v2 batch with a correct CRC. Offset deltas are 0..n−1; timestamps are relative to
 * the base timestamp. Async because zstd is (see compression.ts).
 */
export async function buildBatch(options: BuildBatchOptions): Promise<Buffer> {
  const encoded = encodeRecords(options);
  const payload = await compress(options.compression ?? CompressionCodec.none, encoded.records);
  return assemble(options, encoded, payload);
}

/** {@link buildBatch} for every codec but zstd. */
export function buildBatchSync(options: BuildBatchOptions): Buffer {
  const encoded = encodeRecords(options);
  const payload = compressSync(options.compression ?? CompressionCodec.none, encoded.records);
  return assemble(options, encoded, payload);
}
