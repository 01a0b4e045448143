import assert from 'node:assert/strict';
import { it } from 'node:test';
import { BatchOffsets, readBatchHeader } from '../../../src/records/batch.js';
import { buildBatchSync } from '../../../src/records/record.js';
import { SEALED_MAGIC } from '../../../src/storage/crypto/sealed-batch.js';
import type { AppendOutcome, LogStore, PartitionView } from '../../../src/storage/log-store.js';
import { forEachLogStore, type LogStoreSubject } from './log-store-permutations.js';
import { T0, assertSameBatch, makeBatch, recordsOf } from './log/helpers.js';

/**
 * The behaviour every log store owes the handlers, through the LogStore and PartitionView interfaces
 * only, over every permutation of log-store-permutations.ts (implementations, segment sizes, file
 * bounds, stored formats). What only the file-backed log has (directories, indexes, crash recovery of
 * torn tails, descriptors) is tested in log/.
 */

const show = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? String(x) : x));

/**
 * Appends as a producer does: a retriable `unavailable` (a store with a file bound whose files all
 * hold unsynced data) is retried once after a sync.
 */
async function appended(store: LogStore, topic: string, batch: Buffer, partition = 0): Promise<bigint> {
  let outcome = await store.append(topic, partition, batch);
  if (outcome.kind === 'unavailable') {
    await store.sync();
    outcome = await store.append(topic, partition, batch);
  }
  if (outcome.kind !== 'appended') assert.fail(`expected an append, got ${show(outcome)}`);
  return outcome.baseOffset;
}

function viewOf(store: LogStore, topic: string, partition = 0): PartitionView {
  const found = store.lookup(topic, partition);
  if (found.kind !== 'log') assert.fail(`expected the log of ${topic}-${partition}, got ${show(found)}`);
  return found.log;
}

/**
 * The batches from `from` to the log end, as the producer sent them (readRecords: sealed batches opened).
 * A read may stop short of the end (the file-backed log reads one segment at a time, as Kafka's does):
 * like a consumer, this reads again from the offset after the last batch until nothing comes.
 * `stored`: as the store holds them (PartitionView.read), sealed when encrypted.
 */
async function readBack(s: LogStoreSubject, topic: string, from: bigint, partition = 0, form: 'produced' | 'stored' = 'produced'): Promise<Buffer[]> {
  const view = viewOf(s.store, topic, partition);
  const batches: Buffer[] = [];
  for (let next = from; next < view.logEndOffset; ) {
    const read = recordsOf(form === 'stored' ? view.read(next, 1 << 20, true) : await view.readRecords(next, 1 << 20, true));
    const last = read.at(-1);
    if (last === undefined) break;
    batches.push(...read);
    const header = readBatchHeader(last);
    next = header.baseOffset + BigInt(header.lastOffsetDelta) + 1n;
  }
  return batches;
}

const idempotent = (epoch: number, baseSequence: number, timestamp = T0) =>
  buildBatchSync({ records: [{ value: `r${baseSequence}`, timestamp }], producerId: 5n, producerEpoch: epoch, baseSequence });

const kindOf = (outcome: AppendOutcome) => outcome.kind;

forEachLogStore('log store', (make) => {
  it('assigns contiguous offsets and reads every batch back byte for byte', async (t) => {
    const s = make(t);
    s.addTopic('t');
    const batches = [1, 2, 3, 1, 4].map((count, i) => makeBatch(count, { valueBytes: 100, tag: `b${i}-` }));
    const bases: bigint[] = [];
    for (const batch of batches) bases.push(await appended(s.store, 't', batch.bytes));
    assert.deepEqual(bases, [0n, 1n, 3n, 6n, 7n]);
    const view = viewOf(s.store, 't');
    assert.equal(view.logStartOffset, 0n);
    assert.equal(view.logEndOffset, 11n);
    const read = await readBack(s, 't', 0n);
    assert.equal(read.length, batches.length);
    for (const [i, batch] of batches.entries()) assertSameBatch(read[i], batch.original, bases[i] ?? -1n);
    if (s.permutation.encrypted) {
      // What the file holds is the sealed form; readRecords gave back the producer's bytes above.
      const [stored] = recordsOf(view.read(0n, 1 << 20, true));
      const original = batches[0]?.original;
      assert.ok(stored !== undefined && original !== undefined);
      assert.equal(stored.readInt8(BatchOffsets.magic), SEALED_MAGIC, 'stored sealed');
      assert.equal(stored.includes(original.subarray(BatchOffsets.records)), false, 'no clear records in the stored form');
    }
  });

  it('starts a read at the batch holding the offset, reads empty at the log end and out of range past it', async (t) => {
    const s = make(t);
    s.addTopic('t');
    for (let i = 0; i < 3; i++) await appended(s.store, 't', makeBatch(2, { valueBytes: 200 }).bytes);
    const view = viewOf(s.store, 't');
    assert.deepEqual((await readBack(s, 't', 3n)).map((b) => readBatchHeader(b).baseOffset), [2n, 4n]);
    assert.deepEqual(await view.readRecords(6n, 1 << 20, true), { kind: 'records', records: Buffer.alloc(0) });
    assert.deepEqual(await view.readRecords(7n, 1 << 20, true), { kind: 'out-of-range' });
    assert.deepEqual(await view.readRecords(-1n, 1 << 20, true), { kind: 'out-of-range' });
    // KIP-74: a first batch above maxBytes comes whole when asked for, not at all otherwise.
    assert.equal(recordsOf(await view.readRecords(0n, 1, true)).length, 1);
    assert.equal(recordsOf(await view.readRecords(0n, 1, false)).length, 0);
  });

  it('reads across segment rolls: from any offset, whole batches in order, within maxBytes', async (t) => {
    const s = make(t);
    s.addTopic('t');
    const batches = Array.from({ length: 30 }, (_, i) => makeBatch(3, { valueBytes: 60, tag: `b${i}-` }));
    for (const batch of batches) await appended(s.store, 't', batch.bytes);
    await s.store.sync();
    const view = viewOf(s.store, 't');
    const all = await readBack(s, 't', 0n);
    assert.equal(all.length, batches.length);
    for (const [i, stored] of all.entries()) assertSameBatch(stored, batches[i]?.original ?? Buffer.alloc(0), BigInt(i * 3));
    for (let offset = 0n; offset < 90n; offset++) {
      const [first] = recordsOf(await view.readRecords(offset, 1 << 20, true));
      assert.equal(readBatchHeader(first ?? Buffer.alloc(0)).baseOffset, (offset / 3n) * 3n, `read from ${offset}`);
    }
    const size = batches[0]?.original.length ?? 0;
    const bounded = recordsOf(await view.readRecords(0n, size * 4 + 1, false));
    // At most four whole batches: fewer where a segment ends first.
    assert.ok(bounded.length >= 1 && bounded.length <= 4, `${bounded.length} batches within maxBytes`);
    assert.ok(bounded.every((b) => b.length === size));
  });

  it('answers unknown-partition for a topic or partition it does not know', async (t) => {
    const s = make(t);
    s.addTopic('t');
    assert.deepEqual(await s.store.append('t', 1, makeBatch(1).bytes), { kind: 'unknown-partition', message: 'unknown topic or partition t-1' });
    assert.equal((await s.store.append('other', 0, makeBatch(1).bytes)).kind, 'unknown-partition');
    assert.equal(s.store.lookup('t', 1).kind, 'unknown-partition');
    assert.equal(s.store.lookup('other', 0).kind, 'unknown-partition');
  });

  it('refuses what validation refuses, and writes nothing', async (t) => {
    const s = make(t);
    s.addTopic('t');
    const damaged = makeBatch(1).bytes;
    damaged.writeUInt8(damaged.readUInt8(damaged.length - 1) ^ 0xff, damaged.length - 1);
    const refused = await s.store.append('t', 0, damaged);
    assert.equal(refused.kind, 'corrupt');
    assert.match(refused.message, /CRC mismatch/);
    assert.equal((await s.store.append('t', 0, null)).kind, 'invalid-record');
    assert.equal(viewOf(s.store, 't').logEndOffset, 0n);
  });

  it('answers an idempotent retry as a duplicate with the original offset, and writes it once', async (t) => {
    const s = make(t);
    s.addTopic('t');
    await appended(s.store, 't', makeBatch(2).bytes);
    const original = idempotent(0, 0);
    assert.equal(await appended(s.store, 't', Buffer.from(original)), 2n);
    assert.deepEqual(await s.store.append('t', 0, Buffer.from(original)), { kind: 'duplicate', baseOffset: 2n, logStartOffset: 0n, appendTime: null });
    await s.store.sync();
    assert.equal(viewOf(s.store, 't').logEndOffset, 3n);
    assert.equal((await readBack(s, 't', 0n)).length, 2);
  });

  it('refuses a sequence gap as out-of-sequence, and writes nothing', async (t) => {
    const s = make(t);
    s.addTopic('t');
    await appended(s.store, 't', idempotent(0, 0));
    assert.equal(kindOf(await s.store.append('t', 0, idempotent(0, 5))), 'out-of-sequence');
    assert.equal(viewOf(s.store, 't').logEndOffset, 1n);
    assert.equal(await appended(s.store, 't', idempotent(0, 1)), 1n, 'the next sequence is still accepted');
  });

  it('fences an older producer epoch, and writes nothing', async (t) => {
    const s = make(t);
    s.addTopic('t');
    await appended(s.store, 't', idempotent(0, 0));
    await appended(s.store, 't', idempotent(1, 0));
    assert.equal(kindOf(await s.store.append('t', 0, idempotent(0, 1))), 'fenced');
    assert.equal(viewOf(s.store, 't').logEndOffset, 2n);
  });

  it('stamps batches of a LogAppendTime topic with its clock, and answers a duplicate with the original time', async (t) => {
    const s = make(t);
    s.config.logAppendTime = true;
    s.clock.now = T0 + 500;
    s.addTopic('t');
    assert.deepEqual(await s.store.append('t', 0, idempotent(0, 0)), { kind: 'appended', baseOffset: 0n, logStartOffset: 0n, appendTime: T0 + 500 });
    s.clock.now += 1000;
    assert.deepEqual(await s.store.append('t', 0, idempotent(0, 0)), { kind: 'duplicate', baseOffset: 0n, logStartOffset: 0n, appendTime: T0 + 500 });
    const [stored] = await readBack(s, 't', 0n);
    assert.equal(readBatchHeader(stored ?? Buffer.alloc(0)).maxTimestamp, BigInt(T0 + 500));
  });

  it('finds offsets by timestamp across batches and segments, and the record with the largest timestamp', async (t) => {
    const s = make(t);
    s.addTopic('t');
    for (let i = 0; i < 6; i++) await appended(s.store, 't', makeBatch(2, { timestamps: [T0 + 10 * i, T0 + 10 * i + 5], valueBytes: 150 }).bytes);
    // Acknowledged (acks=all): a store with a file bound may refuse a search among unsynced files.
    await s.store.sync();
    const view = viewOf(s.store, 't');
    assert.deepEqual(await view.offsetForTimestamp(T0), { offset: 0n, timestamp: BigInt(T0) });
    assert.deepEqual(await view.offsetForTimestamp(T0 + 12), { offset: 3n, timestamp: BigInt(T0 + 15) });
    assert.deepEqual(await view.offsetForTimestamp(T0 + 50), { offset: 10n, timestamp: BigInt(T0 + 50) });
    assert.equal(await view.offsetForTimestamp(T0 + 56), null);
    assert.deepEqual(await view.offsetOfMaxTimestamp(), { offset: 11n, timestamp: BigInt(T0 + 55) });
  });

  it('has no offset by timestamp while empty', async (t) => {
    const s = make(t);
    s.addTopic('t');
    const view = viewOf(s.store, 't');
    assert.equal(await view.offsetForTimestamp(T0), null);
    assert.equal(await view.offsetOfMaxTimestamp(), null);
  });

  it('retention removes expired data from the start, never the newest, and reads below the new log start are out of range', async (t) => {
    const s = make(t);
    s.config.segmentMs = 60_000;
    s.addTopic('t');
    for (let i = 0; i < 3; i++) await appended(s.store, 't', makeBatch(2).bytes);
    s.clock.now = T0 + 60_001;
    const fresh = makeBatch(1, { timestamps: [s.clock.now], tag: 'fresh' });
    const freshBase = await appended(s.store, 't', fresh.bytes);
    await s.store.sync();
    s.config.retentionMs = 30_000;
    assert.ok((await s.store.enforceRetention()) > 0, 'something was deleted');
    const view = viewOf(s.store, 't');
    assert.equal(view.logStartOffset, freshBase);
    assert.equal(view.logEndOffset, freshBase + 1n);
    assert.deepEqual(await view.readRecords(0n, 1 << 20, true), { kind: 'out-of-range' });
    assert.equal(view.locate(0n), 'out-of-range');
    const [kept] = await readBack(s, 't', freshBase);
    assertSameBatch(kept, fresh.original, freshBase);
    const outcome = await s.store.append('t', 0, makeBatch(1).bytes);
    assert.deepEqual(outcome, { kind: 'appended', baseOffset: freshBase + 1n, logStartOffset: freshBase, appendTime: null });
  });

  it('deletes a topic: its partitions are unknown, a watcher is told, and re-created it starts at offset 0', async (t) => {
    const s = make(t);
    s.addTopic('t', 2);
    await appended(s.store, 't', makeBatch(3).bytes, 0);
    await appended(s.store, 't', makeBatch(1).bytes, 1);
    let told = 0;
    s.store.watch(viewOf(s.store, 't', 0), () => {
      told++;
    });
    await s.store.deleteTopic('t');
    assert.equal(told, 1);
    assert.equal(s.store.lookup('t', 0).kind, 'unknown-partition');
    assert.equal((await s.store.append('t', 1, makeBatch(1).bytes)).kind, 'unknown-partition');
    s.addTopic('t', 2);
    assert.equal(await appended(s.store, 't', makeBatch(1).bytes, 0), 0n);
    assert.equal(viewOf(s.store, 't', 1).logEndOffset, 0n);
  });

  it('tells the watchers of a partition of its appends only; locate and bytesAfter count what a read would return', async (t) => {
    const s = make(t);
    s.addTopic('t', 2);
    await appended(s.store, 't', makeBatch(2, { valueBytes: 300 }).bytes);
    const view = viewOf(s.store, 't', 0);
    const from = view.locate(view.logEndOffset);
    assert.ok(typeof from !== 'string', `located: ${show(from)}`);
    assert.equal(view.bytesAfter(from, 1 << 20), 0);
    const calls = [0, 0];
    const stops = [0, 1].map((p) =>
      s.store.watch(viewOf(s.store, 't', p), () => {
        calls[p] = (calls[p] ?? 0) + 1;
      }),
    );
    await appended(s.store, 't', makeBatch(2, { valueBytes: 300 }).bytes);
    await appended(s.store, 't', makeBatch(1, { valueBytes: 300 }).bytes);
    assert.deepEqual(calls, [2, 0]);
    // What the log holds from there: stored bytes (a sealed batch counts its sealing too).
    const arrived = (await readBack(s, 't', 2n, 0, 'stored')).reduce((sum, b) => sum + b.length, 0);
    assert.equal(view.bytesAfter(from, 1 << 20), arrived);
    assert.equal(view.bytesAfter(from, 10), 10, 'counted up to atMost');
    for (const stop of stops) stop();
    await appended(s.store, 't', makeBatch(1).bytes);
    assert.deepEqual(calls, [2, 0]);
  });

  it('keeps everything acknowledged across a restart: batches, offsets, producer state, timestamps', async (t) => {
    const s = make(t);
    s.addTopic('t', 2);
    const batches = Array.from({ length: 8 }, (_, i) => makeBatch(2, { valueBytes: 120, timestamps: [T0 + i, T0 + i], tag: `b${i}-` }));
    for (const batch of batches) await appended(s.store, 't', batch.bytes);
    const last = idempotent(0, 0, T0 + 100);
    assert.equal(await appended(s.store, 't', Buffer.from(last), 1), 0n);
    await s.store.sync();
    await s.restart();
    const read = await readBack(s, 't', 0n);
    assert.equal(read.length, batches.length);
    for (const [i, batch] of batches.entries()) assertSameBatch(read[i], batch.original, BigInt(2 * i));
    assert.equal(viewOf(s.store, 't').logEndOffset, 16n);
    assert.deepEqual(await viewOf(s.store, 't').offsetForTimestamp(T0 + 5), { offset: 10n, timestamp: BigInt(T0 + 5) });
    assert.deepEqual(await s.store.append('t', 1, Buffer.from(last)), { kind: 'duplicate', baseOffset: 0n, logStartOffset: 0n, appendTime: null });
    assert.equal(kindOf(await s.store.append('t', 1, idempotent(0, 3))), 'out-of-sequence');
    assert.equal(await appended(s.store, 't', makeBatch(1).bytes), 16n, 'offsets continue');
  });
  it('keeps transactions across a restart: markers, the last stable offset, the aborted ones; read_committed stops at it', async (t) => {
    const s = make(t);
    s.addTopic('t');
    const tx = (producerId: bigint, baseSequence: number) =>
      buildBatchSync({ records: [{ key: 'k', value: `p${producerId}-${baseSequence}`.padEnd(150, 'x'), timestamp: T0 }], producerId, producerEpoch: 0, baseSequence, transactional: true });
    const marker = async (producerId: bigint, commit: boolean) => {
      let outcome = await s.store.appendMarker('t', 0, { producerId, producerEpoch: 0, commit, coordinatorEpoch: 0 });
      if (outcome.kind === 'unavailable') {
        await s.store.sync();
        outcome = await s.store.appendMarker('t', 0, { producerId, producerEpoch: 0, commit, coordinatorEpoch: 0 });
      }
      return outcome;
    };
    await appended(s.store, 't', tx(1n, 0)); // 0
    await appended(s.store, 't', tx(1n, 1)); // 1
    await appended(s.store, 't', tx(2n, 0)); // 2: stays ongoing
    assert.deepEqual(await marker(1n, false), { kind: 'appended', offset: 3n });
    await appended(s.store, 't', makeBatch(1, { valueBytes: 150 }).bytes); // 4
    const view = viewOf(s.store, 't');
    assert.equal(view.lastStableOffset, 2n);
    assert.deepEqual(view.abortedTransactions(0n, 5n), [{ producerId: 1n, firstOffset: 0n }]);
    const below = recordsOf(await view.readRecords(0n, 1 << 20, true, view.lastStableOffset));
    assert.ok(below.length <= 2 && below.every((b) => readBatchHeader(b).baseOffset < 2n));
    if (s.permutation.encrypted) {
      // The marker holds no user data and is stored clear, among sealed batches, and read back alike.
      const [stored] = recordsOf(view.read(3n, 1 << 20, true));
      assert.equal(stored?.readInt8(BatchOffsets.magic), 2);
      assert.equal(recordsOf(view.read(2n, 1 << 20, true))[0]?.readInt8(BatchOffsets.magic), SEALED_MAGIC);
    }
    assert.deepEqual(
      (await readBack(s, 't', 0n)).map((b) => [readBatchHeader(b).baseOffset, readBatchHeader(b).isControl]),
      [
        [0n, false],
        [1n, false],
        [2n, false],
        [3n, true],
        [4n, false],
      ],
    );
    await s.store.sync();
    await s.restart();
    const again = viewOf(s.store, 't');
    // An encrypted partition's producer state waits for its keys: until then nothing is taken for stable.
    assert.ok(again.lastStableOffset <= 2n);
    assert.deepEqual(await again.loadTransactionState(), { kind: 'ready' });
    assert.equal(again.lastStableOffset, 2n);
    assert.deepEqual(again.abortedTransactions(0n, 5n), [{ producerId: 1n, firstOffset: 0n }]);
    assert.deepEqual(await marker(1n, true), { kind: 'no-transaction' });
    assert.equal(kindOf(await s.store.append('t', 0, idempotent(0, 0))), 'appended');
    assert.equal(kindOf(await s.store.append('t', 0, buildBatchSync({ records: [{ value: 'v' }], producerId: 2n, producerEpoch: 0, baseSequence: 1 }))), 'invalid-txn-state');
    assert.deepEqual(await marker(2n, true), { kind: 'appended', offset: 6n });
    assert.equal(again.lastStableOffset, again.logEndOffset);
  });
});
