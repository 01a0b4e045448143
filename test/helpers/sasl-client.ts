import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { TestContext } from 'node:test';
import { ScramClient } from '../../src/client/scram-client.js';
import { decodeResponse, encodeRequest } from '../../src/protocol/frames.js';
import type { ApiSchema } from '../../src/protocol/messages/schema.js';
import { SaslAuthenticate } from '../../src/protocol/messages/sasl-authenticate.js';
import { SaslHandshake } from '../../src/protocol/messages/sasl-handshake.js';
import type { ScramMechanismName } from '../../src/security/types.js';
import { rawClient } from './raw-client.js';

export interface SaslAuthenticateResult {
  errorCode: number;
  errorMessage: string | null;
  authBytes: Buffer;
}

/**
 * A hand-driven client connection for the security tests: every request and SASL token is sent
 * explicitly, so a test can misbehave on purpose (replay, skip the handshake, send garbage).
 */
export class SaslTestConnection {
  readonly #client: Awaited<ReturnType<typeof rawClient>>;
  #correlationId = 0;
  #framesSeen = 0;

  private constructor(client: Awaited<ReturnType<typeof rawClient>>) {
    this.#client = client;
  }

  /** Opens a TLS connection verified against `caFile` (or plain TCP when caFile is null). */
  static async open(t: TestContext, port: number, caFile: string | null): Promise<SaslTestConnection> {
    const client = await rawClient(port, caFile === null ? {} : { tls: { ca: readFileSync(caFile) } });
    const conn = new SaslTestConnection(client);
    t.after(() => {
      client.socket.destroy();
    });
    return conn;
  }

  get socket(): Socket {
    return this.#client.socket;
  }

  /** Resolves when the broker closes the connection. */
  get closed(): Promise<unknown> {
    return this.#client.closed;
  }

  /** Sends a request without waiting for an answer; returns its correlation id. */
  send(api: ApiSchema, version: number, body: object): number {
    const correlationId = this.#correlationId++;
    this.#client.socket.write(Buffer.concat(encodeRequest(api, { apiVersion: version, correlationId, clientId: 'security-test' }, body)));
    return correlationId;
  }

  /** Sends a request and returns the response body (throws if none arrives in 5 s). */
  async request(api: ApiSchema, version: number, body: object): Promise<Record<string, unknown>> {
    const correlationId = this.send(api, version, body);
    const frame = await this.nextFrame();
    const decoded = decodeResponse(api, version, frame);
    if (decoded.correlationId !== correlationId) throw new Error(`correlation id ${decoded.correlationId}, expected ${correlationId}`);
    return decoded.body;
  }

  /** Sends bytes as one length-prefixed frame (a raw SASL token after a v0 handshake, or garbage). */
  sendFrame(payload: Buffer): void {
    const size = Buffer.alloc(4);
    size.writeInt32BE(payload.length);
    this.#client.socket.write(Buffer.concat([size, payload]));
  }

  async nextFrame(): Promise<Buffer> {
    const frames = await this.#client.waitFrames(this.#framesSeen + 1);
    return frames[this.#framesSeen++] as Buffer;
  }

  /** Whether the broker sent anything more than what was read. */
  get unreadFrames(): number {
    return this.#client.frames.length - this.#framesSeen;
  }

  async handshake(mechanism: string, version = 1): Promise<{ errorCode: number; mechanisms: string[] }> {
    return (await this.request(SaslHandshake, version, { mechanism })) as { errorCode: number; mechanisms: string[] };
  }

  async authenticate(authBytes: Buffer, version = 1): Promise<SaslAuthenticateResult> {
    return (await this.request(SaslAuthenticate, version, { authBytes })) as unknown as SaslAuthenticateResult;
  }

  /**
   * A full SCRAM exchange with SaslHandshake v1 + SaslAuthenticate. Returns the last response and the
   * client-final message sent (for replay tests); stops at the first error.
   */
  async scram(mechanism: ScramMechanismName, user: string, password: string): Promise<{ result: SaslAuthenticateResult; clientFinal: Buffer | null }> {
    const hs = await this.handshake(mechanism);
    if (hs.errorCode !== 0) throw new Error(`handshake error ${hs.errorCode}`);
    const scram = new ScramClient(mechanism, user, password);
    const first = await this.authenticate(scram.clientFirst());
    if (first.errorCode !== 0) return { result: first, clientFinal: null };
    const clientFinal = scram.clientFinal(first.authBytes);
    const result = await this.authenticate(clientFinal);
    if (result.errorCode === 0) scram.verifyServerFinal(result.authBytes);
    return { result, clientFinal };
  }
}
