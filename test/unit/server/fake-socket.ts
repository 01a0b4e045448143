import { EventEmitter } from 'node:events';
import type { ConnectionSocket } from '../../../src/server/connection.js';

/**
 * A socket without a network, for the connection's accounting: the test plays the client. What the
 * client sends while the connection has paused the socket waits, as TCP would keep it. When the
 * client does not read (`reading = false`), written bytes stay in `writableLength` until `take()`,
 * and `write` returns false above the high-water mark, like a net.Socket whose peer reads nothing.
 */
export class FakeSocket extends EventEmitter implements ConnectionSocket {
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 40000;
  destroyed = false;
  ended = false;
  paused = false;
  /** Whether the client reads: when it does, the kernel takes every write at once. */
  reading = true;
  highWaterMark = 1024;
  writableLength = 0;
  /** Every chunk the connection wrote, in order. */
  readonly written: Buffer[] = [];
  /** Bytes the client sent that the connection has not received yet (the socket is paused). */
  readonly #unread: Buffer[] = [];
  readonly #untaken: { bytes: number; callback: ((err?: Error | null) => void) | undefined }[] = [];

  /** The client sends bytes: received now, or once the connection reads again. */
  send(bytes: Buffer): void {
    if (this.paused) this.#unread.push(bytes);
    else this.emit('data', bytes);
  }

  /** Bytes the client sent that wait for the connection to read again. */
  get unreadBytes(): number {
    return this.#unread.reduce((n, b) => n + b.length, 0);
  }

  pause(): this {
    this.paused = true;
    return this;
  }

  resume(): this {
    this.paused = false;
    // As a net.Socket does, buffered data flows again from the next tick, not inside resume().
    process.nextTick(() => {
      while (!this.paused && this.#unread.length > 0) this.emit('data', this.#unread.shift());
    });
    return this;
  }

  write(chunk: Buffer, callback?: (err?: Error | null) => void): boolean {
    if (this.destroyed) return false;
    this.written.push(chunk);
    if (this.reading) {
      process.nextTick(() => callback?.());
      return true;
    }
    this.writableLength += chunk.length;
    this.#untaken.push({ bytes: chunk.length, callback });
    return this.writableLength < this.highWaterMark;
  }

  /** The client reads up to `n` bytes of what waits in the socket; `drain` once nothing is left. */
  take(n = Infinity): void {
    let left = n;
    while (left > 0 && this.#untaken.length > 0) {
      const first = this.#untaken[0] as { bytes: number; callback: ((err?: Error | null) => void) | undefined };
      const used = Math.min(left, first.bytes);
      first.bytes -= used;
      left -= used;
      this.writableLength -= used;
      if (first.bytes > 0) break;
      this.#untaken.shift();
      first.callback?.();
    }
    if (this.writableLength === 0) this.emit('drain');
  }

  cork(): void {}
  uncork(): void {}
  setNoDelay(): this {
    return this;
  }

  end(): this {
    this.ended = true;
    return this;
  }

  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    process.nextTick(() => this.emit('close'));
    return this;
  }
}

/** One Kafka frame: the int32 size prefix and `size` bytes. */
export function frame(size: number, fill = 1): Buffer {
  const out = Buffer.alloc(4 + size, fill);
  out.writeInt32BE(size, 0);
  return out;
}
