import { isFault, ParapetError } from '../errors.js';
import type { Logger } from '../logger.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { failedProducePartition } from '../protocol/error-responses.js';
import { Produce, type ProduceResponse } from '../protocol/messages/produce.js';
import { applyLogAppendTime, splitBatches, validateBatch } from '../protocol/records/batch.js';
import { handler, type HandlerEntry } from '../server/handler.js';
import { ioErrorCode } from '../storage/log/io-faults.js';
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

const failed = (index: number, errorCode: number, errorMessage: string): PartitionResponse => failedProducePartition(index, errorCode, errorMessage);

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
        const found = deps.logs.lookup(topic.name, p.index);
        if (found.kind === 'unknown') return failed(p.index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic or partition ${topic.name}-${p.index}`);
        // Its log could not be opened (out of descriptors): retriable, and only this partition fails.
        if (found.kind === 'unavailable') return failed(p.index, ErrorCode.KAFKA_STORAGE_ERROR, `the partition's log cannot be opened now (${found.reason})`);
        const result = appendOne(deps, found.log, p.index, p.records, version);
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
    // Transactions need a transaction coordinator and commit/abort markers, which this broker does not
    // have: InitProducerId refuses transactional ids, so only a client that skipped it sends such a
    // batch. INVALID_TXN_STATE is what Kafka itself answers for a transactional batch outside an
    // ongoing transaction (UnifiedLog: "Record was not part of an ongoing transaction", KIP-890);
    // TRANSACTIONAL_ID_AUTHORIZATION_FAILED (Redpanda's choice with transactions disabled) would send
    // users after ACLs and show up as an authorization denial. Produce v8+ carries the message.
    if (header.isTransactional) {
      return failed(index, ErrorCode.INVALID_TXN_STATE, 'transactions are not supported by this broker: transactional batches are refused (use an idempotent producer without transactional.id)');
    }
    // Idempotence: checked and appended in this synchronous step, so no other append comes in between.
    if (header.producerId >= 0n) {
      const check = log.checkProducer(header);
      if (check.kind === 'refused') return failed(index, check.errorCode, check.message);
      if (check.kind === 'duplicate') {
        deps.logger.debug(
          { partition: `${log.id.topic}-${index}`, producerId: String(header.producerId), baseSequence: header.baseSequence, baseOffset: String(check.original.baseOffset) },
          'duplicate batch answered with the offset it was appended at',
        );
        return duplicateOf(index, log, check.original, config.logAppendTime);
      }
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
    // Anything else came from the file system (ENOSPC, EIO, EMFILE): nothing was appended; other
    // partitions go on. KAFKA_STORAGE_ERROR is retriable for clients (Java's KafkaStorageException is
    // an InvalidMetadataException; KafkaJS and librdkafka retry it). The log manager has logged file
    // system errors, once per interval (io-faults.ts); anything else is logged here.
    if (ioErrorCode(err) === undefined) deps.logger.error({ partition: `${log.id.topic}-${index}`, err: describe(err) }, 'append failed');
    return failed(index, ErrorCode.KAFKA_STORAGE_ERROR, `the broker could not write the batch (${errnoCode(err)})`);
  }
}

/**
 * A retried batch that was appended before: answered as a success with the original's offsets and not
 * written again, as Kafka does (UnifiedLog.analyzeAndValidateProducerState returns the duplicate's
 * metadata rather than DUPLICATE_SEQUENCE_NUMBER); the client takes it as the delivery report. With
 * acks=all the answer still waits for an fsync round, which covers the original.
 */
function duplicateOf(index: number, log: PartitionLog, original: { baseOffset: bigint; timestamp: number }, logAppendTime: boolean): PartitionResponse {
  return {
    index,
    errorCode: ErrorCode.NONE,
    baseOffset: original.baseOffset,
    logAppendTimeMs: logAppendTime ? BigInt(original.timestamp) : -1n,
    logStartOffset: log.logStartOffset,
    recordErrors: [],
    errorMessage: null,
  };
}

function errnoCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'I/O error';
}

function describe(err: unknown): string {
  return err instanceof Error ? `${errnoCode(err)}: ${err.message}` : String(err);
}
