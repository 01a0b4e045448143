import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { readBatchHeader } from '../../../../src/records/batch.js';
import { buildBatchSync } from '../../../../src/records/record.js';
import type { CleaningOutcome } from '../../../../src/storage/compaction/partition-cleaner.js';
import { LogManager } from '../../../../src/storage/log/log-manager.js';
import { compactedConfig, readPartition } from '../../../helpers/compaction-setup.js';
import { T0, defer, recordingLogger, tempDir } from '../log/helpers.js';

const TOPIC = { name: 'changelog', id: 'topic-id-t', partitions: 1 };

/** A compacted topic with small segments, every transactional batch admitted (no coordinator under test). */
function open(t: TestContext) {
  const outcomes: CleaningOutcome[] = [];
  const m = new LogManager({
    dataDir: tempDir(t),
    logger: recordingLogger(),
    clock: () => T0,
    configs: { configFor: () => ({ ...compactedConfig(), segmentBytes: 1024 }) },
    cleaner: { memoryBytes: 1024 * 1024, ioBytesPerSecond: 0, intervalMs: 60_000 },
    onCleaning: (_partition, outcome) => outcomes.push(outcome),
    transactionGuard: () => null,
  });
  defer(t, () => m.close());
  const [log] = m.openTopic(TOPIC);
  assert.ok(log !== undefined);
  const sequences = new Map<bigint, number>();
  const write = async (key: string, value: string, producerId?: bigint) => {
    const seq = producerId === undefined ? 0 : (sequences.get(producerId) ?? 0);
    if (producerId !== undefined) sequences.set(producerId, seq + 1);
    const bytes = buildBatchSync({
      records: [{ key, value: value.padEnd(60, '.'), timestamp: T0 }],
      ...(producerId === undefined ? {} : { producerId, producerEpoch: 0, baseSequence: seq, transactional: true }),
    });
    const outcome = await m.append(TOPIC.name, 0, bytes);
    if (outcome.kind !== 'appended') return assert.fail(`append: ${outcome.kind}`);
    return outcome.baseOffset;
  };
  const end = async (producerId: bigint, commit: boolean) => {
    assert.equal((await m.appendMarker(TOPIC.name, 0, { producerId, producerEpoch: 0, commit, coordinatorEpoch: 0 })).kind, 'appended');
  };
  /** Plain records of other keys, enough to roll the segments written so far behind the active one. */
  const roll = async (n = 20) => {
    for (let i = 0; i < n; i++) await write(`filler-${i}`, `f${i}`);
  };
  const clean = async () => {
    await m.sync();
    return m.cleanCompactedLogs();
  };
  /** Values of `key` as a read_uncommitted consumer reads them (data batches only), and how many markers are left. */
  const values = async (key: string) => {
    const { records, batches } = await readPartition(m, TOPIC.name);
    const markers = batches.filter((b) => readBatchHeader(b).isControl).length;
    const control = new Set(batches.filter((b) => readBatchHeader(b).isControl).map((b) => readBatchHeader(b).baseOffset));
    return { values: records.filter((r) => r.key === key && !control.has(r.offset)).map((r) => r.value?.replace(/\.+$/, '')), markers };
  };
  return { m, log, outcomes, write, end, roll, clean, values };
}

describe('compaction of transactional data (KIP-98)', () => {
  it('keeps a committed value that a newer aborted one would have superseded, and removes the aborted records', async (t) => {
    const p = open(t);
    await p.write('K', 'v1', 1n);
    await p.end(1n, true);
    await p.write('K', 'v2', 2n);
    await p.write('L', 'l-aborted', 2n);
    await p.end(2n, false);
    await p.roll();
    assert.deepEqual((await p.values('K')).values, ['v1', 'v2']);
    assert.equal(await p.clean(), 1);
    const cleaned = p.outcomes.find((o) => o.kind === 'cleaned');
    assert.ok(cleaned?.kind === 'cleaned');
    assert.equal(cleaned.stats.abortedRemoved, 2);
    const after = await p.values('K');
    // Without the aborted records left out of the offset map, v2 (newer) would have removed v1: a
    // read_committed consumer would then have no value for K at all.
    assert.deepEqual(after.values, ['v1']);
    assert.deepEqual((await p.values('L')).values, []);
    assert.equal(after.markers, 2, 'markers are kept');
    // The aborted transaction is still indexed (offsets do not move).
    assert.deepEqual(p.log.abortedTransactions(0n, p.log.logEndOffset), [{ producerId: 2n, firstOffset: 2n }]);
  });

  it('cleans nothing at or past the last stable offset, and the rest once the transaction ends', async (t) => {
    const p = open(t);
    await p.write('K', 'a'); // plain, in the first segment
    await p.roll(12);
    const ongoing = await p.write('K', 'b', 3n); // a transaction that stays open for now
    await p.roll(12);
    await p.write('K', 'c');
    await p.roll();
    assert.equal(p.log.lastStableOffset, ongoing);
    await p.clean();
    const first = p.outcomes.find((o) => o.kind === 'cleaned');
    assert.ok(first?.kind === 'cleaned');
    assert.ok(first.stats.cleanedTo <= ongoing, `cleaned to ${first.stats.cleanedTo}, the last stable offset is ${ongoing}`);
    // 'a' is the newest value of K below the last stable offset: it stays; b and c are not touched.
    assert.deepEqual((await p.values('K')).values, ['a', 'b', 'c']);
    await p.end(3n, true);
    await p.roll();
    await p.clean();
    assert.deepEqual((await p.values('K')).values, ['c']);
  });
});
