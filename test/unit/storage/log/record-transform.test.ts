import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { writeBatchCrc } from '../../../../src/records/batch.js';
import { buildBatchSync, readRecordsSync } from '../../../../src/records/record.js';
import { LogManager } from '../../../../src/storage/log/log-manager.js';
import type { BatchToPrepare, PreparedBatch, RecordTransform } from '../../../../src/storage/log/record-transform.js';
import { T0, configSource, defer, deferred, recordingLogger, recordsOf, tempDir, type Deferred } from './helpers.js';

/** A log manager with `transform` as its preparation step, and one topic `t` of one partition. */
function managerWith(t: TestContext, transform: RecordTransform) {
  const m = new LogManager({ dataDir: tempDir(t), logger: recordingLogger(), configs: configSource(), clock: () => T0, transform });
  defer(t, () => m.close());
  const [log] = m.openTopic({ name: 't', id: 'id', partitions: 1 });
  assert.ok(log !== undefined);
  return { m, log };
}

/** A transform that holds every batch until the test lets it go, and records what it saw. */
function heldTransform(): RecordTransform & { seen: BatchToPrepare[]; held: Deferred<PreparedBatch>[] } {
  const seen: BatchToPrepare[] = [];
  const held: Deferred<PreparedBatch>[] = [];
  return {
    seen,
    held,
    prepare(batch) {
      seen.push(batch);
      const d = deferred<PreparedBatch>();
      held.push(d);
      return d.promise;
    },
  };
}

const idempotent = (baseSequence: number) =>
  buildBatchSync({ records: [{ value: `r${baseSequence}`, timestamp: T0 }], producerId: 9n, producerEpoch: 0, baseSequence });

describe('the record transform (the preparation step of an append)', () => {
  it('runs after validation and before the commit; what it returns is what the log stores', async (t) => {
    const masking: RecordTransform = {
      prepare({ bytes }) {
        const masked = Buffer.from(bytes);
        masked.write('******', masked.indexOf('secret'));
        writeBatchCrc(masked);
        return { kind: 'prepared', bytes: masked };
      },
    };
    const { m, log } = managerWith(t, masking);
    const outcome = await m.append('t', 0, buildBatchSync({ records: [{ key: 'k', value: 'secret', timestamp: T0 }] }));
    assert.equal(outcome.kind, 'appended');
    const [stored] = recordsOf(log.read(0n, 1 << 20, true));
    assert.ok(stored !== undefined);
    assert.equal(readRecordsSync(stored)[0]?.value?.toString(), '******');
  });

  it('sees the batch before anything is committed, and never sees a batch validation refused', async (t) => {
    const transform = heldTransform();
    const { m, log } = managerWith(t, transform);
    assert.equal((await m.append('t', 0, Buffer.from('not a batch'))).kind, 'corrupt');
    assert.ok(transform.seen.length === 0, 'validation runs first');
    const appending = m.append('t', 0, buildBatchSync({ records: [{ value: 'v', timestamp: T0 }] }));
    const [seen] = transform.seen;
    assert.ok(seen !== undefined);
    assert.equal(transform.seen.length, 1);
    assert.equal(seen.topic, 't');
    assert.equal(seen.header.recordCount, 1);
    assert.equal(log.logEndOffset, 0n, 'nothing is in the log while the transform works');
    transform.held[0]?.resolve({ kind: 'prepared', bytes: seen.bytes });
    const outcome = await appending;
    assert.equal(outcome.kind, 'appended');
    assert.equal(log.logEndOffset, 1n);
  });

  it('can refuse a batch: nothing is appended and the producer state does not move', async (t) => {
    let refuse = true;
    const { m, log } = managerWith(t, {
      prepare: ({ bytes }) => (refuse ? { kind: 'refused', reason: 'values must be masked' } : { kind: 'prepared', bytes }),
    });
    const refused = await m.append('t', 0, idempotent(0));
    assert.deepEqual(refused, { kind: 'transform-refused', message: 'values must be masked' });
    assert.equal(log.logEndOffset, 0n);
    assert.equal(log.producerState(9n), undefined);
    refuse = false;
    // Sequence 0 again: the refused batch left no trace a retry would be measured against.
    const outcome = await m.append('t', 0, idempotent(0));
    assert.equal(outcome.kind, 'appended');
    assert.equal(log.logEndOffset, 1n);
  });

  it('keeps idempotence whole while it waits: the producer-state check and the append are one step after it', async (t) => {
    const transform = heldTransform();
    const { m, log } = managerWith(t, transform);
    // A batch and its retry, both in preparation at once.
    const first = m.append('t', 0, idempotent(0));
    const retry = m.append('t', 0, idempotent(0));
    assert.equal(transform.held.length, 2);
    for (const [i, d] of transform.held.entries()) d.resolve({ kind: 'prepared', bytes: transform.seen[i]?.bytes ?? Buffer.alloc(0) });
    const outcomes = await Promise.all([first, retry]);
    assert.deepEqual(
      outcomes.map((o) => o.kind),
      ['appended', 'duplicate'],
    );
    assert.equal(log.logEndOffset, 1n);
    assert.equal(recordsOf(log.read(0n, 1 << 20, true)).length, 1, 'written once');
  });

  it('answers unknown-partition when the topic was deleted while the transform ran', async (t) => {
    const transform = heldTransform();
    const { m } = managerWith(t, transform);
    const appending = m.append('t', 0, buildBatchSync({ records: [{ value: 'v', timestamp: T0 }] }));
    await m.deleteTopic('t');
    transform.held[0]?.resolve({ kind: 'prepared', bytes: transform.seen[0]?.bytes ?? Buffer.alloc(0) });
    assert.equal((await appending).kind, 'unknown-partition');
  });
});
