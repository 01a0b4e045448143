import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { nodeLogFs, type LogFs } from '../../src/storage/log/log-fs.js';
import { createTopic } from '../helpers/client.js';
import { Acks, batchesInFile, LATEST, onCleanup, openBroker, BatchClient, records, segmentBases, segmentPath, tempDataDir, waitFor } from '../helpers/durability.js';
import { TEST_AUDIT } from '../helpers/test-keys.js';

/**
 * The real file system, except that while `full` is set a segment write stores half its bytes and then
 * fails with ENOSPC, as a disk that fills up in the middle of a write does.
 */
function fullDisk(): { fs: LogFs; full: boolean; failedWrites: number } {
  const state = { full: false, failedWrites: 0, fs: nodeLogFs };
  state.fs = {
    ...nodeLogFs,
    writeSync: (fd, buffer, offset, length, position) => {
      if (!state.full) return nodeLogFs.writeSync(fd, buffer, offset, length, position);
      state.failedWrites++;
      nodeLogFs.writeSync(fd, buffer, offset, Math.floor(length / 2), position);
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    },
  };
  return state;
}

/** The real file system with fdatasync held until the test lets it through (or fails it). */
function heldSync(): { fs: LogFs; held: { fd: number; release: () => void; fail: (err: Error) => void }[]; passThrough: boolean } {
  const state = { held: [] as { fd: number; release: () => void; fail: (err: Error) => void }[], passThrough: false, fs: nodeLogFs };
  state.fs = {
    ...nodeLogFs,
    fdatasync: (fd) => {
      if (state.passThrough) return nodeLogFs.fdatasync(fd);
      return new Promise<void>((resolve, reject) => {
        state.held.push({ fd, release: () => void nodeLogFs.fdatasync(fd).then(resolve, reject), fail: reject });
      });
    },
  };
  return state;
}

/**
 * The fsync tests count fdatasync calls: the `__audit` partition, appended to by every admin change,
 * would join their group-commit rounds. They run without the audit trail (its fsyncs are its own tests').
 */
const WITHOUT_AUDIT_TOPIC = { audit: { ...TEST_AUDIT, enabled: false } };

describe('storage faults', () => {
  it('a full disk fails produce with KAFKA_STORAGE_ERROR, keeps acknowledged data and recovers without a gap', async (t) => {
    const dataDir = tempDataDir(t);
    const disk = fullDisk();
    const { port, logger, close } = await openBroker(t, dataDir, { fs: disk.fs });
    const producer = await BatchClient.open(t, port);
    const reader = await BatchClient.open(t, port);
    await createTopic(port, 'full', 1);
    await createTopic(port, 'spare', 1);
    const path = segmentPath(dataDir, 'full', 0, 0n);

    for (let b = 0; b < 3; b++) {
      const r = await producer.produce('full', 0, records(`ok${b}`, 2, 100));
      assert.deepEqual([r.errorCode, r.baseOffset], [ErrorCode.NONE, BigInt(b * 2)]);
    }
    const sizeBefore = statSync(path).size;

    disk.full = true;
    for (const acks of [Acks.all, Acks.leader]) {
      const r = await producer.produce('full', 0, records(`lost-acks${acks}`, 2, 100), acks);
      assert.equal(r.errorCode, ErrorCode.KAFKA_STORAGE_ERROR, `acks=${acks}`);
      assert.equal(r.baseOffset, -1n);
      assert.match(r.errorMessage ?? '', /ENOSPC/);
    }
    // Two partitions in one request: both fail alone, the request itself is answered.
    const both = await producer.produceMany(Acks.all, [
      { topic: 'full', partition: 0, records: records('lost-multi', 1) },
      { topic: 'spare', partition: 0, records: records('lost-spare', 1) },
    ]);
    assert.deepEqual(
      both.map((p) => [p.topic, p.errorCode]),
      [
        ['full', ErrorCode.KAFKA_STORAGE_ERROR],
        ['spare', ErrorCode.KAFKA_STORAGE_ERROR],
      ],
    );
    assert.equal(disk.failedWrites, 4);
    // Logged once for the burst, not once per failed request (one line per error code per interval).
    const logged = logger.entries.filter((e) => e.level === 'error' && (e.obj as { code?: unknown }).code === 'ENOSPC');
    assert.equal(logged.length, 1);
    assert.match(String((logged[0]?.obj as { err?: unknown }).err), /ENOSPC/);
    assert.match(logged[0]?.msg ?? '', /KAFKA_STORAGE_ERROR/);

    // While the disk is full, readers are served and see exactly the acknowledged data.
    const during = await reader.fetch('full', 0, 0n);
    assert.equal(during.errorCode, ErrorCode.NONE);
    assert.deepEqual(
      during.records.map((r) => r.offset),
      [0n, 1n, 2n, 3n, 4n, 5n],
    );
    assert.deepEqual(await reader.listOffset('full', 0, LATEST), { errorCode: 0, offset: 6n });
    // The half-written batches were cut back: the file holds whole batches only.
    assert.equal(statSync(path).size, sizeBefore);
    assert.deepEqual(
      batchesInFile(path).map((b) => b.baseOffset),
      [0n, 2n, 4n],
    );

    disk.full = false;
    const again = await producer.produce('full', 0, records('after', 2, 100));
    assert.deepEqual([again.errorCode, again.baseOffset], [ErrorCode.NONE, 6n]);
    const leader = await producer.produce('full', 0, records('after1', 1), Acks.leader);
    assert.deepEqual([leader.errorCode, leader.baseOffset], [ErrorCode.NONE, 8n]);
    const spare = await producer.produce('spare', 0, records('spare', 1));
    assert.deepEqual([spare.errorCode, spare.baseOffset], [ErrorCode.NONE, 0n]);

    const expected = [
      ...['ok0', 'ok1', 'ok2', 'after'].flatMap((p) => [`${p}-0`, `${p}-1`]),
      'after1-0',
    ];
    const all = await reader.fetchAll('full', 0, 0n);
    assert.deepEqual(
      all.map((r) => [r.offset, r.value.replace(/\.+$/, '')]),
      expected.map((v, i) => [BigInt(i), v]),
    );
    assert.deepEqual(
      batchesInFile(path).map((b) => [b.baseOffset, b.lastOffset]),
      [
        [0n, 1n],
        [2n, 3n],
        [4n, 5n],
        [6n, 7n],
        [8n, 8n],
      ],
    );

    // Reopened on the real file system: no torn tail to repair, nothing corrupt, the same records.
    producer.close();
    reader.close();
    await close();
    const reopened = await openBroker(t, dataDir);
    assert.deepEqual(
      reopened.logger.entries.filter((e) => e.level !== 'debug' && e.level !== 'info').map((e) => e.msg),
      [],
    );
    const c = await BatchClient.open(t, reopened.port);
    const afterRestart = await c.fetchAll('full', 0, 0n);
    assert.deepEqual(
      afterRestart.map((r) => [r.offset, r.value.replace(/\.+$/, '')]),
      expected.map((v, i) => [BigInt(i), v]),
    );
    const next = await c.produce('full', 0, records('restarted', 1));
    assert.deepEqual([next.errorCode, next.baseOffset], [ErrorCode.NONE, 9n]);
  });

  it('a disk that fills up just as a segment rolls loses no offset, before or after a restart', async (t) => {
    const dataDir = tempDataDir(t);
    const disk = fullDisk();
    // 1000-byte segments: below the default minimum, allowed down to Kafka's.
    const { port, close } = await openBroker(t, dataDir, { fs: disk.fs }, { minSegmentBytes: 1000 });
    const c = await BatchClient.open(t, port);
    // Each batch of 2 × 170-byte records is ~420 bytes, ~475 sealed (encryption at rest): the third one rolls a 1000-byte segment.
    await createTopic(port, 'rolling', 1, { 'segment.bytes': '1000' });
    for (let b = 0; b < 2; b++) assert.equal((await c.produce('rolling', 0, records(`a${b}`, 2, 170))).errorCode, ErrorCode.NONE);
    disk.full = true;
    assert.equal((await c.produce('rolling', 0, records('lost', 2, 170))).errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    disk.full = false;
    const r = await c.produce('rolling', 0, records('b', 2, 170));
    assert.deepEqual([r.errorCode, r.baseOffset], [ErrorCode.NONE, 4n]);
    // The roll happened before the failed write: the new segment starts at the offset the lost batch would have had.
    assert.deepEqual(segmentBases(dataDir, 'rolling', 0), [0n, 4n]);
    c.close();
    await close();

    const reopened = await openBroker(t, dataDir, {}, { minSegmentBytes: 1000 });
    const c2 = await BatchClient.open(t, reopened.port);
    assert.deepEqual(
      (await c2.fetchAll('rolling', 0, 0n)).map((x) => [x.offset, x.value.replace(/\.+$/, '')]),
      ['a0', 'a1', 'b'].flatMap((p) => [`${p}-0`, `${p}-1`]).map((v, i) => [BigInt(i), v]),
    );
    const next = await c2.produce('rolling', 0, records('c', 1));
    assert.deepEqual([next.errorCode, next.baseOffset], [ErrorCode.NONE, 6n]);
  });

  it('acks=all is answered only after fdatasync, acks=1 without it; a failed fdatasync answers KAFKA_STORAGE_ERROR and takes the partition offline', async (t) => {
    const dataDir = tempDataDir(t);
    const disk = heldSync();
    const { port, logger } = await openBroker(t, dataDir, { fs: disk.fs }, WITHOUT_AUDIT_TOPIC);
    // Runs before the broker closes (cleanups run last-in first-out): a failed assertion must not leave
    // the shutdown flush waiting on a held fsync.
    onCleanup(t, () => {
      disk.passThrough = true;
      for (const h of disk.held.splice(0)) h.release();
    });
    const producer = await BatchClient.open(t, port);
    const other = await BatchClient.open(t, port);
    await createTopic(port, 'synced', 1);

    const waiting = producer.produce('synced', 0, records('durable', 1));
    await waitFor(() => disk.held.length === 1, 'the fdatasync of the acks=all produce');
    // The record is appended, but the producer hears nothing while its fsync is pending, even once
    // another connection has had a full round trip.
    assert.deepEqual(await other.listOffset('synced', 0, LATEST), { errorCode: 0, offset: 1n });
    assert.equal(producer.received, 0, 'no answer to the produce so far');
    // acks=1 is answered from the page cache, without waiting for any fsync.
    const leader = await other.produce('synced', 0, records('leader', 1), Acks.leader);
    assert.deepEqual([leader.errorCode, leader.baseOffset], [ErrorCode.NONE, 1n]);
    assert.equal(disk.held.length, 1);
    disk.held.shift()?.release();
    const durable = await waiting;
    assert.deepEqual([durable.errorCode, durable.baseOffset], [ErrorCode.NONE, 0n]);

    // An fsync that fails (EIO) leaves acks=all producers with KAFKA_STORAGE_ERROR, never a success.
    const failing = producer.produce('synced', 0, records('unsure', 1));
    await waitFor(() => disk.held.length > 0, 'the next fdatasync');
    for (const h of disk.held.splice(0)) h.fail(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    const failed = await failing;
    assert.equal(failed.errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    assert.ok(logger.entries.some((e) => e.level === 'error' && e.msg.startsWith('fsync failed')));

    // What the log holds after a failed fsync is unknown: the partition stays offline for produce and
    // fetch, even once fsync works again, until a restart recovers it from disk.
    disk.passThrough = true;
    assert.ok(logger.entries.some((e) => e.level === 'error' && e.msg.startsWith('partition taken offline')));
    const after = await producer.produce('synced', 0, records('after', 1));
    assert.equal(after.errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    assert.equal((await other.fetch('synced', 0, 0n)).errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
  });

  it('pipelined acks=all produces on one connection are appended while the first waits for fsync, answered in order', async (t) => {
    const dataDir = tempDataDir(t);
    const disk = heldSync();
    const { port } = await openBroker(t, dataDir, { fs: disk.fs }, WITHOUT_AUDIT_TOPIC);
    onCleanup(t, () => {
      disk.passThrough = true;
      for (const h of disk.held.splice(0)) h.release();
    });
    const producer = await BatchClient.open(t, port);
    const other = await BatchClient.open(t, port);
    await createTopic(port, 'piped', 1);

    const order: string[] = [];
    const first = producer.produce('piped', 0, records('a', 1)).then((r) => (order.push('a'), r));
    const second = producer.produce('piped', 0, records('b', 2)).then((r) => (order.push('b'), r));
    const third = producer.produce('piped', 0, records('c', 1), Acks.leader).then((r) => (order.push('c'), r));
    await waitFor(() => disk.held.length === 1, 'the fdatasync of the first produce');
    // The first request released the connection after appending: the next two are appended already,
    // although the first still waits for its fsync and nothing has been answered.
    const deadline = Date.now() + 2000;
    while ((await other.listOffset('piped', 0, LATEST)).offset < 4n && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.deepEqual(await other.listOffset('piped', 0, LATEST), { errorCode: 0, offset: 4n });
    assert.equal(disk.held.length, 1, 'still the first fsync only');
    assert.deepEqual(order, []);
    for (;;) {
      const held = disk.held.shift();
      if (held !== undefined) held.release();
      else if (order.length === 3) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const answers = await Promise.all([first, second, third]);
    assert.deepEqual(
      answers.map((r) => [r.errorCode, r.baseOffset]),
      [
        [ErrorCode.NONE, 0n],
        [ErrorCode.NONE, 1n],
        [ErrorCode.NONE, 3n],
      ],
    );
    // The wire order is checked by the client (KafkaConnection): the n-th response frame must carry
    // the n-th correlation id (the acks=1 response came after the two acks=all ones). The promises
    // themselves settle in polling order, so only the set is compared here.
    assert.deepEqual([...order].sort(), ['a', 'b', 'c']);
  });
});
