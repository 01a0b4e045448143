import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { ClientConfig } from '../../src/client/client-config.js';
import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../../src/protocol/acl.js';
import { encodeRequest } from '../../src/protocol/frames.js';
import { Fetch, type FetchRequest } from '../../src/protocol/messages/fetch.js';
import { splitBatches } from '../../src/records/batch.js';
import { startBroker } from '../helpers/broker.js';
import { createTopic } from '../helpers/client.js';
import { RawConnection } from '../helpers/raw-client.js';
import { connect, eventually, LatencyProbe, startBrokerProcess, type BrokerProcess } from './attack-support.js';

/**
 * Long-poll Fetch attacks (docs/security/limits.md, "Fetch"): a partition named thousands of times in
 * one request, many such requests waiting at once, clients that send one and disconnect, and a
 * max_wait_ms far above the broker's cap.
 */

const MiB = 1024 * 1024;
const NEVER_ENOUGH = 0x7fffffff;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One partition entry of Fetch v12 on the wire: partition, epochs, offsets, max bytes, tag count. */
const ENTRY_BYTES = 33;

/** A Fetch of about `requestBytes` naming partition 0 of `topic` over and over. */
function duplicateFetch(topic: string, requestBytes: number, options: { maxWaitMs: number; minBytes: number }): FetchRequest {
  const entry = { partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: MiB };
  return {
    clusterId: null,
    replicaId: -1,
    maxWaitMs: options.maxWaitMs,
    minBytes: options.minBytes,
    maxBytes: 50 * MiB,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic, partitions: Array.from({ length: Math.floor(requestBytes / ENTRY_BYTES) }, () => entry) }],
    forgottenTopicsData: [],
    rackId: '',
  };
}

function wireSize(body: FetchRequest): number {
  return Buffer.concat(encodeRequest(Fetch, { apiVersion: 12, correlationId: 1, clientId: 'attacker' }, body)).length;
}

/** A broker process with topic `data` (one partition) and a user `reader` who may read and write it. */
async function brokerWithReader(t: TestContext, configYaml?: string): Promise<{ broker: BrokerProcess; reader: ClientConfig; probe: LatencyProbe }> {
  const broker = await startBrokerProcess(t, configYaml === undefined ? {} : { configYaml });
  const admin = await broker.admin();
  await admin.createTopic('data', 1);
  const allow = (operation: AclOperation) => ({ resourceType: ResourceType.TOPIC, resourceName: 'data', patternType: PatternType.LITERAL, host: '*', operation, permission: AclPermissionType.ALLOW });
  const reader = await broker.addUser('reader', 'reader-password-1', [allow(AclOperation.READ), allow(AclOperation.WRITE)]);
  // The probe produces to the attacked partition: every probe produce wakes the waiting fetches.
  const probe = await LatencyProbe.open(t, reader, 'data');
  return { broker, reader, probe };
}

/** The probe's latency during an attack stays within 2x of its baseline, or 50 ms more (a loaded 2-core machine). */
function assertWithinProbeBudget(what: string, baseline: number, during: number): void {
  const budget = Math.max(2 * baseline, baseline + 50);
  assert.ok(during <= budget, `${what}: ${during.toFixed(1)} ms against a baseline of ${baseline.toFixed(1)} ms (budget ${budget.toFixed(1)} ms)`);
}

describe('Fetch limits: a broker process under attack', () => {
  it('an 80 kB fetch naming one partition 2,400 times costs one entry while it waits, and nothing once its client is gone', async (t) => {
    const { broker, reader, probe } = await brokerWithReader(t);
    await probe.median(3);
    const answered = duplicateFetch('data', 80_000, { maxWaitMs: 0, minBytes: 1 });
    assert.ok(Math.abs(wireSize(answered) - 80_000) < 1000, `request of ${wireSize(answered)} bytes`);

    // As Kafka answers it: the partition once, with its data once.
    const client = await connect(t, reader);
    const response = await client.request(Fetch, answered);
    assert.equal(response.responses.length, 1);
    assert.deepEqual(response.responses[0]?.partitions.map((p) => [p.partitionIndex, p.errorCode, splitBatches(p.records ?? Buffer.alloc(0)).length]), [[0, 0, 3]]);
    client.close();

    await sleep(300);
    const before = broker.rssBytes();
    const waiting = duplicateFetch('data', 80_000, { maxWaitMs: 60_000, minBytes: NEVER_ENOUGH });
    const deltas: number[] = [];
    for (let round = 0; round < 5; round++) {
      const attacker = await connect(t, reader);
      const pending = attacker.request(Fetch, waiting).catch(() => null);
      await sleep(300);
      deltas.push(broker.rssBytes() - before);
      attacker.close();
      assert.equal(await pending, null, 'still waiting when its client left');
    }
    await sleep(300);
    const after = broker.rssBytes() - before;
    t.diagnostic(`RSS while waiting: +${deltas.map((d) => (d / MiB).toFixed(1)).join(', +')} MiB; after 5 disconnects +${(after / MiB).toFixed(1)} MiB`);
    for (const d of deltas) assert.ok(d < 16 * MiB, `RSS grew ${(d / MiB).toFixed(1)} MiB while one 80 kB fetch waited`);
    assert.ok(after < 16 * MiB, `RSS ${(after / MiB).toFixed(1)} MiB above the start after 5 fetches and disconnects`);
    assert.equal(await broker.stop(), 0);
  });

  it('ten connections waiting with 0.8 MB duplicate-laden fetches: bounded memory, others unaffected, SIGTERM stops the broker', async (t) => {
    const { broker, reader, probe } = await brokerWithReader(t);
    const baseline = await probe.median(9);
    const rssBefore = broker.rssBytes();
    const body = duplicateFetch('data', 800_000, { maxWaitMs: 60_000, minBytes: NEVER_ENOUGH });
    const attackers = await Promise.all(Array.from({ length: 10 }, () => connect(t, reader)));
    let attacking = true;
    // Each attacker sends its fetch again as soon as it is answered (after the broker's max wait).
    const loops = attackers.map(async (c) => {
      while (attacking) if ((await c.request(Fetch, body).catch(() => null)) === null) return;
    });
    await sleep(1500);
    const during = await probe.median(9);
    const rss = broker.rssBytes() - rssBefore;
    t.diagnostic(`baseline metadata ${baseline.metadataMs.toFixed(1)} ms, produce ${baseline.produceMs.toFixed(1)} ms; during ${during.metadataMs.toFixed(1)} / ${during.produceMs.toFixed(1)} ms; RSS +${(rss / MiB).toFixed(1)} MiB`);
    assertWithinProbeBudget('metadata', baseline.metadataMs, during.metadataMs);
    assertWithinProbeBudget('produce', baseline.produceMs, during.produceMs);
    // The ten requests themselves (0.8 MB frames, 24,000 decoded entries each) are what is held.
    assert.ok(rss < 96 * MiB, `RSS grew ${(rss / MiB).toFixed(1)} MiB with ten 0.8 MB fetches waiting`);

    const started = performance.now();
    assert.equal(await broker.stop(10_000), 0);
    const stopMs = performance.now() - started;
    t.diagnostic(`SIGTERM to exit: ${stopMs.toFixed(0)} ms`);
    assert.ok(stopMs < 5000, `the broker took ${stopMs.toFixed(0)} ms to stop`);
    attacking = false;
    for (const c of attackers) c.close();
    await Promise.all(loops);
  });

  it('400 fetch-and-disconnect cycles leave nothing behind: produce latency and memory stay as they were', async (t) => {
    const { broker, reader, probe } = await brokerWithReader(t);
    const baseline = await probe.median(9);
    const rssBefore = broker.rssBytes();
    const body = duplicateFetch('data', 80_000, { maxWaitMs: 60_000, minBytes: NEVER_ENOUGH });
    // RSS after each round of 10 cycles. The first rounds warm the process up (TLS sessions, compiled
    // code, the heap's growth), and then RSS saws up and down with the collector (±20 MiB): what
    // must not happen is growth with the number of cycles. The floors of two windows show it (a leak
    // lifts the floor); their medians moved with where the sawtooth happened to be on a loaded machine.
    const rssByRound: number[] = [];
    for (let round = 0; round < 40; round++) {
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          const attacker = await connect(t, reader);
          const pending = attacker.request(Fetch, body).catch(() => null);
          await sleep(50);
          attacker.close();
          await pending;
        }),
      );
      rssByRound.push(broker.rssBytes() - rssBefore);
    }
    const after = await probe.median(9);
    const early = Math.min(...rssByRound.slice(10, 25));
    const late = Math.min(...rssByRound.slice(25));
    const peak = Math.max(...rssByRound);
    t.diagnostic(`produce ${baseline.produceMs.toFixed(1)} ms before, ${after.produceMs.toFixed(1)} ms after; RSS floor +${(early / MiB).toFixed(1)} MiB after 100–250 cycles, +${(late / MiB).toFixed(1)} MiB after 250–400, peak +${(peak / MiB).toFixed(1)} MiB`);
    assertWithinProbeBudget('produce after the cycles', baseline.produceMs, after.produceMs);
    assertWithinProbeBudget('metadata after the cycles', baseline.metadataMs, after.metadataMs);
    assert.ok(late - early < 16 * MiB, `RSS grew with the cycles: floor +${(early / MiB).toFixed(1)} → +${(late / MiB).toFixed(1)} MiB`);
    assert.ok(peak < 128 * MiB, `RSS peaked at +${(peak / MiB).toFixed(1)} MiB`);
    assert.equal(await broker.stop(), 0);
  });

  it('answers a max_wait_ms far above maxFetchWaitMs within the cap', async (t) => {
    const { broker, reader } = await brokerWithReader(t, 'maxFetchWaitMs: 1000');
    const client = await connect(t, reader);
    const started = performance.now();
    const response = await client.request(Fetch, { ...duplicateFetch('data', 100, { maxWaitMs: 0x7fffffff, minBytes: NEVER_ENOUGH }) });
    const elapsed = performance.now() - started;
    t.diagnostic(`answered after ${elapsed.toFixed(0)} ms`);
    assert.ok(elapsed >= 900 && elapsed < 3000, `answered after ${elapsed.toFixed(0)} ms`);
    assert.deepEqual(response.responses[0]?.partitions.map((p) => [p.errorCode, p.records?.length ?? 0]), [[0, 0]]);
    assert.equal(await broker.stop(), 0);
  });
});

describe('Fetch limits: the waiting fetches of a broker', () => {
  it('holds at most one waiting fetch per connection, and none once the connection closes', async (t) => {
    const { broker, port } = await startBroker(t);
    await createTopic(port, 'data');
    const session = await RawConnection.connect(port);
    const body = duplicateFetch('data', 80_000, { maxWaitMs: 60_000, minBytes: NEVER_ENOUGH });
    for (let i = 0; i < 3; i++) session.send(Fetch, 12, body);
    await eventually(() => broker.waitingFetchCount === 1, 'the first fetch to wait');
    await sleep(300);
    assert.equal(broker.waitingFetchCount, 1, 'pipelined fetches wait their turn, not in the broker’s waiting set');
    const other = await RawConnection.connect(port);
    other.send(Fetch, 12, body);
    await eventually(() => broker.waitingFetchCount === 2, 'a second connection’s fetch to wait');
    const closedAt = performance.now();
    session.close();
    other.close();
    await eventually(() => broker.waitingFetchCount === 0, 'the waiting fetches to be dropped', 1000);
    t.diagnostic(`dropped ${(performance.now() - closedAt).toFixed(0)} ms after the disconnect`);
  });
});
