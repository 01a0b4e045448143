import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import { BatchOffsets, readBatchHeader, splitBatches } from '../../../../src/records/batch.js';
import { readTransactionMarker } from '../../../../src/records/control-records.js';
import { buildBatchSync } from '../../../../src/records/record.js';
import type { LogFailure } from '../../../../src/storage/outcomes.js';
import { DataKeyCache } from '../../../../src/storage/crypto/data-key-cache.js';
import { LocalKekProvider } from '../../../../src/storage/crypto/local-provider.js';
import { DEFAULT_DATA_KEY_LIMITS } from '../../../../src/storage/crypto/partition-keys.js';
import { SEALED_MAGIC } from '../../../../src/storage/crypto/sealed-batch.js';
import { segmentFileName } from '../../../../src/storage/log/format.js';
import { LogManager, type TransactionGuard } from '../../../../src/storage/log/log-manager.js';
import type { MarkerWrite, PartitionLog } from '../../../../src/storage/log/partition-log.js';
import type { RecordTransform } from '../../../../src/storage/log/record-transform.js';
import { TXN_INDEX_ENTRY, TXN_INDEX_HEADER } from '../../../../src/storage/log/txn-index.js';
import { T0, configSource, defaultConfig, defer, harness, recordsOf, recordingLogger, tempDir, type LogHarness } from './helpers.js';

const show = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? String(x) : x));

/** A transactional batch of `count` records of producer `producerId`, as a transactional producer sends it. */
function txBatch(producerId: bigint, producerEpoch: number, baseSequence: number, count = 1, options: { key?: string; valueBytes?: number } = {}) {
  const bytes = buildBatchSync({
    records: Array.from({ length: count }, (_, i) => ({ key: options.key ?? `k${i}`, value: `p${producerId}-${baseSequence + i}`.padEnd(options.valueBytes ?? 0, 'x'), timestamp: T0 })),
    producerId,
    producerEpoch,
    baseSequence,
    transactional: true,
  });
  const header = readBatchHeader(bytes);
  return { bytes, lastOffsetDelta: header.lastOffsetDelta, maxTimestamp: Number(header.maxTimestamp), header };
}

function plainBatch(tag: string, valueBytes = 0) {
  const bytes = buildBatchSync({ records: [{ key: tag, value: tag.padEnd(valueBytes, 'x'), timestamp: T0 }] });
  const header = readBatchHeader(bytes);
  return { bytes, lastOffsetDelta: header.lastOffsetDelta, maxTimestamp: Number(header.maxTimestamp), header };
}

/** The produce path on a log (check, then append): the base offset, or the test fails. */
function produce(log: PartitionLog, batch: ReturnType<typeof txBatch>): bigint {
  const check = log.checkProducer(batch.header);
  if (check.kind !== 'append') assert.fail(`expected an append, got ${show(check)}`);
  return log.append(batch);
}

/** Sequences per producer, so that a test writes `tx(log, 1n)` for the next batch of producer 1. */
function producers(log: () => PartitionLog, epoch = 0) {
  const next = new Map<bigint, number>();
  return {
    tx(producerId: bigint, count = 1, options: { key?: string; valueBytes?: number } = {}): bigint {
      const seq = next.get(producerId) ?? 0;
      next.set(producerId, seq + count);
      return produce(log(), txBatch(producerId, epoch, seq, count, options));
    },
    end(producerId: bigint, commit: boolean): bigint {
      const written = log().appendMarker({ producerId, producerEpoch: epoch, commit, coordinatorEpoch: 1 }, false);
      if (written.kind !== 'appended') assert.fail(`expected a marker, got ${show(written)}`);
      return written.offset;
    },
  };
}

const aborted = (log: PartitionLog, from = 0n, upTo = log.logEndOffset) => log.abortedTransactions(from, upTo).map((a) => [a.producerId, a.firstOffset]);

function txnIndexFiles(h: LogHarness): string[] {
  return readdirSync(h.dir)
    .filter((f) => f.endsWith('.txnindex'))
    .sort();
}

/** Entry counts of a `.txnindex` file, from its size. */
const entriesIn = (h: LogHarness, base: bigint) => (statSync(join(h.dir, segmentFileName(base, '.txnindex'))).size - TXN_INDEX_HEADER) / TXN_INDEX_ENTRY;

describe('transactions on a partition log (KIP-98)', () => {
  it('ends transactions with markers, moves the last stable offset, and indexes aborts', (t) => {
    const h = harness(t);
    const log = h.open();
    const p = producers(() => log);
    assert.equal(log.lastStableOffset, 0n);
    assert.equal(p.tx(1n, 2), 0n);
    assert.equal(log.append(plainBatch('plain')), 2n);
    assert.equal(p.tx(2n), 3n);
    assert.equal(p.tx(1n), 4n);
    assert.equal(log.ongoingTransactions, 2);
    assert.equal(log.lastStableOffset, 0n, 'the oldest ongoing transaction holds it');
    assert.equal(log.logEndOffset, 5n);

    assert.equal(p.end(1n, false), 5n);
    assert.equal(log.lastStableOffset, 3n);
    assert.deepEqual(aborted(log), [[1n, 0n]]);
    assert.equal(p.end(2n, true), 6n);
    assert.equal(log.lastStableOffset, 7n);
    assert.equal(log.lastStableOffset, log.logEndOffset);
    // Commits are not indexed; an abort is found by any range its marker or records fall in.
    assert.deepEqual(aborted(log), [[1n, 0n]]);
    assert.deepEqual(aborted(log, 5n, 6n), [[1n, 0n]]);
    assert.deepEqual(aborted(log, 0n, 1n), [[1n, 0n]]);
    assert.deepEqual(aborted(log, 6n, 7n), [], 'a marker before the range ended it before the range');

    // The markers as stored: control batches of the producer, no sequence, what they say in their record.
    const stored = recordsOf(log.read(5n, 1 << 20, true));
    const [abort, commit] = stored;
    assert.ok(abort !== undefined && commit !== undefined);
    const header = readBatchHeader(abort);
    assert.deepEqual([header.isControl, header.isTransactional, header.producerId, header.baseSequence, header.baseOffset], [true, true, 1n, -1, 5n]);
    assert.deepEqual(readTransactionMarker(abort), { commit: false, coordinatorEpoch: 1 });
    assert.deepEqual(readTransactionMarker(commit), { commit: true, coordinatorEpoch: 1 });

    // The partition moved to format version 4 before its first transactional batch.
    const meta = JSON.parse(readFileSync(join(h.dir, 'partition.json'), 'utf8')) as { formatVersion: number; transactionalFrom: string };
    assert.deepEqual([meta.formatVersion, meta.transactionalFrom], [4, '0']);
  });

  it('writes nothing for a producer without an ongoing transaction, and fences a marker of an older epoch', (t) => {
    const log = harness(t).open();
    const none = (producerId: bigint, producerEpoch: number): MarkerWrite => log.appendMarker({ producerId, producerEpoch, commit: true, coordinatorEpoch: 0 }, false);
    assert.deepEqual(none(1n, 0), { kind: 'no-transaction' });
    produce(log, txBatch(1n, 3, 0));
    const fenced = none(1n, 2);
    assert.equal(fenced.kind, 'fenced');
    assert.equal(log.logEndOffset, 1n, 'nothing written');
    assert.equal(none(1n, 3).kind, 'appended');
    // Sent again (a coordinator recovering from a crash): the transaction is over, nothing to write.
    assert.deepEqual(none(1n, 3), { kind: 'no-transaction' });
    assert.equal(log.logEndOffset, 2n);
  });

  it('refuses a batch outside a transaction from a producer whose transaction is ongoing', (t) => {
    const log = harness(t).open();
    produce(log, txBatch(1n, 0, 0));
    const idempotent = buildBatchSync({ records: [{ value: 'v' }], producerId: 1n, producerEpoch: 0, baseSequence: 1 });
    assert.equal(log.checkProducer(readBatchHeader(idempotent)).kind, 'invalid-txn-state');
  });

  it('reads below an end offset only: the read_committed cut at the last stable offset', (t) => {
    const log = harness(t).open();
    const p = producers(() => log);
    log.append(plainBatch('a')); // 0
    p.tx(1n); // 1: holds the last stable offset
    log.append(plainBatch('b')); // 2
    const lso = log.lastStableOffset;
    assert.equal(lso, 1n);
    assert.deepEqual(recordsOf(log.read(0n, 1 << 20, true, lso)).map((b) => readBatchHeader(b).baseOffset), [0n]);
    assert.deepEqual(recordsOf(log.read(1n, 1 << 20, true, lso)), [], 'nothing from the last stable offset on, even with minOneBatch');
    assert.equal(recordsOf(log.read(0n, 1 << 20, true)).length, 3, 'read_uncommitted reads everything');
    // A waiting read_committed fetch counts the bytes below the last stable offset only.
    const from = log.locate(0n);
    assert.ok(typeof from !== 'string');
    const first = recordsOf(log.read(0n, 1 << 20, true))[0]?.length ?? 0;
    assert.equal(log.bytesAfter(from, 1 << 20, true), first);
    assert.equal(log.bytesAfter(from, 1 << 20), log.sizeBytes);
    p.end(1n, true); // 3
    assert.equal(log.bytesAfter(from, 1 << 20, true), log.sizeBytes, 'the marker moved the last stable offset to the log end');
  });

  it('keeps each abort in the index of the segment that holds its marker, across rolls, and finds transactions that started segments earlier', async (t) => {
    const sample = txBatch(1n, 0, 0, 1, { valueBytes: 200 });
    const h = harness(t, { config: { segmentBytes: sample.bytes.length * 2 + 10 } });
    const log = h.open();
    const p = producers(() => log);
    const big = { valueBytes: 200 };
    p.tx(1n, 1, big); // 0: a long transaction, aborted much later
    p.tx(2n, 1, big); // 1
    p.end(2n, false); // 2
    p.tx(3n, 1, big); // 3
    p.tx(3n, 1, big); // 4
    p.end(3n, true); // 5
    p.tx(4n, 1, big); // 6
    p.tx(1n, 1, big); // 7
    p.end(4n, false); // 8
    p.end(1n, false); // 9
    log.append(plainBatch('after', 200)); // 10
    await log.flush();
    assert.ok(log.segmentCount >= 4, `rolled into ${log.segmentCount} segments`);
    assert.deepEqual(aborted(log), [
      [1n, 0n],
      [2n, 1n],
      [4n, 6n],
    ]);
    // From the offset after producer 2's abort: producer 1's transaction (from 0) is still there.
    assert.deepEqual(aborted(log, 3n, 6n), [[1n, 0n]]);
    assert.deepEqual(aborted(log, 10n, 11n), []);
    // Rolled segments have their index on disk once durable (a segment without aborts, an empty one);
    // the active segment's is written at close.
    assert.equal(txnIndexFiles(h).length, log.segmentCount - 1);
    await log.close();
    assert.equal(txnIndexFiles(h).length, log.segmentCount);
    const counts = txnIndexFiles(h).map((f) => (statSync(join(h.dir, f)).size - TXN_INDEX_HEADER) / TXN_INDEX_ENTRY);
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      3,
    );
    assert.ok(counts.includes(0), `a segment without aborts has an empty index (${counts.join()})`);
  });
});

describe('recovery of the transaction state', () => {
  /** Ongoing and aborted transactions in an active segment after rolled ones. */
  function writeTransactions(h: LogHarness): PartitionLog {
    const log = h.open();
    const p = producers(() => log);
    p.tx(1n); // 0
    p.tx(2n); // 1
    p.end(1n, false); // 2
    p.tx(3n); // 3
    p.end(3n, true); // 4
    p.tx(4n, 2); // 5-6
    p.end(4n, false); // 7
    log.append(plainBatch('x')); // 8
    return log;
  }

  it('rebuilds ongoing transactions and the active segment\'s aborts after a crash', (t) => {
    const h = harness(t);
    const log = writeTransactions(h);
    const before = { lso: log.lastStableOffset, aborted: aborted(log) };
    assert.equal(before.lso, 1n);
    // The process dies: no close, no snapshot, no index file.
    assert.deepEqual(txnIndexFiles(h), []);
    const again = h.open();
    assert.equal(again.lastStableOffset, before.lso);
    assert.deepEqual(aborted(again), before.aborted);
    assert.deepEqual(before.aborted, [
      [1n, 0n],
      [4n, 5n],
    ]);
    assert.equal(again.ongoingTransactions, 1);
    assert.equal(again.checkProducer(readBatchHeader(buildBatchSync({ records: [{ value: 'v' }], producerId: 2n, producerEpoch: 0, baseSequence: 1 }))).kind, 'invalid-txn-state');
    assert.equal(again.appendMarker({ producerId: 2n, producerEpoch: 0, commit: true, coordinatorEpoch: 0 }, false).kind, 'appended');
    assert.equal(again.lastStableOffset, again.logEndOffset);
  });

  it('takes a torn marker for never written: its transaction is ongoing again', (t) => {
    const h = harness(t);
    const log = h.open();
    const p = producers(() => log);
    p.tx(1n); // 0
    log.append(plainBatch('x')); // 1
    p.end(1n, false); // 2
    const path = join(h.dir, segmentFileName(0n, '.log'));
    // The crash cut the marker's write short.
    truncateSync(path, statSync(path).size - 5);
    const again = h.open();
    assert.equal(again.logEndOffset, 2n);
    assert.equal(again.lastStableOffset, 0n);
    assert.deepEqual(aborted(again, 0n, 2n), []);
    assert.deepEqual(h.logger.at('warn').map((e) => e.msg), ['truncated a torn write at the end of the log (it was never acknowledged with acks=all)']);
    // The coordinator sends the marker again.
    assert.equal(again.appendMarker({ producerId: 1n, producerEpoch: 0, commit: false, coordinatorEpoch: 1 }, false).kind, 'appended');
    assert.deepEqual(aborted(again), [[1n, 0n]]);
  });

  it('reads the indexes and the snapshot after a clean close, scanning no batch', async (t) => {
    const h = harness(t);
    const log = writeTransactions(h);
    const before = { lso: log.lastStableOffset, aborted: aborted(log) };
    await log.close();
    assert.deepEqual(txnIndexFiles(h), [segmentFileName(0n, '.txnindex')]);
    assert.equal(entriesIn(h, 0n), 2);
    const again = h.open();
    assert.equal(again.lastStableOffset, before.lso);
    assert.deepEqual(aborted(again), before.aborted);
    const loaded = h.logger.entries.filter((e) => e.msg === 'producer state loaded').at(-1)?.obj as { source: string; batchesScanned: number } | undefined;
    assert.deepEqual([loaded?.source, loaded?.batchesScanned], ['snapshot', 0]);
    // Appends after the reopen land in the index loaded from the file, and a crash then rebuilds from its coverage.
    const p = producers(() => again);
    again.checkProducer(txBatch(2n, 0, 1).header);
    produce(again, txBatch(2n, 0, 1));
    p.end(2n, false);
    const third = h.open();
    assert.deepEqual(aborted(third), [
      [1n, 0n],
      [2n, 1n],
      [4n, 5n],
    ]);
    assert.equal(third.lastStableOffset, third.logEndOffset);
  });

  it('rebuilds missing and damaged indexes from the whole log (a restore from a backup holds .log files only)', async (t) => {
    const sample = txBatch(1n, 0, 0, 1, { valueBytes: 200 });
    const h = harness(t, { config: { segmentBytes: sample.bytes.length * 2 + 10 } });
    const log = h.open();
    const p = producers(() => log);
    const big = { valueBytes: 200 };
    p.tx(1n, 1, big); // 0: started three segments before its abort
    p.tx(2n, 1, big);
    p.end(2n, false);
    p.tx(3n, 1, big);
    p.end(3n, false);
    log.append(plainBatch('y', 200));
    p.end(1n, false);
    p.tx(5n, 1, big); // ongoing
    const expected = { lso: log.lastStableOffset, aborted: aborted(log) };
    assert.deepEqual(expected.aborted, [
      [1n, 0n],
      [2n, 1n],
      [3n, 3n],
    ]);
    await log.close();
    const files = txnIndexFiles(h);
    assert.ok(files.length >= 3);

    // Damaged: one flipped byte in an entry fails its CRC; the file is rebuilt with a warning.
    const withEntry = files.find((f) => statSync(join(h.dir, f)).size > TXN_INDEX_HEADER);
    assert.ok(withEntry !== undefined);
    const data = readFileSync(join(h.dir, withEntry));
    data[TXN_INDEX_HEADER + 10] = (data[TXN_INDEX_HEADER + 10] ?? 0) ^ 0x01;
    writeFileSync(join(h.dir, withEntry), data);
    const repaired = h.open();
    assert.match(h.logger.at('warn').map((e) => e.msg).join('\n'), /damaged aborted-transaction index: it is rebuilt from the log/);
    assert.deepEqual(aborted(repaired), expected.aborted);
    assert.equal(repaired.lastStableOffset, expected.lso);
    await repaired.close();

    // As restored from a backup: the segments' .log files and partition.json, nothing else.
    for (const f of readdirSync(h.dir)) if (!f.endsWith('.log') && f !== 'partition.json') unlinkSync(join(h.dir, f));
    const restored = h.open();
    assert.deepEqual(aborted(restored), expected.aborted);
    assert.equal(restored.lastStableOffset, expected.lso);
    assert.equal(restored.ongoingTransactions, 1);
    // The rolled segments' indexes were written again at once; the active one's waits for the close.
    const segments = readdirSync(h.dir).filter((f) => f.endsWith('.log')).sort();
    assert.deepEqual(
      txnIndexFiles(h),
      segments.slice(0, -1).map((f) => f.replace('.log', '.txnindex')),
    );
  });

  it('deletes a segment\'s index with the segment (retention)', async (t) => {
    const sample = txBatch(1n, 0, 0, 1, { valueBytes: 200 });
    const h = harness(t, { config: { segmentBytes: sample.bytes.length * 2 + 10 } });
    const log = h.open();
    const p = producers(() => log);
    for (let i = 0; i < 4; i++) {
      p.tx(1n, 1, { valueBytes: 200 });
      p.end(1n, i % 2 === 0);
    }
    await log.flush();
    const before = txnIndexFiles(h);
    assert.ok(before.length >= 2);
    h.config.retentionBytes = 1;
    const deleted = await log.enforceRetention();
    assert.ok(deleted > 0);
    const remaining = new Set(readdirSync(h.dir).filter((f) => f.endsWith('.log')).map((f) => f.slice(0, 20)));
    for (const f of txnIndexFiles(h)) assert.ok(remaining.has(f.slice(0, 20)), `${f} outlived its segment`);
    assert.ok(txnIndexFiles(h).length < before.length);
  });
});

describe('transactions through the log manager', () => {
  function manager(t: TestContext, options: { transactionGuard?: TransactionGuard; transform?: RecordTransform } = {}) {
    const m = new LogManager({ dataDir: tempDir(t), logger: recordingLogger(), configs: configSource(() => defaultConfig()), clock: () => T0, ...options });
    defer(t, () => m.close());
    const [log] = m.openTopic({ name: 't', id: 'id-t', partitions: 1 });
    assert.ok(log !== undefined);
    return { m, log };
  }

  it('asks the transaction guard in the commit step, for transactional batches only, and takes its refusal', async (t) => {
    const calls: string[] = [];
    let refusal: LogFailure | null = null;
    // The transform awaits: the guard must run after it, in the step that writes.
    const transform: RecordTransform = {
      prepare: async (batch) => {
        calls.push('prepare');
        await new Promise((resolve) => setImmediate(resolve));
        return { kind: 'prepared', bytes: batch.bytes };
      },
    };
    const { m, log } = manager(t, {
      transform,
      transactionGuard: (topic, partition, producerId, producerEpoch) => {
        calls.push(`guard ${topic}-${partition} ${producerId}/${producerEpoch} at ${log.logEndOffset}`);
        return refusal;
      },
    });
    assert.equal((await m.append('t', 0, txBatch(7n, 2, 0).bytes)).kind, 'appended');
    assert.equal((await m.append('t', 0, plainBatch('p').bytes)).kind, 'appended');
    refusal = { kind: 'invalid-txn-state', message: 'partition not in the transaction' };
    assert.deepEqual(await m.append('t', 0, txBatch(7n, 2, 1).bytes), refusal);
    refusal = { kind: 'fenced', message: 'newer epoch' };
    assert.deepEqual(await m.append('t', 0, txBatch(7n, 2, 1).bytes), refusal);
    assert.deepEqual(calls, ['prepare', 'guard t-0 7/2 at 0', 'prepare', 'prepare', 'guard t-0 7/2 at 2', 'prepare', 'guard t-0 7/2 at 2']);
    assert.equal(log.logEndOffset, 2n);
  });

  it('refuses every transactional batch without a transaction guard (no coordinator would ever end it)', async (t) => {
    const { m, log } = manager(t);
    const outcome = await m.append('t', 0, txBatch(7n, 0, 0).bytes);
    assert.equal(outcome.kind, 'invalid-txn-state');
    assert.equal(log.logEndOffset, 0n);
    assert.equal((JSON.parse(readFileSync(join(log.dir, 'partition.json'), 'utf8')) as { formatVersion: number }).formatVersion, 1, 'nothing transactional was written');
  });

  it('writes markers: durable with the group commit, waking the partition\'s watchers, refusing what it must', async (t) => {
    const { m, log } = manager(t, { transactionGuard: () => null });
    assert.equal((await m.append('t', 0, txBatch(7n, 0, 0).bytes)).kind, 'appended');
    const idempotent = buildBatchSync({ records: [{ value: 'v' }], producerId: 7n, producerEpoch: 0, baseSequence: 1 });
    assert.equal((await m.append('t', 0, idempotent)).kind, 'invalid-txn-state');
    let woken = 0;
    const stop = m.watch(log, () => woken++);
    defer(t, stop);
    await m.sync();
    assert.equal(log.dirty, false);
    assert.deepEqual(await m.appendMarker('t', 0, { producerId: 7n, producerEpoch: 0, commit: false, coordinatorEpoch: 0 }), { kind: 'appended', offset: 1n });
    assert.equal(woken, 1);
    assert.equal(log.dirty, true);
    await m.sync();
    assert.equal(log.dirty, false);
    assert.deepEqual(await m.appendMarker('t', 0, { producerId: 7n, producerEpoch: 0, commit: false, coordinatorEpoch: 0 }), { kind: 'no-transaction' });
    assert.equal(woken, 1, 'nothing written, nobody woken');
    assert.equal((await m.appendMarker('t', 1, { producerId: 7n, producerEpoch: 0, commit: true, coordinatorEpoch: 0 })).kind, 'unknown-partition');
    assert.equal((await m.appendMarker('nope', 0, { producerId: 7n, producerEpoch: 0, commit: true, coordinatorEpoch: 0 })).kind, 'unknown-partition');
    assert.deepEqual(log.abortedTransactions(0n, 2n), [{ producerId: 7n, firstOffset: 0n }]);
    const [marker] = splitBatches(recordsOf(log.read(1n, 1 << 20, true))[0] ?? Buffer.alloc(0));
    assert.equal(marker?.readInt16BE(BatchOffsets.producerEpoch), 0);
  });
  it('rebuilds an encrypted partition\'s transactions after a crash once its keys are loaded (sealed batches, clear markers)', async (t) => {
    const dataDir = tempDir(t);
    const masterKey = randomBytes(32);
    const open = () => {
      const provider = LocalKekProvider.open(join(dataDir, 'keyring.json'), { kind: 'key', key: masterKey }, { create: true });
      const m = new LogManager({
        dataDir,
        logger: recordingLogger(),
        clock: () => T0,
        configs: configSource(() => ({ ...defaultConfig(), encrypted: true })),
        keys: { provider, cache: new DataKeyCache(8), limits: DEFAULT_DATA_KEY_LIMITS },
        transactionGuard: () => null,
      });
      defer(t, () => m.close());
      const [log] = m.openTopic({ name: 't', id: 'id-t', partitions: 1 });
      assert.ok(log !== undefined);
      return { m, log };
    };
    const first = open();
    assert.equal((await first.m.append('t', 0, txBatch(1n, 0, 0).bytes)).kind, 'appended'); // 0
    assert.equal((await first.m.append('t', 0, txBatch(2n, 0, 0).bytes)).kind, 'appended'); // 1: stays ongoing
    assert.equal((await first.m.appendMarker('t', 0, { producerId: 1n, producerEpoch: 0, commit: false, coordinatorEpoch: 0 })).kind, 'appended'); // 2
    await first.m.sync();
    assert.deepEqual(
      recordsOf(first.log.read(0n, 1 << 20, true)).map((b) => b.readInt8(BatchOffsets.magic)),
      [SEALED_MAGIC, SEALED_MAGIC, 2],
    );
    // The process dies; a new one opens the partition: its producer state lies in sealed batches.
    const again = open();
    assert.equal(again.log.producerStateDeferred, true);
    assert.equal(again.log.lastStableOffset, 0n, 'nothing is taken for stable before the keys are loaded');
    assert.deepEqual(await again.log.loadTransactionState(), { kind: 'ready' });
    assert.equal(again.log.lastStableOffset, 1n);
    assert.deepEqual(again.log.abortedTransactions(0n, 3n), [{ producerId: 1n, firstOffset: 0n }]);
    assert.equal((await again.m.appendMarker('t', 0, { producerId: 2n, producerEpoch: 0, commit: true, coordinatorEpoch: 0 })).kind, 'appended');
    assert.equal(again.log.lastStableOffset, 4n);
  });
});
