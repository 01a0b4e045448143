import assert from 'node:assert/strict';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { createTopic } from '../helpers/client.js';
import { batchesInFile, LATEST, EARLIEST, openBroker, BatchClient, records, segmentBases, segmentPath, tempDataDir } from '../helpers/durability.js';

/**
 * Damage at rest, found at start-up: a torn tail (a write cut short by a crash) is truncated, a batch
 * whose CRC fails in the middle of the log is kept but never served (CORRUPT_MESSAGE), and everything
 * around it stays readable and appendable.
 */
describe('recovery from a damaged segment', () => {
  it('truncates a torn tail, refuses a corrupt batch and serves the rest', async (t) => {
    const dataDir = tempDataDir(t);
    const topic = 'damaged';
    const BATCHES = 6;
    const PER_BATCH = 3;

    // Six known batches of three records: offsets 0-2, 3-5, …, 15-17.
    const first = await openBroker(t, dataDir);
    const conn = await BatchClient.open(t, first.port);
    await createTopic(first.port, topic, 1);
    for (let b = 0; b < BATCHES; b++) {
      const r = await conn.produce(topic, 0, records(`b${b}`, PER_BATCH, 40));
      assert.deepEqual([r.errorCode, r.baseOffset], [0, BigInt(b * PER_BATCH)]);
    }
    conn.close();
    await first.close();

    const [base] = segmentBases(dataDir, topic, 0);
    assert.equal(base, 0n);
    const path = segmentPath(dataDir, topic, 0, 0n);
    const stored = batchesInFile(path);
    assert.deepEqual(
      stored.map((b) => [b.baseOffset, b.lastOffset]),
      Array.from({ length: BATCHES }, (_, b) => [BigInt(b * PER_BATCH), BigInt(b * PER_BATCH + PER_BATCH - 1)]),
    );
    const corrupt = stored[2];
    const torn = stored[5];
    assert.ok(corrupt !== undefined && torn !== undefined);

    // Flip the last byte of batch 2's records (covered by the CRC, far from the 21-byte header prefix),
    // then cut the file in the middle of the last batch.
    const data = readFileSync(path);
    const flipAt = corrupt.position + corrupt.size - 1;
    data[flipAt] = (data[flipAt] as number) ^ 0xff;
    writeFileSync(path, data);
    const cutAt = torn.position + Math.floor(torn.size / 2);
    truncateSync(path, cutAt);

    const second = await openBroker(t, dataDir);
    const warned = second.logger.entries.filter((e) => e.level === 'warn' && e.msg.startsWith('truncated a torn write'));
    assert.equal(warned.length, 1, 'one torn-write warning');
    assert.deepEqual(
      [(warned[0]?.obj as { truncatedAt?: number }).truncatedAt, (warned[0]?.obj as { droppedBytes?: number }).droppedBytes],
      [torn.position, cutAt - torn.position],
    );
    const corruptLogged = second.logger.entries.filter((e) => e.level === 'error' && e.msg === 'corrupt record batch in the log: it will not be served');
    assert.equal(corruptLogged.length, 1, 'one corrupt-batch error');
    assert.equal((corruptLogged[0]?.obj as { position?: number }).position, corrupt.position);
    assert.equal(readFileSync(path).length, torn.position, 'the torn tail is gone from disk');

    const c = await BatchClient.open(t, second.port);
    // The end offset is one past the last whole batch (batch 4: offsets 12-14).
    assert.deepEqual(await c.listOffset(topic, 0, LATEST), { errorCode: 0, offset: 15n });
    assert.deepEqual(await c.listOffset(topic, 0, EARLIEST), { errorCode: 0, offset: 0n });

    // From 0: the two batches before the corrupt one, and nothing of it.
    const head = await c.fetch(topic, 0, 0n);
    assert.equal(head.errorCode, ErrorCode.NONE);
    assert.deepEqual(head.batches, [0n, 3n]);
    assert.deepEqual(
      head.records.map((r) => [r.offset, r.value.replace(/\.+$/, '')]),
      [0, 1].flatMap((b) => Array.from({ length: PER_BATCH }, (_, i) => [BigInt(b * PER_BATCH + i), `b${b}-${i}`])),
    );

    // At the corrupt batch (its first offset or one inside it): CORRUPT_MESSAGE, and the broker says why.
    const refusalsBefore = second.logger.entries.filter((e) => e.msg === 'refused to serve a corrupt record batch').length;
    for (const offset of [6n, 7n]) {
      const bad = await c.fetch(topic, 0, offset);
      assert.equal(bad.errorCode, ErrorCode.CORRUPT_MESSAGE, `fetch at ${offset}`);
      assert.deepEqual(bad.records, []);
    }
    const refusals = second.logger.entries.filter((e) => e.level === 'error' && e.msg === 'refused to serve a corrupt record batch');
    assert.equal(refusals.length - refusalsBefore, 2);
    assert.equal((refusals.at(-1)?.obj as { offset?: string }).offset, '7');

    // After it: batches 3 and 4 at their offsets.
    const tail = await c.fetch(topic, 0, 9n);
    assert.equal(tail.errorCode, ErrorCode.NONE);
    assert.deepEqual(tail.batches, [9n, 12n]);
    assert.deepEqual(
      tail.records.map((r) => r.value.replace(/\.+$/, '')),
      [3, 4].flatMap((b) => Array.from({ length: PER_BATCH }, (_, i) => `b${b}-${i}`)),
    );
    const end = await c.fetch(topic, 0, 15n);
    assert.deepEqual([end.errorCode, end.records.length, end.highWatermark], [ErrorCode.NONE, 0, 15n]);

    // New data continues at the truncation point, never reusing an offset.
    const next = await c.produce(topic, 0, records('after', 2));
    assert.deepEqual([next.errorCode, next.baseOffset], [ErrorCode.NONE, 15n]);
    const after = await c.fetch(topic, 0, 15n);
    assert.deepEqual(
      after.records.map((r) => [r.offset, r.value]),
      [
        [15n, 'after-0'],
        [16n, 'after-1'],
      ],
    );
    assert.deepEqual(await c.listOffset(topic, 0, LATEST), { errorCode: 0, offset: 17n });
    assert.deepEqual(
      batchesInFile(path).map((b) => b.baseOffset),
      [0n, 3n, 6n, 9n, 12n, 15n],
      'the corrupt batch is kept on disk, the new batch follows the truncation point',
    );
  });

  it(
    'a bit flip in a batch\'s baseOffset (outside the CRC) is not taken for a jump in offsets',
    async (t) => {
      const dataDir = tempDataDir(t);
      const topic = 'offset-flip';
      const first = await openBroker(t, dataDir);
      const conn = await BatchClient.open(t, first.port);
      await createTopic(first.port, topic, 1);
      for (let b = 0; b < 5; b++) assert.equal((await conn.produce(topic, 0, records(`b${b}`, 3))).errorCode, ErrorCode.NONE);
      conn.close();
      await first.close();

      const path = segmentPath(dataDir, topic, 0, 0n);
      const damaged = batchesInFile(path)[2];
      assert.ok(damaged !== undefined);
      const data = readFileSync(path);
      // The top byte of the 8-byte baseOffset of the middle batch (offsets 6-8): 6 becomes 2^56 + 6.
      data[damaged.position] = (data[damaged.position] as number) ^ 0x01;
      writeFileSync(path, data);

      const second = await openBroker(t, dataDir);
      const c = await BatchClient.open(t, second.port);
      // Every batch but the damaged one passed its CRC and was acknowledged: none may be dropped.
      assert.deepEqual(
        second.logger.entries.filter((e) => e.msg.startsWith('truncated a torn write')),
        [],
        'nothing is truncated',
      );
      assert.equal(readFileSync(path).length, data.length);
      assert.deepEqual(await c.listOffset(topic, 0, LATEST), { errorCode: 0, offset: 15n });
      assert.equal((await c.fetch(topic, 0, 6n)).errorCode, ErrorCode.CORRUPT_MESSAGE);
      for (const offset of [9n, 12n]) {
        const r = await c.fetch(topic, 0, offset);
        assert.deepEqual([r.errorCode, r.batches[0]], [ErrorCode.NONE, offset], `fetch at ${offset}`);
      }
      const next = await c.produce(topic, 0, records('after', 1));
      assert.deepEqual([next.errorCode, next.baseOffset], [ErrorCode.NONE, 15n]);
    },
  );
});
