import { Worker } from 'node:worker_threads';
import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../../src/protocol/acl.js';
import { metricSamples } from '../../test/abuse/abuse-support.js';
import { LatencyProbe, startBrokerProcess, type BrokerProcess } from '../../test/security/attack-support.js';
import { MiB, type AbuseCase, type Figure } from './case.js';
import type { StormReport, StormRequest } from './storm-attacker.js';

/**
 * The long version of test/abuse/connection-storm.test.ts: TCP connections opened as fast as the
 * broker closes them, from one loopback address and then from many, against the default connection
 * limits (maxConnections and maxConnectionsPerIp `auto`, derived from the open-file limit, and the
 * creation rates). What it shows: how many the broker accepts and refuses (per reason, from its
 * `parapet_connections_refused_total` metric), that its descriptors and memory stay bounded, and what
 * the storm costs a logged-in client's produce round trips, as a ratio of the same client unloaded.
 */
export const stormCase: AbuseCase = {
  name: 'storm',
  summary: "connections reopened as fast as they close, from one address and many: accepted vs refused, fds, RSS, a client's produce rate",
  flags: { connections: '2000', addresses: '50', seconds: '15', 'open-file-limit': '1024' },
  async run(scope, flags) {
    const connections = flags.counts(this, 'connections')[0] ?? 2000;
    const addresses = flags.counts(this, 'addresses')[0] ?? 50;
    const seconds = flags.number(this, 'seconds');
    const openFileLimit = flags.counts(this, 'open-file-limit')[0] ?? 1024;
    const broker = await startBrokerProcess(scope, { openFileLimit });
    const admin = await broker.admin();
    await admin.createTopic('bench-storm', 1);
    const user = await broker.addUser('bench-storm', 'bench-storm-password-1', [
      { resourceType: ResourceType.TOPIC, resourceName: 'bench-storm', patternType: PatternType.LITERAL, host: '*', operation: AclOperation.WRITE, permission: AclPermissionType.ALLOW },
    ]);
    const probe = await LatencyProbe.open(scope, broker.adminConfig, 'bench-storm');
    await roundTripsPerSecond(probe, 2); // warm-up
    const unloaded = await roundTripsPerSecond(probe, Math.min(seconds, 5));
    console.log(`   unloaded: ${unloaded.toFixed(0)} produce round trips/s`);

    const figures: Figure[] = [];
    let afterLast = unloaded;
    const phases = [
      { name: 'one address', sources: ['127.0.4.1'], perAddress: connections },
      { name: `${addresses} addresses`, sources: Array.from({ length: addresses }, (_, i) => `127.0.5.${i + 1}`), perAddress: Math.ceil(connections / addresses) },
    ];
    for (const phase of phases) {
      const fdsBefore = broker.openFds();
      const rssBefore = broker.rssBytes();
      const countersBefore = await counters(broker);
      const attacker = startAttacker({ port: broker.port, addresses: phase.sources, perAddress: phase.perAddress });
      let fdsPeak = fdsBefore;
      let rssPeak = rssBefore;
      const sampler = setInterval(() => {
        fdsPeak = Math.max(fdsPeak, broker.openFds());
        rssPeak = Math.max(rssPeak, broker.rssBytes());
      }, 200);
      let during: number;
      let loginMs: number | string;
      try {
        await new Promise((r) => setTimeout(r, 1_000)); // the storm under way
        // A new client logs in during the storm (a TLS connection from 127.0.0.1, SCRAM), then the logged-in probe produces.
        const started = performance.now();
        loginMs = await LatencyProbe.open(scope, user, 'bench-storm').then(
          async (p) => (await p.produceMs(), performance.now() - started),
          (err: unknown) => (err instanceof Error ? err.message : String(err)),
        );
        during = await roundTripsPerSecond(probe, seconds);
      } finally {
        clearInterval(sampler);
      }
      const report = await attacker.stop();
      // Refusals reach the metric with the summary of their interval (10 s after the first of a source).
      await new Promise((r) => setTimeout(r, 11_000));
      const countersAfter = await counters(broker);
      const fdsAfter = broker.openFds();
      const rssAfter = broker.rssBytes();
      afterLast = await roundTripsPerSecond(probe, Math.min(seconds, 5));
      const base = (unloaded + afterLast) / 2;
      const refusals = [...countersAfter].map(([reason, n]) => [reason, n - (countersBefore.get(reason) ?? 0)] as const).filter(([, n]) => n > 0);
      const refused = refusals.filter(([r]) => ON_ACCEPT.has(r)).reduce((sum, [, n]) => sum + n, 0);
      const accepted = report.opened - refused;
      console.log(
        `   ${phase.name}: ${report.opened} opened by the attacker (peak ${report.peakOpen} open), ${accepted} accepted, ${refused} refused ` +
          `(${refusals.map(([r, n]) => `${r} ${n}`).join(', ') || 'none'}); a new login ${typeof loginMs === 'number' ? `${loginMs.toFixed(0)} ms` : `failed: ${loginMs}`}; ` +
          `${during.toFixed(0)} produce round trips/s (unloaded ${unloaded.toFixed(0)} before, ${afterLast.toFixed(0)} after)`,
      );
      figures.push(
        { name: `${phase.name}: connections opened`, value: report.opened, unit: 'conns', note: `${phase.perAddress} held per address, reopened as closed` },
        { name: `${phase.name}: accepted`, value: accepted, unit: 'conns', note: 'opened less refused on accept' },
        ...refusals.map(([reason, n]) => ({ name: `${phase.name}: refused ${reason}`, value: n, unit: 'conns', note: ON_ACCEPT.has(reason) ? 'on accept' : 'after admission' })),
        { name: `${phase.name}: broker fds before/peak/after`, value: fdsPeak, unit: 'fds', note: `${fdsBefore} before, ${fdsAfter} after (limit ${openFileLimit})` },
        { name: `${phase.name}: broker RSS peak`, value: rssPeak / MiB, unit: 'MiB', note: `${(rssBefore / MiB).toFixed(0)} before, ${(rssAfter / MiB).toFixed(0)} after` },
        { name: `${phase.name}: new login + produce during storm`, value: typeof loginMs === 'number' ? loginMs : Number.NaN, unit: 'ms', note: typeof loginMs === 'number' ? '' : loginMs },
        { name: `${phase.name}: produce round trips/s / unloaded`, value: during / base, unit: 'ratio', note: `${during.toFixed(0)} vs ${base.toFixed(0)}/s; 1 = no cost` },
      );
    }
    return figures;
  },
};

/** Acks=1 produces of one record, one after the other, for `seconds`: round trips per second. */
async function roundTripsPerSecond(probe: LatencyProbe, seconds: number): Promise<number> {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let n = 0;
  while (performance.now() < deadline) {
    await probe.produceMs();
    n += 1;
  }
  return (n * 1000) / (performance.now() - started);
}

/**
 * The refusals decided when the broker accepts a TCP connection, before TLS; the others of the metric
 * (AUTHENTICATION_TIMEOUT, TLS_HANDSHAKE_FAILED) close connections it had admitted.
 */
const ON_ACCEPT = new Set(['CONNECTION_LIMIT', 'CONNECTION_RATE', 'ADDRESS_DENIED']);

/** Connections refused, by reason, from the broker's `parapet_connections_refused_total`. */
async function counters(broker: BrokerProcess): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const [sample, n] of await metricSamples(broker, 'parapet_connections_refused_total{')) {
    const reason = /reason="([^"]+)"/.exec(sample)?.[1];
    if (reason !== undefined) out.set(reason, n);
  }
  return out;
}

function startAttacker(request: StormRequest): { stop: () => Promise<StormReport> } {
  const worker = new Worker(new URL('./storm-attacker.js', import.meta.url), { workerData: request });
  const report = new Promise<StormReport>((resolve, reject) => {
    worker.once('message', (m: StormReport) => {
      resolve(m);
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      reject(new Error(`the storm worker exited with ${code}`));
    });
  });
  // A failure before stop() is reported by stop().
  report.catch(() => undefined);
  return {
    stop: async () => {
      worker.postMessage('stop');
      const r = await report;
      await worker.terminate();
      return r;
    },
  };
}
