import { BATCH_HEADER_SIZE, readBatchHeader, type BatchHeader } from '../../records/batch.js';
import { DEFAULT_READ_LIMITS } from '../../bytes/reader.js';
import { walkRecords } from '../../records/record.js';
import { MAX_CLEANABLE_BATCH_BYTES } from '../compaction/compactable-log.js';
import { CompressionCodec, codecName, decompress, decompressSync } from '../../records/compression.js';
import { RecordFault } from '../../records/faults.js';
import type { AppendValidation } from './append-validation.js';
import type { LogConfig } from './log-config.js';
import type { LogFailure } from '../outcomes.js';
import { recompressBatch, recompressBatchSync } from './recompress.js';
import { recordTimestampRange } from './record-timestamps.js';

const MIB = 1024 * 1024;

/**
 * The most a batch's records may take decompressed when the broker has to read them (timestamp bounds,
 * recompression): 32 × max.message.bytes (at least 1 MiB), at most 256 MiB; 32 MiB at the default
 * max.message.bytes. Producers cap a batch by its uncompressed size (batch.size; librdkafka's
 * batch.size and message.max.bytes), so real batches stay far below; a batch that inflates past it is
 * refused (MESSAGE_TOO_LARGE, as the project answers every decompression past a limit) before the
 * broker holds more.
 */
export function decompressedLimit(maxMessageBytes: number): number {
  return Math.min(Math.max(maxMessageBytes, MIB) * 32, 256 * MIB);
}

/** The codec the topic stores batches in, or null to keep the producer's (compression.type=producer). */
function targetCodec(config: LogConfig, codec: number): number | null {
  const target = config.compression;
  return target === undefined || target === codec ? null : target;
}

/** Whether the topic's timestamp bounds could refuse anything (CreateTime with a finite bound). */
function boundsApply(config: LogConfig): boolean {
  const b = config.timestampBounds;
  return !config.logAppendTime && b !== undefined && (Number.isFinite(b.beforeMs) || Number.isFinite(b.afterMs));
}

/** gzip and zstd run on the libuv pool (zstd has no sync form here); none, snappy and lz4 are fast enough inline. */
const offLoop = (codec: number) => codec === CompressionCodec.gzip || codec === CompressionCodec.zstd;

/** The refusal of a batch with a record outside the topic's timestamp bounds, or null. */
function timestampRefusal(records: Buffer, header: BatchHeader, config: LogConfig, nowMs: number): LogFailure | null {
  const { beforeMs, afterMs } = config.timestampBounds ?? { beforeMs: Infinity, afterMs: Infinity };
  // Kafka skips records without a timestamp (−1, RecordBatch.NO_TIMESTAMP): the range leaves them out.
  const range = recordTimestampRange(records, header.recordCount, header.baseTimestamp);
  if (range === null) return null;
  const now = BigInt(nowMs);
  const earliest = Number.isFinite(beforeMs) ? now - BigInt(beforeMs) : null;
  const latest = Number.isFinite(afterMs) ? now + BigInt(afterMs) : null;
  const offender = earliest !== null && range.min < earliest ? range.min : latest !== null && range.max > latest ? range.max : null;
  if (offender === null) return null;
  const shown = (ms: number) => (ms === Infinity ? 'unlimited' : String(ms));
  return {
    kind: 'invalid-timestamp',
    message:
      `timestamp ${offender} is out of range: the topic accepts record timestamps within [${earliest ?? 'any'}, ${latest ?? 'any'}] ` +
      `(message.timestamp.before.max.ms=${shown(beforeMs)}, message.timestamp.after.max.ms=${shown(afterMs)}, broker clock ${nowMs})`,
  };
}

/** The recompressed batch, if it still fits max.message.bytes (Kafka checks the rewritten batch too). */
function recompressed(batch: Buffer, codec: number, config: LogConfig): AppendValidation {
  if (batch.length > config.maxMessageBytes) {
    return {
      kind: 'too-large',
      message: `record batch of ${batch.length} bytes once recompressed to the topic's ${codecName(codec)} (compression.type) is larger than max.message.bytes (${config.maxMessageBytes})`,
    };
  }
  return { kind: 'valid', batch, header: readBatchHeader(batch) };
}

/** Compaction keeps the newest record of each key: a record without one has no place (Kafka refuses it too). */
function keylessRefusal(records: Buffer, header: BatchHeader): LogFailure | null {
  let keyless = -1;
  walkRecords(header, records, DEFAULT_READ_LIMITS, (span) => {
    if (keyless < 0 && span.key === null) keyless = span.index;
  });
  return keyless < 0 ? null : { kind: 'invalid-record', message: `a compacted topic cannot accept a record without a key (record ${keyless} of the batch)` };
}

/** The rules that read the records, in order: the first refusal, or null. */
function recordsRefusal(records: Buffer, header: BatchHeader, config: LogConfig, nowMs: number): LogFailure | null {
  const late = boundsApply(config) ? timestampRefusal(records, header, config, nowMs) : null;
  return late ?? (config.compaction === undefined ? null : keylessRefusal(records, header));
}

function refusalOf(err: unknown): LogFailure {
  if (err instanceof RecordFault) return { kind: err.kind, message: err.message };
  throw err;
}

/**
 * The topic's rules on what a valid batch holds, applied right after validation (Kafka's LogValidator):
 *
 * - message.timestamp.before.max.ms / after.max.ms (KIP-937) on CreateTime topics: a record whose
 *   timestamp is further before or after the broker's clock than allowed refuses the whole batch
 *   (INVALID_TIMESTAMP), each record checked, not the producer's maxTimestamp;
 * - compression.type other than `producer`: a batch in another codec is recompressed to the topic's,
 *   and must still fit max.message.bytes afterwards;
 * - cleanup.policy with `compact`: every record has a key (INVALID_RECORD), and the batch decompresses
 *   to at most MAX_CLEANABLE_BATCH_BYTES, what the cleaner reads.
 *
 * Reading the records costs a decompression, so it happens only when a rule needs it. Synchronous
 * (no await before the commit, as an append without a transform always was) unless gzip or zstd has
 * to run, which goes to the libuv pool.
 */
export function applyTopicRules(validation: AppendValidation, config: LogConfig, nowMs: number): AppendValidation | Promise<AppendValidation> {
  if (validation.kind !== 'valid') return validation;
  const { batch, header } = validation;
  const codec = targetCodec(config, header.compression);
  if (codec === null && !boundsApply(config) && config.compaction === undefined) return validation;
  const limit = config.compaction === undefined ? decompressedLimit(config.maxMessageBytes) : Math.min(decompressedLimit(config.maxMessageBytes), MAX_CLEANABLE_BATCH_BYTES);
  const payload = batch.subarray(BATCH_HEADER_SIZE);
  if (offLoop(header.compression) || (codec !== null && offLoop(codec))) {
    return (async () => {
      try {
        const records = await decompress(header.compression, payload, limit);
        const refused = recordsRefusal(records, header, config, nowMs);
        if (refused !== null) return refused;
        return codec === null ? validation : recompressed(await recompressBatch(batch, records, codec), codec, config);
      } catch (err) {
        return refusalOf(err);
      }
    })();
  }
  try {
    const records = decompressSync(header.compression, payload, limit);
    const refused = recordsRefusal(records, header, config, nowMs);
    if (refused !== null) return refused;
    return codec === null ? validation : recompressed(recompressBatchSync(batch, records, codec), codec, config);
  } catch (err) {
    return refusalOf(err);
  }
}
