import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addPass, EMPTY_CHECKPOINT, firstReadAt } from '../../../../src/storage/compaction/cleaner-checkpoint.js';
import { planCleaning } from '../../../../src/storage/compaction/cleaning-plan.js';
import type { RolledSegment } from '../../../../src/storage/compaction/compactable-log.js';
import type { CompactionConfig } from '../../../../src/storage/log/log-config.js';

const NOW = 1_700_000_000_000;
const config: CompactionConfig = { minCleanableDirtyRatio: 0.5, minCompactionLagMs: 0, maxCompactionLagMs: Number.MAX_SAFE_INTEGER, deleteRetentionMs: 86_400_000 };

/** Segments of 100 offsets and 1000 bytes each, from offset 0, with their newest record `ages` ms old. */
function segments(...ages: number[]): RolledSegment[] {
  return ages.map((age, i) => ({ baseOffset: BigInt(i * 100), nextOffset: BigInt(i * 100 + 100), size: 1000, maxTimestamp: NOW - age, path: `/x/${i}.log` }));
}

describe('cleaning plan', () => {
  it('cleans when the dirty share of the cleanable bytes reaches min.cleanable.dirty.ratio', () => {
    const rolled = segments(9, 8, 7, 6);
    // Nothing cleaned yet: all dirty.
    const first = planCleaning(rolled, EMPTY_CHECKPOINT, config, NOW);
    assert.ok(first.kind === 'clean');
    assert.equal(first.reason, 'dirty-ratio');
    assert.equal(first.cleanableEnd, 400n);
    // Three of four segments clean: 25% dirty is below 50%.
    const mostlyClean = planCleaning(rolled, { ...EMPTY_CHECKPOINT, firstDirtyOffset: 300n }, config, NOW);
    assert.deepEqual(mostlyClean, { kind: 'idle', dirtyRatio: 0.25 });
    const eager = planCleaning(rolled, { ...EMPTY_CHECKPOINT, firstDirtyOffset: 300n }, { ...config, minCleanableDirtyRatio: 0.2 }, NOW);
    assert.equal(eager.kind === 'clean' && eager.firstDirtyOffset, 300n);
    // Everything read already: nothing to do, whatever the ratio asks.
    assert.equal(planCleaning(rolled, { ...EMPTY_CHECKPOINT, firstDirtyOffset: 400n }, { ...config, minCleanableDirtyRatio: 0 }, NOW).kind, 'idle');
  });

  it('leaves segments younger than min.compaction.lag.ms, and everything after them, uncleaned', () => {
    const plan = planCleaning(segments(60_000, 50_000, 1_000, 70_000), EMPTY_CHECKPOINT, { ...config, minCompactionLagMs: 10_000 }, NOW);
    assert.ok(plan.kind === 'clean');
    assert.deepEqual(plan.segments.map((s) => s.baseOffset), [0n, 100n]);
    assert.equal(plan.cleanableEnd, 200n);
    assert.equal(planCleaning(segments(1_000), EMPTY_CHECKPOINT, { ...config, minCompactionLagMs: 10_000 }, NOW).kind, 'idle');
  });

  it('cleans below the ratio once dirty records are older than max.compaction.lag.ms', () => {
    const checkpoint = { ...EMPTY_CHECKPOINT, firstDirtyOffset: 300n };
    const lagged = { ...config, maxCompactionLagMs: 5_000 };
    assert.equal(planCleaning(segments(9, 8, 7, 4_000), checkpoint, lagged, NOW).kind, 'idle');
    const plan = planCleaning(segments(9, 8, 7, 6_000), checkpoint, lagged, NOW);
    assert.equal(plan.kind === 'clean' && plan.reason, 'max-compaction-lag');
  });

  it('cleans a fully clean log again once its kept tombstones may go', () => {
    const checkpoint = { firstDirtyOffset: 400n, passes: [], tombstonesExpireAt: NOW + 10 };
    assert.equal(planCleaning(segments(9, 8, 7, 6), checkpoint, config, NOW).kind, 'idle');
    const plan = planCleaning(segments(9, 8, 7, 6), checkpoint, config, NOW + 10);
    assert.equal(plan.kind === 'clean' && plan.reason, 'tombstones-expired');
  });

  it('has nothing to clean without rolled segments', () => {
    assert.deepEqual(planCleaning([], EMPTY_CHECKPOINT, config, NOW), { kind: 'idle', dirtyRatio: 0 });
  });
});

describe('cleaner checkpoint passes', () => {
  it('date a tombstone from the first cleaning that read it', () => {
    const passes = addPass(addPass([], 100n, NOW, 1000), 250n, NOW + 500, 1000);
    assert.equal(firstReadAt(passes, 99n), NOW);
    assert.equal(firstReadAt(passes, 100n), NOW + 500);
    assert.equal(firstReadAt(passes, 250n), null);
  });

  it('fold passes older than delete.retention.ms into one at time 0, never losing where they ended', () => {
    const passes = addPass(addPass(addPass([], 100n, NOW, 1000), 200n, NOW + 100, 1000), 300n, NOW + 1050, 1000);
    assert.deepEqual(passes, [
      { end: 100n, at: 0 },
      { end: 200n, at: NOW + 100 },
      { end: 300n, at: NOW + 1050 },
    ]);
    // Offsets below the folded pass count as read long ago: their tombstones may go.
    assert.equal(firstReadAt(passes, 50n), 0);
  });

  it('stay bounded, merging the oldest into the later time (tombstones kept longer, never shorter)', () => {
    let passes = addPass([], 1n, NOW, Number.MAX_SAFE_INTEGER);
    for (let i = 2; i <= 200; i++) passes = addPass(passes, BigInt(i), NOW + i, Number.MAX_SAFE_INTEGER);
    assert.equal(passes.length, 64);
    assert.equal(passes.at(-1)?.end, 200n);
    // Offset 0 was first read at NOW; after merging it is dated later, so kept at least as long.
    assert.ok((firstReadAt(passes, 0n) ?? 0) >= NOW);
  });

  it('do not add a pass that read nothing new', () => {
    const passes = addPass([], 100n, NOW, 1000);
    assert.deepEqual(addPass(passes, 100n, NOW + 10, 1000), passes);
  });
});
