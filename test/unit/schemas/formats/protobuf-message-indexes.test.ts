import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MAX_MESSAGE_INDEXES, readMessageIndexes, writeMessageIndexes } from '../../../../src/schemas/formats/protobuf-message-indexes.js';
import { PayloadError } from '../../../../src/schemas/types.js';

// Confluent's wire format: a zigzag-varint count, then the zigzag-varint indexes; [0] is the single byte 0.
// docs.confluent.io/platform/current/schema-registry/fundamentals/serdes-develop/index.html#wire-format
describe('Protobuf message indexes', () => {
  it('writes [0] as the single byte 0 and reads it back, the message bytes starting after it', () => {
    assert.deepEqual(writeMessageIndexes([0]), Buffer.of(0));
    assert.deepEqual(readMessageIndexes(Buffer.of(0x00, 0x08, 0x01)), { indexes: [0], offset: 1 });
  });

  it('writes other paths as zigzag varints: [1] is 02 02, the nested [0, 2] is 04 00 04', () => {
    assert.deepEqual(writeMessageIndexes([1]), Buffer.of(0x02, 0x02));
    assert.deepEqual(writeMessageIndexes([0, 2]), Buffer.of(0x04, 0x00, 0x04));
    // 64 zigzags to 128: two varint bytes.
    assert.deepEqual(writeMessageIndexes([64]), Buffer.of(0x02, 0x80, 0x01));
    assert.deepEqual(readMessageIndexes(Buffer.of(0x04, 0x00, 0x04, 0xff)), { indexes: [0, 2], offset: 3 });
  });

  it('reads the long form of [0] (02 00, as Apicurio wrote it) as [0]', () => {
    assert.deepEqual(readMessageIndexes(Buffer.of(0x02, 0x00)), { indexes: [0], offset: 2 });
  });

  it('round-trips any path', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 0x7fffffff }), { minLength: 1, maxLength: 8 }), fc.uint8Array({ maxLength: 4 }), (indexes, rest) => {
        const bytes = Buffer.concat([writeMessageIndexes(indexes), rest]);
        const read = readMessageIndexes(bytes);
        assert.deepEqual(read.indexes, indexes);
        assert.deepEqual(bytes.subarray(read.offset), Buffer.from(rest));
      }),
    );
  });

  it('refuses truncated, negative, oversized and over-long index lists with a PayloadError', () => {
    const cases: [Buffer, RegExp][] = [
      [Buffer.alloc(0), /truncated/],
      [Buffer.of(0x04, 0x00), /truncated/],
      [Buffer.of(0x80), /truncated/],
      [Buffer.of(0x01), /declare -1 indexes/],
      [Buffer.of(0x02, 0x01), /index -1 is negative/],
      [Buffer.of(0xca, 0x01), new RegExp(`declare 101 indexes \\(at most ${MAX_MESSAGE_INDEXES}\\)`)],
      [Buffer.of(0xff, 0xff, 0xff, 0xff, 0xff, 0x01), /not a 32-bit varint/],
    ];
    for (const [bytes, message] of cases) assert.throws(() => readMessageIndexes(bytes), (err: unknown) => err instanceof PayloadError && message.test(err.message), bytes.toString('hex'));
    assert.throws(() => writeMessageIndexes([]), PayloadError);
    assert.throws(() => writeMessageIndexes([-1, 0]), PayloadError);
  });
});
