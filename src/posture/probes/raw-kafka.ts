import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { decodeResponse, encodeRequest } from '../../protocol/frames.js';
import type { ApiSchema } from '../../protocol/messages/schema.js';
import type { BrokerAddress } from '../../client/client-config.js';

/**
 * The posture scan's own wire exchange: one request, one response, on a socket that verifies nothing
 * and presents no credentials, because that is the point of the probe (what does the listener give a
 * stranger?). The project's client (src/client) verifies certificates and logs in, as it must.
 */

/** A probe's responses are small (ApiVersions, a SASL handshake, an empty Metadata). */
const MAX_PROBE_RESPONSE_BYTES = 1024 * 1024;

export class ProbeConnection {
  #buffer = Buffer.alloc(0);
  #waiter: (() => void) | null = null;
  #closed = false;
  #correlationId = 0;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#wake();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.#closed = true;
      this.#wake();
    });
  }

  /** A TCP connection, or TLS without verification (`tls`), without a client certificate. */
  static async open(address: BrokerAddress, tls: boolean, timeoutMs: number): Promise<ProbeConnection> {
    const socket: Socket = tls
      ? tlsConnect({ host: address.host, port: address.port, rejectUnauthorized: false, ...(isIP(address.host) === 0 ? { servername: address.host } : {}) })
      : netConnect({ host: address.host, port: address.port });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no connection after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once(tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      });
    });
    return new ProbeConnection(socket);
  }

  /**
   * Sends one request and waits for its response; resolves to undefined when the broker closes the
   * connection or says nothing within `timeoutMs` (both are answers for a probe).
   */
  async request(api: ApiSchema, version: number, body: object, timeoutMs: number): Promise<Record<string, unknown> | undefined> {
    const correlationId = ++this.#correlationId;
    this.socket.write(Buffer.concat(encodeRequest(api, { apiVersion: version, correlationId, clientId: 'parapet-posture' }, body)));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.#buffer.length >= 4) {
        const size = this.#buffer.readInt32BE(0);
        if (size < 0 || size > MAX_PROBE_RESPONSE_BYTES) return undefined;
        if (this.#buffer.length >= 4 + size) {
          const frame = this.#buffer.subarray(4, 4 + size);
          this.#buffer = this.#buffer.subarray(4 + size);
          try {
            const decoded = decodeResponse(api, version, frame);
            return decoded.correlationId === correlationId ? decoded.body : undefined;
          } catch {
            return undefined;
          }
        }
      }
      if (this.#closed || Date.now() >= deadline) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.#waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  get tlsSocket(): TLSSocket | undefined {
    return 'getPeerCertificate' in this.socket ? (this.socket as TLSSocket) : undefined;
  }

  close(): void {
    this.socket.destroy();
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = null;
    w?.();
  }
}
