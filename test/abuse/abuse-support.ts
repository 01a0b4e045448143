import { writeFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { eventually, type BrokerProcess, type CleanupScope } from '../security/attack-support.js';

/**
 * Helpers of the abuse suite (docs/security/network.md): many TCP connections from chosen loopback
 * addresses (Linux routes all of 127.0.0.0/8 to lo, so a socket bound to 127.0.0.7 is a client at
 * 127.0.0.7), and what the broker reported about them.
 */

export interface StormSocket {
  readonly socket: Socket;
  /** Whether the broker has closed (or reset) it. */
  readonly closed: () => boolean;
}

/** Opens `n` TCP connections from `localAddress` at once; each is destroyed when the test (or benchmark case) ends. */
export function storm(t: CleanupScope, port: number, localAddress: string, n: number): StormSocket[] {
  const sockets: StormSocket[] = [];
  for (let i = 0; i < n; i++) {
    const socket = tcpConnect({ host: '127.0.0.1', port, localAddress });
    let closed = false;
    socket.on('error', () => undefined);
    socket.once('close', () => {
      closed = true;
    });
    sockets.push({ socket, closed: () => closed });
  }
  t.after(() => {
    for (const s of sockets) s.socket.destroy();
  });
  return sockets;
}

/** Resolves once every socket is connected or closed (a refused one may close before it connects). */
export async function settled(sockets: readonly StormSocket[]): Promise<void> {
  await Promise.all(
    sockets.map(
      ({ socket, closed }) =>
        new Promise<void>((resolve) => {
          if (closed() || !socket.connecting) {
            resolve();
            return;
          }
          socket.once('connect', () => {
            resolve();
          });
          socket.once('close', () => {
            resolve();
          });
        }),
    ),
  );
}

export function stillOpen(sockets: readonly StormSocket[]): number {
  return sockets.filter((s) => !s.closed()).length;
}

/** The broker's log lines (JSON) that report a refused connection with `reason`, and from `address` when given. */
export function refusalLines(broker: BrokerProcess, reason: string, address?: string): { remote: string; detail?: string; repeated?: number }[] {
  return broker
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { event?: string; reason?: string; remote?: string; detail?: string; repeated?: number })
    .filter((l) => l.event === 'connection-refused' && l.reason === reason && (address === undefined || l.remote?.startsWith(`${address}:`) === true))
    .map((l) => ({ remote: l.remote ?? '', ...(l.detail === undefined ? {} : { detail: l.detail }), ...(l.repeated === undefined ? {} : { repeated: l.repeated }) }));
}

/** The broker's admin endpoint URL, from what `parapet start` printed (its banner may come in pieces). */
export async function adminUrlOf(broker: BrokerProcess): Promise<string> {
  const url = () => /admin endpoint: (http:\/\/[^/\s]+)\/metrics/.exec(broker.output())?.[1];
  await eventually(() => url() !== undefined, 'the admin endpoint in the banner', 5000);
  return url() ?? '';
}

/** The value of one Prometheus sample (0 when absent). */
export async function metricValue(broker: BrokerProcess, sample: string): Promise<number> {
  return (await metricSamples(broker, sample)).get(sample) ?? 0;
}

/** Every Prometheus sample whose name (with its labels) starts with `prefix`, by that name. */
export async function metricSamples(broker: BrokerProcess, prefix: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${await adminUrlOf(broker)}/metrics`)).text();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    const space = line.lastIndexOf(' ');
    if (line.startsWith(prefix) && space > 0) samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

/** Rewrites the listener section of the broker's parapet.yaml (`original`) with `lines` after its protocol. */
export function setListenerLines(broker: BrokerProcess, original: string, lines: readonly string[]): void {
  writeFileSync(join(broker.dataDir, 'parapet.yaml'), original.replace(/^( {2}protocol: SASL_SSL)$/m, ['$1', ...lines.map((l) => `  ${l}`)].join('\n')));
}

/** Sends the broker SIGHUP (re-read the config file) and waits for its output to match `expected`. */
export async function sighup(broker: BrokerProcess, expected: RegExp): Promise<void> {
  const before = broker.output().length;
  process.kill(broker.pid, 'SIGHUP');
  await eventually(() => expected.test(broker.output().slice(before)), `the reload: ${expected.source}`);
}
