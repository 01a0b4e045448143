import { ParapetError } from '../errors.js';

/**
 * Cuts a TCP byte stream into Kafka frames (`int32 size` + payload). Chunks are kept as they arrive
 * and joined only for a frame that spans several of them, so a stream of small chunks is not
 * re-copied on every `data` event, and a frame inside one chunk is a view, not a copy.
 */
export class FrameSplitter {
  /** Checked on each frame's size prefix; the connection lowers it before authentication. */
  maxFrameBytes: number;
  readonly #allocate: (size: number) => Buffer;
  #chunks: Buffer[] = [];
  #buffered = 0;

  /** `allocate` gives the buffer a frame spanning several chunks is joined into (a pool, or a fresh one). */
  constructor(maxFrameBytes: number, allocate: (size: number) => Buffer = (size) => Buffer.allocUnsafe(size)) {
    this.maxFrameBytes = maxFrameBytes;
    this.#allocate = allocate;
  }

  /** Bytes received but not yet returned as frames. */
  get buffered(): number {
    return this.#buffered;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /**
   * The next complete frame's payload, or null until one has fully arrived. Throws when the size
   * prefix is negative or above the maximum, before a byte of that frame is buffered beyond it.
   */
  next(): Buffer | null {
    if (this.#buffered < 4) return null;
    const size = this.#peekSize();
    if (size < 0 || size > this.maxFrameBytes) {
      throw new ParapetError('DECODE_ERROR', `frame size ${size} is outside 0..${this.maxFrameBytes}`);
    }
    if (this.#buffered < 4 + size) return null;
    this.#take(4);
    return this.#take(size, this.#allocate);
  }

  #peekSize(): number {
    const first = this.#chunks[0] as Buffer;
    if (first.length >= 4) return first.readInt32BE(0);
    const head = Buffer.alloc(4);
    let filled = 0;
    for (const c of this.#chunks) {
      filled += c.copy(head, filled, 0, Math.min(c.length, 4 - filled));
      if (filled === 4) break;
    }
    return head.readInt32BE(0);
  }

  /** Removes and returns `n` bytes from the front: a view when they lie in one chunk. */
  #take(n: number, allocate: (size: number) => Buffer = (size) => Buffer.allocUnsafe(size)): Buffer {
    this.#buffered -= n;
    const first = this.#chunks[0];
    if (first !== undefined && first.length >= n) {
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = allocate(n);
    let filled = 0;
    while (filled < n) {
      const c = this.#chunks[0] as Buffer;
      const used = Math.min(c.length, n - filled);
      c.copy(out, filled, 0, used);
      filled += used;
      if (used === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(used);
    }
    return out;
  }
}
