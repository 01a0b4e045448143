import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { ClientConfig } from '../../../src/client/client-config.js';
import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../../../src/protocol/acl.js';
import { eventually, LatencyProbe, startBrokerProcess, type BrokerProcess, type CleanupScope } from '../../security/attack-support.js';
import { loggedCloses, MiB, RssSampler, type LoggedCloses } from './broker-health.js';
import { DEFAULT_FUZZ_OPTIONS, FuzzConnector, fuzzOverSockets, type FuzzOptions, type FuzzTally } from './fuzz-driver.js';
import { mutate, Prng, validRequests, type MutatedFrame } from './fuzz-frames.js';

/** The user the post-authentication fuzzer logs in as: it may use one topic and one group, nothing else. */
const FUZZ_USER = { user: 'fuzzer', password: 'fuzzer-password-1' };
/** The names the fuzzing user may use, and so the names its requests are aimed at. */
const FUZZ_AIM = { topic: 'fuzz', group: 'fuzz' };

export interface FuzzBroker {
  readonly broker: BrokerProcess;
  /** A well-behaved user that may produce to `probe` (for a LatencyProbe). */
  readonly probeUser: ClientConfig;
}

/**
 * A default broker as its own process, logging every close (debug level: at warn only the closes with
 * an error attached are logged), with the topics and users of the fuzz runs.
 */
export async function startFuzzBroker(scope: CleanupScope): Promise<FuzzBroker> {
  const broker = await startBrokerProcess(scope, { env: { PARAPET_LOG_LEVEL: 'debug' } });
  const admin = await broker.admin();
  await admin.createTopic('probe', 1);
  await admin.createTopic(FUZZ_AIM.topic, 1);
  const allow = (resourceType: ResourceType, resourceName: string, operation: AclOperation) => ({
    resourceType,
    resourceName,
    patternType: PatternType.LITERAL,
    host: '*',
    operation,
    permission: AclPermissionType.ALLOW,
  });
  const probeUser = await broker.addUser('probe-user', 'probe-password-1', [allow(ResourceType.TOPIC, 'probe', AclOperation.WRITE)]);
  await broker.addUser(FUZZ_USER.user, FUZZ_USER.password, [allow(ResourceType.TOPIC, FUZZ_AIM.topic, AclOperation.ALL), allow(ResourceType.GROUP, FUZZ_AIM.group, AclOperation.ALL)]);
  // The admin connection stays open for the whole run: close it so the descriptor count is the broker's own.
  admin.close();
  return { broker, probeUser };
}

export interface FuzzMeasure {
  readonly seed: number;
  readonly authenticated: boolean;
  readonly tally: FuzzTally;
  readonly rssBefore: number;
  readonly rssAfter: number;
  /** Median RSS of the second and of the last quarter of the run (RssSampler.windows). */
  readonly rssEarly: number;
  readonly rssLate: number;
  readonly fdsBefore: number;
  /** The most recent frames sent (what to look at when a close is an INTERNAL_ERROR). */
  readonly lastFrames: readonly MutatedFrame[];
}

/**
 * Sends `frames` mutated frames (fuzz-frames.ts) over TLS: before authentication from the first byte,
 * or logged in as the fuzzing user, whose requests are aimed at its topic and group so that they get
 * past authorization into the handlers.
 */
export async function runFuzz(f: FuzzBroker, o: { frames: number; seed: number; authenticated: boolean; driver?: Partial<FuzzOptions> }): Promise<FuzzMeasure> {
  const { broker } = f;
  const corpus = validRequests(o.seed, 2, o.authenticated ? FUZZ_AIM : undefined);
  const rng = new Prng(o.seed);
  const lastFrames: MutatedFrame[] = [];
  const next = (): MutatedFrame => {
    const frame = mutate(corpus[rng.int(corpus.length)] as (typeof corpus)[number], rng);
    lastFrames.push(frame);
    if (lastFrames.length > 32) lastFrames.shift();
    return frame;
  };
  const driver = { ...DEFAULT_FUZZ_OPTIONS, ...o.driver };
  const connector = new FuzzConnector({ port: broker.port, caFile: broker.caFile, ...(o.authenticated ? { login: FUZZ_USER } : {}) }, driver.sourceAddresses);
  const fdsBefore = broker.openFds();
  const rssBefore = broker.rssBytes();
  const rss = new RssSampler(() => broker.rssBytes());
  let tally: FuzzTally;
  try {
    tally = await fuzzOverSockets(connector, o.frames, next, driver);
  } finally {
    rss.stop();
  }
  const { early, late } = rss.windows();
  return { seed: o.seed, authenticated: o.authenticated, tally, rssBefore, rssAfter: broker.rssBytes(), rssEarly: early, rssLate: late, fdsBefore, lastFrames };
}

export function describeFuzz(m: FuzzMeasure, closes: LoggedCloses): string {
  const { tally } = m;
  return (
    `seed ${m.seed}: ${tally.sent} frames in ${(tally.elapsedMs / 1000).toFixed(1)} s (${((tally.sent / tally.elapsedMs) * 1000).toFixed(0)} frames/s) over ${tally.connections} connections; ` +
    `answered ${tally.answered}, broker closes ${tally.brokerCloses}, quiet ${tally.quiet}; ` +
    `RSS ${(m.rssBefore / MiB).toFixed(0)} → ${(m.rssAfter / MiB).toFixed(0)} MiB (medians ${(m.rssEarly / MiB).toFixed(0)} → ${(m.rssLate / MiB).toFixed(0)}); ` +
    `closes ${JSON.stringify(closes.byReason)}`
  );
}

/**
 * The test of a fuzz run: after `frames` mutated frames the broker is alive and serves a real client,
 * its memory did not grow with the run after the warm-up, its descriptors are back to the baseline,
 * and every close it logged has a typed reason, none INTERNAL_ERROR. The seed is in every failure
 * message (PARAPET_FUZZ_SEED=<seed> replays the run).
 */
export async function fuzzBroker(t: TestContext, o: { frames: number; seed: number; authenticated: boolean }): Promise<void> {
  const tag = `seed ${o.seed} (replay: PARAPET_FUZZ_SEED=${o.seed})`;
  const f = await startFuzzBroker(t);
  const { broker } = f;
  const probe = await LatencyProbe.open(t, f.probeUser, 'probe');
  await probe.median(3);
  const m = await runFuzz(f, o);
  const closes = loggedCloses(broker.output());
  t.diagnostic(describeFuzz(m, closes));

  assert.equal(broker.child.exitCode, null, `the broker exited (${tag}): ${broker.output().slice(-2000)}`);
  assert.equal(broker.child.signalCode, null, `the broker was killed (${tag})`);
  await probe.median(3);

  // Every fuzz connection is closed on both sides: the descriptors are those of before the run.
  await eventually(() => broker.openFds() <= m.fdsBefore + 2, `open fds back to ${m.fdsBefore} (+2) after the run (now ${broker.openFds()}), ${tag}`, 15_000);

  // No growth with the number of frames after the warm-up. Generous: the collector saws ±20 MiB
  // and TLS session caches fill; a leak of 10 kB per frame would be 50 MiB here.
  const allowed = Math.max(m.rssEarly * 0.25, 48 * MiB);
  assert.ok(m.rssLate - m.rssEarly < allowed, `RSS median grew from ${(m.rssEarly / MiB).toFixed(0)} to ${(m.rssLate / MiB).toFixed(0)} MiB across the run (${tag})`);

  assert.deepEqual(closes.untyped, [], `closes without a typed reason (${tag})`);
  const last = m.lastFrames.map((x) => `${x.api} v${x.version} ${x.mutation}`).join(', ');
  assert.deepEqual(closes.internal, [], `INTERNAL_ERROR closes caused by malformed input (${tag}); the last frames: ${last}`);
  assert.deepEqual(closes.errors, [], `error lines in the broker's log (${tag})`);
  // Every refusal was logged: at least as many close lines as connections the broker closed on us.
  const logged = Object.values(closes.byReason).reduce((a, b) => a + b, 0);
  assert.ok(logged >= m.tally.brokerCloses, `${logged} close lines for ${m.tally.brokerCloses} closes by the broker (${tag})`);
  assert.ok(m.tally.brokerCloses > 0 && m.tally.answered > 0, `the run exercised both refusals and answers (${tag})`);
}
