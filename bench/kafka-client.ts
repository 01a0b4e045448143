/**
 * The benchmark's load generator: a minimal pipelined Kafka client over one TCP socket, built on the
 * project's own codec so that the client costs as little CPU as possible (the broker is measured, not
 * the client). Responses arrive in request order, so a FIFO of pending promises matches them.
 */
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { connect as connectTls } from 'node:tls';
import { ScramClient } from '../src/client/scram-client.js';
import { decodeResponse, encodeRequest } from '../src/protocol/frames.js';
import { SaslAuthenticate } from '../src/protocol/messages/sasl-authenticate.js';
import { SaslHandshake } from '../src/protocol/messages/sasl-handshake.js';
import type { ApiSchema } from '../src/protocol/messages/schema.js';
import { FrameSplitter } from '../src/protocol/frame-splitter.js';

interface Pending {
  readonly api: ApiSchema;
  readonly version: number;
  readonly decode: boolean;
  readonly resolve: (value: { body: Record<string, unknown> | null; frame: Buffer }) => void;
  readonly reject: (err: Error) => void;
}

export class BenchClient {
  readonly #socket: Socket;
  readonly #pending: Pending[] = [];
  #correlationId = 0;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    const splitter = new FrameSplitter(256 * 1024 * 1024);
    socket.on('data', (chunk: Buffer) => {
      splitter.push(chunk);
      for (let frame = splitter.next(); frame !== null; frame = splitter.next()) {
        const p = this.#pending.shift();
        if (p === undefined) throw new Error('response without a request');
        p.resolve({ body: p.decode ? decodeResponse(p.api, p.version, frame).body : null, frame });
      }
    });
    socket.on('error', (err) => {
      for (const p of this.#pending.splice(0)) p.reject(err);
    });
  }

  static async connect(host: string, port: number): Promise<BenchClient> {
    const socket = connect(port, host);
    await once(socket, 'connect');
    return new BenchClient(socket);
  }

  /**
   * The full secure path: TLS verified against `ca`, then SCRAM-SHA-512 (SaslHandshake v1 and
   * SaslAuthenticate), as librdkafka and the Java client connect to a SASL_SSL listener.
   */
  static async connectSecure(host: string, port: number, auth: { ca: Buffer; user: string; password: string }): Promise<BenchClient> {
    const socket = connectTls({ host, port, ca: auth.ca, servername: 'localhost' });
    await once(socket, 'secureConnect');
    const client = new BenchClient(socket);
    const fail = (what: string, code: unknown) => new Error(`${what} failed with error ${String(code)}`);
    const { body: hs } = await client.request(SaslHandshake, 1, { mechanism: 'SCRAM-SHA-512' });
    if (hs?.errorCode !== 0) throw fail('SaslHandshake', hs?.errorCode);
    const scram = new ScramClient('SCRAM-SHA-512', auth.user, auth.password);
    const { body: first } = await client.request(SaslAuthenticate, 2, { authBytes: scram.clientFirst() });
    if (first?.errorCode !== 0) throw fail('SCRAM client-first', first?.errorCode);
    const { body: final } = await client.request(SaslAuthenticate, 2, { authBytes: scram.clientFinal(first.authBytes as Buffer) });
    if (final?.errorCode !== 0) throw fail('SCRAM client-final', final?.errorCode);
    scram.verifyServerFinal(final.authBytes as Buffer);
    return client;
  }

  /** Sends a request; resolves with the decoded body (or only the frame when `decode` is false). */
  request(api: ApiSchema, version: number, body: object, decode = true): Promise<{ body: Record<string, unknown> | null; frame: Buffer }> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ api, version, decode, resolve, reject });
      this.send(api, version, body);
    });
  }

  /** Sends a request that gets no response (Produce acks=0). */
  send(api: ApiSchema, version: number, body: object): void {
    // Corked: the frame's chunks (header, referenced batches) leave in one writev.
    this.#socket.cork();
    for (const chunk of encodeRequest(api, { apiVersion: version, correlationId: ++this.#correlationId, clientId: 'bench' }, body)) {
      this.#socket.write(chunk);
    }
    this.#socket.uncork();
  }

  close(): void {
    this.#socket.destroy();
  }
}
