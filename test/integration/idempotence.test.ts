import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { ApiVersions } from '../../src/protocol/messages/api-versions.js';
import { InitProducerId, type InitProducerIdResponse } from '../../src/protocol/messages/init-producer-id.js';
import { buildBatchSync } from '../../src/records/record.js';
import { nodeLogFs, type LogFs } from '../../src/storage/log/log-fs.js';
import { createTopic } from '../helpers/client.js';
import { Acks, LATEST, openBroker, BatchClient, tempDataDir, waitFor } from '../helpers/durability.js';

/** An idempotent batch of `count` records with values `<tag>-<seq>`. */
function batch(producerId: bigint, producerEpoch: number, baseSequence: number, count = 1, options: { transactional?: boolean } = {}): Buffer {
  return buildBatchSync({
    records: Array.from({ length: count }, (_, i) => ({ value: `p${producerId}-${baseSequence + i}` })),
    producerId,
    producerEpoch,
    baseSequence,
    ...(options.transactional === true ? { transactional: true } : {}),
  });
}

async function initProducerId(conn: BatchClient, version: number, body: Partial<{ transactionalId: string | null; producerId: bigint; producerEpoch: number }> = {}): Promise<InitProducerIdResponse> {
  return conn.request(InitProducerId, version, {
    transactionalId: null,
    transactionTimeoutMs: 60_000,
    producerId: -1n,
    producerEpoch: -1,
    ...body,
  });
}

describe('idempotent produce (in-process broker)', () => {
  it('advertises InitProducerId v0-4', async (t) => {
    const { port } = await openBroker(t, tempDataDir(t));
    const conn = await BatchClient.open(t, port);
    const body = await conn.request(ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
    const entry = body.apiKeys.find((k) => k.apiKey === 22);
    assert.deepEqual(entry && { min: entry.minVersion, max: entry.maxVersion }, { min: 0, max: 4 });
  });

  it('answers a retry with the original offset, refuses gaps and fenced epochs, and remembers across a restart', async (t) => {
    const dataDir = tempDataDir(t);
    const first = await openBroker(t, dataDir);
    let conn = await BatchClient.open(t, first.port);
    await createTopic(first.port, 'idem', 1);
    const init = await initProducerId(conn, 4);
    assert.equal(init.errorCode, ErrorCode.NONE);
    const pid = init.producerId ?? -1n;
    assert.equal(init.producerEpoch, 0);

    const b0 = batch(pid, 0, 0, 3);
    assert.equal((await conn.produceBatch('idem', 0, Buffer.from(b0))).baseOffset, 0n);
    assert.equal((await conn.produceBatch('idem', 0, batch(pid, 0, 3, 2))).baseOffset, 3n);
    await conn.produce('idem', 0, [{ value: 'plain' }]); // a non-idempotent producer: offset 5

    const retry = await conn.produceBatch('idem', 0, Buffer.from(b0));
    assert.equal(retry.errorCode, ErrorCode.NONE);
    assert.equal(retry.baseOffset, 0n, 'the original offset');
    assert.equal((await conn.listOffset('idem', 0, LATEST)).offset, 6n, 'not appended again');

    const gap = await conn.produceBatch('idem', 0, batch(pid, 0, 7));
    assert.equal(gap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert.match(gap.errorMessage ?? '', /expected 5/);

    // KIP-360: the producer bumps its epoch; the old epoch is fenced from then on.
    const bumped = await initProducerId(conn, 4, { producerId: pid, producerEpoch: 0 });
    assert.deepEqual([bumped.errorCode, bumped.producerId, bumped.producerEpoch], [ErrorCode.NONE, pid, 1]);
    assert.equal((await conn.produceBatch('idem', 0, batch(pid, 1, 1))).errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'a new epoch starts at 0');
    assert.equal((await conn.produceBatch('idem', 0, batch(pid, 1, 0, 2))).baseOffset, 6n);
    assert.equal((await conn.produceBatch('idem', 0, batch(pid, 0, 5))).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);

    // A clean restart: the duplicate is still recognised, and producer ids are not handed out again.
    conn.close();
    await first.close();
    const second = await openBroker(t, dataDir);
    conn = await BatchClient.open(t, second.port);
    const again = await conn.produceBatch('idem', 0, batch(pid, 1, 0, 2));
    assert.deepEqual([again.errorCode, again.baseOffset], [ErrorCode.NONE, 6n]);
    assert.equal((await conn.produceBatch('idem', 0, batch(pid, 0, 5))).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
    assert.equal((await conn.produceBatch('idem', 0, batch(pid, 1, 2))).baseOffset, 8n);
    const next = await initProducerId(conn, 4);
    assert.ok((next.producerId ?? -1n) > pid, 'a new producer id after the restart');
    assert.equal((await conn.listOffset('idem', 0, LATEST)).offset, 9n);
  });

  it('answers an acks=all duplicate only once an fsync covers the original', async (t) => {
    const held: (() => void)[] = [];
    let hold = false;
    const fs: LogFs = {
      ...nodeLogFs,
      fdatasync: (fd) => (hold ? new Promise<void>((resolve, reject) => held.push(() => void nodeLogFs.fdatasync(fd).then(resolve, reject))) : nodeLogFs.fdatasync(fd)),
    };
    const { port } = await openBroker(t, tempDataDir(t), { fs });
    const conn = await BatchClient.open(t, port);
    await createTopic(port, 'idem', 1);
    const b = batch(0n, 0, 0, 2);
    // The original is acknowledged with acks=1: written, not yet synced.
    assert.equal((await conn.produceBatch('idem', 0, Buffer.from(b), Acks.leader)).baseOffset, 0n);
    hold = true;
    const answered = conn.received;
    const dup = conn.produceBatch('idem', 0, Buffer.from(b), Acks.all);
    await waitFor(() => held.length > 0, 'the fsync of the original');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(conn.received, answered, 'no answer before the fsync');
    hold = false;
    for (const release of held.splice(0)) release();
    const r = await dup;
    assert.deepEqual([r.errorCode, r.baseOffset], [ErrorCode.NONE, 0n]);
  });

  it('a transactional batch is taken only inside a transaction: from an idempotent producer, or for a partition not added, it is INVALID_TXN_STATE', async (t) => {
    const { port } = await openBroker(t, tempDataDir(t));
    const conn = await BatchClient.open(t, port);
    await createTopic(port, 'tx', 2);
    const idempotent = await initProducerId(conn, 4, {});
    const refused = await conn.produceBatch('tx', 0, batch(idempotent.producerId ?? -1n, idempotent.producerEpoch, 0, 1, { transactional: true }));
    assert.equal(refused.errorCode, ErrorCode.INVALID_TXN_STATE);
    assert.match(refused.errorMessage ?? '', /no transactional id/);
    // A transactional producer that did not add the partition (KIP-890's defence, exact on one broker).
    const txn = await initProducerId(conn, 4, { transactionalId: 'my-tx' });
    assert.equal(txn.errorCode, ErrorCode.NONE);
    const notAdded = await conn.produceBatch('tx', 1, batch(txn.producerId ?? -1n, txn.producerEpoch, 0, 1, { transactional: true }));
    assert.equal(notAdded.errorCode, ErrorCode.INVALID_TXN_STATE);
    assert.match(notAdded.errorMessage ?? '', /AddPartitionsToTxn first/);
    assert.equal((await conn.listOffset('tx', 0, LATEST)).offset, 0n);
    assert.equal((await conn.listOffset('tx', 1, LATEST)).offset, 0n);
  });
});
