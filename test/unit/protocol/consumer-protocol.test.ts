import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeConsumerAssignment } from '../../../src/protocol/consumer-protocol.js';
import { isFault } from '../../../src/errors.js';

/** ConsumerProtocolAssignment as a client's leader writes it: int16 version, [topic, [partition]], user data. */
function assignment(version: number, topics: readonly [string, readonly number[]][], userData: Buffer | null = null): Buffer {
  const parts: Buffer[] = [];
  const int16 = (n: number) => {
    const b = Buffer.alloc(2);
    b.writeInt16BE(n);
    parts.push(b);
  };
  const int32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    parts.push(b);
  };
  int16(version);
  int32(topics.length);
  for (const [topic, partitions] of topics) {
    int16(Buffer.byteLength(topic));
    parts.push(Buffer.from(topic));
    int32(partitions.length);
    for (const p of partitions) int32(p);
  }
  int32(userData === null ? -1 : userData.length);
  if (userData !== null) parts.push(userData);
  return Buffer.concat(parts);
}

describe('decodeConsumerAssignment', () => {
  it('reads the topics and partitions of versions 0 to 3, ignoring user data and later fields', () => {
    assert.deepEqual(decodeConsumerAssignment(assignment(0, [['orders', [2, 0]], ['payments', [1]]])), [
      { topic: 'orders', partitions: [2, 0] },
      { topic: 'payments', partitions: [1] },
    ]);
    const v3 = Buffer.concat([assignment(3, [['orders', [0]]], Buffer.from('sticky')), Buffer.from([0, 0, 0, 7])]);
    assert.deepEqual(decodeConsumerAssignment(v3), [{ topic: 'orders', partitions: [0] }]);
    assert.deepEqual(decodeConsumerAssignment(assignment(1, [])), []);
  });

  it('reads an empty buffer (no assignment yet) as no partitions', () => {
    assert.deepEqual(decodeConsumerAssignment(Buffer.alloc(0)), []);
  });

  it('refuses truncated bytes, counts larger than the bytes, null topics and negative versions without allocating', () => {
    const good = assignment(0, [['orders', [0, 1, 2]]]);
    const huge = Buffer.from(good);
    huge.writeInt32BE(0x7fffffff, 2);
    const nullTopic = Buffer.from(good);
    nullTopic.writeInt16BE(-1, 6);
    for (const bytes of [good.subarray(0, good.length - 7), huge, nullTopic, assignment(-1, [])]) {
      assert.throws(() => decodeConsumerAssignment(bytes), (err: unknown) => isFault(err, 'DECODE_ERROR'));
    }
  });
});
