import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { crc32c } from '@node-rs/crc32';
import { readBatchHeader } from '../../../../src/records/batch.js';
import { buildBatchSync } from '../../../../src/records/record.js';
import type { PartitionLog } from '../../../../src/storage/log/partition-log.js';
import {
  BATCHES_TO_RETAIN,
  DEFAULT_PRODUCER_ID_EXPIRATION_MS,
  inSequence,
  lastSequence,
  ProducerStateManager,
  snapshotFileName,
  type ProducerBatch,
  type ProducerCheck,
} from '../../../../src/storage/log/producer-state.js';
import { T0, harness, makeBatch } from './helpers.js';

const INT32_MAX = 0x7fffffff;

function pb(producerId: bigint, producerEpoch: number, baseSequence: number, count = 1): ProducerBatch {
  return { producerId, producerEpoch, baseSequence, lastOffsetDelta: count - 1 };
}

function refusedWith(check: ProducerCheck): string {
  if (check.kind === 'append' || check.kind === 'duplicate') {
    assert.fail(`expected a refusal, got ${JSON.stringify(check, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`);
  }
  return check.kind;
}

/** An idempotent batch of `count` records, as a producer sends it. */
function idempotentBatch(producerId: bigint, producerEpoch: number, baseSequence: number, count = 1, tag = 'r') {
  const bytes = buildBatchSync({
    records: Array.from({ length: count }, (_, i) => ({ value: `${tag}${baseSequence + i}`, timestamp: T0 })),
    producerId,
    producerEpoch,
    baseSequence,
  });
  const header = readBatchHeader(bytes);
  return { bytes, lastOffsetDelta: header.lastOffsetDelta, maxTimestamp: Number(header.maxTimestamp), header };
}

/** The produce path on a log: check, then append only when allowed. Returns the check and the base offset answered. */
function produce(log: PartitionLog, producerId: bigint, epoch: number, seq: number, count = 1): { check: ProducerCheck; baseOffset: bigint | null } {
  const batch = idempotentBatch(producerId, epoch, seq, count);
  const check = log.checkProducer(batch.header);
  if (check.kind === 'append') return { check, baseOffset: log.append(batch) };
  if (check.kind === 'duplicate') return { check, baseOffset: check.original.baseOffset };
  return { check, baseOffset: null };
}

describe('sequence numbers', () => {
  it('wrap from 2^31-1 to 0, as Kafka increments them', () => {
    assert.equal(lastSequence(0, 0), 0);
    assert.equal(lastSequence(10, 4), 14);
    assert.equal(lastSequence(INT32_MAX, 0), INT32_MAX);
    assert.equal(lastSequence(INT32_MAX, 1), 0);
    assert.equal(lastSequence(INT32_MAX - 2, 5), 2);
    assert.ok(inSequence(-1, 0));
    assert.ok(inSequence(4, 5));
    assert.ok(inSequence(INT32_MAX, 0));
    assert.ok(!inSequence(4, 6));
    assert.ok(!inSequence(4, 4));
    assert.ok(!inSequence(INT32_MAX, 1));
  });
});

describe('ProducerStateManager', () => {
  it('accepts an unknown producer at any sequence (KIP-360), then only the next sequence', () => {
    const s = new ProducerStateManager();
    assert.equal(s.check(pb(7n, 0, 0)).kind, 'append');
    assert.equal(s.check(pb(7n, 0, 42)).kind, 'append');
    s.update(pb(7n, 0, 42, 3), 100n, T0, T0);
    assert.equal(s.check(pb(7n, 0, 45)).kind, 'append');
    assert.equal(refusedWith(s.check(pb(7n, 0, 46))), 'out-of-sequence');
    assert.equal(refusedWith(s.check(pb(7n, 0, 44))), 'out-of-sequence');
    // Other producers are independent.
    assert.equal(s.check(pb(8n, 0, 9)).kind, 'append');
  });

  it('finds a duplicate among the last 5 batches only, matching the exact sequence range', () => {
    const s = new ProducerStateManager();
    for (let i = 0; i < 7; i++) s.update(pb(1n, 0, i * 2, 2), BigInt(i * 2), T0 + i, T0);
    assert.equal(s.producer(1n)?.batches.length, BATCHES_TO_RETAIN);
    for (let i = 2; i < 7; i++) {
      const check = s.check(pb(1n, 0, i * 2, 2));
      assert.equal(check.kind, 'duplicate', `batch ${i}`);
      assert.equal(check.original.baseOffset, BigInt(i * 2));
      assert.equal(check.original.lastOffset, BigInt(i * 2 + 1));
      assert.equal(check.original.timestamp, T0 + i);
    }
    // Older than the retained batches, or overlapping one without matching it: out of order.
    assert.equal(refusedWith(s.check(pb(1n, 0, 2, 2))), 'out-of-sequence');
    assert.equal(refusedWith(s.check(pb(1n, 0, 4, 1))), 'out-of-sequence');
    assert.equal(refusedWith(s.check(pb(1n, 0, 12, 3))), 'out-of-sequence');
  });

  it('fences older epochs, and starts a newer epoch at sequence 0 with fresh batches', () => {
    const s = new ProducerStateManager();
    s.update(pb(3n, 2, 0, 5), 0n, T0, T0);
    assert.equal(refusedWith(s.check(pb(3n, 1, 5))), 'fenced');
    // Even a batch that matches a retained range is fenced in an older epoch.
    assert.equal(refusedWith(s.check(pb(3n, 1, 0, 5))), 'fenced');
    assert.equal(refusedWith(s.check(pb(3n, 3, 5))), 'out-of-sequence');
    assert.equal(s.check(pb(3n, 3, 0)).kind, 'append');
    s.update(pb(3n, 3, 0, 2), 5n, T0, T0);
    assert.deepEqual(s.producer(3n)?.batches.map((b) => [b.firstSeq, b.lastSeq]), [[0, 1]]);
    assert.equal(s.producer(3n)?.epoch, 3);
    // The old epoch is now fenced, its batches forgotten.
    assert.equal(refusedWith(s.check(pb(3n, 2, 0, 5))), 'fenced');
    assert.equal(s.check(pb(3n, 3, 2)).kind, 'append');
  });

  it('continues across the int32 wrap of sequences', () => {
    const s = new ProducerStateManager();
    // Sequences 2^31-2, 2^31-1, 0.
    s.update(pb(5n, 0, INT32_MAX - 1, 3), 0n, T0, T0);
    assert.equal(s.producer(5n)?.batches[0]?.lastSeq, 0);
    assert.equal(s.check(pb(5n, 0, 1)).kind, 'append');
    assert.equal(refusedWith(s.check(pb(5n, 0, 2))), 'out-of-sequence');
    assert.equal(s.check(pb(5n, 0, INT32_MAX - 1, 3)).kind, 'duplicate');
  });

  it('expires idle producers and forgets those whose batches retention removed', () => {
    const s = new ProducerStateManager();
    s.update(pb(1n, 0, 0), 0n, T0, T0);
    s.update(pb(2n, 0, 0), 10n, T0, T0 + 1000);
    assert.equal(s.removeExpired(T0 + 1), 1);
    assert.equal(s.producer(1n), undefined);
    assert.equal(s.removeBefore(10n), 0);
    assert.equal(s.removeBefore(11n), 1);
    assert.equal(s.producerCount, 0);
  });

  it('round-trips through a snapshot and refuses a damaged one without changing its state', () => {
    const s = new ProducerStateManager();
    for (let i = 0; i < 6; i++) s.update(pb(123456789012n, 4, i, 1), BigInt(i), T0 + i, T0);
    s.update(pb(9n, 0, 0, 10), 100n, T0, T0 + 5);
    const snap = s.encodeSnapshot(110n);
    const copy = new ProducerStateManager();
    assert.equal(copy.restoreSnapshot(snap), 110n);
    assert.deepEqual(copy.producer(123456789012n), s.producer(123456789012n));
    assert.deepEqual(copy.producer(9n), s.producer(9n));
    assert.equal(copy.check(pb(9n, 0, 0, 10)).kind, 'duplicate');

    const flipped = Buffer.from(snap);
    flipped[20] = (flipped[20] ?? 0) ^ 0x01;
    assert.throws(() => copy.restoreSnapshot(flipped), /CRC mismatch|not a producer state snapshot/);
    assert.throws(() => copy.restoreSnapshot(snap.subarray(0, snap.length - 3)), /not a producer state snapshot/);
    assert.equal(copy.producerCount, 2, 'state unchanged after a failed restore');
  });
});

/** A transactional batch's producer fields. */
function tx(producerId: bigint, producerEpoch: number, baseSequence: number, count = 1): ProducerBatch {
  return { ...pb(producerId, producerEpoch, baseSequence, count), isTransactional: true };
}

/** A v1 snapshot as the build before transactions wrote it: a JSON line, then its CRC-32C in hex. */
function v1Snapshot(body: object): Buffer {
  const line = Buffer.from(JSON.stringify(body), 'utf8');
  return Buffer.concat([line, Buffer.from(`\n${(crc32c(line) >>> 0).toString(16).padStart(8, '0')}\n`, 'ascii')]);
}

describe('ProducerStateManager transactions (KIP-98)', () => {
  it('starts a transaction at the first transactional batch and keeps it to the marker; the oldest one is the first unstable offset', () => {
    const s = new ProducerStateManager();
    assert.equal(s.firstUnstableOffset, null);
    s.update(tx(1n, 0, 0, 2), 10n, T0, T0);
    s.update(pb(9n, 0, 0), 12n, T0, T0);
    s.update(tx(2n, 0, 0), 13n, T0, T0);
    s.update(tx(1n, 0, 2), 14n, T0, T0);
    assert.equal(s.firstUnstableOffset, 10n);
    assert.equal(s.ongoingTransaction(1n), 10n);
    assert.equal(s.ongoingTransaction(2n), 13n);
    assert.equal(s.ongoingTransaction(9n), null);
    assert.deepEqual(s.checkMarker(1n, 0), { kind: 'end', firstOffset: 10n });
    assert.equal(s.endTransaction(1n, 0, 15n, T0), 10n);
    assert.equal(s.firstUnstableOffset, 13n);
    assert.equal(s.endTransaction(2n, 0, 16n, T0), 13n);
    assert.equal(s.firstUnstableOffset, null);
    assert.equal(s.ongoingTransactions, 0);
    // The next transaction of producer 1 starts at its own first batch.
    s.update(tx(1n, 0, 3), 17n, T0, T0);
    assert.equal(s.firstUnstableOffset, 17n);
  });

  it('refuses a batch outside a transaction while one of its producer is ongoing (INVALID_TXN_STATE), but not its retry', () => {
    const s = new ProducerStateManager();
    s.update(tx(1n, 0, 0), 0n, T0, T0);
    assert.equal(refusedWith(s.check(pb(1n, 0, 1))), 'invalid-txn-state');
    assert.equal(s.check(tx(1n, 0, 1)).kind, 'append');
    assert.equal(s.check(tx(1n, 0, 0)).kind, 'duplicate');
    s.endTransaction(1n, 0, 1n, T0);
    assert.equal(s.check(pb(1n, 0, 1)).kind, 'append');
  });

  it('answers markers: fenced below the producer\'s epoch, no-transaction when none is ongoing', () => {
    const s = new ProducerStateManager();
    assert.equal(s.checkMarker(1n, 0).kind, 'no-transaction');
    s.update(tx(1n, 3, 0), 0n, T0, T0);
    const fenced = s.checkMarker(1n, 2);
    assert.ok(fenced.kind === 'fenced');
    assert.match(fenced.message, /older than its current epoch 3/);
    assert.equal(s.checkMarker(1n, 3).kind, 'end');
    s.endTransaction(1n, 3, 1n, T0);
    assert.equal(s.checkMarker(1n, 3).kind, 'no-transaction');
  });

  it('takes a marker of a newer epoch (KIP-890) as the producer\'s epoch: older batches fenced, the new epoch starts at sequence 0', () => {
    const s = new ProducerStateManager();
    s.update(tx(1n, 3, 0, 4), 0n, T0, T0);
    s.endTransaction(1n, 4, 4n, T0);
    assert.equal(s.producer(1n)?.epoch, 4);
    assert.deepEqual(s.producer(1n)?.batches, []);
    assert.equal(refusedWith(s.check(tx(1n, 3, 4))), 'fenced');
    assert.equal(refusedWith(s.check(tx(1n, 4, 4))), 'out-of-sequence');
    assert.equal(s.check(tx(1n, 4, 0)).kind, 'append');
  });

  it('never expires nor forgets a producer whose transaction is ongoing (it holds the last stable offset)', () => {
    const s = new ProducerStateManager();
    s.update(tx(1n, 0, 0), 0n, T0, T0);
    s.update(pb(2n, 0, 0), 1n, T0, T0);
    assert.equal(s.removeExpired(T0 + 1), 1);
    assert.equal(s.removeBefore(100n), 0);
    assert.equal(s.firstUnstableOffset, 0n);
    s.endTransaction(1n, 0, 2n, T0);
    // Its marker is its last offset: retention past it forgets the producer.
    assert.equal(s.removeBefore(2n), 0);
    assert.equal(s.removeBefore(3n), 1);
  });

  it('round-trips ongoing transactions through a version 2 snapshot, in first-offset order', () => {
    const s = new ProducerStateManager();
    s.update(tx(7n, 0, 0), 5n, T0, T0);
    s.update(tx(3n, 1, 0), 6n, T0, T0);
    s.update(pb(4n, 0, 0), 7n, T0, T0);
    s.update(tx(9n, 0, 0, 2), 8n, T0, T0);
    s.endTransaction(7n, 1, 10n, T0);
    const snap = s.encodeSnapshot(11n);
    assert.match(snap.toString('utf8'), /"version":2/);
    const copy = new ProducerStateManager();
    assert.equal(copy.restoreSnapshot(snap), 11n);
    assert.equal(copy.firstUnstableOffset, 6n);
    assert.equal(copy.ongoingTransaction(9n), 8n);
    assert.deepEqual(copy.producer(7n), { epoch: 1, batches: [], txnFirstOffset: null });
    assert.equal(refusedWith(copy.check(pb(3n, 1, 1))), 'invalid-txn-state');
    copy.endTransaction(3n, 1, 12n, T0);
    assert.equal(copy.firstUnstableOffset, 8n);
    // The producer without a batch in its epoch is kept by its marker's offset (10), not forgotten as batchless.
    assert.equal(copy.removeBefore(10n), 1);
    assert.notEqual(copy.producer(7n), undefined);
    assert.equal(copy.producer(4n), undefined);
  });

  it('still reads version 1 snapshots (written before transactions): no transaction is ongoing', () => {
    const s = new ProducerStateManager();
    const offset = s.restoreSnapshot(
      v1Snapshot({ version: 1, offset: '20', producers: [{ id: '5', epoch: 2, lastSeenMs: T0, batches: [[0, 4, '10', '14', T0]] }] }),
    );
    assert.equal(offset, 20n);
    assert.deepEqual(s.producer(5n), { epoch: 2, batches: [{ firstSeq: 0, lastSeq: 4, baseOffset: 10n, lastOffset: 14n, timestamp: T0 }], txnFirstOffset: null });
    assert.equal(s.firstUnstableOffset, null);
    assert.equal(s.check(pb(5n, 2, 0, 5)).kind, 'duplicate');
    assert.equal(s.removeBefore(15n), 1);
    // A version 1 producer without batches never existed: refused as damage.
    assert.throws(() => s.restoreSnapshot(v1Snapshot({ version: 1, offset: '1', producers: [{ id: '5', epoch: 2, lastSeenMs: T0, batches: [] }] })), /invalid snapshot/);
  });
});

describe('PartitionLog producer state', () => {
  it('answers a retried batch with its original offset, without appending it again', (t) => {
    const log = harness(t).open();
    assert.equal(produce(log, 10n, 0, 0, 3).baseOffset, 0n);
    assert.equal(produce(log, 10n, 0, 3, 2).baseOffset, 3n);
    log.append(makeBatch(4)); // a non-idempotent producer in between
    const retry = produce(log, 10n, 0, 0, 3);
    assert.equal(retry.check.kind, 'duplicate');
    assert.equal(retry.baseOffset, 0n);
    assert.equal(produce(log, 10n, 0, 3, 2).baseOffset, 3n);
    assert.equal(log.logEndOffset, 9n, 'nothing appended for the duplicates');
    assert.equal(produce(log, 10n, 0, 5, 1).baseOffset, 9n);
  });

  it('refuses a gap with OUT_OF_ORDER_SEQUENCE_NUMBER and an old epoch with INVALID_PRODUCER_EPOCH', (t) => {
    const log = harness(t).open();
    produce(log, 1n, 0, 0, 2);
    assert.equal(refusedWith(produce(log, 1n, 0, 3).check), 'out-of-sequence');
    produce(log, 1n, 1, 0);
    assert.equal(refusedWith(produce(log, 1n, 0, 2).check), 'fenced');
    assert.equal(log.logEndOffset, 3n);
  });

  it('still detects duplicates after a clean close and reopen (snapshot)', async (t) => {
    const h = harness(t);
    const log = h.open();
    for (let seq = 0; seq < 10; seq += 2) produce(log, 77n, 3, seq, 2);
    await log.close();
    assert.ok(existsSync(join(h.dir, snapshotFileName(10n))), 'snapshot written at close');

    const again = h.open();
    assert.deepEqual(again.producerState(77n)?.batches.map((b) => b.firstSeq), [0, 2, 4, 6, 8]);
    const retry = produce(again, 77n, 3, 6, 2);
    assert.equal(retry.check.kind, 'duplicate');
    assert.equal(retry.baseOffset, 6n);
    assert.equal(refusedWith(produce(again, 77n, 3, 11).check), 'out-of-sequence');
    assert.equal(refusedWith(produce(again, 77n, 2, 10).check), 'fenced');
    assert.equal(produce(again, 77n, 3, 10).baseOffset, 10n);
  });

  it('rebuilds the state from the log after a crash (no close, so no snapshot)', (t) => {
    const h = harness(t);
    const log = h.open();
    produce(log, 5n, 0, 0, 4);
    produce(log, 5n, 0, 4, 1);
    produce(log, 6n, 2, 100, 1);
    // The process dies: the log is never closed.
    assert.deepEqual(readdirSync(h.dir).filter((f) => f.endsWith('.snapshot')), []);

    const again = h.open();
    assert.equal(produce(again, 5n, 0, 0, 4).baseOffset, 0n);
    assert.equal(produce(again, 5n, 0, 4, 1).baseOffset, 4n);
    assert.equal(produce(again, 6n, 2, 100, 1).baseOffset, 5n);
    assert.equal(again.logEndOffset, 6n);
    assert.equal(refusedWith(produce(again, 6n, 1, 101).check), 'fenced');
  });

  it('uses the snapshot written at a roll plus the active segment after a crash', async (t) => {
    const sample = idempotentBatch(1n, 0, 0, 1);
    const h = harness(t, { config: { segmentBytes: sample.bytes.length * 2 } });
    const log = h.open();
    produce(log, 1n, 0, 0); // segment 0
    produce(log, 2n, 0, 0); // segment 0
    produce(log, 2n, 0, 1); // rolls: segment 2
    await log.flush(); // the roll's snapshot is written once its data is durable
    assert.ok(existsSync(join(h.dir, snapshotFileName(2n))));
    produce(log, 2n, 0, 2); // segment 2, full
    produce(log, 3n, 0, 0); // rolls: segment 4
    // Crash before the second roll's snapshot is written: the rebuild uses snapshot 2 and scans from there.
    assert.ok(!existsSync(join(h.dir, snapshotFileName(4n))));

    const again = h.open();
    assert.equal(again.segmentCount, 3);
    assert.equal(produce(again, 1n, 0, 0).baseOffset, 0n, 'producer 1 comes from the snapshot');
    assert.equal(produce(again, 2n, 0, 2).baseOffset, 3n, 'producer 2 from the snapshot and the scan');
    assert.equal(produce(again, 3n, 0, 0).baseOffset, 4n);
    assert.equal(again.logEndOffset, 5n);

    // Without any snapshot every segment is scanned: same state.
    for (const f of readdirSync(h.dir).filter((n) => n.endsWith('.snapshot'))) unlinkSync(join(h.dir, f));
    const third = h.open();
    assert.equal(produce(third, 1n, 0, 0).baseOffset, 0n);
    assert.equal(produce(third, 2n, 0, 1).baseOffset, 2n);
    assert.equal(produce(third, 3n, 0, 0).baseOffset, 4n);
  });

  it('falls back to the log when the snapshot is damaged, with a warning', async (t) => {
    const h = harness(t);
    const log = h.open();
    produce(log, 9n, 1, 0, 3);
    await log.close();
    const path = join(h.dir, snapshotFileName(3n));
    writeFileSync(path, readFileSync(path, 'utf8').replace('"epoch":1', '"epoch":2'));

    const again = h.open();
    assert.ok(h.logger.at('warn').some((e) => /unreadable producer state snapshot/.test(e.msg)));
    assert.equal(again.producerState(9n)?.epoch, 1);
    assert.equal(produce(again, 9n, 1, 0, 3).check.kind, 'duplicate');
  });

  it('drops a snapshot beyond the log end (the log was cut after it was written)', async (t) => {
    const h = harness(t);
    const log = h.open();
    produce(log, 4n, 0, 0, 2);
    await log.close();
    // Pretend the snapshot is from a longer log.
    writeFileSync(join(h.dir, snapshotFileName(50n)), readFileSync(join(h.dir, snapshotFileName(2n))));
    const again = h.open();
    assert.ok(!existsSync(join(h.dir, snapshotFileName(50n))));
    assert.equal(produce(again, 4n, 0, 0, 2).check.kind, 'duplicate');
  });

  it('keeps only the two newest snapshots', async (t) => {
    const sample = idempotentBatch(1n, 0, 0, 1);
    const h = harness(t, { config: { segmentBytes: sample.bytes.length } });
    const log = h.open();
    for (let seq = 0; seq < 6; seq++) {
      produce(log, 1n, 0, seq);
      await log.flush();
    }
    await log.close();
    const snapshots = readdirSync(h.dir).filter((f) => f.endsWith('.snapshot')).sort();
    assert.equal(snapshots.length, 2);
    assert.equal(snapshots[1], snapshotFileName(6n), 'the close wrote the newest');
  });

  it('expires idle producers at the retention check, and forgets those retention removed', async (t) => {
    const sample = idempotentBatch(1n, 0, 0, 1);
    const h = harness(t, { config: { segmentBytes: sample.bytes.length, retentionBytes: sample.bytes.length } });
    const log = h.open();
    produce(log, 1n, 0, 0);
    h.clock.now += 1000;
    produce(log, 2n, 0, 0);
    produce(log, 3n, 0, 0);
    // Retention keeps only the active segment (offset 2): producers 1 and 2 had batches below it.
    assert.equal(await log.enforceRetention(), 2);
    assert.equal(log.producerState(1n), undefined);
    assert.equal(log.producerState(2n), undefined);
    assert.notEqual(log.producerState(3n), undefined);
    // Forgotten producers are accepted at any sequence (KIP-360).
    assert.equal(log.checkProducer(pb(1n, 0, 57)).kind, 'append');

    h.clock.now += DEFAULT_PRODUCER_ID_EXPIRATION_MS + 1;
    await log.enforceRetention();
    assert.equal(log.producerState(3n), undefined);
  });
});
