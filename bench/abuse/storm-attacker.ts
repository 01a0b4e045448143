import { parentPort, workerData } from 'node:worker_threads';
import { settled, storm, type StormSocket } from '../../test/abuse/abuse-support.js';
import { BenchScope } from './case.js';

/**
 * The connection storm's attacker, a worker thread of the `storm` case (./storm.ts): from each of its
 * addresses it keeps `perAddress` TCP connections open, opening a new one as soon as the broker closes
 * one (a refused connection is closed on accept, an admitted one after the login deadline), until the
 * case posts 'stop'. Its own thread, so that thousands of sockets do not slow the measuring client.
 */

export interface StormRequest {
  readonly port: number;
  readonly addresses: readonly string[];
  readonly perAddress: number;
}

export interface StormReport {
  /** Connections the attacker opened in all. */
  readonly opened: number;
  /** Connections closed by the broker (refused on accept, or closed later). */
  readonly closedByBroker: number;
  /** The most connections open at once, as the attacker saw them. */
  readonly peakOpen: number;
}

const request = workerData as StormRequest;
const scope = new BenchScope();
const held = new Map<string, StormSocket[]>(request.addresses.map((a) => [a, []]));
let stopping = false;
let opened = 0;
let closedByBroker = 0;
let peakOpen = 0;
parentPort?.on('message', (m) => {
  if (m === 'stop') stopping = true;
});

while (!stopping) {
  const wave: StormSocket[] = [];
  let open = 0;
  for (const [address, sockets] of held) {
    const live = sockets.filter((s) => !s.closed());
    closedByBroker += sockets.length - live.length;
    const fresh = storm(scope, request.port, address, request.perAddress - live.length);
    wave.push(...fresh);
    held.set(address, [...live, ...fresh]);
    open += live.length;
  }
  peakOpen = Math.max(peakOpen, open);
  opened += wave.length;
  await settled(wave);
  // Nothing to replace: look again shortly rather than spin.
  await new Promise((r) => setTimeout(r, wave.length === 0 ? 50 : 1));
}
const report: StormReport = { opened, closedByBroker, peakOpen };
scope.close();
parentPort?.postMessage(report);
