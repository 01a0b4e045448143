import { isFault, ParapetError } from '../errors.js';
import type { Logger } from '../logger.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { Produce, type ProduceResponse } from '../protocol/messages/produce.js';
import { applyLogAppendTime, splitBatches, validateBatch } from '../protocol/records/batch.js';
import { handler, type HandlerEntry } from '../server/dispatcher.js';
import type { LogManager } from '../storage/log/log-manager.js';
import type { PartitionLog } from '../storage/log/partition-log.js';
import type { TopicAdmin } from './topic-admin.js';

type PartitionResponse = ProduceResponse['responses'][number]['partitionResponses'][number];

export interface ProduceDeps {
  readonly topics: TopicAdmin;
  readonly logs: LogManager;
  readonly logger: Logger;
  readonly clock: () => number;
}

/** The lowest Produce version whose requests are served: v3 introduced record batches v2. */
const MIN_SERVED_PRODUCE_VERSION = 3;

const failed = (index: number, errorCode: number, errorMessage: string): PartitionResponse => ({
  index,
  errorCode,
  baseOffset: -1n,
  logAppendTimeMs: -1n,
  logStartOffset: -1n,
  recordErrors: [],
  errorMessage,
});

/**
 * Produce: validates each partition's batch (exactly one v2 batch, CRC, size) and appends it.
 * acks=1 is answered after the write (page cache), acks=-1 after a group-committed fsync, acks=0 not
 * at all; a failed acks=0 produce closes the connection, the only way left to tell the client.
 */
export function produceHandler(deps: ProduceDeps): HandlerEntry {
  return handler(Produce, async (body, ctx) => {
    const version = ctx.header.apiVersion;
    const acks = body.acks;
    const appended: PartitionResponse[] = [];
    const responses = body.topicData.map((topic) => ({
      name: topic.name,
      partitionResponses: topic.partitionData.map((p): PartitionResponse => {
        if (acks !== 0 && acks !== 1 && acks !== -1) return failed(p.index, ErrorCode.INVALID_REQUIRED_ACKS, `acks must be -1, 0 or 1, not ${acks}`);
        // v0–2 are advertised only because librdkafka enables compression when Produce v0 is (notes §1,
        // KAFKA-18659); they carry legacy message sets, which are not stored. Kafka 4 refuses them too.
        if (version < MIN_SERVED_PRODUCE_VERSION) {
          return failed(p.index, ErrorCode.UNSUPPORTED_VERSION, `Produce v${version} is not served; use v${MIN_SERVED_PRODUCE_VERSION} or later`);
        }
        const log = deps.logs.get(topic.name, p.index);
        if (log === undefined) return failed(p.index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic or partition ${topic.name}-${p.index}`);
        const result = appendOne(deps, log, p.index, p.records, version);
        if (result.errorCode === ErrorCode.NONE) appended.push(result);
        return result;
      }),
    }));

    if (acks === -1 && appended.length > 0) {
      // The appends are done, in order: the connection may start the next request, whose appends then
      // share this fsync round (group commit across one producer's pipelined requests).
      ctx.release();
      try {
        await deps.logs.sync();
      } catch (err) {
        deps.logger.error({ err: describe(err) }, 'fsync failed: acks=all produce answered with KAFKA_STORAGE_ERROR');
        for (const r of appended) Object.assign(r, failed(r.index, ErrorCode.KAFKA_STORAGE_ERROR, 'the data could not be made durable (fsync failed)'));
      }
    }
    if (acks === 0) {
      const failure = responses.flatMap((t) => t.partitionResponses.map((p) => ({ topic: t.name, ...p }))).find((p) => p.errorCode !== ErrorCode.NONE);
      if (failure !== undefined) {
        throw new ParapetError('PRODUCE_REJECTED', `acks=0 produce to ${failure.topic}-${failure.index} failed: ${failure.errorMessage ?? ''}`, {
          api: 'Produce',
          version,
          kafkaErrorCode: failure.errorCode,
        });
      }
      return null;
    }
    return { responses, throttleTimeMs: 0 };
    // Batches are written to the log synchronously and never kept: the frame can be reused.
  }, { releasesFrame: true });
}

function appendOne(deps: ProduceDeps, log: PartitionLog, index: number, records: Buffer | null, version: number): PartitionResponse {
  const config = deps.topics.config(log.id.topic);
  let batch: Buffer;
  try {
    const batches = records === null ? [] : splitBatches(records);
    // Produce v3+ carries exactly one batch per partition (Kafka's ProduceRequest.validateRecords).
    if (batches.length !== 1) return failed(index, ErrorCode.INVALID_RECORD, `a produce request must carry exactly one record batch per partition (found ${batches.length})`);
    batch = batches[0] as Buffer;
    if (batch.length > config.maxMessageBytes) {
      return failed(index, ErrorCode.MESSAGE_TOO_LARGE, `record batch of ${batch.length} bytes is larger than max.message.bytes (${config.maxMessageBytes})`);
    }
    const header = validateBatch(batch, { produceVersion: version });
    // Producers number records 0..n−1 in every batch, compressed or not. The log trusts lastOffsetDelta
    // to advance offsets, so a batch claiming another range (or no records) is refused, not stored.
    // Control records (transaction markers) are written by the broker only (Kafka's LogValidator):
    // consumers skip them, so a forged one would hide offsets from them.
    if (header.isControl) return failed(index, ErrorCode.INVALID_RECORD, 'clients may not write control batches');
    if (header.recordCount < 1 || header.lastOffsetDelta !== header.recordCount - 1) {
      return failed(index, ErrorCode.INVALID_RECORD, `batch of ${header.recordCount} records claims lastOffsetDelta ${header.lastOffsetDelta}`);
    }
    const now = deps.clock();
    if (config.logAppendTime) applyLogAppendTime(batch, now);
    const maxTimestamp = config.logAppendTime ? now : Number(header.maxTimestamp);
    const baseOffset = deps.logs.append(log, { bytes: batch, lastOffsetDelta: header.lastOffsetDelta, maxTimestamp });
    return {
      index,
      errorCode: ErrorCode.NONE,
      baseOffset,
      logAppendTimeMs: config.logAppendTime ? BigInt(now) : -1n,
      logStartOffset: log.logStartOffset,
      recordErrors: [],
      errorMessage: null,
    };
  } catch (err) {
    if (isFault(err) && err.context.kafkaErrorCode !== undefined) return failed(index, err.context.kafkaErrorCode, err.message);
    // Anything else came from the file system (ENOSPC, EIO): nothing was appended; other partitions go on.
    deps.logger.error({ partition: `${log.id.topic}-${index}`, err: describe(err) }, 'append failed');
    return failed(index, ErrorCode.KAFKA_STORAGE_ERROR, `the broker could not write the batch (${errnoCode(err)})`);
  }
}

function errnoCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'I/O error';
}

function describe(err: unknown): string {
  return err instanceof Error ? `${errnoCode(err)}: ${err.message}` : String(err);
}
