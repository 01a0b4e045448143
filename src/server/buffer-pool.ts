/**
 * Reusable buffers for the big, short-lived data of the data path: request frames that span several
 * TCP chunks (produce requests) and log reads sent to consumers (fetch responses). Allocating a fresh
 * buffer each time makes V8 run a full mark-compact every few dozen megabytes of external memory, a
 * pause of several milliseconds that shows up as latency; a buffer nothing refers to any more (a frame
 * whose handler keeps no view of it, a response the socket has sent) is given back here instead.
 *
 * Buffers are kept by power-of-two size class, up to `maxPooledBytes` in total, so the pool's memory is
 * bounded, and a buffer handed out is never more than twice the size asked for. Sizes below the
 * smallest class are not pooled: a fresh buffer of the exact size costs little, where a 16 KiB class
 * for each small read made a fetch of many small partitions hold many times its response's size. A
 * buffer is handed out once until it is released; releasing a buffer the pool does not own (a small
 * one among them), or releasing twice, is ignored.
 */
export class BufferPool {
  readonly #maxPooledBytes: number;
  readonly #free = new Map<number, ArrayBuffer[]>();
  readonly #inUse = new WeakSet<ArrayBuffer>();
  #pooledBytes = 0;

  constructor(options: { maxPooledBytes: number }) {
    this.#maxPooledBytes = options.maxPooledBytes;
  }

  /** Bytes held for reuse (not counting buffers handed out). */
  get pooledBytes(): number {
    return this.#pooledBytes;
  }

  /** A buffer of exactly `size` bytes, uninitialised (like `Buffer.allocUnsafe`). */
  acquire(size: number): Buffer {
    if (size < MIN_CLASS) return Buffer.allocUnsafe(size);
    const sizeClass = 2 ** Math.ceil(Math.log2(size));
    let backing = this.#free.get(sizeClass)?.pop();
    if (backing === undefined) backing = new ArrayBuffer(sizeClass);
    else this.#pooledBytes -= sizeClass;
    this.#inUse.add(backing);
    return Buffer.from(backing, 0, size);
  }

  /** Gives a buffer from {@link acquire} back; the caller must hold no view of it any more. */
  release(buffer: Buffer): void {
    const backing = buffer.buffer;
    if (!(backing instanceof ArrayBuffer) || !this.#inUse.has(backing)) return;
    this.#inUse.delete(backing);
    if (this.#pooledBytes + backing.byteLength > this.#maxPooledBytes) return;
    const list = this.#free.get(backing.byteLength) ?? [];
    list.push(backing);
    this.#free.set(backing.byteLength, list);
    this.#pooledBytes += backing.byteLength;
  }
}

const MIN_CLASS = 16 * 1024;
