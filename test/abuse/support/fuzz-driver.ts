import { readFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { decodeResponse, encodeRequest } from '../../../src/protocol/frames.js';
import { SaslAuthenticate } from '../../../src/protocol/messages/sasl-authenticate.js';
import { SaslHandshake } from '../../../src/protocol/messages/sasl-handshake.js';
import type { MutatedFrame } from './fuzz-frames.js';

/**
 * Sends hostile frames to a broker over real TLS sockets, many connections at once, and counts what
 * the broker did with each: answered it, closed the connection on it, or said nothing (a frame whose
 * size prefix promises more bytes, an acks=0 produce, a long-polling fetch). A connection the broker
 * closes is replaced by a new one, so the run goes on until every frame is sent.
 */

export interface FuzzTarget {
  readonly port: number;
  readonly caFile: string;
  /** Log in with SASL/PLAIN before sending frames (post-authentication); none: frames from the first byte. */
  readonly login?: { readonly user: string; readonly password: string };
}

export interface FuzzOptions {
  /** Connections sending at once. */
  readonly concurrency: number;
  /** Frames written together in one socket write, before waiting for what the broker does. */
  readonly batch: number;
  /** A connection with nothing received for this long after a write is treated as waiting (see above). */
  readonly quietMs: number;
  /**
   * Source addresses (127.0.1.1, 127.0.1.2, …) the connections are spread over, so a per-source
   * connection limit does not turn the fuzz run into a connection-storm test.
   */
  readonly sourceAddresses: number;
  /** Stop taking frames after this many ms (the benchmark's time box); none: send them all. */
  readonly maxMs?: number;
}

export const DEFAULT_FUZZ_OPTIONS: FuzzOptions = { concurrency: 16, batch: 1, quietMs: 100, sourceAddresses: 32 };

export interface FuzzTally {
  sent: number;
  /** Frames of batches that got at least one response before the next write. */
  answered: number;
  /** Connections the broker closed (a frame it refused). */
  brokerCloses: number;
  /** Writes after which nothing came back within quietMs (the connection is then dropped by us). */
  quiet: number;
  connections: number;
  elapsedMs: number;
}

/** A TLS connection that counts response frames and keeps them for the login exchange. */
class FuzzConnection {
  readonly frames: Buffer[] = [];
  closed = false;
  #buffer: Buffer = Buffer.alloc(0);
  #waiter: (() => void) | null = null;

  constructor(readonly socket: TLSSocket) {
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
      while (this.#buffer.length >= 4) {
        const size = this.#buffer.readInt32BE(0);
        if (this.#buffer.length < 4 + size) break;
        this.frames.push(this.#buffer.subarray(4, 4 + size));
        this.#buffer = this.#buffer.subarray(4 + size);
      }
      this.#wake();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = null;
    w?.();
  }

  /** Resolves when `n` frames in all have arrived, the socket closed, or nothing arrived for `quietMs`. */
  async settle(n: number, quietMs: number): Promise<'answered' | 'closed' | 'quiet'> {
    for (;;) {
      if (this.frames.length >= n) return 'answered';
      if (this.closed) return 'closed';
      const woke = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          this.#waiter = null;
          resolve(false);
        }, quietMs);
        this.#waiter = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
      // Not woken: no frame arrived and the socket did not close for quietMs.
      if (!woke) return 'quiet';
    }
  }
}

/** Opens TLS connections to one broker, resuming the TLS session (as real clients do) so that the run measures the broker's framing, not RSA. */
export class FuzzConnector {
  readonly #ca: Buffer;
  #session: Buffer | undefined;
  #next = 0;

  constructor(
    readonly target: FuzzTarget,
    readonly sourceAddresses: number,
  ) {
    this.#ca = readFileSync(target.caFile);
  }

  async open(): Promise<FuzzConnection> {
    const n = this.#next++ % Math.max(1, this.sourceAddresses);
    const localAddress = this.sourceAddresses <= 0 ? undefined : `127.0.${1 + Math.floor(n / 250)}.${1 + (n % 250)}`;
    // tls.connect takes no local address: the TCP socket is opened first, bound to it.
    const tcp = netConnect({ host: '127.0.0.1', port: this.target.port, ...(localAddress === undefined ? {} : { localAddress }) });
    tcp.on('error', () => undefined);
    const socket = tlsConnect({
      socket: tcp,
      host: '127.0.0.1',
      ca: this.#ca,
      minVersion: 'TLSv1.2',
      ...(this.#session === undefined ? {} : { session: this.#session }),
    });
    socket.on('session', (s: Buffer) => (this.#session = s));
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', () => {
        socket.setNoDelay(true);
        resolve();
      });
      socket.once('error', reject);
    });
    const connection = new FuzzConnection(socket);
    if (this.target.login !== undefined) await login(connection, this.target.login.user, this.target.login.password);
    return connection;
  }
}

async function login(c: FuzzConnection, user: string, password: string): Promise<void> {
  const request = async (api: typeof SaslHandshake | typeof SaslAuthenticate, body: object): Promise<Record<string, unknown>> => {
    const n = c.frames.length + 1;
    c.socket.write(Buffer.concat(encodeRequest(api, { apiVersion: 1, correlationId: n, clientId: 'fuzz-login' }, body)));
    if ((await c.settle(n, 10_000)) !== 'answered') throw new Error(`the login of ${user} got no answer to ${api.name}`);
    return decodeResponse(api, 1, c.frames[n - 1] as Buffer).body;
  };
  const hs = await request(SaslHandshake, { mechanism: 'PLAIN' });
  if (hs.errorCode !== 0) throw new Error(`PLAIN handshake refused: ${String(hs.errorCode)}`);
  const auth = await request(SaslAuthenticate, { authBytes: Buffer.from(`\0${user}\0${password}`) });
  if (auth.errorCode !== 0) throw new Error(`login of ${user} refused: ${String(auth.errorCode)}`);
  // The login's own frames are not the fuzzer's.
  c.frames.length = 0;
}

/**
 * Sends `total` frames from `next` over connections of `connector`, `options.concurrency` at once;
 * returns what happened to them.
 */
export async function fuzzOverSockets(connector: FuzzConnector, total: number, next: (i: number) => MutatedFrame, options: FuzzOptions): Promise<FuzzTally> {
  const tally: FuzzTally = { sent: 0, answered: 0, brokerCloses: 0, quiet: 0, connections: 0, elapsedMs: 0 };
  const started = performance.now();
  let taken = 0;
  const deadline = options.maxMs === undefined ? Infinity : started + options.maxMs;
  const more = () => taken < total && performance.now() < deadline;
  const worker = async () => {
    while (more()) {
      const c = await connector.open();
      tally.connections++;
      try {
        while (more()) {
          const count = Math.min(options.batch, total - taken);
          const chunks: Buffer[] = [];
          for (let i = 0; i < count; i++) chunks.push(next(taken++).bytes);
          const expected = c.frames.length + count;
          c.socket.write(Buffer.concat(chunks));
          tally.sent += count;
          const before = c.frames.length;
          const outcome = await c.settle(expected, options.quietMs);
          if (c.frames.length > before) tally.answered += Math.min(count, c.frames.length - before);
          if (outcome === 'closed') {
            tally.brokerCloses++;
            break;
          }
          if (outcome === 'quiet') {
            tally.quiet++;
            break;
          }
        }
      } finally {
        c.socket.destroy();
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  tally.elapsedMs = performance.now() - started;
  return tally;
}
