import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { decodeResponse, encodeRequest } from '../../src/protocol/frames.js';
import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../../src/protocol/acl.js';
import { ApiVersions, Fetch, Metadata, Produce, SaslAuthenticate, SaslHandshake } from '../../src/protocol/messages/index.js';
import { buildBatchSync } from '../../src/records/record.js';
import { SaslTestConnection } from '../helpers/sasl-client.js';
import { eventually, LatencyProbe, startBrokerProcess, type BrokerProcess } from './attack-support.js';

/**
 * Attacks on what connections can make the broker buffer (docs/security/limits.md, "Connections and
 * request queues"): clients that pipeline large requests and never read their responses, before and
 * after logging in. The figures "before the limits" were measured with the same attacks on the broker
 * without them.
 */

const MiB = 1024 * 1024;
const WRITE_TIMEOUT_MS = 3000;

/** A Metadata v4 request naming one (unknown) topic over and over: its response is about as big. */
function metadataFrame(bytes: number): Buffer {
  const name = 'n'.repeat(249);
  const topics = Array.from({ length: Math.ceil(bytes / (name.length + 2)) }, () => ({ name }));
  return Buffer.concat(encodeRequest(Metadata, { apiVersion: 4, correlationId: 1, clientId: 'attacker' }, { topics, allowAutoTopicCreation: false }));
}

/** An acks=1 Produce v7 of `bytes` of records to a topic the attacker may not write: denied, after it was read. */
function produceFrame(bytes: number): Buffer {
  const body = { transactionalId: null, acks: 1, timeoutMs: 30_000, topicData: [{ name: 'secret', partitionData: [{ index: 0, records: Buffer.alloc(bytes, 7) }] }] };
  return Buffer.concat(encodeRequest(Produce, { apiVersion: 7, correlationId: 2, clientId: 'attacker' }, body));
}

/** A connection logged in as `user` that reads nothing from now on. */
async function silentClient(t: TestContext, broker: BrokerProcess, user: string, password: string): Promise<SaslTestConnection> {
  const conn = await SaslTestConnection.open(t, broker.port, broker.caFile);
  const { result } = await conn.scram('SCRAM-SHA-512', user, password);
  assert.equal(result.errorCode, 0);
  conn.socket.pause();
  return conn;
}

/**
 * Writes the frames in order as fast as the socket takes them; stops when the socket has taken
 * nothing for `stallMs` (the broker stopped reading). Returns the bytes handed to the kernel.
 */
async function flood(socket: Socket, frames: readonly Buffer[], stallMs: number): Promise<{ sent: number; stalled: boolean }> {
  let handed = 0;
  for (const frame of frames) {
    if (socket.destroyed) return { sent: handed - socket.writableLength, stalled: true };
    handed += frame.length;
    if (socket.write(frame)) continue;
    const drained = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        socket.off('drain', onDrain);
        resolve(false);
      }, stallMs);
      const onDrain = () => {
        clearTimeout(timer);
        resolve(true);
      };
      socket.once('drain', onDrain);
    });
    if (!drained) return { sent: handed - socket.writableLength, stalled: true };
  }
  return { sent: handed, stalled: false };
}

/** Samples the broker's RSS every 20 ms; `peakSince()` is the highest since the last call. */
function rssSampler(t: TestContext, broker: BrokerProcess): { peakSince: () => number } {
  let peak = broker.rssBytes();
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, broker.rssBytes());
    } catch {
      // The broker has exited: the test says why.
    }
  }, 20);
  t.after(() => {
    clearInterval(timer);
  });
  return {
    peakSince: () => {
      const p = peak;
      peak = broker.rssBytes();
      return p;
    },
  };
}

/** The probe's latency during an attack is within 2x of its baseline (or 50 ms more, on a loaded machine). */
function assertServed(t: TestContext, baseline: Latency, during: Latency): void {
  t.diagnostic(`probe metadata ${baseline.metadataMs.toFixed(1)} → ${during.metadataMs.toFixed(1)} ms, produce ${baseline.produceMs.toFixed(1)} → ${during.produceMs.toFixed(1)} ms`);
  for (const key of ['metadataMs', 'produceMs'] as const) {
    assert.ok(during[key] <= Math.max(2 * baseline[key], baseline[key] + 50), `${key} ${baseline[key]} → ${during[key]}`);
  }
}

type Latency = Awaited<ReturnType<LatencyProbe['median']>>;

/** Waits until the broker has closed every connection; fails after `ms`. */
async function closedWithin(connections: readonly SaslTestConnection[], ms: number): Promise<void> {
  const deadline = new Promise<'late'>((resolve) => setTimeout(() => { resolve('late'); }, ms).unref());
  const outcome = await Promise.race([Promise.all(connections.map((c) => c.closed)), deadline]);
  assert.notEqual(outcome, 'late', `not all ${connections.length} connections were closed within ${ms} ms`);
}

/** How many connections the broker logged as closed for not reading their responses. */
const timeouts = (broker: BrokerProcess) => broker.output().split('RESPONSE_WRITE_TIMEOUT').length - 1;

const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;

describe('what connections can make the broker hold (docs/security/limits.md)', () => {
  it('a default broker under connection attacks: memory stays bounded, others are served, silent clients are closed, SIGTERM is prompt', async (t) => {
    // One broker for every phase (starting one takes seconds); each phase measures its own peak.
    const broker = await startBrokerProcess(t, { configYaml: `responseWriteTimeoutMs: ${WRITE_TIMEOUT_MS}` });
    const admin = await broker.admin();
    await admin.createTopic('probe', 1);
    const alice = await broker.addUser('alice', 'alice-password-1', [
      { resourceType: ResourceType.TOPIC, resourceName: 'probe', patternType: PatternType.LITERAL, host: '*', operation: AclOperation.WRITE, permission: AclPermissionType.ALLOW },
    ]);
    await broker.addUser('mallory', 'mallory-password-1');
    const probe = await LatencyProbe.open(t, alice, 'probe');
    await probe.median(3);
    const baseline = await probe.median(9);
    const idle = broker.rssBytes();
    const rss = rssSampler(t, broker);
    t.diagnostic(`idle broker RSS ${mib(idle)}`);
    /** What the broker may grow by under any of these attacks (docs/security/limits.md). */
    const budget = 300 * MiB;

    await t.test('48 clients that have not logged in pipeline 64 KiB frames behind a failing SaslAuthenticate: none of them is read', async (st) => {
      // 62 ApiVersions frames just under the 64 KiB limit before login, behind an authentication that
      // fails (answered after a delay): 4 MiB per connection if they were read, as they were before.
      const apiVersions = Buffer.concat(
        encodeRequest(ApiVersions, { apiVersion: 3, correlationId: 9, clientId: 'x' }, { clientSoftwareName: 'a'.repeat(65_000), clientSoftwareVersion: '1' }),
      );
      const attackers = await Promise.all(Array.from({ length: 48 }, () => SaslTestConnection.open(st, broker.port, broker.caFile)));
      const before = rss.peakSince();
      for (const a of attackers) {
        a.socket.pause();
        a.send(SaslHandshake, 1, { mechanism: 'SCRAM-SHA-512' });
        a.send(SaslAuthenticate, 1, { authBytes: Buffer.from('not a SCRAM message') });
      }
      await Promise.all(attackers.map((a) => flood(a.socket, Array<Buffer>(62).fill(apiVersions), 1000)));
      // Reading again lets each client notice that the broker closed it (error 58, then the close).
      for (const a of attackers) a.socket.resume();
      await closedWithin(attackers, 10_000);
      const grown = rss.peakSince() - before;
      st.diagnostic(`broker RSS peak +${mib(grown)} (before the per-connection limits: +39 MiB)`);
      assert.ok(grown < 24 * MiB, `the broker grew by ${mib(grown)}`);
      assertServed(st, baseline, await probe.median(9));
    });

    await t.test('two logged-in clients each send a Metadata request and 63 Produce frames of 16 MiB without reading: slowed, then closed after responseWriteTimeoutMs', async (st) => {
      // The 8 MiB answer to the Metadata request, which the client never reads, is more than the
      // connection's response bound: the broker reads nothing more from it. Before, it read all 1 GiB.
      const frames = [metadataFrame(8 * MiB), ...Array<Buffer>(63).fill(produceFrame(16 * MiB))];
      const attackers = [await silentClient(st, broker, 'mallory', 'mallory-password-1'), await silentClient(st, broker, 'mallory', 'mallory-password-1')];
      const floods = await Promise.all(attackers.map((a) => flood(a.socket, frames, 1500)));
      st.diagnostic(`the broker took ${floods.map((f) => mib(f.sent)).join(' and ')} of ${mib(frames.reduce((n, f) => n + f.length, 0))} each`);
      for (const f of floods) assert.ok(f.stalled, 'the broker stopped reading from the connection');
      assertServed(st, baseline, await probe.median(9));
      // None of the bytes waiting in the socket is taken: closed after the write timeout, with its reason.
      await closedWithin(attackers, WRITE_TIMEOUT_MS + 3000);
      await eventually(() => timeouts(broker) === 2, 'two RESPONSE_WRITE_TIMEOUT closes in the log');
      const peak = rss.peakSince();
      st.diagnostic(`broker RSS peak ${mib(peak)}: +${mib(peak - idle)} (before the limits: +2118 MiB)`);
      assert.ok(peak - idle < budget, `the broker grew by ${mib(peak - idle)}`);
    });

    await t.test('a pipelining producer that reads its responses keeps its pipeline past the per-connection bounds', async (st) => {
      const conn = await SaslTestConnection.open(st, broker.port, broker.caFile);
      assert.equal((await conn.scram('SCRAM-SHA-512', 'alice', 'alice-password-1')).result.errorCode, 0);
      // 48 acks=all requests of 1 MiB sent at once: three times the connection's request bound.
      const records = buildBatchSync({ records: [{ value: Buffer.alloc(1000 * 1024, 3) }] });
      const count = 48;
      const started = Date.now();
      for (let i = 0; i < count; i++) {
        conn.send(Produce, 7, { transactionalId: null, acks: -1, timeoutMs: 30_000, topicData: [{ name: 'probe', partitionData: [{ index: 0, records }] }] });
      }
      const offsets: bigint[] = [];
      for (let i = 0; i < count; i++) {
        const response = decodeResponse(Produce, 7, await conn.nextFrame()).body as { responses: { partitionResponses: { errorCode: number; baseOffset: bigint }[] }[] };
        const partition = response.responses[0]?.partitionResponses[0];
        assert.equal(partition?.errorCode, 0);
        offsets.push(partition.baseOffset);
      }
      st.diagnostic(`${count} MiB in ${Date.now() - started} ms`);
      assert.deepEqual(offsets, [...offsets].sort((a, b) => (a < b ? -1 : 1)), 'answered in order');
      assert.equal(new Set(offsets).size, count);
      assert.equal(timeouts(broker), 2, 'no new write timeout');
    });

    await t.test('twelve readers fetch 40 MiB each and read nothing: the broker-wide response budget caps what their answers hold', async (st) => {
      await admin.createTopic('bulk', 1);
      const bulk = { resourceType: ResourceType.TOPIC, resourceName: 'bulk', patternType: PatternType.LITERAL, host: '*', permission: AclPermissionType.ALLOW };
      await broker.addUser('reader', 'reader-password-1', [
        { ...bulk, operation: AclOperation.READ },
        { ...bulk, operation: AclOperation.WRITE },
      ]);
      const writer = await SaslTestConnection.open(st, broker.port, broker.caFile);
      assert.equal((await writer.scram('SCRAM-SHA-512', 'reader', 'reader-password-1')).result.errorCode, 0);
      const records = buildBatchSync({ records: [{ value: Buffer.alloc(1000 * 1024, 5) }] });
      for (let i = 0; i < 40; i++) {
        writer.send(Produce, 7, { transactionalId: null, acks: 1, timeoutMs: 30_000, topicData: [{ name: 'bulk', partitionData: [{ index: 0, records }] }] });
      }
      for (let i = 0; i < 40; i++) await writer.nextFrame();
      const before = rss.peakSince();
      const readers = await Promise.all(Array.from({ length: 12 }, () => silentClient(st, broker, 'reader', 'reader-password-1')));
      const partition = { partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 55 * MiB };
      const fetch = { replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 55 * MiB, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, topics: [{ topic: 'bulk', partitions: [partition] }], forgottenTopicsData: [], rackId: '' };
      for (const r of readers) r.send(Fetch, 11, fetch);
      assertServed(st, baseline, await probe.median(9));
      // Answers beyond the room left are cut to their first batch (1 MiB), which the kernel's socket
      // buffer takes whole: those connections hold nothing. The others are closed by the write timeout.
      await new Promise((resolve) => setTimeout(resolve, WRITE_TIMEOUT_MS + 3000));
      const grown = rss.peakSince() - before;
      st.diagnostic(`broker RSS peak +${mib(grown)} (without the response budget: +907 MiB)`);
      assert.ok(grown < 200 * MiB, `the broker grew by ${mib(grown)}`);
      // Reading now: each reader gets either its cut answer or, for the closed ones, the end.
      const outcomes = await Promise.all(
        readers.map(async (r) => {
          r.socket.resume();
          try {
            const answer = decodeResponse(Fetch, 11, await r.nextFrame()).body as { responses: { partitions: { records: Buffer | null }[] }[] };
            return answer.responses[0]?.partitions[0]?.records?.length ?? 0;
          } catch {
            return 'closed';
          }
        }),
      );
      const answered = outcomes.filter((o) => o !== 'closed');
      st.diagnostic(`${outcomes.length - answered.length} readers closed for not reading, ${answered.length} got a cut answer`);
      assert.equal(timeouts(broker) - 2, outcomes.length - answered.length, 'each closed reader was closed by the write timeout');
      assert.ok(answered.length < outcomes.length, 'the readers with large answers were closed');
      for (const bytes of answered) {
        assert.ok(bytes > 0 && bytes < 2 * MiB, `a cut answer holds the first batch only, not ${mib(bytes)}`);
      }
    });

    await t.test('six logged-in clients cannot multiply the per-connection bounds: the broker-wide budget caps them; SIGTERM stops the broker while they hold it', async (st) => {
      // 1.5 MiB Metadata answers fill the socket but stay under the connection's response bound, so
      // the broker keeps reading: the 8 MiB Produce frames behind them wait in memory, up to the
      // connection's request bound (16 MiB), and all six together up to the broker's (64 MiB).
      const frames = [...Array<Buffer>(6).fill(metadataFrame(1.5 * MiB)), ...Array<Buffer>(58).fill(produceFrame(8 * MiB))];
      const attackers = await Promise.all(Array.from({ length: 6 }, () => silentClient(st, broker, 'mallory', 'mallory-password-1')));
      const floods = await Promise.all(attackers.map((a) => flood(a.socket, frames, 1500)));
      st.diagnostic(`the broker took ${floods.map((f) => mib(f.sent)).join(', ')} of ${mib(frames.reduce((n, f) => n + f.length, 0))} each`);
      for (const f of floods) assert.ok(f.stalled, 'the broker stopped reading from the connection');
      assertServed(st, baseline, await probe.median(9));
      const peak = rss.peakSince();
      st.diagnostic(`broker RSS peak ${mib(peak)}: +${mib(peak - idle)} (before the limits: +2457 MiB)`);
      assert.ok(peak - idle < budget, `the broker grew by ${mib(peak - idle)}`);
      // Their responses can never be written: the shutdown grace (5 s) is all they get. A client that
      // sent half a frame, reads nothing and never closes its side must not hold up the stop either.
      const halfway = await silentClient(st, broker, 'mallory', 'mallory-password-1');
      halfway.socket.write(produceFrame(1 * MiB).subarray(0, 512 * 1024));
      const stopping = Date.now();
      assert.equal(await broker.stop(), 0);
      st.diagnostic(`stopped in ${Date.now() - stopping} ms`);
      assert.ok(Date.now() - stopping < 8000, `stopped in ${Date.now() - stopping} ms`);
      // And it starts again on the same data, with what was acknowledged during the attacks.
      const again = await startBrokerProcess(st, { dataDir: broker.dataDir });
      const admin2 = await again.admin();
      const latest = await admin2.listOffsets([{ topic: 'bulk', partition: 0 }], { kind: 'latest' });
      assert.deepEqual([...latest.values()], [40n], 'the 40 acknowledged batches of the readers’ topic are there');
      assert.equal(await again.stop(), 0);
    });
  });
});
