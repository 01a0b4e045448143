import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/**
 * The slowloris attacker of bench/abuse/slowloris.ts, run as its own process (forked with IPC): it
 * receives an {@link AttackerRequest}, opens the connections and reports, then trickles until 'stop',
 * and reports again.
 */

/** How the attack went so far. */
export interface AttackerReport {
  readonly open: number;
  readonly opened: number;
  readonly peakOpen: number;
  readonly closedByBroker: number;
}

/** What the benchmark asks of the attacker (the first IPC message); 'stop' ends the attack. */
export interface AttackerRequest {
  readonly port: number;
  readonly caFile: string;
  readonly connections: number;
  /** Loopback source addresses (127.0.2.1 …) the connections are spread over. */
  readonly sources: number;
  /** Milliseconds between the bytes each connection sends. */
  readonly trickleMs: number;
}

/** Holds `connections` trickling connections, half before TLS and half after, replacing those the broker closes. */
class Slowloris {
  open = 0;
  peakOpen = 0;
  opened = 0;
  closedByBroker = 0;
  readonly #sockets = new Set<Socket>();
  readonly #ca: Buffer;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(readonly o: AttackerRequest) {
    this.#ca = readFileSync(o.caFile);
  }

  /** Opens every connection (in waves, not to be a connection storm), then starts the trickle. */
  async start(): Promise<void> {
    const wave = 100;
    for (let i = 0; i < this.o.connections; i += wave) {
      await Promise.all(Array.from({ length: Math.min(wave, this.o.connections - i) }, (_, j) => this.#openOne(i + j)));
    }
    this.#timer = setInterval(() => {
      for (const s of this.#sockets) if (!s.destroyed) s.write(Buffer.from([0x41]));
    }, this.o.trickleMs);
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    for (const s of this.#sockets) s.destroy();
  }

  async #openOne(n: number): Promise<void> {
    if (this.#stopped) return;
    const i = this.opened++;
    const localAddress = `127.0.${2 + Math.floor((i % this.o.sources) / 250)}.${1 + ((i % this.o.sources) % 250)}`;
    const beforeTls = n % 2 === 0;
    let socket: Socket;
    try {
      socket = await new Promise<Socket>((resolve, reject) => {
        const s = beforeTls
          ? netConnect({ host: '127.0.0.1', port: this.o.port, localAddress }, () => {
              resolve(s);
            })
          : tlsConnect({ socket: netConnect({ host: '127.0.0.1', port: this.o.port, localAddress }), host: '127.0.0.1', ca: this.#ca }, () => {
              resolve(s);
            });
        s.once('error', reject);
      });
    } catch {
      // Refused (a limit, once there is one): try again a little later, as an attacker would.
      setTimeout(() => void this.#openOne(n), 100).unref();
      return;
    }
    socket.on('error', () => undefined);
    // Before TLS: a handshake record header announcing 512 bytes; after TLS: a size prefix of 1 KiB.
    // Neither is ever completed: one byte per trickle interval.
    socket.write(beforeTls ? Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]) : Buffer.from([0, 0, 4, 0]));
    this.#sockets.add(socket);
    this.open++;
    this.peakOpen = Math.max(this.peakOpen, this.open);
    socket.once('close', () => {
      this.#sockets.delete(socket);
      this.open--;
      if (this.#stopped) return;
      this.closedByBroker++;
      void this.#openOne(n);
    });
  }
}

function report(s: Slowloris): AttackerReport {
  return { open: s.open, opened: s.opened, peakOpen: s.peakOpen, closedByBroker: s.closedByBroker };
}

let attacker: Slowloris | null = null;
process.on('message', (message: AttackerRequest | 'stop') => {
  if (message === 'stop') {
    if (attacker !== null) {
      attacker.stop();
      process.send?.(report(attacker));
    }
    return;
  }
  const started = new Slowloris(message);
  attacker = started;
  void started.start().then(() => process.send?.(report(started)));
});
process.on('disconnect', () => process.exit(0));
