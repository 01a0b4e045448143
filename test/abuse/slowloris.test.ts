import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { Fetch, Produce } from '../../src/protocol/messages/index.js';
import { buildBatchSync } from '../../src/records/record.js';
import { processOpenFileLimit } from '../../src/storage/log/fd-limit.js';
import { eventually, startBrokerProcess } from '../security/attack-support.js';

/**
 * The slowloris, scaled to a bounded test: 2,000 connections that trickle bytes, 1,500 before
 * TLS (a ClientHello never finished) and 500 after it (a Kafka frame never finished), from eight
 * loopback addresses (250 each: under the default per-address maximum and creation burst, so that
 * the per-address caps are not what saves the broker; docs/security/network.md). A legitimate client
 * logs in, produces and consumes during the attack, and its throughput (the median of 1 s windows)
 * is compared with its own unloaded throughput, measured before and after the attack in the same
 * test. The attack ends by itself: the TLS handshake deadline (10 s) and the login deadline
 * (authenticationTimeoutMs, 10 s) close every connection.
 */

const PER_ADDRESS = 250;
// Three quarters before TLS: a TLS handshake costs the attacker too (measured: 150 to 250 a second on
// a loaded 2-core machine), and the attack must be in place well within the 10 s handshake deadline.
const BEFORE_TLS = ['127.0.4.1', '127.0.4.2', '127.0.4.3', '127.0.4.4', '127.0.4.5', '127.0.4.6'];
const AFTER_TLS = ['127.0.5.1', '127.0.5.2'];
const TOPIC = 'slowloris-probe';
const WINDOW_MS = 1000;
const ATTACKER = fileURLToPath(new URL('./slowloris-attacker.js', import.meta.url));

/** A client that produces 10 records and fetches them back, as fast as it can: round trips a second. */
async function throughput(connection: KafkaConnection, windowMs: number, offset: { next: bigint }): Promise<number> {
  const started = performance.now();
  let rounds = 0;
  while (performance.now() - started < windowMs) {
    const produced = await connection.request(Produce, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 30_000,
      topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: buildBatchSync({ records: Array.from({ length: 10 }, (_, i) => ({ value: `record ${i}` })) }) }] }],
    });
    const partition = produced.responses[0]?.partitionResponses[0];
    assert.equal(partition?.errorCode, 0, 'the produce succeeded');
    const fetched = await connection.request(
      Fetch,
      {
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1024 * 1024,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topic: TOPIC, partitions: [{ partition: 0, fetchOffset: offset.next, partitionMaxBytes: 1024 * 1024 }] }],
        forgottenTopicsData: [],
        rackId: '',
      },
      12,
    );
    const read = fetched.responses[0]?.partitions[0];
    assert.equal(read?.errorCode, 0, 'the fetch succeeded');
    assert.ok((read.records?.length ?? 0) > 0, 'the records just produced were read back');
    offset.next += 10n;
    rounds++;
  }
  return (rounds * 1000) / (performance.now() - started);
}

/**
 * The median window: other work on the machine (other tests, other processes) lowers a window here
 * and there, and one slow window (the JIT, a collection) does not move the median, loaded or unloaded.
 */
function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** CPU time (user + system) the process has used, in ms, from /proc. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

async function windows(connection: KafkaConnection, n: number, offset: { next: bigint }): Promise<number[]> {
  const figures: number[] = [];
  for (let i = 0; i < n; i++) figures.push(await throughput(connection, WINDOW_MS, offset));
  return figures;
}

describe('slowloris', () => {
  it('2,000 trickling connections before and after TLS: a legitimate client keeps at least 80% of its throughput, with no error, and every attacker is closed', async (t) => {
    // The attacker (this process's limit, inherited) needs a descriptor per socket, the broker one per accepted one.
    const ownLimit = processOpenFileLimit();
    assert.ok(ownLimit === undefined || ownLimit >= 2 * 2000 + 200, `ulimit -n of the test process: ${String(ownLimit)}`);
    const broker = await startBrokerProcess(t);
    const brokerLimit = Number(/Max open files\s+(\d+)/.exec(readFileSync(`/proc/${broker.pid}/limits`, 'utf8'))?.[1]);
    // maxConnections: auto leaves the broker half its limit less 64 for connections; 2,000 must fit.
    assert.ok(brokerLimit / 2 - 64 > 2000 + 10, `the broker's open-file limit (${brokerLimit}) leaves room for 2,000 connections`);
    const admin = await broker.admin();
    await admin.createTopic(TOPIC, 1);
    const client = await KafkaConnection.connect({ host: '127.0.0.1', port: broker.port }, broker.adminConfig, { clientId: 'legitimate', requestTimeoutMs: 30_000 });
    t.after(() => {
      client.close();
    });
    const offset = { next: 0n };
    await throughput(client, 1500, offset); // warm-up (the JIT, the log's first segment)
    const unloadedWindows = await windows(client, 4, offset);
    const unloadedBefore = median(unloadedWindows);
    const fdsBefore = broker.openFds();

    // The attack, from its own process: 1,500 before TLS, 500 after it, a byte every 2 s on each,
    // each connection the broker closes opened again.
    const attacker = spawn(process.execPath, [ATTACKER, String(broker.port), broker.caFile, String(PER_ADDRESS), BEFORE_TLS.join(','), AFTER_TLS.join(',')], { stdio: ['pipe', 'pipe', 'inherit'] });
    t.after(() => {
      attacker.kill('SIGKILL');
    });
    let report = '';
    attacker.stdout.on('data', (c: Buffer) => (report += c.toString()));
    const last = (): { open: number; secured: number; reopened: number } => {
      const m = [...report.matchAll(/open (\d+) secured (\d+) reopened (\d+)/g)].at(-1);
      return { open: Number(m?.[1] ?? 0), secured: Number(m?.[2] ?? 0), reopened: Number(m?.[3] ?? 0) };
    };
    const opened = performance.now();
    await eventually(() => broker.openFds() >= fdsBefore + 1500 && last().secured >= AFTER_TLS.length * PER_ADDRESS, 'the attack in place', 25_000).catch((err: unknown) => {
      throw new Error(`${String(err)}: ${broker.openFds() - fdsBefore} accepted, attacker: ${JSON.stringify(last())}`);
    });
    const held = broker.openFds() - fdsBefore;
    t.diagnostic(`${held} held ${Math.round(performance.now() - opened)} ms after the attack began`);

    // The legitimate client during the attack: a new login, then produce and consume.
    const during = await KafkaConnection.connect({ host: '127.0.0.1', port: broker.port }, broker.adminConfig, { clientId: 'legitimate-2', requestTimeoutMs: 30_000 });
    t.after(() => {
      during.close();
    });
    const cpuBefore = cpuMs(broker.pid);
    const wallBefore = performance.now();
    const loadedWindows = await windows(during, 5, offset);
    const brokerCpu = (cpuMs(broker.pid) - cpuBefore) / (performance.now() - wallBefore);
    const loaded = median(loadedWindows);
    const stillHeld = broker.openFds() - fdsBefore;
    t.diagnostic(`${stillHeld} still held ${Math.round(performance.now() - opened)} ms after the attack began; ${loaded.toFixed(1)} vs ${unloadedBefore.toFixed(1)} before; broker CPU ${(brokerCpu * 100).toFixed(0)}% of a core; attacker ${JSON.stringify(last())}`);
    assert.ok(stillHeld >= 1500, `the attack was still in place while measured (${stillHeld} connections)`);

    // The attack stops reconnecting; the deadlines close what it holds within 10 s of each accept.
    const { reopened } = last();
    attacker.stdin.end();
    await eventually(() => /closed \d+/.test(report), 'the attacker to see its last connection closed', 15_000);
    const lastMs = Number(/closed (\d+)/.exec(report)?.[1]);
    assert.ok(lastMs < 12_000, `the last attacking connection closed ${lastMs} ms after the attack stopped reconnecting`);
    await eventually(() => broker.openFds() <= fdsBefore + 4, `the descriptors freed (${broker.openFds()})`);
    // Unloaded again, after the attack: the baseline is the median window before and after it, so that
    // a machine busier before than during (other tests) does not flatter the ratio.
    unloadedWindows.push(...(await windows(during, 3, offset)));
    const unloaded = median(unloadedWindows);
    const ratio = loaded / unloaded;
    assert.ok(ratio >= 0.8, `throughput ${loaded.toFixed(1)} round trips/s under attack, ${unloaded.toFixed(1)} unloaded (${(ratio * 100).toFixed(0)}%)`);
    const round = (xs: number[]) => xs.map((x) => Math.round(x)).join(', ');
    t.diagnostic(`unloaded ${unloaded.toFixed(1)}/s (windows ${round(unloadedWindows)}), under 2,000 slowloris connections ${loaded.toFixed(1)}/s (windows ${round(loadedWindows)}; ${(ratio * 100).toFixed(0)}%); ${held} held at once, ${reopened} reopened as the deadlines closed them; the last closed ${lastMs} ms after the attack stopped; limits: test ${String(ownLimit)}, broker ${brokerLimit}`);
  });
});
