import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { offsetFetchHandler } from '../../../../src/broker/handlers/offset-fetch.js';
import { txnOffsetCommitHandler } from '../../../../src/broker/handlers/txn-offset-commit.js';
import { DEFAULT_GROUP_REGISTRY_LIMITS, GroupRegistry } from '../../../../src/groups/group-registry.js';
import type { GroupMembership } from '../../../../src/groups/membership.js';
import { OffsetManager } from '../../../../src/groups/offsets.js';
import { realScheduler } from '../../../../src/groups/scheduler.js';
import { ErrorCode } from '../../../../src/protocol/error-codes.js';
import { OffsetFetch } from '../../../../src/protocol/messages/offset-fetch.js';
import { TxnOffsetCommit } from '../../../../src/protocol/messages/txn-offset-commit.js';
import { MetadataStore } from '../../../../src/storage/metadata-store.js';
import { ProducerIdStore } from '../../../../src/storage/producer-ids.js';
import { DEFAULT_TRANSACTION_SETTINGS } from '../../../../src/transactions/transaction-limits.js';
import { TransactionCoordinator } from '../../../../src/transactions/transaction-coordinator.js';
import { recordingLogger } from '../../../helpers/broker.js';
import { handleOverWire } from '../../../helpers/request-context.js';

/** The group coordinator's answer to a member's commit, set by the test; records what it was asked. */
class Membership implements GroupMembership {
  answer: number = ErrorCode.NONE;
  readonly asked: [string, string, number, string | null][] = [];
  checkCommit(groupId: string, memberId: string, generationId: number, groupInstanceId: string | null): number {
    this.asked.push([groupId, memberId, generationId, groupInstanceId]);
    return this.answer;
  }
  hasMembers(): boolean {
    return false;
  }
}

async function fixture(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-txn-commit-'));
  const store = new MetadataStore(dir);
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const membership = new Membership();
  const offsets = new OffsetManager({
    store,
    membership,
    registry: new GroupRegistry(DEFAULT_GROUP_REGISTRY_LIMITS),
    topics: { get: (name) => (name === 'in' ? { partitions: 2 } : undefined) },
    clock: () => 1_000,
  });
  const transactions = new TransactionCoordinator({
    store: store.transactions,
    ids: ProducerIdStore.open(dir),
    markers: { appendMarker: () => Promise.resolve({ kind: 'appended' }), sync: () => Promise.resolve() },
    logger: recordingLogger(),
    scheduler: realScheduler,
    settings: DEFAULT_TRANSACTION_SETTINGS,
  });
  const { producerId } = await transactions.initProducerId({ transactionalId: 'app', timeoutMs: 60_000, producerId: -1n, producerEpoch: -1, principal: 'User:app', fencedCode: 90 });
  const ref = { transactionalId: 'app', producerId, producerEpoch: 0, fencedCode: 90 };
  const entries = [txnOffsetCommitHandler(offsets, transactions), offsetFetchHandler(offsets, (g, topic, p) => transactions.hasPendingOffset(g, topic, p))];
  const commit = async (version: number, extra: Record<string, unknown> = {}, partitions: { partitionIndex: number; committedOffset: bigint }[] = [{ partitionIndex: 0, committedOffset: 42n }]) => {
    const response = await handleOverWire(entries, TxnOffsetCommit, version, {
      transactionalId: 'app',
      groupId: 'g',
      producerId,
      producerEpoch: 0,
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [{ name: 'in', partitions: partitions.map((p) => ({ ...p, committedLeaderEpoch: -1, committedMetadata: null })) }],
      ...extra,
    });
    return (response.topics as { partitions: { errorCode: number }[] }[]).flatMap((topic) => topic.partitions.map((p) => p.errorCode));
  };
  const fetch = async (requireStable: boolean) => {
    const response = await handleOverWire(entries, OffsetFetch, 7, { groupId: 'g', topics: [{ name: 'in', partitionIndexes: [0] }], requireStable });
    const p = (response.topics as { partitions: { committedOffset: bigint; errorCode: number }[] }[])[0]?.partitions[0];
    return [p?.committedOffset, p?.errorCode];
  };
  return { transactions, membership, ref, commit, fetch, store };
}

describe('TxnOffsetCommit', () => {
  it('needs the group added to the open transaction (AddOffsetsToTxn), and the producer’s current epoch', async (t) => {
    const f = await fixture(t);
    assert.deepEqual(await f.commit(2), [ErrorCode.INVALID_TXN_STATE]);
    f.transactions.addOffsets(f.ref, 'g');
    assert.deepEqual(await f.commit(2, { producerEpoch: 5 }), [ErrorCode.INVALID_PRODUCER_EPOCH]);
    assert.deepEqual(await f.commit(2, { producerId: 77n }), [ErrorCode.INVALID_PRODUCER_ID_MAPPING]);
    assert.deepEqual(await f.commit(2, {}, [{ partitionIndex: 9, committedOffset: 1n }]), [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
  });

  it('KIP-447: from v3 the member and generation are checked as a commit’s; before v3 (no member) they are not', async (t) => {
    const f = await fixture(t);
    f.transactions.addOffsets(f.ref, 'g');
    f.membership.answer = ErrorCode.ILLEGAL_GENERATION;
    assert.deepEqual(await f.commit(3, { memberId: 'm-1', generationId: 4, groupInstanceId: 'i-1' }), [ErrorCode.ILLEGAL_GENERATION]);
    assert.deepEqual(f.membership.asked, [['g', 'm-1', 4, 'i-1']]);
    assert.equal(f.transactions.hasPendingOffset('g', 'in', 0), false, 'a fenced zombie’s offsets are not kept');
    assert.deepEqual(await f.commit(2), [ErrorCode.NONE]);
    assert.equal(f.membership.asked.length, 1, 'v2 carries no member to check');
  });

  it('offsets stay pending until the transaction commits: OffsetFetch requireStable answers UNSTABLE_OFFSET_COMMIT meanwhile', async (t) => {
    const f = await fixture(t);
    f.transactions.addOffsets(f.ref, 'g');
    assert.deepEqual(await f.commit(3, { memberId: 'm-1', generationId: 4 }), [ErrorCode.NONE]);
    assert.deepEqual(await f.fetch(false), [-1n, ErrorCode.NONE]);
    assert.deepEqual(await f.fetch(true), [-1n, ErrorCode.UNSTABLE_OFFSET_COMMIT]);
    assert.equal((await f.transactions.endTransaction(f.ref, true)).errorCode, ErrorCode.NONE);
    assert.deepEqual(await f.fetch(true), [42n, ErrorCode.NONE]);
  });
});
