import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ParapetError } from '../../../src/errors.js';
import { FrameSplitter } from '../../../src/server/frame-splitter.js';

function framed(payload: Uint8Array): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length);
  return Buffer.concat([size, payload]);
}

describe('FrameSplitter', () => {
  it('yields the same frames however the stream is chunked', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 12 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1 }), (payloads, cuts) => {
        const stream = Buffer.concat(payloads.map(framed));
        const splitter = new FrameSplitter(1024);
        const out: Buffer[] = [];
        let at = 0;
        for (let i = 0; at < stream.length; i++) {
          const n = cuts[i % cuts.length] as number;
          splitter.push(stream.subarray(at, at + n));
          at += n;
          for (let f = splitter.next(); f !== null; f = splitter.next()) out.push(Buffer.from(f));
        }
        assert.deepEqual(out, payloads.map((p) => Buffer.from(p)));
        assert.equal(splitter.buffered, 0);
      }),
    );
  });

  it('a frame inside one chunk is a view of it, not a copy', () => {
    const chunk = framed(Buffer.from('hello'));
    const splitter = new FrameSplitter(1024);
    splitter.push(chunk);
    const frame = splitter.next();
    assert.equal(frame?.buffer, chunk.buffer);
  });

  it('refuses a negative or oversized size prefix as soon as it arrives', () => {
    for (const prefix of ['7fffffff', 'ffffffff', '00000401']) {
      const splitter = new FrameSplitter(1024);
      splitter.push(Buffer.from(prefix, 'hex'));
      assert.throws(() => splitter.next(), ParapetError);
    }
  });
});
