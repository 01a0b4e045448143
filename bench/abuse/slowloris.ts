import { fork } from 'node:child_process';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../../src/protocol/acl.js';
import { startBrokerProcess } from '../../test/security/attack-support.js';
import { consume, produce, SHAPES, type LoadOptions } from '../load.js';
import { FlagError, MiB, type AbuseCase, type Figure } from './case.js';
import type { AttackerReport, AttackerRequest } from './slowloris-attacker.js';

/**
 * Slowloris against a default broker: connections that trickle bytes and never finish, half before
 * the TLS handshake (a ClientHello record that never completes) and half after it (a request frame
 * that never completes), from many loopback source addresses, while a legitimate user produces and
 * then consumes. A closed attack connection is replaced at once, as a real attacker's would be, so the
 * attack holds `connections` for its whole length. The figure to read is the legitimate client's
 * throughput under attack as a ratio of the same client's unloaded throughput, in the same run.
 *
 * Spread over many sources, each under maxConnectionsPerIp, the broker's answer is the login deadline
 * (authenticationTimeoutMs, 10 s from the accept); from one source (`--sources=1`) the per-source
 * limit refuses the excess on accept (docs/performance.md#abuse-runner has both figures).
 */
export const slowlorisCase: AbuseCase = {
  name: 'slowloris',
  summary: 'connections trickling bytes before and after TLS while a real client produces and consumes: its throughput ratio',
  flags: { connections: '2000', sources: '50', 'trickle-ms': '1000', seconds: '10', partitions: '2', 'attacker-nice': '19' },
  async run(scope, flags) {
    const connections = flags.number(this, 'connections');
    const sources = flags.number(this, 'sources');
    const trickleMs = flags.number(this, 'trickle-ms');
    const seconds = flags.number(this, 'seconds');
    const partitions = flags.number(this, 'partitions');
    const nice = flags.number(this, 'attacker-nice');
    if (!Number.isInteger(nice) || nice < 0 || nice > 19) throw new FlagError(`--attacker-nice of ${this.name} must be 0 to 19 (got ${nice})`);
    // The attack's sockets and the broker's share this machine's descriptors; the broker gets room for them.
    const broker = await startBrokerProcess(scope, { openFileLimit: Math.max(4096, connections * 2 + 1024) });
    const admin = await broker.admin();
    await admin.createTopic('bench-slowloris', partitions);
    const user = await broker.addUser('bench', 'bench-password-1', [
      { resourceType: ResourceType.TOPIC, resourceName: 'bench-', patternType: PatternType.PREFIXED, host: '*', operation: AclOperation.WRITE, permission: AclPermissionType.ALLOW },
      { resourceType: ResourceType.TOPIC, resourceName: 'bench-', patternType: PatternType.PREFIXED, host: '*', operation: AclOperation.READ, permission: AclPermissionType.ALLOW },
    ]);
    // The default byte-rate quotas (64 MiB/s produce, 128 MiB/s fetch) would cap the client below what
    // the broker can give it, and hide the attack's cost: this user's are lifted, as an operator would
    // for a heavy producer. Its request-time share keeps the default.
    await admin.quotas.alter({ user: 'bench' }, { producer_byte_rate: 1024 * MiB, consumer_byte_rate: 1024 * MiB });
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
    const attack = await startAttacker({ port: broker.port, caFile: broker.caFile, connections, sources, trickleMs }, nice);
    const rampFds = broker.openFds();
    console.log(`   attack: ${attack.open} connections open (${attack.opened} opened), broker fds ${fdsBefore} → ${rampFds}`);
    let underAttack: Awaited<ReturnType<typeof measure>>;
    let rssDuring: number;
    try {
      underAttack = await measure('attacked');
      rssDuring = broker.rssBytes();
    } finally {
      await attack.stop();
    }
    console.log(
      `   under attack: produce ${underAttack.produce.toFixed(1)} MB/s (p99 ${underAttack.p99.toFixed(1)} ms), consume ${underAttack.consume.toFixed(1)} MB/s; ` +
        `${attack.opened} attack connections opened in all, ${attack.closedByBroker} closed by the broker`,
    );
    // Unloaded again after the attack: the baseline is the mean of before and after, so that a machine
    // getting busier or quieter during the run (other processes) does not pass for the attack's cost.
    const after = await measure('unloaded-again');
    console.log(`   unloaded again: produce ${after.produce.toFixed(1)} MB/s (p99 ${after.p99.toFixed(1)} ms), consume ${after.consume.toFixed(1)} MB/s`);
    const base = { produce: (unloaded.produce + after.produce) / 2, consume: (unloaded.consume + after.consume) / 2, p99: (unloaded.p99 + after.p99) / 2 };
    const figures: Figure[] = [
      { name: 'produce under attack / unloaded', value: underAttack.produce / base.produce, unit: 'ratio', note: `${underAttack.produce.toFixed(1)} vs ${base.produce.toFixed(1)} MB/s; 1 = no cost` },
      { name: 'consume under attack / unloaded', value: underAttack.consume / base.consume, unit: 'ratio', note: `${underAttack.consume.toFixed(1)} vs ${base.consume.toFixed(1)} MB/s` },
      { name: 'produce p99 under attack / unloaded', value: underAttack.p99 / base.p99, unit: 'ratio', note: `${underAttack.p99.toFixed(1)} vs ${base.p99.toFixed(1)} ms; 1 = no cost` },
      { name: 'attack connections held / asked', value: attack.peakOpen / connections, unit: 'ratio', note: `peak ${attack.peakOpen} of ${connections}; ${attack.closedByBroker} closed by the broker` },
      { name: 'broker RSS under attack', value: rssDuring / MiB, unit: 'MiB', note: `from ${(rssBefore / MiB).toFixed(0)} MiB` },
    ];
    return figures;
  },
};

/**
 * The attacker runs as its own process: in the benchmark's, its 2,000 sockets would share the event
 * loop of the legitimate client and slow it down by themselves. At `nice` 19 (the default) it gets
 * only the CPU the broker and the client leave idle, as an attacker on another machine costs this one
 * nothing but its connections; at 0 it competes with both for this machine's cores.
 */
async function startAttacker(request: AttackerRequest, nice: number): Promise<AttackerReport & { stop: () => Promise<AttackerReport> }> {
  const child = fork(fileURLToPath(new URL('./slowloris-attacker.js', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  if (child.pid !== undefined) setPriority(child.pid, nice);
  const next = () => new Promise<AttackerReport>((resolve, reject) => {
    child.once('message', (m) => {
      resolve(m as AttackerReport);
    });
    child.once('exit', (code) => {
      reject(new Error(`the attacker exited with ${String(code)}`));
    });
  });
  const ready = next();
  child.send(request);
  const first = await ready;
  const state = {
    ...first,
    stop: async () => {
      const last = next();
      child.send('stop');
      const report = await last;
      Object.assign(state, report);
      child.kill();
      return report;
    },
  };
  return state;
}
