import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { listOffsetsHandler, OffsetSpec } from '../../../../src/broker/handlers/list-offsets.js';
import type { ListOffsetsRequest, ListOffsetsResponse } from '../../../../src/protocol/messages/list-offsets.js';
import { buildBatchSync } from '../../../../src/records/record.js';
import { LogManager } from '../../../../src/storage/log/log-manager.js';
import { testRequestContext } from '../../../helpers/request-context.js';
import { T0, configSource, defer, recordingLogger, tempDir } from '../../storage/log/helpers.js';

function setup(t: TestContext) {
  const logs = new LogManager({ dataDir: tempDir(t), logger: recordingLogger(), configs: configSource(), clock: () => T0, transactionGuard: () => null });
  defer(t, () => logs.close());
  logs.openTopic({ name: 't', id: 'id', partitions: 1 });
  const handler = listOffsetsHandler(logs);
  const list = async (timestamp: bigint, isolationLevel: number): Promise<{ errorCode: number; offset: bigint | undefined }> => {
    const body: ListOffsetsRequest = { replicaId: -1, isolationLevel, topics: [{ name: 't', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 }] }] };
    const ctx = testRequestContext({
      header: { apiKey: 2, apiVersion: 7, correlationId: 1, clientId: 'test' },
      listener: { host: '127.0.0.1', port: 9092 },
      connectionId: 1,
      clientHost: '/127.0.0.1',
      connectionClosed: new AbortController().signal,
      throttle: () => undefined,
    });
    const response = (await handler.handle(body, ctx)) as ListOffsetsResponse;
    const p = response.topics[0]?.partitions[0];
    assert.ok(p !== undefined);
    return { errorCode: p.errorCode, offset: p.offset };
  };
  return { logs, list };
}

describe('ListOffsets isolation (KIP-98)', () => {
  it('answers LATEST with the last stable offset for read_committed, the log end for read_uncommitted', async (t) => {
    const { logs, list } = setup(t);
    const record = (ts: number, tx: boolean) =>
      buildBatchSync({ records: [{ key: 'k', value: 'v', timestamp: ts }], ...(tx ? { producerId: 1n, producerEpoch: 0, baseSequence: 0, transactional: true } : {}) });
    assert.equal((await logs.append('t', 0, record(T0, false))).kind, 'appended'); // 0
    assert.equal((await logs.append('t', 0, record(T0 + 10, true))).kind, 'appended'); // 1: ongoing
    assert.equal((await logs.append('t', 0, record(T0 + 20, false))).kind, 'appended'); // 2
    assert.deepEqual(await list(OffsetSpec.LATEST, 1), { errorCode: 0, offset: 1n });
    assert.deepEqual(await list(OffsetSpec.LATEST, 0), { errorCode: 0, offset: 3n });
    // A record found by timestamp at or past the last stable offset is not answered to read_committed.
    assert.deepEqual(await list(BigInt(T0 + 5), 1), { errorCode: 0, offset: -1n });
    assert.deepEqual(await list(BigInt(T0 + 5), 0), { errorCode: 0, offset: 1n });
    assert.deepEqual(await list(BigInt(T0), 1), { errorCode: 0, offset: 0n });
    assert.deepEqual(await list(OffsetSpec.MAX_TIMESTAMP, 1), { errorCode: 0, offset: -1n });
    assert.equal((await logs.appendMarker('t', 0, { producerId: 1n, producerEpoch: 0, commit: true, coordinatorEpoch: 0 })).kind, 'appended'); // 3
    assert.deepEqual(await list(OffsetSpec.LATEST, 1), { errorCode: 0, offset: 4n });
    assert.deepEqual(await list(BigInt(T0 + 5), 1), { errorCode: 0, offset: 1n });
    assert.deepEqual(await list(OffsetSpec.EARLIEST, 1), { errorCode: 0, offset: 0n });
  });
});
