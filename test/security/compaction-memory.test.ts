import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { buildBatchSync } from '../../src/records/record.js';
import type { CleaningOutcome } from '../../src/storage/compaction/partition-cleaner.js';
import { LogManager } from '../../src/storage/log/log-manager.js';
import { readPartition } from '../helpers/compaction-setup.js';
import { defaultConfig, defer, recordingLogger, tempDir } from '../unit/storage/log/helpers.js';

/**
 * The cleaner's memory under a topic with a million distinct keys (issue 20): a limited account can
 * write as many keys as it likes, and the cleaner's memory stays its offset map (cleanerMemoryBytes,
 * here 4 MiB for about 157,000 keys a pass) plus a batch: it cleans in several passes instead of growing.
 */

const KEYS = 1_000_000;
const PER_BATCH = 1000;
const MEMORY = 4 * 1024 * 1024;
const TOPIC = { name: 'many-keys', id: 'topic-id-many', partitions: 1 };

// A collection before the baseline, so that the appends' garbage does not hide what the cleaner holds.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('the cleaner with a million keys', () => {
  it('stays within its memory budget, in several passes, and keeps every key', async (t) => {
    const outcomes: CleaningOutcome[] = [];
    const config = defaultConfig({
      segmentBytes: 1024 * 1024,
      deleteRetention: false,
      compaction: { minCleanableDirtyRatio: 0, minCompactionLagMs: 0, maxCompactionLagMs: Number.MAX_SAFE_INTEGER, deleteRetentionMs: 86_400_000 },
    });
    const m = new LogManager({
      dataDir: tempDir(t),
      logger: recordingLogger(),
      configs: { configFor: () => config },
      cleaner: { memoryBytes: MEMORY, ioBytesPerSecond: 0, intervalMs: 3_600_000 },
      onCleaning: (_p, outcome) => outcomes.push(outcome),
    });
    m.addTopic(TOPIC);
    defer(t, () => m.close());
    for (let b = 0; b < KEYS / PER_BATCH; b++) {
      const records = Array.from({ length: PER_BATCH }, (_, i) => ({ key: `key-${b * PER_BATCH + i}`, value: 'v' }));
      const outcome = await m.append(TOPIC.name, 0, buildBatchSync({ records }));
      assert.equal(outcome.kind, 'appended');
    }
    // Backing stores are freed after the collection that finds them: twice, with a turn of the loop between.
    gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
    gc();
    const before = process.memoryUsage();
    let peakExternal = 0;
    let peakHeap = 0;
    // What the cleaner holds, not the garbage it leaves (a hash digest per key, read chunks): a
    // collection before each sample.
    const sampler = setInterval(() => {
      gc();
      const now = process.memoryUsage();
      peakExternal = Math.max(peakExternal, now.arrayBuffers - before.arrayBuffers);
      peakHeap = Math.max(peakHeap, now.heapUsed - before.heapUsed);
    }, 250);
    let rounds = 0;
    try {
      await m.sync();
      while ((await m.cleanCompactedLogs()) > 0) rounds++;
    } finally {
      clearInterval(sampler);
    }
    const passes = outcomes.filter((o) => o.kind === 'cleaned');
    assert.ok(passes.length >= 7, `a million keys take at least 7 passes of about 157,000: ${passes.length}`);
    for (const pass of passes) assert.ok(pass.stats.keys <= Math.floor((MEMORY / 24) * 0.9), 'no pass holds more keys than the map');
    assert.equal(m.cleanerMemoryBytes, MEMORY);
    // The map, plus the read chunk (1 MiB), a batch and what Node keeps of recent I/O: 4-5 MiB measured
    // alone on the 2-core VM, up to 6.4 MiB with the other tests running beside it; the same in every
    // pass, nothing that grows with the keys (all million of them would take 24 MiB in a map).
    const bound = MEMORY + 8 * 1024 * 1024;
    assert.ok(peakExternal >= MEMORY, `the map itself is measured (${peakExternal} bytes)`);
    assert.ok(peakExternal <= bound, `external memory grew by ${(peakExternal / 2 ** 20).toFixed(1)} MiB while cleaning (bound ${bound / 2 ** 20} MiB)`);
    assert.ok(peakHeap <= 16 * 1024 * 1024, `the JS heap grew by ${(peakHeap / 2 ** 20).toFixed(1)} MiB while cleaning`);
    t.diagnostic(`${rounds} rounds, ${passes.length} passes, peak external +${(peakExternal / 2 ** 20).toFixed(1)} MiB, heap +${(peakHeap / 2 ** 20).toFixed(1)} MiB`);
    const { records } = await readPartition(m, TOPIC.name);
    assert.equal(records.length, KEYS, 'every key is still there: distinct keys replace nothing');
  });
});
