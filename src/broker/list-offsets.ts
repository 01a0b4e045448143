import { ErrorCode } from '../protocol/error-codes.js';
import { ListOffsets, type ListOffsetsResponse } from '../protocol/messages/list-offsets.js';
import { handler, type HandlerEntry } from '../server/handler.js';
import { ioErrorCode } from '../storage/log/io-faults.js';
import type { LogManager } from '../storage/log/log-manager.js';
import { LEADER_EPOCH, type PartitionLog } from '../storage/log/partition-log.js';
import { storageErrorCode } from './storage-errors.js';

type PartitionResponse = ListOffsetsResponse['topics'][number]['partitions'][number];

/** The special timestamps of ListOffsets (KIP-79, KIP-734). */
export const OffsetSpec = { LATEST: -1n, EARLIEST: -2n, MAX_TIMESTAMP: -3n } as const;

/**
 * ListOffsets: earliest (log start), latest (log end = high watermark = last stable offset, as there
 * are no transactions), max timestamp, or the first record at or after a timestamp (offset −1 when
 * every record is older).
 */
export function listOffsetsHandler(logs: LogManager): HandlerEntry {
  return handler(ListOffsets, async (body) => ({
    throttleTimeMs: 0,
    topics: await Promise.all(
      body.topics.map(async (topic) => ({
        name: topic.name,
        partitions: await Promise.all(
          topic.partitions.map(async (p): Promise<PartitionResponse> => {
            const opened = logs.lookup(topic.name, p.partitionIndex);
            if (opened.kind !== 'log') return answer(p.partitionIndex, storageErrorCode(opened.kind), null);
            if ((p.currentLeaderEpoch ?? -1) > LEADER_EPOCH) return answer(p.partitionIndex, ErrorCode.UNKNOWN_LEADER_EPOCH, null);
            let found: Awaited<ReturnType<typeof lookup>>;
            try {
              found = await lookup(opened.log, p.timestamp);
            } catch (err) {
              // A segment reopened into EMFILE (or a read error): retriable, this partition only.
              if (ioErrorCode(err) === undefined) throw err;
              logs.reportIoError(err, 'list offsets', `${topic.name}-${p.partitionIndex}`);
              return answer(p.partitionIndex, storageErrorCode('unavailable'), null);
            }
            if (found === 'unsupported') return answer(p.partitionIndex, ErrorCode.INVALID_REQUEST, null);
            return answer(p.partitionIndex, ErrorCode.NONE, found ?? { offset: -1n, timestamp: -1n });
          }),
        ),
      })),
    ),
  }));
}

async function lookup(log: PartitionLog, timestamp: bigint): Promise<{ offset: bigint; timestamp: bigint } | null | 'unsupported'> {
  if (timestamp === OffsetSpec.LATEST) return { offset: log.logEndOffset, timestamp: -1n };
  if (timestamp === OffsetSpec.EARLIEST) return { offset: log.logStartOffset, timestamp: -1n };
  if (timestamp === OffsetSpec.MAX_TIMESTAMP) return log.offsetOfMaxTimestamp();
  if (timestamp < 0n) return 'unsupported';
  return log.offsetForTimestamp(Number(timestamp));
}

function answer(partitionIndex: number, errorCode: number, found: { offset: bigint; timestamp: bigint } | null): PartitionResponse {
  const offset = found?.offset ?? -1n;
  return {
    partitionIndex,
    errorCode,
    // v0 answers with a list; an unknown offset is an empty list there.
    oldStyleOffsets: offset >= 0n ? [offset] : [],
    timestamp: found?.timestamp ?? -1n,
    offset,
    leaderEpoch: errorCode === ErrorCode.NONE ? LEADER_EPOCH : -1,
  };
}
