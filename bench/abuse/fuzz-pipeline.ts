import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { Broker, DEFAULT_BROKER_CONFIG } from '../../src/broker/broker.js';
import { CloseReasons } from '../../src/close-reasons.js';
import type { Logger } from '../../src/logger.js';
import { encodeRequest } from '../../src/protocol/frames.js';
import { CreateAcls } from '../../src/protocol/messages/create-acls.js';
import { CreateTopics } from '../../src/protocol/messages/create-topics.js';
import { DEFAULT_SECURITY_CONFIG } from '../../src/security/config.js';
import { DEFAULT_ENCRYPTION_AT_REST } from '../../src/storage/crypto/key-setup.js';
import type { InjectedResponse } from '../../src/server/inject.js';
import { RssSampler } from '../../test/abuse/support/broker-health.js';
import { fuzzSeed, mutate, Prng, validRequests } from '../../test/abuse/support/fuzz-frames.js';
import { MiB, type AbuseCase, type Figure } from './case.js';

/**
 * The volume run of the fuzzer: 10⁶ mutated requests of every API and version through a broker's
 * whole request pipeline (decode, authentication gate, quotas, names, authorization, the handler,
 * encode: everything a frame reaches once the connection has cut it out of the byte stream), half as
 * a connection not logged in, half as a user with rights on one topic and one group. It runs the
 * broker in this process with `Broker.inject`, one fresh connection state per frame, because over
 * TLS a refused frame costs its connection: the socket case (`fuzz`) measured 390 frames/s before
 * login and 140 after on 2 cores, 80 minutes for 10⁶, and the default creation rate (1,000/s) alone
 * would bound it to 17. The socket layer (framing, TLS, admission) keeps its own run in `fuzz`.
 *
 * The broker has the defaults of `parapet start` (SASL, ACLs, super user admin, quotas, audit,
 * encryption at rest) except its listener, which inject does not use.
 */
export const fuzzPipelineCase: AbuseCase = {
  name: 'fuzz-pipeline',
  summary: '10⁶ mutated frames of every API through the request pipeline, before and after login: frames/s, RSS, close reasons',
  flags: { frames: '1000000', concurrency: '32', 'wait-ms': '1000', seed: String(fuzzSeed(0x5eed_0004)) },
  async run(scope, flags) {
    const frames = flags.number(this, 'frames');
    const concurrency = flags.number(this, 'concurrency');
    const waitMs = flags.number(this, 'wait-ms');
    const seed = flags.number(this, 'seed');
    const root = mkdtempSync(join(tmpdir(), 'parapet-bench-fuzz-'));
    scope.after(() => {
      rmSync(root, { recursive: true, force: true });
    });
    process.env.PARAPET_BENCH_MASTER_KEY ??= Buffer.alloc(32, 7).toString('base64');
    const logged = countingLogger();
    const broker = new Broker(
      {
        ...DEFAULT_BROKER_CONFIG,
        // inject does not use the listener; plaintext so that the broker needs no certificate files.
        listener: { ...DEFAULT_BROKER_CONFIG.listener, port: 0, protocol: 'SASL_PLAINTEXT' },
        security: { ...DEFAULT_SECURITY_CONFIG, allowInsecurePlaintext: true },
        encryptionAtRest: { ...DEFAULT_ENCRYPTION_AT_REST, masterKey: '${env:PARAPET_BENCH_MASTER_KEY}' },
        adminEndpoint: { ...DEFAULT_BROKER_CONFIG.adminEndpoint, enabled: false },
        dataDir: join(root, 'data'),
      },
      logged,
      { events: { emit: () => undefined } },
    );
    await broker.start();
    scope.after(() => void broker.close());
    await setUp(broker);

    const figures: Figure[] = [];
    for (const authenticated of [false, true]) {
      const side = authenticated ? 'post-auth' : 'pre-auth';
      const corpus = validRequests(seed + (authenticated ? 1 : 0), 2, authenticated ? FUZZ_AIM : undefined);
      const rng = new Prng(seed + (authenticated ? 1 : 0));
      const principal = authenticated ? ('User:fuzzer' as const) : null;
      const tally = { answered: 0, closed: 0, waiting: 0, internal: 0, byReason: {} as Record<string, number> };
      let pending = 0;
      let peakPending = 0;
      const heapBefore = liveHeapBytes(root);
      const rssBefore = process.memoryUsage.rss();
      const rss = new RssSampler(() => process.memoryUsage.rss(), 250);
      const started = performance.now();
      let taken = 0;
      const half = Math.ceil(frames / 2);
      const worker = async () => {
        while (taken < half) {
          taken++;
          const frame = mutate(corpus[rng.int(corpus.length)] as (typeof corpus)[number], rng).bytes;
          if (frame.length < 4 || frame.readInt32BE(0) !== frame.length - 4) {
            // A frame whose size prefix lies never reaches the pipeline: the connection's splitter
            // refuses or waits for it (the socket case covers that).
            tally.byReason.FRAMING = (tally.byReason.FRAMING ?? 0) + 1;
            continue;
          }
          pending++;
          peakPending = Math.max(peakPending, pending);
          let result: InjectedResponse | undefined;
          const done = broker.inject(frame, { principal }).then((r) => (result = r)).finally(() => pending--);
          // Most frames are done within the turn; the loop's timers (the broker's, the RSS sampler)
          // get theirs before the next, as between a socket's reads. Only a frame still waiting then
          // gets a timer of its own (one per frame would be the fuzzer's memory, not the broker's).
          await nextTurn();
          const outcome = result ?? (await Promise.race([done, sleep(waitMs)]));
          if (outcome === undefined) {
            // A request that waits (a long-polling fetch, a join): left to finish on its own, bounded
            // by the broker's caps on waiting; the run goes on.
            tally.waiting++;
            continue;
          }
          count(tally, outcome);
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      const elapsedMs = performance.now() - started;
      rss.stop();
      const { early, late } = rss.windows();
      const heapAfter = liveHeapBytes(root);
      console.log(
        `   ${side}: ${half} frames in ${(elapsedMs / 1000).toFixed(1)} s (${((half / elapsedMs) * 1000).toFixed(0)} frames/s); answered ${tally.answered}, closed ${tally.closed}, waiting ${tally.waiting} (peak ${peakPending} pending); ` +
          `RSS ${(rssBefore / MiB).toFixed(0)} → ${(process.memoryUsage.rss() / MiB).toFixed(0)} MiB (medians ${(early / MiB).toFixed(0)} → ${(late / MiB).toFixed(0)}); closes ${JSON.stringify(tally.byReason)}`,
      );
      figures.push(
        { name: `${side} frames`, value: half, unit: 'frames', note: `${tally.answered} answered, ${tally.closed} closed, ${tally.waiting} still waiting after ${waitMs} ms` },
        { name: `${side} rate`, value: (half / elapsedMs) * 1000, unit: 'frames/s', note: `${concurrency} at once, one connection state per frame` },
        { name: `${side} RSS before → after`, value: process.memoryUsage.rss() / MiB, unit: 'MiB', note: `from ${(rssBefore / MiB).toFixed(0)} MiB, this process (broker and fuzzer)` },
        { name: `${side} RSS median last / second quarter`, value: late / early, unit: 'ratio', note: '~1: no growth with the number of frames' },
        { name: `${side} live heap after / before`, value: heapAfter / heapBefore, unit: 'ratio', note: `${(heapBefore / MiB).toFixed(0)} → ${(heapAfter / MiB).toFixed(0)} MiB live: what the run left behind` },
        { name: `${side} INTERNAL_ERROR closes`, value: tally.internal, unit: 'closes', note: 'each is a bug: 0 expected' },
      );
    }
    figures.push({ name: 'error log lines', value: logged.errors.length, unit: 'lines', note: logged.errors.slice(0, 3).join(' | ') || '0 expected' });
    return figures;
  },
};

/** The names the fuzzing user may use, and so the names its requests are aimed at (as in the socket run). */
const FUZZ_AIM = { topic: 'fuzz', group: 'fuzz' };

/** The fuzz topic, and ACLs giving User:fuzzer every operation on it and on its group, as the admin. */
async function setUp(broker: Broker): Promise<void> {
  const frame = (api: typeof CreateTopics | typeof CreateAcls, version: number, body: object) => Buffer.concat(encodeRequest(api, { apiVersion: version, correlationId: 1, clientId: 'bench' }, body));
  const admin = { principal: 'User:admin' as const };
  const topic = await broker.inject(frame(CreateTopics, 5, { topics: [{ name: FUZZ_AIM.topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false }), admin);
  const ALL = 2;
  const allow = (resourceType: number, resourceName: string) => ({ resourceType, resourceName, resourcePatternType: 3, principal: 'User:fuzzer', host: '*', operation: ALL, permissionType: 3 });
  const acls = await broker.inject(frame(CreateAcls, 3, { creations: [allow(2, FUZZ_AIM.topic), allow(3, FUZZ_AIM.group)] }), admin);
  if (topic.closed !== undefined || acls.closed !== undefined) throw new Error('setting up the fuzz topic and ACLs failed');
}

function count(tally: { answered: number; closed: number; internal: number; byReason: Record<string, number> }, outcome: InjectedResponse): void {
  if (outcome.frame !== null) tally.answered++;
  if (outcome.closed === undefined) return;
  tally.closed++;
  const { reason } = outcome.closed;
  tally.byReason[reason] = (tally.byReason[reason] ?? 0) + 1;
  if (reason === CloseReasons.INTERNAL_ERROR) {
    tally.internal++;
    if (tally.internal <= 5) console.log(`   INTERNAL_ERROR: ${String(outcome.closed.error)}`);
  }
}

/**
 * The heap in use once everything collectable is collected: what the run really left behind. A heap
 * snapshot's collection is the thorough one (gc() leaves tens of MiB that weak references and
 * compilation caches still hold); the snapshot itself goes to this run's private directory and is
 * deleted at once (it holds whatever the process held, the master key among it).
 */
function liveHeapBytes(dir: string): number {
  const file = writeHeapSnapshot(join(dir, 'live.heapsnapshot'));
  rmSync(file, { force: true });
  return process.memoryUsage().heapUsed;
}

function nextTurn(): Promise<undefined> {
  return new Promise((resolve) => setImmediate(resolve, undefined));
}

function sleep(ms: number): Promise<undefined> {
  return new Promise((resolve) => setTimeout(resolve, ms, undefined));
}
/** The broker's log, kept only as a count and the first error lines (10⁶ frames log a lot at debug). */
function countingLogger(): Logger & { errors: string[] } {
  const errors: string[] = [];
  return {
    errors,
    info() {},
    warn() {},
    debug() {},
    error(obj, msg) {
      if (errors.length < 20) errors.push(`${msg} ${JSON.stringify(obj)}`);
      else errors.push('');
    },
  };
}
