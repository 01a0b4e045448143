import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BufferPool } from '../../../src/server/buffer-pool.js';
import { FrameSplitter } from '../../../src/protocol/frame-splitter.js';

describe('BufferPool', () => {
  it('reuses a released buffer for the next frame of the same size class, and hands it out once', () => {
    const pool = new BufferPool({ maxPooledBytes: 1 << 20 });
    const first = pool.acquire(100_000);
    assert.equal(first.length, 100_000);
    pool.release(first);
    assert.equal(pool.pooledBytes, 131_072);
    const second = pool.acquire(70_000);
    assert.equal(second.buffer, first.buffer, 'same 128 KiB backing store');
    assert.equal(second.length, 70_000);
    const third = pool.acquire(70_000);
    assert.notEqual(third.buffer, second.buffer, 'a buffer in use is never handed out twice');
  });

  it('ignores double releases and buffers it does not own', () => {
    const pool = new BufferPool({ maxPooledBytes: 1 << 20 });
    const b = pool.acquire(40_000);
    pool.release(b);
    pool.release(b);
    pool.release(Buffer.alloc(65_536));
    assert.equal(pool.pooledBytes, 65_536);
    const x = pool.acquire(40_000);
    const y = pool.acquire(40_000);
    assert.notEqual(x.buffer, y.buffer);
  });

  it('hands out small buffers at their own size, unpooled, rather than a 16 KiB class each', () => {
    const pool = new BufferPool({ maxPooledBytes: 1 << 20 });
    const small = Array.from({ length: 100 }, () => pool.acquire(5000));
    for (const b of small) {
      assert.equal(b.length, 5000);
      assert.ok(b.buffer.byteLength < 16 * 1024, `backing store of ${b.buffer.byteLength} bytes`);
    }
    for (const b of small) pool.release(b);
    assert.equal(pool.pooledBytes, 0, 'nothing kept: a small buffer is cheaper to allocate than to pool');
    const big = pool.acquire(16 * 1024);
    assert.equal(big.buffer.byteLength, 16 * 1024, 'the smallest pooled class');
  });

  it('keeps at most maxPooledBytes for reuse', () => {
    const pool = new BufferPool({ maxPooledBytes: 300_000 });
    const buffers = Array.from({ length: 5 }, () => pool.acquire(100_000));
    for (const b of buffers) pool.release(b);
    assert.equal(pool.pooledBytes, 262_144, 'two 128 KiB buffers fit, the rest are left to the GC');
  });

  it('assembles frames that span chunks into pooled buffers, and single-chunk frames as views', () => {
    const pool = new BufferPool({ maxPooledBytes: 1 << 20 });
    const splitter = new FrameSplitter(1 << 20, (size) => pool.acquire(size));
    const payload = Buffer.alloc(50_000, 7);
    const frame = Buffer.concat([Buffer.from([0, 0, 0xc3, 0x50]), payload]);
    splitter.push(frame.subarray(0, 30_000));
    splitter.push(frame.subarray(30_000));
    const joined = splitter.next();
    assert.deepEqual(joined, payload);
    pool.release(joined);
    assert.equal(pool.pooledBytes, 65_536, 'the joined frame came from the pool');
    splitter.push(frame);
    const view = splitter.next();
    assert.deepEqual(view, payload);
    pool.release(view);
    assert.notEqual(view.buffer, joined.buffer, 'a frame inside one chunk is a view of it, not a pooled copy');
    assert.equal(pool.pooledBytes, 65_536, 'and releasing it does not add the socket chunk to the pool');
  });
});
