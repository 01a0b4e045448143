import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../../src/protocol/acl.js';
import { startBrokerProcess, type BrokerProcess } from '../../test/security/attack-support.js';
import { consume, produce, SHAPES, type LoadOptions } from '../load.js';
import { MiB, type AbuseCase, type Figure } from './case.js';

/**
 * Slowloris against a default broker: connections that trickle bytes and never finish, half before
 * the TLS handshake (a ClientHello record that never completes) and half after it (a request frame
 * that never completes), from many loopback source addresses, while a legitimate user produces and
 * then consumes. A closed attack connection is replaced at once, as a real attacker's would be, so the
 * attack holds `connections` for its whole length. The figure to read is the legitimate client's
 * throughput under attack as a ratio of the same client's unloaded throughput, in the same run.
 *
 * The broker's answer today is the login deadline (authenticationTimeoutMs, 10 s from the accept);
 * connection limits per source and overall (issue 15) will change the figure: run it again with
 * `--sources` 1 and many to see them work.
 */
export const slowlorisCase: AbuseCase = {
  name: 'slowloris',
  summary: 'connections trickling bytes before and after TLS while a real client produces and consumes: its throughput ratio',
  flags: { connections: '2000', sources: '50', 'trickle-ms': '1000', seconds: '10', partitions: '2' },
  async run(scope, flags) {
    const connections = flags.number(this, 'connections');
    const sources = flags.number(this, 'sources');
    const trickleMs = flags.number(this, 'trickle-ms');
    const seconds = flags.number(this, 'seconds');
    const partitions = flags.number(this, 'partitions');
    // The attack's sockets and the broker's share this machine's descriptors; the broker gets room for them.
    const broker = await startBrokerProcess(scope, { openFileLimit: Math.max(4096, connections * 2 + 1024) });
    const admin = await broker.admin();
    await admin.createTopic('bench-slowloris', partitions);
    const user = await broker.addUser('bench', 'bench-password-1', [
      { resourceType: ResourceType.TOPIC, resourceName: 'bench-', patternType: PatternType.PREFIXED, host: '*', operation: AclOperation.WRITE, permission: AclPermissionType.ALLOW },
      { resourceType: ResourceType.TOPIC, resourceName: 'bench-', patternType: PatternType.PREFIXED, host: '*', operation: AclOperation.READ, permission: AclPermissionType.ALLOW },
    ]);
    const load: LoadOptions = { seconds, connections: 2, partitions, inFlight: 4, client: user };
    const shape = SHAPES[0] ?? { name: '1 KiB records', recordBytes: 1024, recordsPerBatch: 16 };
    /** The legitimate client: produces for `seconds` to a new topic, then reads it all back. */
    const measure = async (topic: string) => {
      await admin.createTopic(`bench-${topic}`, partitions);
      const p = await produce(load, `bench-${topic}`, shape, 1);
      const c = await consume(load, `bench-${topic}`);
      return { produce: p.mbPerSec, consume: c.mbPerSec, p99: p.p99 };
    };
    // Warm up (JIT, TLS session, page cache), then the unloaded measure.
    await produce({ ...load, seconds: 2 }, 'bench-slowloris', shape, 1);
    const unloaded = await measure('unloaded');
    console.log(`   unloaded: produce ${unloaded.produce.toFixed(1)} MB/s (p99 ${unloaded.p99.toFixed(1)} ms), consume ${unloaded.consume.toFixed(1)} MB/s`);

    const rssBefore = broker.rssBytes();
    const fdsBefore = broker.openFds();
    const attack = new Slowloris(broker, { connections, sources, trickleMs });
    await attack.start();
    const rampFds = broker.openFds();
    console.log(`   attack: ${attack.open} connections open (${attack.opened} opened), broker fds ${fdsBefore} → ${rampFds}`);
    let underAttack: Awaited<ReturnType<typeof measure>>;
    try {
      underAttack = await measure('attacked');
    } finally {
      attack.stop();
    }
    const rssDuring = broker.rssBytes();
    console.log(
      `   under attack: produce ${underAttack.produce.toFixed(1)} MB/s (p99 ${underAttack.p99.toFixed(1)} ms), consume ${underAttack.consume.toFixed(1)} MB/s; ` +
        `${attack.opened} attack connections opened in all, ${attack.closedByBroker} closed by the broker`,
    );
    const figures: Figure[] = [
      { name: 'produce under attack / unloaded', value: underAttack.produce / unloaded.produce, unit: 'ratio', note: `${underAttack.produce.toFixed(1)} vs ${unloaded.produce.toFixed(1)} MB/s; 1 = no cost` },
      { name: 'consume under attack / unloaded', value: underAttack.consume / unloaded.consume, unit: 'ratio', note: `${underAttack.consume.toFixed(1)} vs ${unloaded.consume.toFixed(1)} MB/s` },
      { name: 'produce p99 under attack / unloaded', value: underAttack.p99 / unloaded.p99, unit: 'ratio', note: `${underAttack.p99.toFixed(1)} vs ${unloaded.p99.toFixed(1)} ms` },
      { name: 'attack connections held / asked', value: attack.peakOpen / connections, unit: 'ratio', note: `peak ${attack.peakOpen} of ${connections}; ${attack.closedByBroker} closed by the broker` },
      { name: 'broker RSS under attack', value: rssDuring / MiB, unit: 'MiB', note: `from ${(rssBefore / MiB).toFixed(0)} MiB` },
    ];
    return figures;
  },
};

interface SlowlorisOptions {
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

  constructor(
    readonly broker: BrokerProcess,
    readonly o: SlowlorisOptions,
  ) {
    this.#ca = readFileSync(broker.caFile);
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
          ? netConnect({ host: '127.0.0.1', port: this.broker.port, localAddress }, () => {
              resolve(s);
            })
          : tlsConnect({ socket: netConnect({ host: '127.0.0.1', port: this.broker.port, localAddress }), host: '127.0.0.1', ca: this.#ca }, () => {
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
