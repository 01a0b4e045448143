import type { Socket } from 'node:net';
import { isFault } from '../errors.js';
import type { Logger } from '../logger.js';
import { CloseReasons, type CloseReason } from './close-reasons.js';
import { FrameSplitter } from './frame-splitter.js';

/** Handles one request frame; resolves to the response frame chunks, or null for no response (acks=0). */
export type FrameHandler = (frame: Buffer) => Promise<Buffer[] | null>;

export interface ConnectionOptions {
  readonly socket: Socket;
  readonly id: number;
  readonly maxFrameBytes: number;
  readonly handle: FrameHandler;
  readonly logger: Logger;
  /** Frames received but not yet handled before reading pauses (bounds memory per connection). */
  readonly maxQueuedFrames?: number;
  readonly onClose?: (reason: CloseReason) => void;
}

/**
 * One client connection. Requests are handled one at a time, in the order they arrived, and answered
 * in that order: clients match responses by order (kafka-python fails on a correlation mismatch), and
 * Kafka itself processes one request per connection at a time. Pipelined frames wait in a bounded
 * queue; when it is full the socket stops reading, so a fast sender cannot grow memory without bound.
 */
export class Connection {
  readonly #o: ConnectionOptions;
  readonly #splitter: FrameSplitter;
  readonly #queue: Buffer[] = [];
  readonly #maxQueued: number;
  #busy = false;
  #closed = false;
  #draining = false;
  #drainReason: CloseReason = CloseReasons.CLIENT_CLOSED;
  #closedPromise: Promise<void>;
  #resolveClosed!: () => void;

  constructor(options: ConnectionOptions) {
    this.#o = options;
    this.#splitter = new FrameSplitter(options.maxFrameBytes);
    this.#maxQueued = options.maxQueuedFrames ?? 64;
    this.#closedPromise = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    const { socket } = options;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.#onData(chunk);
    });
    socket.on('end', () => {
      // The client half-closed: answer what it already sent, then close.
      this.#draining = true;
      this.#maybeFinish();
    });
    socket.on('error', (err) => {
      this.close(CloseReasons.SOCKET_ERROR, err);
    });
    socket.on('close', () => {
      this.close(CloseReasons.CLIENT_CLOSED);
    });
  }

  get closed(): Promise<void> {
    return this.#closedPromise;
  }

  #onData(chunk: Buffer): void {
    if (this.#closed || this.#draining) return;
    this.#splitter.push(chunk);
    try {
      for (let frame = this.#splitter.next(); frame !== null; frame = this.#splitter.next()) this.#queue.push(frame);
    } catch (err) {
      this.close(CloseReasons.FRAME_TOO_LARGE, err);
      return;
    }
    if (this.#queue.length >= this.#maxQueued) this.#o.socket.pause();
    void this.#pump();
  }

  async #pump(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      while (!this.#closed) {
        const frame = this.#queue.shift();
        if (frame === undefined) break;
        if (this.#queue.length < this.#maxQueued / 2 && !this.#draining) this.#o.socket.resume();
        let response: Buffer[] | null;
        try {
          response = await this.#o.handle(frame);
        } catch (err) {
          const reason = isFault(err, 'UNSUPPORTED_API')
            ? CloseReasons.UNSUPPORTED_API
            : isFault(err)
              ? CloseReasons.DECODE_ERROR
              : CloseReasons.INTERNAL_ERROR;
          this.close(reason, err);
          return;
        }
        if (response !== null) await this.#write(response);
      }
    } finally {
      this.#busy = false;
    }
    this.#maybeFinish();
  }

  async #write(chunks: Buffer[]): Promise<void> {
    const { socket } = this.#o;
    if (socket.destroyed) return;
    socket.cork();
    let ok = true;
    for (const c of chunks) ok = socket.write(c);
    socket.uncork();
    if (!ok && !this.#closed) {
      await new Promise<void>((resolve) => {
        const done = () => {
          socket.off('drain', done);
          socket.off('close', done);
          resolve();
        };
        socket.on('drain', done);
        socket.on('close', done);
      });
    }
  }

  #maybeFinish(): void {
    if (this.#draining && !this.#busy && this.#queue.length === 0 && !this.#closed) {
      this.#closed = true;
      this.#o.socket.end();
      this.#report(this.#drainReason);
    }
  }

  /** Graceful close: stop reading, answer the requests already received, then end the socket. */
  shutdown(): Promise<void> {
    if (!this.#closed) {
      this.#draining = true;
      this.#drainReason = CloseReasons.SERVER_SHUTDOWN;
      this.#o.socket.pause();
      this.#maybeFinish();
    }
    return this.#closedPromise;
  }

  /** Immediate close with a typed reason, logged once. */
  close(reason: CloseReason, err?: unknown): void {
    if (this.#closed) {
      this.#resolveClosed();
      return;
    }
    this.#closed = true;
    this.#queue.length = 0;
    this.#o.socket.destroy();
    this.#report(reason, err);
  }

  #report(reason: CloseReason, err?: unknown): void {
    const { socket, logger, id } = this.#o;
    const fields = { connection: id, remote: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`, reason };
    if (err === undefined) logger.debug(fields, 'connection closed');
    else logger.warn({ ...fields, error: err instanceof Error ? err.toString() : 'unknown error' }, 'connection closed');
    this.#o.onClose?.(reason);
    this.#resolveClosed();
  }
}
