import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { LogManager } from '../../src/storage/log/log-manager.js';
import type { Logger } from '../../src/logger.js';
import type { CleaningOutcome } from '../../src/storage/compaction/partition-cleaner.js';
import { assertCompacted, assertNothingLost, COMPACTED_TOPIC, compactedConfig, fillPartition, readPartition, type ReadRecord } from '../helpers/compaction-setup.js';

const CHILD = fileURLToPath(new URL('../helpers/compaction-child.js', import.meta.url));
const ROUNDS = 6;

/** Errors logged while the data directory is opened again: a crash must leave nothing to complain about. */
function recordingErrors(): Logger & { errors: string[] } {
  const errors: string[] = [];
  return { errors, info() {}, debug() {}, warn() {}, error: (_obj: object, msg: string) => errors.push(msg) };
}

function openLogs(dataDir: string, logger: Logger, outcomes: CleaningOutcome[] = []): LogManager {
  const config = compactedConfig();
  const m = new LogManager({
    dataDir,
    logger,
    configs: { configFor: () => config },
    cleaner: { memoryBytes: 1 << 20, ioBytesPerSecond: 0, intervalMs: 3_600_000 },
    onCleaning: (_partition, outcome) => outcomes.push(outcome),
  });
  m.addTopic(COMPACTED_TOPIC);
  return m;
}

/** Runs the cleaning child and SIGKILLs it `afterMs` after it starts cleaning (unless it finished first). */
async function cleanAndKill(dataDir: string, afterMs: number): Promise<'killed' | 'finished'> {
  // 256 KiB/s: a cleaning of this log takes a few seconds, so the kill lands inside it.
  const child = spawn(process.execPath, [CHILD, dataDir, String(256 * 1024), String(1 << 20)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => { resolve(code); }));
  const deadline = Date.now() + 20_000;
  while (!out.includes('cleaning') && Date.now() < deadline) await sleep(5);
  assert.ok(out.includes('cleaning'), `the child did not start: ${err}`);
  await sleep(afterMs);
  const finished = out.includes('done');
  child.kill('SIGKILL');
  await exited;
  assert.equal(err, '', 'the child wrote no error');
  return finished ? 'finished' : 'killed';
}

describe('compaction and crashes', () => {
  it('a SIGKILL at any point of a cleaning never loses the newest record of a key, and the log always recovers', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'parapet-compaction-crash-'));
    t.after(() => { rmSync(dataDir, { recursive: true, force: true }); });
    const written = new Map<bigint, ReadRecord>();
    let n = 0;
    const write = async (m: LogManager, rounds: number) => {
      for (const [offset, r] of await fillPartition(m, COMPACTED_TOPIC.name, { rounds, keys: 60, valueBytes: 200, from: n })) written.set(offset, r);
      n += rounds * 10;
    };
    const first = openLogs(dataDir, recordingErrors());
    await write(first, 300);
    await first.close();
    const outcomes: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Early, middle and late in the cleaning: the reads, the copies, the swaps.
      outcomes.push(await cleanAndKill(dataDir, 30 + Math.floor(Math.random() * 2500)));
      const logger = recordingErrors();
      const m = openLogs(dataDir, logger);
      try {
        assertNothingLost((await readPartition(m, COMPACTED_TOPIC.name)).records, written);
        assert.deepEqual(logger.errors, [], `round ${round}: opening after the kill logged no error`);
        assert.ok(!readdirSync(join(dataDir, 'logs', `${COMPACTED_TOPIC.name}-0`)).some((f) => f.endsWith('.cleaned')), 'no cleaned copy left after recovery');
        // More values for the same keys: each round has dirty data to clean.
        await write(m, 40);
      } finally {
        await m.close();
      }
    }
    t.diagnostic(`kills: ${outcomes.join(', ')}`);
    assert.ok(outcomes.includes('killed'), `at least one kill landed inside a cleaning: ${outcomes.join(', ')}`);
    // Left alone, the cleaning completes and the log is compacted.
    const cleanings: CleaningOutcome[] = [];
    const last = openLogs(dataDir, recordingErrors(), cleanings);
    t.after(() => last.close());
    last.openExisting(10);
    assert.equal(await last.cleanCompactedLogs(), 1);
    const outcome = cleanings[0];
    assert.ok(outcome?.kind === 'cleaned');
    assertCompacted((await readPartition(last, COMPACTED_TOPIC.name)).records, written, outcome.stats.cleanedTo);
  });
});

