import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../logger.js';
import type { BufferPool } from './buffer-pool.js';
import { Connection } from './connection.js';
import { createDispatcher, type HandlerEntry } from './dispatcher.js';

export interface ListenerOptions {
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  /** Largest request frame accepted; a larger size prefix closes the connection before buffering. */
  readonly maxFrameBytes: number;
  readonly handlers: ReadonlyMap<number, HandlerEntry>;
  readonly logger: Logger;
  /** Buffers for request frames (see ConnectionOptions.framePool). */
  readonly framePool?: BufferPool;
  /** Buffers of responses given back once written: the pool the log's reads come from. */
  readonly responsePool?: BufferPool;
}

/**
 * A plaintext TCP listener for the Kafka protocol. (TLS and SASL arrive with the security issue; the
 * listener's protocol is already a config field so that SASL_SSL can become the default.)
 */
export class Listener {
  readonly #o: ListenerOptions;
  readonly #server: Server;
  readonly #connections = new Set<Connection>();
  #nextId = 1;
  #address: { host: string; port: number } | null = null;

  constructor(options: ListenerOptions) {
    this.#o = options;
    this.#server = createServer((socket) => {
      this.#accept(socket);
    });
  }

  get address(): { host: string; port: number } {
    if (this.#address === null) throw new Error('listener not started');
    return this.#address;
  }

  async start(): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#o.port, this.#o.host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const bound = this.#server.address();
    if (bound === null || typeof bound === 'string') throw new Error('unexpected listener address');
    this.#address = { host: this.#o.host, port: bound.port };
    return this.#address;
  }

  #accept(socket: Socket): void {
    const id = this.#nextId++;
    const listener = this.address;
    const connection = new Connection({
      socket,
      id,
      maxFrameBytes: this.#o.maxFrameBytes,
      handle: createDispatcher(this.#o.handlers, { id, listener, clientHost: `/${socket.remoteAddress ?? 'unknown'}` }),
      logger: this.#o.logger,
      ...(this.#o.framePool === undefined ? {} : { framePool: this.#o.framePool }),
      ...(this.#o.responsePool === undefined ? {} : { responsePool: this.#o.responsePool }),
      onClose: () => this.#connections.delete(connection),
    });
    this.#connections.add(connection);
  }

  /** Stops accepting, lets every connection answer what it already received, then closes them. */
  async close(): Promise<void> {
    const stopped = new Promise<void>((resolve) => {
      this.#server.close(() => {
        resolve();
      });
    });
    await Promise.all([...this.#connections].map((c) => c.shutdown()));
    await stopped;
  }
}
