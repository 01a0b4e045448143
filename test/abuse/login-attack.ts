import { readFileSync } from 'node:fs';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { Worker } from 'node:worker_threads';
import type { ScramMechanismName } from '../../src/security/types.js';
import { SaslTestConnection } from '../helpers/sasl-client.js';

/**
 * A password guesser for the brute-force tests (docs/security/network.md#brute-force-defence): many
 * connections, each logging in with a wrong password again and again until a deadline, from one
 * loopback address (127.0.0.0/8 is all loopback on Linux: binding the client socket to 127.0.0.x
 * makes each attacker a different source for the broker).
 */

export interface GuessOptions {
  readonly port: number;
  readonly caFile: string;
  /** The source address, 127.0.0.x. */
  readonly localAddress: string;
  /** Several source addresses instead (the connections spread over them in turn): one attacker with many addresses. */
  readonly localAddresses?: readonly string[];
  readonly mechanism: 'PLAIN' | ScramMechanismName;
  readonly user: string;
  readonly connections: number;
  readonly durationMs: number;
}

/** Opens a TLS connection from `localAddress`, verified against the broker's CA. */
export async function connectFrom(port: number, caFile: string, localAddress: string): Promise<SaslTestConnection> {
  // ConnectionOptions omits net's localAddress, which tls.connect passes on to the TCP socket.
  const options: ConnectionOptions & { localAddress: string } = { host: '127.0.0.1', port, localAddress, ca: readFileSync(caFile), minVersion: 'TLSv1.2' };
  const socket = tlsConnect(options);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no TLS connection after 20 s'));
    }, 20_000);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve();
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err instanceof Error ? err : new Error(String(err)));
    });
  });
  socket.setNoDelay(true);
  return new SaslTestConnection(socket);
}

/** One login attempt on a new connection; its SaslAuthenticate error code (0: logged in), or null when the connection broke. */
export async function attemptLogin(port: number, caFile: string, localAddress: string, mechanism: GuessOptions['mechanism'], user: string, password: string): Promise<number | null> {
  let conn: SaslTestConnection | undefined;
  try {
    conn = await connectFrom(port, caFile, localAddress);
    if (mechanism === 'PLAIN') {
      const hs = await conn.handshake('PLAIN');
      if (hs.errorCode !== 0) return hs.errorCode;
      return (await conn.authenticate(Buffer.from(`\0${user}\0${password}`))).errorCode;
    }
    return (await conn.scram(mechanism, user, password)).result.errorCode;
  } catch {
    return null;
  } finally {
    conn?.close();
  }
}

/** Guesses until the deadline on every connection at once; returns the answers (any error code) and the broken connections. */
export async function guessPasswords(o: GuessOptions): Promise<{ answered: number; broken: number }> {
  const deadline = Date.now() + o.durationMs;
  let answered = 0;
  let broken = 0;
  let guess = 0;
  const addresses = o.localAddresses ?? [o.localAddress];
  const worker = async (_: unknown, i: number) => {
    const from = addresses[i % addresses.length] ?? o.localAddress;
    while (Date.now() < deadline) {
      const code = await attemptLogin(o.port, o.caFile, from, o.mechanism, o.user, `guess-${guess++}`);
      if (code === null) broken += 1;
      else answered += 1;
    }
  };
  await Promise.all(Array.from({ length: o.connections }, worker));
  return { answered, broken };
}

/**
 * {@link guessPasswords} in a worker thread: the attacker's hundreds of TLS connections then do not
 * slow the event loop of the test's own well-behaved client, whose latency is being measured.
 */
export function guessPasswordsInWorker(o: GuessOptions): Promise<{ answered: number; broken: number }> {
  const worker = new Worker(new URL('./login-attack-worker.js', import.meta.url), { workerData: o });
  return new Promise((resolve, reject) => {
    worker.once('message', (result: { answered: number; broken: number }) => {
      resolve(result);
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`the attack worker exited with ${code}`));
    });
  });
}
