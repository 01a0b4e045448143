import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { Fetch, Produce } from '../../src/protocol/messages/index.js';
import { buildBatchSync } from '../../src/records/record.js';
import { processOpenFileLimit } from '../../src/storage/log/fd-limit.js';
import { eventually, startBrokerProcess, type BrokerProcess } from '../security/attack-support.js';

/**
 * The slowloris, scaled to a bounded test: 2,000 connections that trickle bytes, half before
 * TLS (a ClientHello never finished) and half after it (a Kafka frame never finished), from eight
 * loopback addresses (250 each: under the default per-address maximum and creation burst, so that
 * the per-address caps are not what saves the broker; docs/security/network.md). A legitimate client
 * logs in, produces and consumes during the attack, and its throughput is compared with its own
 * unloaded throughput, measured first in the same test. The attack ends by itself: the TLS handshake
 * deadline (10 s) and the login deadline (authenticationTimeoutMs, 10 s) close every connection.
 */

const PER_ADDRESS = 250;
const BEFORE_TLS = ['127.0.4.1', '127.0.4.2', '127.0.4.3', '127.0.4.4'];
const AFTER_TLS = ['127.0.5.1', '127.0.5.2', '127.0.5.3', '127.0.5.4'];
const TOPIC = 'slowloris-probe';
const WINDOW_MS = 1500;

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

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** TCP connections that send the first 50 bytes of a ClientHello, then a byte every 2 s: the handshake never completes. */
function beforeTls(t: TestContext, broker: BrokerProcess, localAddress: string, n: number): Socket[] {
  // A TLS record header (handshake, TLS 1.0 record version) announcing 512 bytes, and the start of a ClientHello.
  const start = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]), Buffer.alloc(39, 7)]);
  return Array.from({ length: n }, () => {
    const socket = tcpConnect({ host: '127.0.0.1', port: broker.port, localAddress }, () => {
      socket.write(start);
    });
    socket.on('error', () => undefined);
    t.after(() => {
      socket.destroy();
    });
    return socket;
  });
}

/** TLS connections (handshake done) that announce a 1 KiB frame and send a byte of it every 2 s. */
function afterTls(t: TestContext, broker: BrokerProcess, localAddress: string, n: number): Socket[] {
  const ca = readFileSync(broker.caFile);
  return Array.from({ length: n }, () => {
    // TLS over a TCP socket bound to the attacking address (tls.connect has no localAddress of its own).
    const tcp = tcpConnect({ host: '127.0.0.1', port: broker.port, localAddress });
    const socket = tlsConnect({ socket: tcp, host: '127.0.0.1', ca }, () => {
      socket.write(Buffer.from([0, 0, 4, 0]));
    });
    socket.on('error', () => undefined);
    tcp.on('error', () => undefined);
    t.after(() => {
      socket.destroy();
      tcp.destroy();
    });
    return socket;
  });
}

describe('slowloris', () => {
  it('2,000 trickling connections before and after TLS: a legitimate client keeps at least 80% of its throughput, with no error, and every attacker is closed', async (t) => {
    // The test process needs a descriptor per attacking socket, the broker one per accepted one.
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
    await throughput(client, 500, offset); // warm-up
    const unloaded = median([await throughput(client, WINDOW_MS, offset), await throughput(client, WINDOW_MS, offset), await throughput(client, WINDOW_MS, offset)]);
    const fdsBefore = broker.openFds();

    // The attack: 1,000 before TLS, 1,000 after it, then a byte every 2 s on each.
    const attackers = [...BEFORE_TLS.flatMap((a) => beforeTls(t, broker, a, PER_ADDRESS)), ...AFTER_TLS.flatMap((a) => afterTls(t, broker, a, PER_ADDRESS))];
    const closed = attackers.map((s) => new Promise<number>((resolve) => s.once('close', () => { resolve(performance.now()); })));
    const opened = performance.now();
    await eventually(() => broker.openFds() >= fdsBefore + 1900, `the attack's connections accepted (${broker.openFds() - fdsBefore})`, 15_000);
    const drip = setInterval(() => {
      for (const s of attackers) if (!s.destroyed && !s.connecting) s.write(Buffer.from([1]));
    }, 2000);
    t.after(() => {
      clearInterval(drip);
    });
    const held = broker.openFds() - fdsBefore;

    // The legitimate client during the attack: a new login, then produce and consume.
    const during = await KafkaConnection.connect({ host: '127.0.0.1', port: broker.port }, broker.adminConfig, { clientId: 'legitimate-2', requestTimeoutMs: 30_000 });
    t.after(() => {
      during.close();
    });
    const loaded = median([await throughput(during, WINDOW_MS, offset), await throughput(during, WINDOW_MS, offset), await throughput(during, WINDOW_MS, offset)]);
    const stillHeld = broker.openFds() - fdsBefore;
    assert.ok(stillHeld >= 1900, `the attack was still in place while measured (${stillHeld} connections)`);
    const ratio = loaded / unloaded;
    assert.ok(ratio >= 0.8, `throughput ${loaded.toFixed(1)} round trips/s under attack, ${unloaded.toFixed(1)} unloaded (${(ratio * 100).toFixed(0)}%)`);

    // The deadlines end the attack: every connection closed within 10 s of its accept, plus margin.
    const closedAt = await Promise.all(closed);
    const lastMs = Math.max(...closedAt) - opened;
    clearInterval(drip);
    assert.ok(lastMs < 16_000, `the last attacking connection closed ${Math.round(lastMs)} ms after the attack began`);
    await eventually(() => broker.openFds() <= fdsBefore + 4, `the descriptors freed (${broker.openFds()})`);
    assert.ok((await throughput(during, 300, offset)) > 0, 'the legitimate client is still served');
    t.diagnostic(`unloaded ${unloaded.toFixed(1)}/s, under 2,000 slowloris connections ${loaded.toFixed(1)}/s (${(ratio * 100).toFixed(0)}%); ${held} held at once; last closed after ${Math.round(lastMs)} ms; limits: test ${String(ownLimit)}, broker ${brokerLimit}`);
  });
});
