import { attemptLogin, guessPasswordsInWorker, type GuessOptions } from '../../test/abuse/login-attack.js';
import { LatencyProbe, startBrokerProcess, type BrokerProcess } from '../../test/security/attack-support.js';
import type { AbuseCase, Figure } from './case.js';

/**
 * The long version of test/abuse/credential-stuffing.test.ts: password guessing over many TLS
 * connections (in a worker thread, so that they do not slow the measuring client's event loop), from
 * one loopback address and from many, against a default broker. The figure to read is how many
 * guesses the broker actually verified per second (its `authentication-failed` events: a guess the
 * login guard refuses is never verified), whatever the parallelism; beside it, what the attack costs
 * the real user's login and the admin's Metadata requests.
 */

const MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
/** The real user's usual address: it logs in from there before the attack, so the login guard trusts it for that user. */
const REAL_USER_ADDRESS = '127.0.0.9';

export const stuffingCase: AbuseCase = {
  name: 'stuffing',
  summary: "password guessing over many connections, from one address and many: guesses verified/s, the real user's login, the admin's Metadata latency",
  flags: { connections: '20,200', addresses: '50', seconds: '10', mechanism: 'PLAIN,SCRAM-SHA-512' },
  async run(scope, flags) {
    const connectionCounts = flags.counts(this, 'connections');
    const manyAddresses = flags.counts(this, 'addresses')[0] ?? 50;
    const seconds = flags.number(this, 'seconds');
    const mechanisms = flags.choices(this, 'mechanism', MECHANISMS);
    const broker = await startBrokerProcess(scope, { openFileLimit: Math.max(4096, Math.max(...connectionCounts) * 2 + 1024) });
    const admin = await broker.admin();
    await admin.createTopic('bench-stuffing', 1);
    const probe = await LatencyProbe.open(scope, broker.adminConfig, 'bench-stuffing');
    await sampleMetadata(probe, wait(1_000)); // warm-up

    const figures: Figure[] = [];
    let round = 0;
    for (const mechanism of mechanisms) {
      for (const connections of connectionCounts) {
        for (const spread of [1, Math.min(manyAddresses, connections)]) {
          round += 1;
          // Each round guesses a user of its own (credential stuffing tries many names) from its own /24,
          // so that its verified guesses are counted apart from the other rounds' and the guard's state
          // for one name does not carry over into the next round.
          const user = `victim-${round}`;
          const password = `victim-${round}-correct-horse-battery`;
          for (const m of ['SCRAM-SHA-512', 'SCRAM-SHA-256'] as const) await admin.upsertScramCredential(user, m, password);
          const unloadedLogin = await loginTimes(broker, user, password, 5);
          // Unloaded just before each round: the machine's other load moves between rounds.
          const unloadedMetadata = await sampleMetadata(probe, wait(3_000));
          const prefix = `127.0.${10 + round}.`;
          const sources = Array.from({ length: spread }, (_, i) => `${prefix}${i + 1}`);
          const attack: GuessOptions = {
            port: broker.port,
            caFile: broker.caFile,
            localAddress: sources[0] ?? `${prefix}1`,
            localAddresses: sources,
            mechanism,
            user,
            connections,
            durationMs: seconds * 1000,
          };
          const attacking = guessPasswordsInWorker(attack);
          const [metadata, logins, guessed] = await Promise.all([sampleMetadata(probe, attacking), loginsWhile(broker, user, password, attacking), attacking]);
          // Guesses admitted near the end wait out their delay (at most 5 s) before they are verified.
          await wait(6_000);
          const verified = verifiedFrom(broker, prefix);
          const label = `${mechanism} ${connections} conn, ${spread} addr`;
          console.log(
            `   ${label}: ${verified} verified, ${guessed.answered} answered, ${guessed.broken} broken; real user's login ${describe(logins.ms)} ` +
              `(${logins.failed} refused), unloaded ${describe(unloadedLogin.ms)}; admin Metadata ${describe(metadata)}`,
          );
          figures.push(
            { name: `${label}: verified guesses/s`, value: verified / seconds, unit: '/s', note: `${(guessed.answered / seconds).toFixed(0)}/s answered, ${guessed.broken} connections broken` },
            {
              name: `${label}: real user's login median`,
              value: median(logins.ms),
              unit: 'ms',
              note: `unloaded ${median(unloadedLogin.ms).toFixed(0)} ms; ${logins.failed} of ${logins.failed + logins.ms.length} refused`,
            },
            { name: `${label}: admin Metadata median / unloaded`, value: median(metadata) / median(unloadedMetadata), unit: 'ratio', note: `${median(metadata).toFixed(1)} vs ${median(unloadedMetadata).toFixed(1)} ms` },
            { name: `${label}: admin Metadata p99 / unloaded`, value: p99(metadata) / p99(unloadedMetadata), unit: 'ratio', note: `${p99(metadata).toFixed(1)} vs ${p99(unloadedMetadata).toFixed(1)} ms` },
          );
        }
      }
    }
    return figures;
  },
};

function wait(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Failed logins the broker verified from addresses starting with `prefix` (its `authentication-failed` events). */
function verifiedFrom(broker: BrokerProcess, prefix: string): number {
  return broker
    .output()
    .split('\n')
    .filter((l) => l.includes('"event":"authentication-failed"') && l.includes(`"remote":"${prefix}`)).length;
}

/** The admin's Metadata latencies, one request every 100 ms until `done` settles. */
async function sampleMetadata(probe: LatencyProbe, done: Promise<unknown>): Promise<number[]> {
  let over = false;
  const end = () => (over = true);
  void done.then(end, end);
  const samples: number[] = [];
  while (!over) {
    samples.push(await probe.metadataMs());
    await wait(100);
  }
  return samples;
}

/** `n` logins of the real user from its usual address (TLS connection and SCRAM-SHA-512), timed. */
async function loginTimes(broker: BrokerProcess, user: string, password: string, n: number): Promise<{ ms: number[]; failed: number }> {
  const ms: number[] = [];
  let failed = 0;
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const code = await attemptLogin(broker.port, broker.caFile, REAL_USER_ADDRESS, 'SCRAM-SHA-512', user, password);
    if (code === 0) ms.push(performance.now() - started);
    else failed += 1;
  }
  return { ms, failed };
}

/** The real user logs in once a second while `done` is pending. */
async function loginsWhile(broker: BrokerProcess, user: string, password: string, done: Promise<unknown>): Promise<{ ms: number[]; failed: number }> {
  let over = false;
  const end = () => (over = true);
  void done.then(end, end);
  const all = { ms: [] as number[], failed: 0 };
  await wait(500);
  while (!over) {
    const one = await loginTimes(broker, user, password, 1);
    all.ms.push(...one.ms);
    all.failed += one.failed;
    await wait(1_000);
  }
  return all;
}

function sorted(xs: readonly number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}

function median(xs: readonly number[]): number {
  return sorted(xs)[Math.floor(xs.length / 2)] ?? Number.NaN;
}

function p99(xs: readonly number[]): number {
  return sorted(xs)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))] ?? Number.NaN;
}

function describe(xs: readonly number[]): string {
  return xs.length === 0 ? 'no sample' : `median ${median(xs).toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms`;
}
