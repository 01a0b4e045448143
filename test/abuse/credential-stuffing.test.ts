import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { kcat, writeProperties } from '../interop/security-support.js';
import { LatencyProbe, startBrokerProcess, type BrokerProcess } from '../security/attack-support.js';
import { attemptLogin, guessPasswordsInWorker, type GuessOptions } from './login-attack.js';

/**
 * Credential stuffing against a broker with default settings (issue: "credential stuffing over 200
 * parallel connections: attempts per second are bounded by the budget, whatever the parallelism; the
 * real user still logs in"). Each attacker is its own loopback address; the attempts the broker
 * actually verified are counted from its `authentication-failed` events (a login the guard refuses
 * is never verified and makes no such event), per source address.
 *
 * Before the login guard, 200 connections got the broker to verify about 150 PLAIN and 200 SCRAM
 * guesses a second; with it, a source gets its 10 free failures, then a few delayed ones, whatever
 * its number of connections (docs/security/network.md#brute-force-defence).
 */

const VICTIM = 'victim';
const VICTIM_PASSWORD = 'correct-horse-battery-staple';
const ANALYST = 'analyst';
const ANALYST_PASSWORD = 'analyst-password-1';
const ROUND_MS = 4_000;
/**
 * What one source may get verified in a round at the defaults, however many connections it has: 10
 * free, then slots 0.2, 0.6, 1.4 and 3 s after the start (waits of 0.2, 0.4, 0.8, 1.6 s), and one more
 * admitted at about 3 s for a slot at 6.2 s (verified after the round: its attempt was started in it).
 */
const BUDGET_PER_ROUND = 10 + 5;

/** Failed logins the broker verified from `address` (its `authentication-failed` events in the log). */
function verifiedFrom(broker: BrokerProcess, address: string): number {
  let n = 0;
  for (const line of broker.output().split('\n')) {
    if (line.includes('"event":"authentication-failed"') && line.includes(`"remote":"${address}:`)) n += 1;
  }
  return n;
}

/** A user with the default SCRAM iterations (8,192 for SHA-512: the cost each PLAIN guess makes the broker pay). */
async function addUser(broker: BrokerProcess, name: string, password: string): Promise<void> {
  const admin = await broker.admin();
  await admin.upsertScramCredential(name, 'SCRAM-SHA-512', password);
  await admin.upsertScramCredential(name, 'SCRAM-SHA-256', password);
}

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
}

/** Metadata latency samples of the admin's probe until `done` resolves. */
async function sampleWhile(probe: LatencyProbe, done: Promise<unknown>): Promise<number[]> {
  let over = false;
  void done.then(() => (over = true));
  const samples: number[] = [];
  while (!over) {
    samples.push(await probe.metadataMs());
    await new Promise((r) => setTimeout(r, 100));
  }
  return samples;
}

/** kcat (librdkafka) logs in as the victim and lists the topics; the password goes in a 0600 file, not on the command line. */
async function kcatLogsIn(t: TestContext, broker: BrokerProcess): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-stuffing-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const properties = writeProperties(join(dir, 'victim.properties'), {
    'bootstrap.servers': broker.bootstrap,
    'security.protocol': 'SASL_SSL',
    'sasl.mechanisms': 'SCRAM-SHA-512',
    'sasl.username': VICTIM,
    'sasl.password': VICTIM_PASSWORD,
    'ssl.ca.location': broker.caFile,
  });
  const result = await kcat(['-F', properties, '-L', '-m', '10'], { timeoutMs: 20_000 });
  return `${result.stdout.toString()}${result.stderr}`;
}

describe('credential stuffing over 200 parallel connections', () => {
  it('verifies no more guesses with 200 connections than with 20, keeps the admin served and lets the real user in', async (t) => {
    const broker = await startBrokerProcess(t);
    await addUser(broker, VICTIM, VICTIM_PASSWORD);
    await addUser(broker, ANALYST, ANALYST_PASSWORD);
    const admin = await broker.admin();
    await admin.createTopic('probe', 1);
    const probe = await LatencyProbe.open(t, broker.adminConfig, 'probe');
    const baseline = median([await probe.metadataMs(), await probe.metadataMs(), await probe.metadataMs(), await probe.metadataMs(), await probe.metadataMs()]);

    // The victim's usual address: a successful login makes it trusted for the victim.
    assert.equal(await attemptLogin(broker.port, broker.caFile, '127.0.0.9', 'SCRAM-SHA-512', VICTIM, VICTIM_PASSWORD), 0);

    const round = (connections: number, plainFrom: string, scramFrom: string) => {
      const common = { port: broker.port, caFile: broker.caFile, connections, durationMs: ROUND_MS };
      const plain: GuessOptions = { ...common, localAddress: plainFrom, mechanism: 'PLAIN', user: VICTIM };
      const scram: GuessOptions = { ...common, localAddress: scramFrom, mechanism: 'SCRAM-SHA-512', user: ANALYST };
      return Promise.all([guessPasswordsInWorker(plain), guessPasswordsInWorker(scram)]);
    };
    const [plain20, scram20] = await round(20, '127.0.0.2', '127.0.0.4');
    const attack200 = round(200, '127.0.0.3', '127.0.0.5');
    // During the attack, from another address: the real user's password is verified and accepted.
    const loginDuring = new Promise((r) => setTimeout(r, ROUND_MS / 2)).then(() => attemptLogin(broker.port, broker.caFile, '127.0.0.10', 'PLAIN', VICTIM, VICTIM_PASSWORD));
    const during = await sampleWhile(probe, attack200);
    const [plain200, scram200] = await attack200;
    const fromOther = await loginDuring;
    // Attempts admitted near the end of a round finish within the longest wait (5 s) plus the answer's delay.
    await new Promise((r) => setTimeout(r, 1_500));

    const verified = {
      plain20: verifiedFrom(broker, '127.0.0.2'),
      plain200: verifiedFrom(broker, '127.0.0.3'),
      scram20: verifiedFrom(broker, '127.0.0.4'),
      scram200: verifiedFrom(broker, '127.0.0.5'),
    };
    const perSecond = (n: number) => (n / (ROUND_MS / 1000)).toFixed(1);
    t.diagnostic(
      `verified guesses/s: PLAIN ${perSecond(verified.plain20)} (20 connections) vs ${perSecond(verified.plain200)} (200); ` +
        `SCRAM ${perSecond(verified.scram20)} vs ${perSecond(verified.scram200)}; answered/s: PLAIN ${perSecond(plain20.answered)} vs ${perSecond(plain200.answered)}, ` +
        `SCRAM ${perSecond(scram20.answered)} vs ${perSecond(scram200.answered)}; admin Metadata median ${baseline.toFixed(1)} ms before, ` +
        `${median(during).toFixed(1)} ms (max ${Math.max(...during).toFixed(0)} ms, ${during.length} samples) during the 200-connection round`,
    );

    // The attackers were answered (refusals look like wrong passwords) far more often than verified.
    assert.ok(plain200.answered > verified.plain200 * 3, `PLAIN: ${plain200.answered} answers for ${verified.plain200} verified`);
    assert.ok(scram200.answered > verified.scram200 * 3, `SCRAM: ${scram200.answered} answers for ${verified.scram200} verified`);
    // The budget bounds what a source gets verified, whatever its number of connections.
    for (const [name, n] of Object.entries(verified)) {
      assert.ok(n >= 1 && n <= BUDGET_PER_ROUND + 3, `${name}: ${n} guesses verified in a ${ROUND_MS} ms round, budget ${BUDGET_PER_ROUND}`);
    }
    assert.ok(verified.plain200 <= verified.plain20 + 3 && verified.scram200 <= verified.scram20 + 3, JSON.stringify(verified));

    // The broker stays responsive: no PBKDF2 storm (the review measured 1.3 s before the guard).
    assert.ok(median(during) <= Math.max(10 * baseline, baseline + 500), `Metadata median ${median(during)} ms during the attack, ${baseline} ms before`);

    assert.equal(fromOther, 0, 'the real user logs in from another address during the attack');
    // By now the victim's name is guarded (20 failures across addresses): the attacker's addresses are
    // refused even with the right password, the victim's trusted address and a clean one still log in.
    const guarded = broker.output().split('\n').some((l) => l.includes('"event":"login-guard-engaged"') && l.includes('"scope":"user"') && l.includes(`"claimedUser":"${VICTIM}"`));
    assert.ok(guarded, 'the victim is guarded');
    assert.notEqual(await attemptLogin(broker.port, broker.caFile, '127.0.0.3', 'PLAIN', VICTIM, VICTIM_PASSWORD), 0);
    assert.equal(await attemptLogin(broker.port, broker.caFile, '127.0.0.9', 'PLAIN', VICTIM, VICTIM_PASSWORD), 0);
    const listing = await kcatLogsIn(t, broker);
    assert.match(listing, /Metadata for/, listing);
    assert.doesNotMatch(listing, /Authentication failed|SASL authentication error/i, listing);
    // The refusals are reported per source, not one line per attempt.
    const refusalEvents = broker.output().split('\n').filter((l) => l.includes('"event":"login-refused"')).length;
    assert.ok(refusalEvents >= 1 && refusalEvents < (plain200.answered + scram200.answered) / 20, `${refusalEvents} login-refused events`);
  });
});
