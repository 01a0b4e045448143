import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import { MetadataStore } from '../../../src/storage/metadata-store.js';
import { ProducerIdStore } from '../../../src/storage/producer-ids.js';
import { DEFAULT_TRANSACTION_SETTINGS, type TransactionSettings } from '../../../src/transactions/transaction-limits.js';
import { TransactionCoordinator, type MarkerToWrite, type MarkerLog } from '../../../src/transactions/transaction-coordinator.js';
import { recordingLogger } from '../../helpers/broker.js';
import { FakeScheduler } from '../groups/fake-scheduler.js';

interface Written extends MarkerToWrite {
  readonly topic: string;
  readonly partition: number;
}

/** The broker's log as the coordinator sees it: records markers; `failing` partitions answer unavailable. */
class RecordingMarkers implements MarkerLog {
  readonly written: Written[] = [];
  readonly failing = new Set<string>();
  syncs = 0;
  appendMarker(topic: string, partition: number, marker: MarkerToWrite): Promise<{ kind: string; message?: string }> {
    if (this.failing.has(`${topic}-${partition}`)) return Promise.resolve({ kind: 'unavailable', message: 'ENOSPC' });
    this.written.push({ topic, partition, ...marker });
    return Promise.resolve({ kind: 'appended' });
  }
  sync(): Promise<void> {
    this.syncs++;
    return Promise.resolve();
  }
}

function setup(t: TestContext, settings: Partial<TransactionSettings> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-txn-'));
  const stores: MetadataStore[] = [];
  const scheduler = new FakeScheduler();
  const markers = new RecordingMarkers();
  const timedOut = { count: 0 };
  const open = () => {
    const store = new MetadataStore(dir);
    stores.push(store);
    const coordinator = new TransactionCoordinator({
      store: store.transactions,
      ids: ProducerIdStore.open(dir),
      markers,
      logger: recordingLogger(),
      scheduler,
      settings: { ...DEFAULT_TRANSACTION_SETTINGS, ...settings },
      onTimedOut: () => {
        timedOut.count++;
      },
    });
    return { store, coordinator };
  };
  t.after(() => {
    for (const s of stores) s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { open, scheduler, markers, timedOut };
}

const init = (c: TransactionCoordinator, transactionalId: string, producerId = -1n, producerEpoch = -1) =>
  c.initProducerId({ transactionalId, timeoutMs: 60_000, producerId, producerEpoch, principal: 'User:alice', fencedCode: ErrorCode.PRODUCER_FENCED });

const ref = (transactionalId: string, producerId: bigint, producerEpoch: number) => ({ transactionalId, producerId, producerEpoch, fencedCode: ErrorCode.PRODUCER_FENCED });

test('a transactional id gets an id at epoch 0, and each new instance the next epoch, which fences the older one', async (t) => {
  const { open } = setup(t);
  const { coordinator } = open();
  const first = await init(coordinator, 'tx');
  assert.equal(first.errorCode, ErrorCode.NONE);
  assert.equal(first.producerEpoch, 0);
  const second = await init(coordinator, 'tx');
  assert.deepEqual([second.producerId, second.producerEpoch], [first.producerId, 1]);
  // The older instance is fenced on every API and in the produce guard.
  assert.equal(coordinator.addPartitions(ref('tx', first.producerId, 0), [{ topic: 'a', partition: 0 }]), ErrorCode.PRODUCER_FENCED);
  assert.equal((await coordinator.endTransaction(ref('tx', first.producerId, 0), true)).errorCode, ErrorCode.PRODUCER_FENCED);
  assert.equal(coordinator.addPartitions(ref('tx', first.producerId, 1), [{ topic: 'a', partition: 0 }]), ErrorCode.NONE);
  assert.equal(coordinator.guard('a', 0, first.producerId, 0)?.kind, 'fenced');
  assert.equal(coordinator.guard('a', 0, first.producerId, 1), null);
  // A partition not added, or a producer id the coordinator never gave a transactional id: refused.
  assert.equal(coordinator.guard('a', 1, first.producerId, 1)?.kind, 'invalid-txn-state');
  assert.equal(coordinator.guard('a', 0, 999n, 0)?.kind, 'invalid-txn-state');
  // An id the request does not match is no mapping of this transactional id.
  assert.equal(coordinator.addOffsets(ref('tx', 12345n, 1), 'g'), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
});

test('KIP-360: the current id and epoch bump the epoch, a retry of the bump is answered without a second bump, another pair is fenced', async (t) => {
  const { open } = setup(t);
  const { coordinator } = open();
  const first = await init(coordinator, 'tx');
  const bumped = await init(coordinator, 'tx', first.producerId, 0);
  assert.equal(bumped.producerEpoch, 1);
  const retried = await init(coordinator, 'tx', first.producerId, 0);
  assert.equal(retried.producerEpoch, 1);
  const fenced = await init(coordinator, 'tx', first.producerId, 7);
  assert.equal(fenced.errorCode, ErrorCode.PRODUCER_FENCED);
});

test('a transaction timeout outside 1..transaction.max.timeout.ms is INVALID_TRANSACTION_TIMEOUT', async (t) => {
  const { open } = setup(t, { maxTimeoutMs: 10_000 });
  const { coordinator } = open();
  const tooLong = await coordinator.initProducerId({ transactionalId: 'tx', timeoutMs: 10_001, producerId: -1n, producerEpoch: -1, principal: 'User:a', fencedCode: 90 });
  assert.equal(tooLong.errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
  const zero = await coordinator.initProducerId({ transactionalId: 'tx', timeoutMs: 0, producerId: -1n, producerEpoch: -1, principal: 'User:a', fencedCode: 90 });
  assert.equal(zero.errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
});

test('commit writes a commit marker to every partition, syncs, and only then makes the transaction’s offsets the group’s', async (t) => {
  const { open, markers } = setup(t);
  const { coordinator, store } = open();
  const { producerId } = await init(coordinator, 'tx');
  const r = ref('tx', producerId, 0);
  assert.equal(coordinator.addPartitions(r, [{ topic: 'out', partition: 0 }, { topic: 'out', partition: 1 }]), ErrorCode.NONE);
  assert.equal(coordinator.addOffsets(r, 'g'), ErrorCode.NONE);
  assert.equal(coordinator.checkOffsetCommit(r, 'other-group'), ErrorCode.INVALID_TXN_STATE, 'a group the transaction did not add');
  assert.equal(coordinator.checkOffsetCommit(r, 'g'), ErrorCode.NONE);
  coordinator.savePendingOffsets('tx', 'g', [{ topic: 'in', partition: 0, offset: 42n, leaderEpoch: -1, metadata: '', commitTimestamp: 0 }]);
  assert.equal(coordinator.hasPendingOffset('g', 'in', 0), true);
  assert.deepEqual(store.fetchOffsets('g', null), [], 'pending offsets are not the group’s');
  assert.deepEqual(await coordinator.endTransaction(r, true), { errorCode: ErrorCode.NONE });
  assert.deepEqual(
    markers.written.map((m) => [m.topic, m.partition, m.commit, m.producerEpoch]),
    [
      ['out', 0, true, 0],
      ['out', 1, true, 0],
    ],
  );
  assert.equal(markers.syncs, 1);
  assert.deepEqual(store.fetchOffsets('g', null).map((o) => [o.topic, o.partition, o.offset]), [['in', 0, 42n]]);
  assert.equal(coordinator.hasPendingOffset('g', 'in', 0), false);
  // A retry of the commit is answered NONE; an abort of it is INVALID_TXN_STATE.
  assert.equal((await coordinator.endTransaction(r, true)).errorCode, ErrorCode.NONE);
  assert.equal((await coordinator.endTransaction(r, false)).errorCode, ErrorCode.INVALID_TXN_STATE);
  assert.equal(markers.written.length, 2);
});

test('abort drops the transaction’s offsets and writes abort markers', async (t) => {
  const { open, markers } = setup(t);
  const { coordinator, store } = open();
  const { producerId } = await init(coordinator, 'tx');
  const r = ref('tx', producerId, 0);
  coordinator.addPartitions(r, [{ topic: 'out', partition: 0 }]);
  coordinator.addOffsets(r, 'g');
  coordinator.savePendingOffsets('tx', 'g', [{ topic: 'in', partition: 0, offset: 7n, leaderEpoch: -1, metadata: '', commitTimestamp: 0 }]);
  assert.equal((await coordinator.endTransaction(r, false)).errorCode, ErrorCode.NONE);
  assert.deepEqual(markers.written.map((m) => m.commit), [false]);
  assert.deepEqual(store.fetchOffsets('g', null), []);
  assert.deepEqual(store.transactions.pendingOffsets('tx'), []);
  // A commit without an open transaction is INVALID_TXN_STATE; an abort of nothing is answered NONE, writing nothing.
  const next = await init(coordinator, 'tx');
  assert.equal((await coordinator.endTransaction(ref('tx', producerId, next.producerEpoch), true)).errorCode, ErrorCode.INVALID_TXN_STATE);
  assert.equal((await coordinator.endTransaction(ref('tx', producerId, next.producerEpoch), false)).errorCode, ErrorCode.NONE);
  assert.equal(markers.written.length, 1);
});

test('a new instance aborts the open transaction of the previous one with a newer epoch, fencing it', async (t) => {
  const { open, markers } = setup(t);
  const { coordinator } = open();
  const { producerId } = await init(coordinator, 'tx');
  coordinator.addPartitions(ref('tx', producerId, 0), [{ topic: 'out', partition: 0 }]);
  const next = await init(coordinator, 'tx');
  assert.deepEqual(markers.written.map((m) => [m.commit, m.producerEpoch]), [[false, 1]]);
  assert.equal(next.producerEpoch, 2);
  assert.equal(coordinator.describe('tx')?.state, 'Empty');
});

test('a transaction open past its timeout is aborted by the check, its producer fenced, and the id can start again', async (t) => {
  const { open, markers, scheduler, timedOut } = setup(t, { abortCheckIntervalMs: 1000 });
  const { coordinator } = open();
  const { producerId } = await coordinator.initProducerId({ transactionalId: 'tx', timeoutMs: 5000, producerId: -1n, producerEpoch: -1, principal: 'User:a', fencedCode: 90 });
  coordinator.addPartitions(ref('tx', producerId, 0), [{ topic: 'out', partition: 0 }]);
  scheduler.advance(4000);
  assert.equal(await coordinator.checkTimeouts(), 0, 'not yet timed out');
  assert.deepEqual(coordinator.stats(), { byState: { Ongoing: 1 }, pendingOffsets: 0, oldestOpenMs: 4000 });
  scheduler.advance(1500);
  assert.equal(await coordinator.checkTimeouts(), 1);
  assert.deepEqual(markers.written.map((m) => [m.commit, m.producerEpoch]), [[false, 1]]);
  assert.equal(coordinator.describe('tx')?.state, 'CompleteAbort');
  assert.equal(timedOut.count, 1);
  assert.deepEqual(coordinator.stats(), { byState: { CompleteAbort: 1 }, pendingOffsets: 0, oldestOpenMs: 0 });
  assert.equal((await coordinator.endTransaction(ref('tx', producerId, 0), true)).errorCode, ErrorCode.PRODUCER_FENCED);
  // The producer recovers with its old pair (KIP-360): the epoch the abort gave it, no second bump.
  const again = await init(coordinator, 'tx', producerId, 0);
  assert.deepEqual([again.errorCode, again.producerEpoch], [ErrorCode.NONE, 1]);
});

test('markers that cannot be written keep the transaction in PrepareCommit; a restart completes it from the stored state', async (t) => {
  const { open, markers } = setup(t);
  const first = open();
  const { producerId } = await init(first.coordinator, 'tx');
  const r = ref('tx', producerId, 0);
  first.coordinator.addPartitions(r, [{ topic: 'out', partition: 0 }, { topic: 'out', partition: 1 }]);
  first.coordinator.addOffsets(r, 'g');
  first.coordinator.savePendingOffsets('tx', 'g', [{ topic: 'in', partition: 3, offset: 9n, leaderEpoch: -1, metadata: '', commitTimestamp: 0 }]);
  markers.failing.add('out-1');
  assert.equal((await first.coordinator.endTransaction(r, true)).errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
  assert.equal(first.coordinator.describe('tx')?.state, 'PrepareCommit');
  assert.equal(first.coordinator.guard('out', 0, producerId, 0)?.kind, 'invalid-txn-state', 'no batch joins a transaction being ended');
  assert.equal((await first.coordinator.endTransaction(r, false)).errorCode, ErrorCode.INVALID_TXN_STATE, 'the decision stands');
  assert.deepEqual(first.store.fetchOffsets('g', null), []);
  first.coordinator.close();
  first.store.close();
  // The broker restarts with the disk back.
  markers.failing.clear();
  const second = open();
  await second.coordinator.start();
  second.coordinator.close();
  assert.equal(second.coordinator.describe('tx')?.state, 'CompleteCommit');
  assert.deepEqual(markers.written.filter((m) => m.partition === 1).map((m) => m.commit), [true]);
  assert.deepEqual(second.store.fetchOffsets('g', null).map((o) => o.offset), [9n]);
});

test('an open transaction survives a restart with its partitions and pending offsets', async (t) => {
  const { open } = setup(t);
  const first = open();
  const { producerId } = await init(first.coordinator, 'tx');
  const r = ref('tx', producerId, 0);
  first.coordinator.addPartitions(r, [{ topic: 'out', partition: 0 }]);
  first.coordinator.addOffsets(r, 'g');
  first.coordinator.savePendingOffsets('tx', 'g', [{ topic: 'in', partition: 0, offset: 5n, leaderEpoch: -1, metadata: '', commitTimestamp: 0 }]);
  first.store.close();
  const second = open();
  await second.coordinator.start();
  second.coordinator.close();
  assert.equal(second.coordinator.guard('out', 0, producerId, 0), null);
  assert.equal(second.coordinator.hasPendingOffset('g', 'in', 0), true);
  assert.equal((await second.coordinator.endTransaction(r, true)).errorCode, ErrorCode.NONE);
  assert.deepEqual(second.store.fetchOffsets('g', null).map((o) => o.offset), [5n]);
});

test('transactional ids are bounded per principal and per broker; ended ids expire', async (t) => {
  const { open, scheduler } = setup(t, { maxTransactionalIds: 3, maxTransactionalIdsPerPrincipal: 2, idExpirationMs: 60_000 });
  const { coordinator } = open();
  const as = (id: string, principal: string) => coordinator.initProducerId({ transactionalId: id, timeoutMs: 1000, producerId: -1n, producerEpoch: -1, principal, fencedCode: 90 });
  assert.equal((await as('a1', 'User:a')).errorCode, ErrorCode.NONE);
  assert.equal((await as('a2', 'User:a')).errorCode, ErrorCode.NONE);
  assert.equal((await as('a3', 'User:a')).errorCode, ErrorCode.POLICY_VIOLATION);
  assert.equal((await as('b1', 'User:b')).errorCode, ErrorCode.NONE);
  assert.equal((await as('b2', 'User:b')).errorCode, ErrorCode.POLICY_VIOLATION, 'the broker’s bound');
  scheduler.advance(60_001);
  await coordinator.checkTimeouts();
  assert.equal(coordinator.size, 0);
  assert.equal((await as('b2', 'User:b')).errorCode, ErrorCode.NONE);
});

test('ListTransactions filters by state, producer id and duration', async (t) => {
  const { open, scheduler } = setup(t);
  const { coordinator } = open();
  const a = await init(coordinator, 'a');
  await init(coordinator, 'b');
  coordinator.addPartitions(ref('a', a.producerId, 0), [{ topic: 'x', partition: 0 }]);
  scheduler.advance(5000);
  assert.deepEqual(coordinator.list(['Ongoing'], [], -1).map((x) => x.transactionalId), ['a']);
  assert.deepEqual(coordinator.list([], [a.producerId], -1).map((x) => x.transactionalId), ['a']);
  assert.deepEqual(coordinator.list([], [], 4000).map((x) => x.transactionalId), ['a']);
  assert.deepEqual(coordinator.list([], [], 6000), []);
  assert.deepEqual(coordinator.list([], [], -1).map((x) => x.transactionalId).sort(), ['a', 'b']);
});

test('offsets committed inside open transactions are bounded per transaction, per principal and broker-wide', async (t) => {
  const { open } = setup(t, { maxPendingOffsetsPerTransaction: 3, maxPendingOffsetsPerPrincipal: 4, maxPendingOffsets: 5 });
  const { coordinator } = open();
  const offset = (partition: number) => ({ topic: 'in', partition, offset: 1n, leaderEpoch: -1, metadata: '', commitTimestamp: 0 });
  const begin = async (id: string, principal: string) => {
    const { producerId } = await coordinator.initProducerId({ transactionalId: id, timeoutMs: 60_000, producerId: -1n, producerEpoch: -1, principal, fencedCode: 90 });
    coordinator.addOffsets(ref(id, producerId, 0), 'g');
    return producerId;
  };
  const a1 = await begin('a1', 'User:a');
  assert.equal(coordinator.savePendingOffsets('a1', 'g', [offset(0), offset(1), offset(2)]), ErrorCode.NONE);
  // The same partitions again add nothing; a fourth is past the transaction's bound.
  assert.equal(coordinator.savePendingOffsets('a1', 'g', [offset(0), offset(2)]), ErrorCode.NONE);
  assert.equal(coordinator.savePendingOffsets('a1', 'g', [offset(3)]), ErrorCode.INVALID_COMMIT_OFFSET_SIZE);
  await begin('a2', 'User:a');
  assert.equal(coordinator.savePendingOffsets('a2', 'g', [offset(0), offset(1)]), ErrorCode.INVALID_COMMIT_OFFSET_SIZE, 'past the principal’s bound');
  assert.equal(coordinator.savePendingOffsets('a2', 'g', [offset(0)]), ErrorCode.NONE);
  await begin('b1', 'User:b');
  assert.equal(coordinator.savePendingOffsets('b1', 'g', [offset(5), offset(6)]), ErrorCode.INVALID_COMMIT_OFFSET_SIZE, 'past the broker’s bound');
  assert.equal(coordinator.savePendingOffsets('b1', 'g', [offset(5)]), ErrorCode.NONE);
  assert.equal(coordinator.pendingOffsetCount, 5);
  // Ending a transaction gives its share back.
  assert.equal((await coordinator.endTransaction(ref('a1', a1, 0), false)).errorCode, ErrorCode.NONE);
  assert.equal(coordinator.pendingOffsetCount, 2);
  assert.equal(coordinator.hasPendingOffset('g', 'in', 0), true, 'a2 still holds partition 0');
  assert.equal(coordinator.hasPendingOffset('g', 'in', 1), false);
  assert.equal(coordinator.savePendingOffsets('b1', 'g', [offset(6), offset(7)]), ErrorCode.NONE);
});
