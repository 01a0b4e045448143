import { ErrorCode } from '../../protocol/error-codes.js';
import { entryOf, errorEntry } from '../../protocol/error-responses.js';
import { ListOffsets, type ListOffsetsResponse } from '../../protocol/messages/list-offsets.js';
import { handler, type HandlerEntry } from '../../server/handler.js';
import { ioErrorCode } from '../../storage/log/io-faults.js';
import { LEADER_EPOCH, type LogStore, type PartitionView } from '../../storage/log-store.js';
import { storageErrorCode } from '../../topics/storage-errors.js';

type PartitionResponse = ListOffsetsResponse['topics'][number]['partitions'][number];

const PARTITION = entryOf(entryOf(ListOffsets.response.fields.topics).partitions);

/** The special timestamps of ListOffsets (KIP-79, KIP-734). */
export const OffsetSpec = { LATEST: -1n, EARLIEST: -2n, MAX_TIMESTAMP: -3n } as const;

/** Kafka's IsolationLevel.READ_COMMITTED (ListOffsets v2+). */
const READ_COMMITTED = 1;

/**
 * ListOffsets: earliest (log start), latest (log end = high watermark; the last stable offset for
 * read_committed, KIP-98), max timestamp, or the first record at or after a timestamp (offset −1 when
 * every record is older). For read_committed an offset found by timestamp at or past the last stable
 * offset is not answered either (offset −1), as Kafka's ReplicaManager.fetchOffsetForTimestamp bounds
 * every lookup by the last fetchable offset.
 */
export function listOffsetsHandler(logs: LogStore): HandlerEntry {
  return handler(ListOffsets, async (body) => ({
    throttleTimeMs: 0,
    topics: await Promise.all(
      body.topics.map(async (topic) => ({
        name: topic.name,
        partitions: await Promise.all(
          topic.partitions.map(async (p): Promise<PartitionResponse> => {
            const opened = logs.lookup(topic.name, p.partitionIndex);
            if (opened.kind !== 'log') return failed(p.partitionIndex, storageErrorCode(opened.kind));
            if ((p.currentLeaderEpoch ?? -1) > LEADER_EPOCH) return failed(p.partitionIndex, ErrorCode.UNKNOWN_LEADER_EPOCH);
            const committed = body.isolationLevel === READ_COMMITTED;
            if (committed) {
              // An encrypted partition's transaction state may wait for its keys after a restart.
              const state = await opened.log.loadTransactionState();
              if (state.kind !== 'ready') return failed(p.partitionIndex, storageErrorCode(state.kind));
            }
            let found: Awaited<ReturnType<typeof lookup>>;
            try {
              found = await lookup(opened.log, p.timestamp, committed);
            } catch (err) {
              // A segment reopened into EMFILE (or a read error): retriable, this partition only.
              if (ioErrorCode(err) === undefined) throw err;
              logs.reportIoError(err, 'list offsets', `${topic.name}-${p.partitionIndex}`);
              return failed(p.partitionIndex, storageErrorCode('unavailable'));
            }
            if (found === 'unsupported') return failed(p.partitionIndex, ErrorCode.INVALID_REQUEST);
            return answer(p.partitionIndex, found ?? { offset: -1n, timestamp: -1n });
          }),
        ),
      })),
    ),
  }));
}

async function lookup(log: PartitionView, timestamp: bigint, committed: boolean): Promise<{ offset: bigint; timestamp: bigint } | null | 'unsupported'> {
  if (timestamp === OffsetSpec.LATEST) return { offset: committed ? log.lastStableOffset : log.logEndOffset, timestamp: -1n };
  if (timestamp === OffsetSpec.EARLIEST) return { offset: log.logStartOffset, timestamp: -1n };
  let found: { offset: bigint; timestamp: bigint } | null;
  if (timestamp === OffsetSpec.MAX_TIMESTAMP) found = await log.offsetOfMaxTimestamp();
  else if (timestamp < 0n) return 'unsupported';
  else found = await log.offsetForTimestamp(Number(timestamp));
  // Read once the search is done: the last stable offset only grows meanwhile.
  return committed && found !== null && found.offset >= log.lastStableOffset ? null : found;
}

/** A partition answered with an error: no offset, no timestamp, no epoch. */
function failed(partitionIndex: number, errorCode: number): PartitionResponse {
  return errorEntry(PARTITION, errorCode, { partitionIndex });
}

function answer(partitionIndex: number, found: { offset: bigint; timestamp: bigint }): PartitionResponse {
  return {
    partitionIndex,
    errorCode: ErrorCode.NONE,
    // v0 answers with a list; an unknown offset is an empty list there.
    oldStyleOffsets: found.offset >= 0n ? [found.offset] : [],
    timestamp: found.timestamp,
    offset: found.offset,
    leaderEpoch: LEADER_EPOCH,
  };
}
