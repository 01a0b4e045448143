import { ParapetError } from '../errors.js';

/**
 * Cuts a TCP byte stream into Kafka frames (`int32 size` + payload): requests on the broker's side,
 * responses on the client's. A frame inside one chunk is a view of it, not a copy. A frame that spans
 * chunks is joined into one buffer: up to {@link JOIN_WHEN_COMPLETE_BYTES}, once all of it has
 * arrived (one copy of chunks that are still in the cache, the fastest way in the produce
 * benchmarks); above it, into a buffer allocated as soon as the frame is admitted, each later chunk
 * copied in as it arrives, so that a large frame costs its own size rather than its chunks plus their
 * copy.
 *
 * Admission (the `admit` callback of {@link next}) is asked once per frame, when its size prefix has
 * arrived and before any more of it is kept: the broker's connection checks its budgets there, as
 * Kafka's NetworkReceive asks the memory pool (KIP-72) before it allocates. A refused frame stays
 * where it is, and the same question is asked again on the next call.
 */
export class FrameSplitter {
  /** Checked on each frame's size prefix; the broker's connection lowers it before authentication. */
  maxFrameBytes: number;
  readonly #allocate: (size: number) => Buffer;
  /** Bytes not yet part of a frame: a size prefix, then the frame if it lies within these chunks. */
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** The size of the admitted frame at the front (its size prefix already taken), still arriving. */
  #admitted: number | null = null;
  /** An admitted large frame being assembled as it arrives, and how much of it has. */
  #body: { buffer: Buffer; filled: number } | null = null;

  /** `allocate` gives the buffer a frame spanning several chunks is joined into (a pool, or a fresh one). */
  constructor(maxFrameBytes: number, allocate: (size: number) => Buffer = (size) => Buffer.allocUnsafe(size)) {
    this.maxFrameBytes = maxFrameBytes;
    this.#allocate = allocate;
  }

  /** Bytes received but not yet returned as frames. */
  get buffered(): number {
    return this.#buffered + (this.#body?.filled ?? 0);
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    const body = this.#body;
    if (body !== null) {
      const used = Math.min(chunk.length, body.buffer.length - body.filled);
      chunk.copy(body.buffer, body.filled, 0, used);
      body.filled += used;
      if (used === chunk.length) return;
      chunk = chunk.subarray(used);
    }
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /**
   * The next complete frame's payload, or null until one has fully arrived (or while `admit` refuses
   * it). Throws when the size prefix is negative or above the maximum, before a byte of that frame
   * is kept beyond the chunk it arrived in.
   */
  next(admit?: (size: number) => boolean): Buffer | null {
    const body = this.#body;
    if (body !== null) {
      if (body.filled < body.buffer.length) return null;
      this.#body = null;
      return body.buffer;
    }
    let size = this.#admitted;
    if (size === null) {
      if (this.#buffered < 4) return null;
      size = this.#peekSize();
      if (size < 0 || size > this.maxFrameBytes) {
        throw new ParapetError('DECODE_ERROR', `frame size ${size} is outside 0..${this.maxFrameBytes}`);
      }
      if (admit !== undefined && !admit(size)) return null;
      this.#take(4, (n) => Buffer.allocUnsafe(n));
      this.#admitted = size;
    }
    if (this.#buffered >= size) {
      this.#admitted = null;
      return this.#take(size, this.#allocate);
    }
    if (size <= JOIN_WHEN_COMPLETE_BYTES) return null;
    // A large frame whose rest is still to come: give it its buffer now, with what has arrived.
    this.#admitted = null;
    const buffer = this.#allocate(size);
    let filled = 0;
    for (const c of this.#chunks) filled += c.copy(buffer, filled);
    this.#chunks = [];
    this.#buffered = 0;
    this.#body = { buffer, filled };
    return null;
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

  /** Removes and returns `n` buffered bytes from the front: a view when they lie in one chunk. */
  #take(n: number, join: (size: number) => Buffer): Buffer {
    this.#buffered -= n;
    const first = this.#chunks[0];
    if (first !== undefined && first.length >= n) {
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = join(n);
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

/**
 * Frames up to this size that span chunks are joined once complete; larger ones are assembled as
 * they arrive. Copying each chunk into the frame as it arrives was a quarter slower on 256 KiB
 * produce requests (acks=all, four pipelined connections); above a megabyte, holding the chunks and
 * then their copy would double what a frame costs.
 */
export const JOIN_WHEN_COMPLETE_BYTES = 1024 * 1024;
