import { isFault } from '../errors.js';
import type { Logger } from '../logger.js';
import { CloseReasons, type CloseReason } from '../close-reasons.js';
import type { BufferPool } from './buffer-pool.js';
import { FrameSplitter } from '../protocol/frame-splitter.js';
import type { MemoryBudget } from './memory-budget.js';
import { WriteWatchdog } from './write-watchdog.js';

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
  /**
   * Mutes the connection for `ms` from now (KIP-219): a client over its quota gets this request's answer
   * at once with the throttle time in it, and the broker reads and starts nothing more of it until that
   * time has passed. Bounded by the connection's maxMuteMs.
   */
  readonly throttle: (ms: number) => void;
}

/** What one connection may make the broker hold (docs/security/limits.md). */
export interface ConnectionLimits {
  /** Largest frame: a larger size prefix closes the connection before anything of it is kept. */
  readonly maxFrameBytes: number;
  /** Requests read and not yet answered: queued, being handled, or waiting for their turn to be written. */
  readonly maxInFlightRequests: number;
  /** Bytes of those requests' frames; a larger frame is read only once the connection holds none. */
  readonly maxQueuedRequestBytes: number;
  /** Response bytes the socket has not taken; at this many the connection reads and starts nothing more. */
  readonly maxQueuedResponseBytes: number;
}

/** The part of a net.Socket (or TLSSocket) a connection uses; unit tests pass a fake one. */
export interface ConnectionSocket {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'end' | 'close' | 'drain', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
  pause(): unknown;
  resume(): unknown;
  write(chunk: Buffer, callback?: (err?: Error | null) => void): boolean;
  cork(): void;
  uncork(): void;
  end(): unknown;
  destroy(): unknown;
  setNoDelay(noDelay?: boolean): unknown;
  readonly destroyed: boolean;
  /** Bytes written to the socket that it has not handed to the kernel yet. */
  readonly writableLength: number;
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
}

export interface ConnectionOptions {
  readonly socket: ConnectionSocket;
  readonly id: number;
  readonly limits: ConnectionLimits;
  /**
   * A client that takes none of the response bytes waiting for it for this long is closed with
   * RESPONSE_WRITE_TIMEOUT, which frees what it held.
   */
  readonly responseWriteTimeoutMs: number;
  /** A connection with nothing sent, answered or in flight for this long is closed (IDLE_TIMEOUT); 0: never. */
  readonly idleTimeoutMs?: number;
  /** The broker-wide budget all connections draw their request and response bytes from. */
  readonly budget?: MemoryBudget;
  readonly handle: FrameHandler;
  readonly logger: Logger;
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
  /** The longest a throttle may mute the connection (the quota window); 0: throttles never mute. */
  readonly maxMuteMs?: number;
}

/**
 * One client connection. Requests are handled one at a time, in the order they arrived, and answered
 * in that order: clients match responses by order (kafka-python fails on a correlation mismatch), and
 * Kafka itself processes one request per connection at a time. The one exception is a handler that
 * releases the connection once its ordered part is done (an acks=all produce waiting for fsync): the
 * next request starts, so one producer's pipelined requests share a group commit, and responses are
 * still written strictly in order.
 *
 * What a connection holds is bounded by its limits and the broker-wide budget: a frame is read only
 * once its size prefix has been admitted against both (requests in flight, request bytes, response
 * bytes), and otherwise the socket stops reading until something is released. A client that sends
 * without reading its responses is therefore slowed down by TCP itself, as Kafka mutes such a
 * channel; if it takes nothing for responseWriteTimeoutMs, it is closed.
 */
export class Connection {
  readonly #o: ConnectionOptions;
  readonly #splitter: FrameSplitter;
  readonly #queue: Buffer[] = [];
  readonly #maxPipelined: number;
  readonly #watchdog: WriteWatchdog;
  #limits: ConnectionLimits;
  /** Writes responses in request order: each request's write waits for the previous one. */
  #responses: Promise<void> = Promise.resolve();
  /** Requests started whose response is not written yet. */
  #outstanding = 0;
  /** Requests admitted (their frame may still be arriving) and not yet answered. */
  #inFlight = 0;
  /** Bytes of admitted frames not yet handled. */
  #requestBytes = 0;
  /** Bytes of computed responses the socket has not taken yet. */
  #responseBytes = 0;
  /** Response bytes handed to the socket so far (with its writableLength: what it has taken). */
  #handedBytes = 0;
  /** The next frame's size prefix has arrived and was refused: the socket stays paused. */
  #refused = false;
  #paused = false;
  /** Wakes a pump that waits for something to change (a frame, a response written, memory freed). */
  #wake: (() => void) | null = null;
  #busy = false;
  #closed = false;
  /** Answer what was received, then close (the client half-closed, or the server shuts down). */
  #draining = false;
  /** The server shuts down: read nothing more, not even frames already buffered. */
  #stopped = false;
  #drainReason: CloseReason = CloseReasons.CLIENT_CLOSED;
  #closedPromise: Promise<void>;
  #resolveClosed!: () => void;
  readonly #closedSignal = new AbortController();
  /** When the client last sent a byte or got an answer (performance.now()), for the idle timeout. */
  #lastActive = performance.now();
  #idleTimer: NodeJS.Timeout | undefined;
  /** A quota's throttle: nothing is read or started until it ends (KIP-219). */
  #muteTimer: NodeJS.Timeout | undefined;
  #mutedUntil = 0;

  constructor(options: ConnectionOptions) {
    this.#o = options;
    this.#limits = options.limits;
    const pool = options.framePool;
    this.#splitter = new FrameSplitter(options.limits.maxFrameBytes, pool === undefined ? undefined : (size) => pool.acquire(size));
    this.#maxPipelined = options.maxPipelined ?? 16;
    this.#watchdog = new WriteWatchdog({
      timeoutMs: options.responseWriteTimeoutMs,
      watch: () => {
        const backlog = options.socket.writableLength;
        return { holding: this.#responseBytes > 0, backlog, taken: this.#handedBytes - backlog };
      },
      onStall: () => {
        const detail = `the client took none of the ${this.#responseBytes} response bytes waiting for it for ${options.responseWriteTimeoutMs} ms`;
        this.close(CloseReasons.RESPONSE_WRITE_TIMEOUT, new Error(detail));
      },
    });
    this.#closedPromise = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    const { socket } = options;
    socket.setNoDelay(true);
    this.#armIdle(options.idleTimeoutMs ?? 0);
    socket.on('data', (chunk: Buffer) => {
      if (this.#closed || this.#stopped) return;
      this.#lastActive = performance.now();
      this.#splitter.push(chunk);
      this.#update();
    });
    socket.on('end', () => {
      // The client half-closed: answer what it already sent, then close.
      this.#draining = true;
      this.#update();
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

  /** What the connection holds now (tests and metrics). */
  get held(): { readonly inFlight: number; readonly requestBytes: number; readonly responseBytes: number; readonly reading: boolean } {
    return { inFlight: this.#inFlight, requestBytes: this.#requestBytes, responseBytes: this.#responseBytes, reading: !this.#paused };
  }

  /**
   * Changes the limits from the next frame on: small before authentication (a huge size prefix from
   * an unauthenticated peer must cost nothing, CVE-2022-34917; one request at a time), the configured
   * ones after.
   */
  setLimits(limits: ConnectionLimits): void {
    this.#limits = limits;
    this.#splitter.maxFrameBytes = limits.maxFrameBytes;
    this.#update();
  }

  /** Admits the next frame against the connection's limits and the broker-wide budget. */
  readonly #admit = (size: number): boolean => {
    const limits = this.#limits;
    const fits =
      this.#inFlight < limits.maxInFlightRequests &&
      this.#responseBytes < limits.maxQueuedResponseBytes &&
      // A frame larger than what is left waits until the connection holds no request bytes: then any
      // frame up to maxFrameBytes is read, as Kafka reads a request of up to socket.request.max.bytes.
      (this.#requestBytes === 0 || this.#requestBytes + size <= limits.maxQueuedRequestBytes);
    if (!fits) {
      this.#refused = true;
      return false;
    }
    const budget = this.#o.budget;
    if (budget !== undefined && !budget.tryReserveRequest(size, this.#requestBytes === 0 && this.#responseBytes === 0)) {
      this.#refused = true;
      budget.whenReleased(this.#budgetReleased);
      return false;
    }
    this.#inFlight++;
    this.#requestBytes += size;
    return true;
  };

  readonly #budgetReleased = (): void => {
    this.#update();
  };

  /**
   * Re-evaluates everything after a change: reads the frames that are now admitted, pauses or resumes
   * the socket, wakes the pump, and finishes a draining connection with nothing left to answer.
   */
  #update(): void {
    if (this.#closed) return;
    this.#refused = false;
    if (!this.#stopped) {
      try {
        for (let frame = this.#splitter.next(this.#admit); frame !== null; frame = this.#splitter.next(this.#admit)) this.#queue.push(frame);
      } catch (err) {
        this.close(CloseReasons.FRAME_TOO_LARGE, err);
        return;
      }
    }
    // Reads nothing more from a client that does not read its responses (Kafka mutes such a channel).
    const pause = this.#draining || this.#refused || this.#muteTimer !== undefined || this.#responseBytes >= this.#limits.maxQueuedResponseBytes;
    if (pause !== this.#paused) {
      this.#paused = pause;
      if (pause) this.#o.socket.pause();
      else this.#o.socket.resume();
    }
    if (this.#responseBytes > 0) this.#watchdog.arm();
    if (this.#wake !== null) this.#wake();
    else if (this.#queue.length > 0) void this.#pump();
    else this.#maybeFinish();
  }

  /**
   * Whether the next request may start: a connection with responses the socket has not taken starts
   * nothing more once they reach its limit, or while the broker-wide response budget is used up; one
   * with none may always start (its response is the only one it holds).
   */
  #mayStart(): boolean {
    // Frames read before a throttle began wait for its end too: a muted client gets nothing handled.
    if (this.#muteTimer !== undefined) return false;
    const held = this.#responseBytes;
    return held === 0 || (held < this.#limits.maxQueuedResponseBytes && this.#o.budget?.responsesFull !== true);
  }

  async #pump(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      for (;;) {
        if (this.#closed) break;
        const frame = this.#queue[0];
        if (frame !== undefined && this.#mayStart()) {
          this.#queue.shift();
          const { ready, written } = this.#start(frame);
          await ready;
          if (this.#outstanding >= this.#maxPipelined) await written;
          continue;
        }
        if (frame === undefined && this.#outstanding === 0) break;
        // A frame waits for response room, or released requests are still completing.
        await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = null;
      }
    } finally {
      this.#busy = false;
    }
    this.#update();
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
      // From now: a released request (an acks=all produce waiting for fsync) must not let the next one
      // start while its client owes throttle time.
      throttle: (ms) => {
        this.#mute(ms);
      },
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
      // The request is handled: its frame no longer counts, its response does until the socket takes it.
      const size = result === null ? 0 : result.reduce((n, c) => n + c.length, 0);
      this.#handled(frame.length, size);
      await previous;
      this.#outstanding--;
      if (this.#closed) return;
      this.#inFlight--;
      if (failure !== null) {
        this.close(closeReasonOf(failure.err), failure.err);
        return;
      }
      if (result !== null) await this.#write(result, size);
      this.#lastActive = performance.now();
      const after = closeAfter as { reason: CloseReason; detail: string | undefined } | null;
      if (after !== null) this.#endAfterWrite(after.reason, after.detail);
      else this.#update();
    })());
    return { ready: Promise.race([released, written]), written };
  }

  /**
   * Reads and starts nothing for `ms` (bounded by maxMuteMs); a longer throttle asked for while muted
   * extends the mute. The idle timeout does not count the mute: the client is waiting for us.
   */
  #mute(ms: number): void {
    const bounded = Math.min(ms, this.#o.maxMuteMs ?? 0);
    if (bounded <= 0 || this.#closed) return;
    const until = performance.now() + bounded;
    if (this.#muteTimer !== undefined) {
      if (until <= this.#mutedUntil) return;
      clearTimeout(this.#muteTimer);
    }
    this.#mutedUntil = until;
    this.#muteTimer = setTimeout(() => {
      this.#muteTimer = undefined;
      this.#lastActive = performance.now();
      this.#update();
    }, bounded);
    this.#muteTimer.unref();
    this.#update();
  }

  /** Whether a throttle mutes the connection now (tests). */
  get muted(): boolean {
    return this.#muteTimer !== undefined;
  }

  #handled(requestBytes: number, responseBytes: number): void {
    if (this.#closed) return;
    this.#requestBytes -= requestBytes;
    this.#responseBytes += responseBytes;
    const budget = this.#o.budget;
    if (budget !== undefined) {
      budget.addResponse(responseBytes);
      budget.releaseRequest(requestBytes);
    }
    this.#update();
  }

  /** The socket took a response: what it held is free. */
  #taken(responseBytes: number): void {
    if (this.#closed) return;
    this.#responseBytes -= responseBytes;
    this.#o.budget?.releaseResponse(responseBytes);
    this.#update();
  }

  /**
   * Ends the connection after what was written reaches the peer: `destroy()` would discard a response
   * still queued in the socket (a SASL failure's error 58 must arrive before the close).
   */
  #endAfterWrite(reason: CloseReason, detail: string | undefined): void {
    if (this.#closed) return;
    this.#markClosed();
    this.#end();
    this.#report(reason, detail === undefined ? undefined : new Error(detail));
  }

  /**
   * Ends our side of the socket, and destroys it a second later if the client has not closed its
   * side by then: a client that reads nothing never sees the end, and its half-open socket would
   * keep the listener (and a stopping broker) waiting for ever.
   */
  #end(): void {
    const { socket } = this.#o;
    socket.end();
    const timer = setTimeout(() => socket.destroy(), 1000);
    timer.unref();
  }

  async #write(chunks: Buffer[], size: number): Promise<void> {
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
              this.#taken(size);
            });
    }
    socket.uncork();
    this.#handedBytes += size;
    if (!ok && !this.#closed) {
      // The client is not keeping up: wait for it (the watchdog closes it if it takes nothing for too long).
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
    if (this.#draining && !this.#busy && !this.#refused && this.#queue.length === 0 && this.#outstanding === 0 && !this.#closed) {
      this.#markClosed();
      this.#end();
      this.#report(this.#drainReason);
    }
  }

  /** Graceful close: stop reading, answer the requests already received, then end the socket. */
  shutdown(graceMs = 5000): Promise<void> {
    if (!this.#closed) {
      this.#draining = true;
      this.#stopped = true;
      this.#drainReason = CloseReasons.SERVER_SHUTDOWN;
      this.#update();
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
    this.#markClosed();
    this.#o.socket.destroy();
    this.#report(reason, err);
  }

  /** From now on nothing is read or started, and what the connection held goes back to the budget. */
  /**
   * Closes the connection once nothing was sent, answered or waited for (a long-polling Fetch is not
   * idle) for `timeoutMs`. One timer per connection, re-armed for what is left when it fires early.
   */
  #armIdle(timeoutMs: number, delayMs = timeoutMs): void {
    if (timeoutMs <= 0) return;
    this.#idleTimer = setTimeout(() => {
      if (this.#closed) return;
      const idleMs = performance.now() - this.#lastActive;
      if (this.#outstanding > 0 || this.#inFlight > 0 || this.#muteTimer !== undefined) this.#armIdle(timeoutMs);
      else if (idleMs >= timeoutMs) this.close(CloseReasons.IDLE_TIMEOUT, new Error(`nothing sent or answered for ${Math.round(idleMs)} ms (connectionsMaxIdleMs ${timeoutMs})`));
      else this.#armIdle(timeoutMs, timeoutMs - idleMs);
    }, delayMs);
    this.#idleTimer.unref();
  }

  #markClosed(): void {
    this.#closed = true;
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#muteTimer);
    this.#queue.length = 0;
    this.#watchdog.disarm();
    const budget = this.#o.budget;
    if (budget !== undefined) {
      budget.cancel(this.#budgetReleased);
      budget.releaseRequest(this.#requestBytes);
      budget.releaseResponse(this.#responseBytes);
    }
    this.#requestBytes = 0;
    this.#responseBytes = 0;
    this.#inFlight = 0;
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

/** Why a connection closes when handling one of its requests threw (also what an injected request reports). */
export function closeReasonOf(err: unknown): CloseReason {
  if (isFault(err, 'UNSUPPORTED_API')) return CloseReasons.UNSUPPORTED_API;
  if (isFault(err, 'PRODUCE_REJECTED')) return CloseReasons.PRODUCE_REJECTED;
  return isFault(err) ? CloseReasons.DECODE_ERROR : CloseReasons.INTERNAL_ERROR;
}
