import { ParapetError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { failedProducePartition } from '../../protocol/error-responses.js';
import { Produce, type ProduceResponse } from '../../protocol/messages/produce.js';
import { handler, type HandlerEntry } from '../../server/handler.js';
import type { AppendOutcome, LogStore } from '../../storage/log-store.js';
import { storageErrorCode } from '../../topics/storage-errors.js';

type PartitionResponse = ProduceResponse['responses'][number]['partitionResponses'][number];

export interface ProduceDeps {
  readonly logs: LogStore;
  readonly logger: Logger;
}

/** The lowest Produce version whose requests are served: v3 introduced record batches v2. */
const MIN_SERVED_PRODUCE_VERSION = 3;

const failed = (index: number, errorCode: number, errorMessage: string): PartitionResponse => failedProducePartition(index, errorCode, errorMessage);

/**
 * Produce: hands each partition's records to the log (which validates them: exactly one v2 batch, CRC,
 * size) and answers with what became of them. acks=1 is answered after the write (page cache),
 * acks=-1 after a group-committed fsync, acks=0 not at all; a failed acks=0 produce closes the
 * connection, the only way left to tell the client.
 */
export function produceHandler(deps: ProduceDeps): HandlerEntry {
  return handler(Produce, async (body, ctx) => {
    const version = ctx.header.apiVersion;
    const acks = body.acks;
    const appended: PartitionResponse[] = [];
    // One partition after the other, in the request's order: appends to a partition land in the order
    // its producer sent them, and without a record transform each is committed with nothing awaited.
    const responses: ProduceResponse['responses'] = [];
    for (const topic of body.topicData) {
      const partitionResponses: PartitionResponse[] = [];
      for (const p of topic.partitionData) {
        const result = await produceOne(deps, topic.name, p.index, p.records, acks, version);
        if (result.errorCode === ErrorCode.NONE) appended.push(result);
        partitionResponses.push(result);
      }
      responses.push({ name: topic.name, partitionResponses });
    }

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
    // Batches are written to the log before the handler returns and never kept: the frame can be reused.
  }, { releasesFrame: true });
}

/**
 * One partition's append. The log validates the batch and refuses what it must not take; the zstd
 * rule depends on the request (KIP-110), so the Produce version goes with it.
 */
async function produceOne(deps: ProduceDeps, topic: string, index: number, records: Buffer | null, acks: number, version: number): Promise<PartitionResponse> {
  if (acks !== 0 && acks !== 1 && acks !== -1) return failed(index, ErrorCode.INVALID_REQUIRED_ACKS, `acks must be -1, 0 or 1, not ${acks}`);
  // v0–2 are advertised only because librdkafka enables compression when Produce v0 is (KAFKA-18659,
  // docs/protocol.md "What is supported"); they carry legacy message sets, which are not stored.
  // Kafka 4 refuses them too.
  if (version < MIN_SERVED_PRODUCE_VERSION) {
    return failed(index, ErrorCode.UNSUPPORTED_VERSION, `Produce v${version} is not served; use v${MIN_SERVED_PRODUCE_VERSION} or later`);
  }
  try {
    return answer(index, await deps.logs.append(topic, index, records, { produceVersion: version }));
  } catch (err) {
    // No storage outcome: a bug. Nothing was appended, other partitions go on, the client may retry.
    deps.logger.error({ partition: `${topic}-${index}`, err: describe(err) }, 'append failed');
    return failed(index, ErrorCode.KAFKA_STORAGE_ERROR, `the broker could not write the batch (${errnoCode(err)})`);
  }
}

/**
 * The partition's answer. A duplicate (a retried batch that was appended before) is a success with the
 * original's offsets, which the client takes as the delivery report; with acks=all it still waits for
 * an fsync round, which covers the original.
 */
function answer(index: number, outcome: AppendOutcome): PartitionResponse {
  if (outcome.kind !== 'appended' && outcome.kind !== 'duplicate') return failed(index, storageErrorCode(outcome.kind), outcome.message);
  return {
    index,
    errorCode: ErrorCode.NONE,
    baseOffset: outcome.baseOffset,
    logAppendTimeMs: outcome.appendTime === null ? -1n : BigInt(outcome.appendTime),
    logStartOffset: outcome.logStartOffset,
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
