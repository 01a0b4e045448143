import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { MAX_PRODUCER_EPOCH, ProducerEpochs } from '../../../../src/broker/producers/producer-epochs.js';
import { ErrorCode } from '../../../../src/protocol/error-codes.js';
import { ProducerIdStore } from '../../../../src/storage/producer-ids.js';

function tempDataDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-pid-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

describe('ProducerEpochs (KIP-360 epoch bumps)', () => {
  it('bumps the epoch of an id it handed out, and answers a retried bump without bumping twice', (t) => {
    const epochs = new ProducerEpochs(ProducerIdStore.open(tempDataDir(t)));
    assert.deepEqual(epochs.grant(-1n, -1, 4), { errorCode: 0, producerId: 0n, producerEpoch: 0 });
    assert.deepEqual(epochs.grant(0n, 0, 4), { errorCode: 0, producerId: 0n, producerEpoch: 1 });
    assert.deepEqual(epochs.grant(0n, 1, 4), { errorCode: 0, producerId: 0n, producerEpoch: 2 });
    // The answer to the last bump was lost: the client asks again with epoch 1.
    assert.deepEqual(epochs.grant(0n, 1, 4), { errorCode: 0, producerId: 0n, producerEpoch: 2 });
    // A client that bumped locally (the Java client and librdkafka do) is bumped past its own epoch.
    assert.deepEqual(epochs.grant(0n, 7, 4), { errorCode: 0, producerId: 0n, producerEpoch: 8 });
  });

  it('fences an older epoch: PRODUCER_FENCED from v4, INVALID_PRODUCER_EPOCH before', (t) => {
    const epochs = new ProducerEpochs(ProducerIdStore.open(tempDataDir(t)));
    epochs.grant(-1n, -1, 4);
    for (let e = 0; e < 5; e++) epochs.grant(0n, e, 4);
    assert.equal(epochs.grant(0n, 2, 4).errorCode, ErrorCode.PRODUCER_FENCED);
    assert.equal(epochs.grant(0n, 2, 3).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
    // The fenced attempt changed nothing.
    assert.deepEqual(epochs.grant(0n, 5, 4), { errorCode: 0, producerId: 0n, producerEpoch: 6 });
  });

  it('gives a new id when the epoch is exhausted or the id is not one it remembers', (t) => {
    const epochs = new ProducerEpochs(ProducerIdStore.open(tempDataDir(t)), 2);
    epochs.grant(-1n, -1, 4); // id 0
    assert.deepEqual(epochs.grant(0n, MAX_PRODUCER_EPOCH - 1, 4), { errorCode: 0, producerId: 0n, producerEpoch: MAX_PRODUCER_EPOCH });
    assert.deepEqual(epochs.grant(0n, MAX_PRODUCER_EPOCH, 4), { errorCode: 0, producerId: 1n, producerEpoch: 0 });
    // Never handed out by this process (e.g. before a restart): a new id, as Kafka answers idempotent producers.
    assert.deepEqual(epochs.grant(555n, 3, 4), { errorCode: 0, producerId: 2n, producerEpoch: 0 });
    // Capacity 2: id 1 was forgotten when ids 2 and 3 were remembered.
    epochs.grant(-1n, -1, 4); // id 3
    assert.deepEqual(epochs.grant(1n, 0, 4), { errorCode: 0, producerId: 4n, producerEpoch: 0 });
  });
});
