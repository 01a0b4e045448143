import type { Socket } from 'node:net';
import { isFault } from '../errors.js';
import type { Logger } from '../logger.js';
import { CloseReasons, type CloseReason } from './close-reasons.js';
import type { BufferPool } from './buffer-pool.js';
import { FrameSplitter } from './frame-splitter.js';

/**
 * Handles one request frame; resolves to the response frame chunks, or null for no response (acks=0).
 * See FrameControl for what the handler may ask of the connection while it works.
 */
export type FrameHandler = (frame: Buffer, control: FrameControl) => Promise<Buffer[] | null>;

export interface FrameControl {
  /**
   * May be called once the request's ordered effects are done (a produce has appended and only waits
   * for fsync): the connection may then start the next request while this one completes.
   */
  readonly release: () => void;
  /** May be called once nothing holds a view of the frame any more: its buffer is reused. */
  readonly recycleFrame: () => void;
  /**
   * Closes the connection once this request's response (if any) is written: how a failed
   * authentication, a request before authentication or a refused SASL mechanism ends (as in Kafka).
   */
  readonly closeAfterResponse: (reason: CloseReason, detail?: string) => void;
  /**
   * Aborted when the connection closes, however it closes: a request that waits (a long-polling fetch)
   * stops waiting and gives up what it holds, since its answer can no longer be delivered.
   */
  readonly closed: AbortSignal;
}

export interface ConnectionOptions {
  readonly socket: Socket;
  readonly id: number;
  readonly maxFrameBytes: number;
  readonly handle: FrameHandler;
  readonly logger: Logger;
  /** Frames received but not yet handled before reading pauses (bounds memory per connection). */
  readonly maxQueuedFrames?: number;
  /** Released requests still waiting to complete before the next one must wait too. */
  readonly maxPipelined?: number;
  /** Where frames that span TCP chunks are assembled; without one, every frame gets a fresh buffer. */
  readonly framePool?: BufferPool;
  /**
   * Where response chunks that came from it (log reads) go back once written. A separate pool from the
   * frames': a handler may answer with a view of a request frame it kept (a group assignment), which
   * must never be recycled by writing it.
   */
  readonly responsePool?: BufferPool;
  readonly onClose?: (reason: CloseReason) => void;
}

/**
 * One client connection. Requests are handled one at a time, in the order they arrived, and answered
 * in that order: clients match responses by order (kafka-python fails on a correlation mismatch), and
 * Kafka itself processes one request per connection at a time. The one exception is a handler that
 * releases the connection once its ordered part is done (an acks=all produce waiting for fsync): the
 * next request starts, so one producer's pipelined requests share a group commit, and responses are
 * still written strictly in order. Pipelined frames wait in a bounded queue; when it is full the socket
 * stops reading, so a fast sender cannot grow memory without bound.
 */
export class Connection {
  readonly #o: ConnectionOptions;
  readonly #splitter: FrameSplitter;
  readonly #queue: Buffer[] = [];
  readonly #maxQueued: number;
  readonly #maxPipelined: number;
  /** Writes responses in request order: each request's write waits for the previous one. */
  #responses: Promise<void> = Promise.resolve();
  /** Requests started whose response is not written yet. */
  #outstanding = 0;
  /** Wakes a pump that waits for responses when a new frame arrives. */
  #wake: (() => void) | null = null;
  #busy = false;
  #closed = false;
  #draining = false;
  #drainReason: CloseReason = CloseReasons.CLIENT_CLOSED;
  #closedPromise: Promise<void>;
  #resolveClosed!: () => void;
  readonly #closedSignal = new AbortController();

  constructor(options: ConnectionOptions) {
    this.#o = options;
    const pool = options.framePool;
    this.#splitter = new FrameSplitter(options.maxFrameBytes, pool === undefined ? undefined : (size) => pool.acquire(size));
    this.#maxQueued = options.maxQueuedFrames ?? 64;
    this.#maxPipelined = options.maxPipelined ?? 16;
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

  /**
   * Changes the largest frame accepted from now on: small before authentication (a huge size prefix
   * from an unauthenticated peer must cost nothing, CVE-2022-34917), the configured maximum after.
   */
  setMaxFrameBytes(maxFrameBytes: number): void {
    this.#splitter.maxFrameBytes = maxFrameBytes;
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
    this.#wake?.();
    void this.#pump();
  }

  async #pump(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      for (;;) {
        for (let frame = this.#queue.shift(); frame !== undefined && !this.#closed; frame = this.#queue.shift()) {
          if (this.#queue.length < this.#maxQueued / 2 && !this.#draining) this.#o.socket.resume();
          const { ready, written } = this.#start(frame);
          await ready;
          if (this.#outstanding >= this.#maxPipelined) await written;
        }
        if (this.#closed || this.#outstanding === 0) break;
        // Released requests are still completing: wait for them, or for a new frame to start.
        await Promise.race([this.#responses, new Promise<void>((resolve) => (this.#wake = resolve))]);
        this.#wake = null;
      }
    } finally {
      this.#busy = false;
    }
    this.#maybeFinish();
  }

  /**
   * Starts handling a frame and queues its response behind the previous ones. `ready` resolves when the
   * next request may start (the handler released the connection, or its response is written);
   * `written` when its response is written.
   */
  #start(frame: Buffer): { ready: Promise<void>; written: Promise<void> } {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let closeAfter: { reason: CloseReason; detail: string | undefined } | null = null;
    this.#outstanding++;
    const response = this.#o.handle(frame, {
      release,
      recycleFrame: () => this.#o.framePool?.release(frame),
      closeAfterResponse: (reason, detail) => {
        closeAfter = { reason, detail };
      },
      closed: this.#closedSignal.signal,
    });
    const previous = this.#responses;
    const written = (this.#responses = (async () => {
      let result: Buffer[] | null = null;
      let failure: { err: unknown } | null = null;
      try {
        result = await response;
      } catch (err) {
        failure = { err };
      }
      await previous;
      this.#outstanding--;
      if (this.#closed) return;
      if (failure !== null) {
        this.close(closeReasonOf(failure.err), failure.err);
        return;
      }
      if (result !== null) await this.#write(result);
      const after = closeAfter as { reason: CloseReason; detail: string | undefined } | null;
      if (after !== null) this.#endAfterWrite(after.reason, after.detail);
    })());
    return { ready: Promise.race([released, written]), written };
  }

  /**
   * Ends the connection after what was written reaches the peer: `destroy()` would discard a response
   * still queued in the socket (a SASL failure's error 58 must arrive before the close).
   */
  #endAfterWrite(reason: CloseReason, detail: string | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.length = 0;
    const { socket } = this.#o;
    socket.end();
    const timer = setTimeout(() => socket.destroy(), 1000);
    timer.unref();
    this.#report(reason, detail === undefined ? undefined : new Error(detail));
  }

  async #write(chunks: Buffer[]): Promise<void> {
    const { socket } = this.#o;
    if (socket.destroyed) return;
    socket.cork();
    let ok = true;
    const last = chunks.length - 1;
    for (let i = 0; i <= last; i++) {
      const c = chunks[i] as Buffer;
      // Once the last chunk has been handed to the kernel (or the write failed), no chunk is read any
      // more: pooled ones (log reads) go back to the pool; the pool ignores the others.
      ok =
        i < last
          ? socket.write(c)
          : socket.write(c, () => {
              this.#recycle(chunks);
            });
    }
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

  #recycle(chunks: Buffer[]): void {
    const pool = this.#o.responsePool;
    if (pool !== undefined) for (const c of chunks) pool.release(c);
  }

  #maybeFinish(): void {
    if (this.#draining && !this.#busy && this.#queue.length === 0 && this.#outstanding === 0 && !this.#closed) {
      this.#closed = true;
      this.#o.socket.end();
      this.#report(this.#drainReason);
    }
  }

  /** Graceful close: stop reading, answer the requests already received, then end the socket. */
  shutdown(graceMs = 5000): Promise<void> {
    if (!this.#closed) {
      this.#draining = true;
      this.#drainReason = CloseReasons.SERVER_SHUTDOWN;
      this.#o.socket.pause();
      this.#maybeFinish();
      // A client that never closes its half of the socket must not hold up the broker's shutdown.
      const timer = setTimeout(() => {
        this.#o.socket.destroy();
      }, graceMs);
      timer.unref();
      void this.#closedPromise.then(() => {
        clearTimeout(timer);
      });
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
    this.#closedSignal.abort();
    this.#resolveClosed();
  }
}

function closeReasonOf(err: unknown): CloseReason {
  if (isFault(err, 'UNSUPPORTED_API')) return CloseReasons.UNSUPPORTED_API;
  if (isFault(err, 'PRODUCE_REJECTED')) return CloseReasons.PRODUCE_REJECTED;
  return isFault(err) ? CloseReasons.DECODE_ERROR : CloseReasons.INTERNAL_ERROR;
}
