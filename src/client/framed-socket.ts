import type { Socket } from 'node:net';
import { FrameSplitter } from '../protocol/frame-splitter.js';
import { encodeRequest } from '../protocol/frames.js';
import type { ApiSchema } from '../protocol/messages/schema.js';

/** Correlation ids are int32s that stay positive: after the largest the count starts again at 1. */
const MAX_CORRELATION_ID = 0x7fffffff;

export interface FramedSocketHandlers {
  /** Each response frame as it completes (its payload, size prefix removed), in arrival order. */
  frame(frame: Buffer): void;
  /** A size prefix out of range, or whatever `frame` threw: the stream cannot be trusted further. */
  broken(err: unknown): void;
}

/**
 * The client side of the wire, and the one place it is framed: each request is encoded by
 * protocol/frames.ts under the next correlation id and leaves in one corked write (its header and
 * the record batches it references in one writev, never copied into one buffer), and what the broker
 * sends back is cut into response frames by the protocol's FrameSplitter. It pairs nothing:
 * KafkaConnection matches each frame with the request waiting for it, and the tests' raw helper,
 * which misbehaves on purpose, keeps every frame as it came.
 */
export class FramedSocket {
  readonly socket: Socket;
  readonly #clientId: string;
  readonly #splitter: FrameSplitter;
  #nextCorrelationId = 1;

  constructor(socket: Socket, options: { readonly clientId: string; readonly maxResponseBytes: number }, handlers: FramedSocketHandlers) {
    this.socket = socket;
    this.#clientId = options.clientId;
    this.#splitter = new FrameSplitter(options.maxResponseBytes);
    socket.on('data', (chunk: Buffer) => {
      try {
        this.#splitter.push(chunk);
        for (let frame = this.#splitter.next(); frame !== null; frame = this.#splitter.next()) handlers.frame(frame);
      } catch (err) {
        handlers.broken(err);
      }
    });
  }

  /** Encodes a request and writes it; returns its correlation id. Throws, writing nothing, when the body does not encode. */
  writeRequest(api: ApiSchema, version: number, body: object): number {
    const correlationId = this.#nextCorrelationId;
    const chunks = encodeRequest(api, { apiVersion: version, correlationId, clientId: this.#clientId }, body);
    this.#nextCorrelationId = correlationId === MAX_CORRELATION_ID ? 1 : correlationId + 1;
    this.socket.cork();
    for (const chunk of chunks) this.socket.write(chunk);
    this.socket.uncork();
    return correlationId;
  }
}
