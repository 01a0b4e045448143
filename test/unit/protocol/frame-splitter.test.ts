import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ParapetError } from '../../../src/errors.js';
import { FrameSplitter, JOIN_WHEN_COMPLETE_BYTES } from '../../../src/protocol/frame-splitter.js';

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

  it('asks admission once a size prefix is in, and asks again while it is refused', () => {
    const splitter = new FrameSplitter(1024);
    const asked: number[] = [];
    let allow = false;
    const admit = (size: number) => {
      asked.push(size);
      return allow;
    };
    splitter.push(Buffer.from([0, 0]));
    assert.equal(splitter.next(admit), null);
    assert.deepEqual(asked, [], 'not asked before the prefix is complete');
    splitter.push(Buffer.from([0, 3, 1, 2, 3]));
    assert.equal(splitter.next(admit), null);
    assert.equal(splitter.buffered, 7, 'a refused frame stays as it arrived');
    allow = true;
    assert.deepEqual(splitter.next(admit), Buffer.from([1, 2, 3]));
    assert.deepEqual(asked, [3, 3]);
    assert.equal(splitter.buffered, 0);
  });

  it('joins a frame that spans chunks once it is complete, and gives a large one its buffer as soon as it is admitted', () => {
    for (const size of [3000, JOIN_WHEN_COMPLETE_BYTES + 3000]) {
      const allocated: number[] = [];
      const splitter = new FrameSplitter(4 << 20, (n) => {
        allocated.push(n);
        return Buffer.alloc(n);
      });
      const stream = Buffer.concat([framed(Buffer.alloc(size, 5)), framed(Buffer.from('next'))]);
      splitter.push(stream.subarray(0, 1000));
      assert.equal(splitter.next(() => true), null);
      assert.deepEqual(allocated, size > JOIN_WHEN_COMPLETE_BYTES ? [size] : [], `${size}: allocated when admitted, or not yet`);
      splitter.push(stream.subarray(1000, 2000));
      assert.equal(splitter.buffered, 1996, 'the size prefix is taken, the rest is kept or copied');
      splitter.push(stream.subarray(2000));
      assert.deepEqual(splitter.next(() => true), Buffer.alloc(size, 5));
      assert.deepEqual(splitter.next(() => true), Buffer.from('next'));
      assert.deepEqual(allocated, [size], 'one buffer for the frame, none for the one inside a chunk');
    }
  });

  it('refuses a negative or oversized size prefix as soon as it arrives', () => {
    for (const prefix of ['7fffffff', 'ffffffff', '00000401']) {
      const splitter = new FrameSplitter(1024);
      splitter.push(Buffer.from(prefix, 'hex'));
      assert.throws(() => splitter.next(), ParapetError);
    }
  });
});
