import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuditTopicCopy, MAX_PENDING_TOPIC_LINES } from '../../../src/audit/audit-topic.js';
import { readRecordsSync } from '../../../src/records/record.js';
import type { AppendOutcome } from '../../../src/storage/log-store.js';
import { recordingLogger } from '../../helpers/broker.js';

/** An appender that keeps each batch's values and answers when the test lets it. */
function slowLog() {
  const batches: string[][] = [];
  const waiting: (() => void)[] = [];
  return {
    batches,
    release: () => {
      for (const w of waiting.splice(0)) w();
    },
    append: (topic: string, partition: number, records: Buffer | null): Promise<AppendOutcome> => {
      assert.deepEqual([topic, partition], ['__audit', 0]);
      batches.push(readRecordsSync(records ?? Buffer.alloc(0)).map((r) => r.value?.toString('utf8') ?? ''));
      return new Promise((resolve) => {
        waiting.push(() => {
          resolve({ kind: 'appended', baseOffset: 0n, logStartOffset: 0n, appendTime: null });
        });
      });
    },
  };
}

describe('the __audit topic copy', () => {
  it('appends lines in order, one batch at a time', async () => {
    const log = slowLog();
    const copy = new AuditTopicCopy(log, recordingLogger());
    copy.add(['a', 'b']);
    copy.add(['c']);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(log.batches, [['a', 'b']], 'the second waits for the first');
    log.release();
    await new Promise((r) => setImmediate(r));
    log.release();
    await copy.settled();
    assert.deepEqual(log.batches, [['a', 'b'], ['c']]);
  });

  it('holds at most MAX_PENDING_TOPIC_LINES lines for a topic that cannot keep up, and says how many it skipped', async () => {
    const log = slowLog();
    const logger = recordingLogger();
    const copy = new AuditTopicCopy(log, logger);
    copy.add(['first']);
    const flood = Array.from({ length: MAX_PENDING_TOPIC_LINES + 500 }, (_, i) => `line ${i}`);
    copy.add(flood);
    for (let i = 0; i < 200 && log.batches.length < 60; i++) {
      log.release();
      await new Promise((r) => setImmediate(r));
    }
    log.release();
    await copy.settled();
    const copied = log.batches.flat();
    assert.equal(copied.length, 1 + MAX_PENDING_TOPIC_LINES, 'the bound, not the flood');
    assert.equal(copied.at(-1), `line ${MAX_PENDING_TOPIC_LINES - 1}`, 'the oldest kept, in order');
    assert.ok(logger.entries.some((e) => (e.obj as { event?: string; skipped?: number }).event === 'audit-topic-behind' && (e.obj as { skipped: number }).skipped === 500));
  });
});
