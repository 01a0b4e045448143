import type { OffsetManager } from '../../groups/offsets.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { TxnOffsetCommit } from '../../protocol/messages/txn-offset-commit.js';
import { ANONYMOUS } from '../../security/types.js';
import { handler, type HandlerEntry } from '../../server/handler.js';
import type { TransactionCoordinator } from '../../transactions/transaction-coordinator.js';

/**
 * TxnOffsetCommit (v0-3): offsets committed inside a transaction (consume-transform-produce). They are
 * validated as an OffsetCommit's, kept pending, and become the group's committed offsets only when the
 * transaction commits (dropped when it aborts). From v3 the consumer's member id and generation are
 * checked as a commit's are (KIP-447), so a zombie instance that lost its partitions in a rebalance is
 * fenced (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID).
 */
export function txnOffsetCommitHandler(offsets: OffsetManager, transactions: TransactionCoordinator): HandlerEntry {
  return handler(TxnOffsetCommit, (body, ctx) => {
    const everyPartition = (errorCode: number) => ({
      throttleTimeMs: 0,
      topics: body.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) })),
    });
    // The Java client maps INVALID_PRODUCER_EPOCH here to a fenced producer; no version of this API lists PRODUCER_FENCED.
    const ref = { transactionalId: body.transactionalId, producerId: body.producerId, producerEpoch: body.producerEpoch, fencedCode: ErrorCode.INVALID_PRODUCER_EPOCH };
    const refused = body.groupId === '' ? ErrorCode.INVALID_GROUP_ID : transactions.checkOffsetCommit(ref, body.groupId);
    if (refused !== ErrorCode.NONE) return everyPartition(refused);
    const memberId = body.memberId ?? '';
    const generationId = body.generationId ?? -1;
    const { results, accepted } = offsets.validateTransactional(
      {
        groupId: body.groupId,
        principal: ctx.principal ?? ANONYMOUS,
        memberId,
        generationId,
        groupInstanceId: body.groupInstanceId ?? null,
        topics: body.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch ?? -1, metadata: p.committedMetadata })),
        })),
      },
      // Before v3 (or without a member, a producer that is not a group member) nothing identifies the consumer.
      memberId !== '' || generationId >= 0,
    );
    const stored = transactions.savePendingOffsets(body.transactionalId, body.groupId, accepted);
    if (stored !== ErrorCode.NONE) return everyPartition(stored);
    return { throttleTimeMs: 0, topics: results };
  });
}
