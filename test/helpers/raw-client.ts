import type { Socket } from 'node:net';
import type { TlsSettings } from '../../src/client/client-config.js';
import { FramedSocket } from '../../src/client/framed-socket.js';
import { openSocket } from '../../src/client/open-socket.js';
import { decodeResponse } from '../../src/protocol/frames.js';
import type { ApiSchema } from '../../src/protocol/messages/schema.js';

/**
 * The connection of tests that misbehave on purpose: it sends what it is told, at any version, with
 * nothing before it (no ApiVersions, no SASL unless the test drives it), garbage frames, bytes cut
 * anywhere (through `socket`), and keeps every response frame as it arrived. Well-behaved traffic
 * goes through the project's client (KafkaConnection, AdminClient); this one shares its socket set-up
 * and its framing (FramedSocket), so requests are encoded and responses cut by the same code.
 */
export class RawConnection {
  readonly socket: Socket;
  /** Every response frame so far (payloads without the size prefix), in arrival order. */
  readonly frames: Buffer[] = [];
  /** Resolves when the socket closes, whatever the cause (a reset by the broker is how some refusals end). */
  readonly closed: Promise<unknown>;
  readonly #wire: FramedSocket;
  /** Frames handed out by {@link nextFrame} (and so by {@link request}). */
  #read = 0;

  constructor(socket: Socket) {
    this.socket = socket;
    this.#wire = new FramedSocket(
      socket,
      { clientId: 'raw-test', maxResponseBytes: 64 * 1024 * 1024 },
      {
        frame: (frame) => this.frames.push(frame),
        broken: (err) => socket.destroy(err instanceof Error ? err : undefined),
      },
    );
    socket.on('error', () => undefined);
    this.closed = new Promise<unknown>((resolve) => socket.once('close', resolve));
  }

  /** A TCP connection to a broker on this machine, or a TLS one with these settings (CA, client certificate). */
  static async connect<C extends RawConnection>(this: new (socket: Socket) => C, port: number, tls?: TlsSettings): Promise<C> {
    const config = tls === undefined ? { securityProtocol: 'PLAINTEXT' as const, tls: {} } : { securityProtocol: 'SSL' as const, tls };
    // Generous: the attack tests open many connections to a broker that is busy on purpose.
    return new this(await openSocket({ host: '127.0.0.1', port }, config, 30_000));
  }

  /** Sends a request without waiting for its answer (acks=0, pipelining, a request the broker should refuse); returns its correlation id. */
  send(api: ApiSchema, version: number, body: object): number {
    return this.#wire.writeRequest(api, version, body);
  }

  /** Sends a request and decodes the next unread frame as its response, which must carry its correlation id. */
  async request(api: ApiSchema, version: number, body: object): Promise<Record<string, unknown>> {
    const correlationId = this.send(api, version, body);
    const decoded = decodeResponse(api, version, await this.nextFrame());
    if (decoded.correlationId !== correlationId) throw new Error(`correlation id ${decoded.correlationId}, expected ${correlationId}`);
    return decoded.body;
  }

  /** Sends bytes as one size-prefixed frame, whatever they hold (a raw SASL token after a v0 handshake, garbage). */
  sendFrame(payload: Buffer): void {
    const size = Buffer.alloc(4);
    size.writeInt32BE(payload.length);
    this.socket.write(Buffer.concat([size, payload]));
  }

  /** The next frame not yet handed out (throws if none arrives within 5 s). */
  async nextFrame(): Promise<Buffer> {
    const frames = await this.waitFrames(this.#read + 1);
    return frames[this.#read++] as Buffer;
  }

  /** Waits until `n` frames in all have arrived (throws after 5 s); returns them all. */
  async waitFrames(n: number): Promise<Buffer[]> {
    const deadline = Date.now() + 5000;
    while (this.frames.length < n) {
      if (Date.now() > deadline) throw new Error(`got ${this.frames.length} of ${n} frames`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.frames;
  }

  /** Frames that arrived but were not handed out by {@link nextFrame}: what the broker sent beyond what was read. */
  get unreadFrames(): number {
    return this.frames.length - this.#read;
  }

  close(): void {
    this.socket.destroy();
  }
}
