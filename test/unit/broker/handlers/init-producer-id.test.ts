import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { initProducerIdHandler } from '../../../../src/broker/handlers/init-producer-id.js';
import { isFault } from '../../../../src/errors.js';
import type { Logger } from '../../../../src/logger.js';
import { ErrorCode } from '../../../../src/protocol/error-codes.js';
import type { InitProducerIdResponse } from '../../../../src/protocol/messages/init-producer-id.js';
import type { RequestContext } from '../../../../src/server/handler.js';
import { nodeLogFs, type LogFs } from '../../../../src/storage/log/log-fs.js';
import { PRODUCER_IDS_FILE, ProducerIdStore } from '../../../../src/storage/producer-ids.js';
import { testRequestContext } from '../../../helpers/request-context.js';
import { realScheduler } from '../../../../src/groups/scheduler.js';
import { MetadataStore } from '../../../../src/storage/metadata-store.js';
import { DEFAULT_TRANSACTION_SETTINGS } from '../../../../src/transactions/transaction-limits.js';
import { TransactionCoordinator } from '../../../../src/transactions/transaction-coordinator.js';

/** The handler's dependencies over `dir`: its producer ids and a transaction coordinator on a real metadata store there. */
function handlerDeps(t: TestContext, dir: string, logger: Logger, ids = ProducerIdStore.open(dir)) {
  const store = new MetadataStore(dir);
  t.after(() => {
    store.close();
  });
  const transactions = new TransactionCoordinator({ store: store.transactions, ids, markers: { appendMarker: () => Promise.resolve({ kind: 'appended' }), sync: () => Promise.resolve() }, logger, scheduler: realScheduler, settings: DEFAULT_TRANSACTION_SETTINGS });
  return { ids, transactions, logger };
}

function tempDataDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-pid-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** nodeLogFs that counts durable writes and can fail them (a full disk). */
function countingFs(): LogFs & { writes: number; dirSyncs: number; fail: boolean } {
  const fs = {
    ...nodeLogFs,
    writes: 0,
    dirSyncs: 0,
    fail: false,
    writeFileDurably(path: string, data: Buffer): void {
      if (fs.fail) throw Object.assign(new Error(`ENOSPC: no space left on device, open '${path}'`), { code: 'ENOSPC' });
      fs.writes++;
      nodeLogFs.writeFileDurably(path, data);
    },
    fsyncDir(path: string): void {
      fs.dirSyncs++;
      nodeLogFs.fsyncDir(path);
    },
  };
  return fs;
}

function recorder(): Logger & { lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const at = (level: string) => (_obj: object, msg: string) => {
    lines.push({ level, msg });
  };
  return { lines, info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') };
}

function ctx(apiVersion: number): RequestContext {
  return testRequestContext({
    header: { apiKey: 22, apiVersion, correlationId: 1, clientId: 'test' },
    listener: { host: '127.0.0.1', port: 9092 },
    connectionId: 1,
    clientHost: '127.0.0.1',
  });
}

async function call(
  entry: ReturnType<typeof initProducerIdHandler>,
  version: number,
  body: { transactionalId?: string | null; transactionTimeoutMs?: number; producerId?: bigint; producerEpoch?: number },
): Promise<InitProducerIdResponse> {
  const request = { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1, ...body };
  return (await entry.handle(request, ctx(version))) as InitProducerIdResponse;
}

describe('ProducerIdStore', () => {
  it('hands out ids in order, reserving a block durably before the first id of each', (t) => {
    const dir = tempDataDir(t);
    const fs = countingFs();
    const store = ProducerIdStore.open(dir, { fs, blockSize: 3 });
    assert.equal(fs.writes, 0, 'nothing written before an id is needed');
    const ids = Array.from({ length: 7 }, () => store.next());
    assert.deepEqual(ids, [0n, 1n, 2n, 3n, 4n, 5n, 6n]);
    assert.equal(fs.writes, 3);
    assert.equal(fs.dirSyncs, 3, 'the rename is made durable too');
    assert.deepEqual(JSON.parse(readFileSync(join(dir, PRODUCER_IDS_FILE), 'utf8')), { version: 1, nextBlockStart: '9' });
  });

  it('never repeats an id across a restart, even after a crash in the middle of a block', (t) => {
    const dir = tempDataDir(t);
    const first = ProducerIdStore.open(dir, { blockSize: 1000 });
    const seen = new Set<bigint>([first.next(), first.next(), first.next()]);
    // No close: the process dies with ids 3..999 of its block unused. They are skipped, never reused.
    const second = ProducerIdStore.open(dir, { blockSize: 1000 });
    const next = second.next();
    assert.equal(next, 1000n);
    assert.ok(!seen.has(next));
    const third = ProducerIdStore.open(dir);
    assert.equal(third.next(), 2000n);
  });

  it('hands out no id when the reservation cannot be written, and works again once it can', (t) => {
    const dir = tempDataDir(t);
    const fs = countingFs();
    const store = ProducerIdStore.open(dir, { fs, blockSize: 2 });
    assert.equal(store.next(), 0n);
    assert.equal(store.next(), 1n);
    fs.fail = true;
    assert.throws(() => store.next(), /ENOSPC/);
    assert.throws(() => store.next(), /ENOSPC/);
    fs.fail = false;
    assert.equal(store.next(), 2n);
    assert.equal(ProducerIdStore.open(dir, { blockSize: 2 }).next(), 4n);
  });

  it('refuses to start on a damaged file rather than guess', (t) => {
    const dir = tempDataDir(t);
    const path = join(dir, PRODUCER_IDS_FILE);
    for (const content of ['{"version":1,', '{"version":2,"nextBlockStart":"5"}', '{"version":1,"nextBlockStart":5}', '{"version":1,"nextBlockStart":"-5"}', 'null']) {
      writeFileSync(path, content);
      assert.throws(() => ProducerIdStore.open(dir), (err: unknown) => isFault(err, 'STORAGE_ERROR'), content);
    }
  });
});

describe('InitProducerId handler', () => {
  it('gives idempotent producers a new id with epoch 0, never the same twice, also after a restart', async (t) => {
    const dir = tempDataDir(t);
    const entry = initProducerIdHandler(handlerDeps(t, dir, recorder()));
    const a = await call(entry, 0, {});
    const b = await call(entry, 4, {});
    assert.deepEqual(a, { throttleTimeMs: 0, errorCode: 0, producerId: 0n, producerEpoch: 0 });
    assert.equal(b.producerId, 1n);
    const restarted = initProducerIdHandler({ ...handlerDeps(t, tempDataDir(t), recorder()), ids: ProducerIdStore.open(dir) });
    const c = await call(restarted, 4, {});
    assert.equal(c.errorCode, 0);
    assert.ok((c.producerId ?? -1n) > (b.producerId ?? -1n), 'an id after a restart must be new');
    // The id from before the restart is not remembered: asking for a bump gives a fresh id.
    const d = await call(restarted, 3, { producerId: b.producerId ?? -1n, producerEpoch: 0 });
    assert.equal(d.errorCode, 0);
    assert.notEqual(d.producerId, b.producerId);
    assert.equal(d.producerEpoch, 0);
  });

  it('bumps the epoch (v3+) and fences an older one', async (t) => {
    const entry = initProducerIdHandler(handlerDeps(t, tempDataDir(t), recorder()));
    const producerId = (await call(entry, 4, {})).producerId ?? -1n;
    assert.deepEqual(await call(entry, 4, { producerId, producerEpoch: 0 }), { throttleTimeMs: 0, errorCode: 0, producerId, producerEpoch: 1 });
    assert.deepEqual(await call(entry, 4, { producerId, producerEpoch: 1 }), { throttleTimeMs: 0, errorCode: 0, producerId, producerEpoch: 2 });
    assert.deepEqual(await call(entry, 4, { producerId, producerEpoch: 0 }), {
      throttleTimeMs: 0,
      errorCode: ErrorCode.PRODUCER_FENCED,
      producerId: -1n,
      producerEpoch: -1,
    });
    assert.equal((await call(entry, 3, { producerId, producerEpoch: 0 })).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  });

  it('refuses an id without an epoch (or the reverse) with INVALID_REQUEST, as Kafka does', async (t) => {
    const entry = initProducerIdHandler(handlerDeps(t, tempDataDir(t), recorder()));
    assert.equal((await call(entry, 3, { producerId: 5n, producerEpoch: -1 })).errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal((await call(entry, 3, { producerId: -1n, producerEpoch: 0 })).errorCode, ErrorCode.INVALID_REQUEST);
  });

  it('hands transactional ids to the transaction coordinator: one producer id, its epoch bumped by each new instance', async (t) => {
    const entry = initProducerIdHandler(handlerDeps(t, tempDataDir(t), recorder()));
    const first = await call(entry, 4, { transactionalId: 'orders-tx', transactionTimeoutMs: 60_000 });
    const second = await call(entry, 1, { transactionalId: 'orders-tx', transactionTimeoutMs: 60_000 });
    assert.deepEqual([first.errorCode, first.producerEpoch, second.errorCode, second.producerEpoch], [0, 0, 0, 1]);
    assert.equal(second.producerId, first.producerId);
    // The old pair (KIP-360, v3+) is fenced: 90 for clients that know it (v4), 47 before.
    const stale = { transactionalId: 'orders-tx', transactionTimeoutMs: 60_000, producerId: first.producerId ?? -1n, producerEpoch: 7 };
    assert.equal((await call(entry, 4, stale)).errorCode, ErrorCode.PRODUCER_FENCED);
    assert.equal((await call(entry, 3, stale)).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
    assert.equal((await call(entry, 4, { transactionalId: '', transactionTimeoutMs: 60_000 })).errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal((await call(entry, 4, { transactionalId: 'other', transactionTimeoutMs: 3_600_000 })).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
  });

  it('answers COORDINATOR_LOAD_IN_PROGRESS (retriable) when no id can be reserved', async (t) => {
    const fs = countingFs();
    const logger = recorder();
    const dir = tempDataDir(t);
    const entry = initProducerIdHandler(handlerDeps(t, dir, logger, ProducerIdStore.open(dir, { fs })));
    fs.fail = true;
    const r = await call(entry, 4, {});
    assert.equal(r.errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    assert.ok(logger.lines.some((l) => l.level === 'error' && /ENOSPC/.test(l.msg)));
    fs.fail = false;
    assert.deepEqual(await call(entry, 4, {}), { throttleTimeMs: 0, errorCode: 0, producerId: 0n, producerEpoch: 0 });
  });
});
