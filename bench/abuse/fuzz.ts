import { loggedCloses, type LoggedCloses } from '../../test/abuse/support/broker-health.js';
import { fuzzSeed } from '../../test/abuse/support/fuzz-frames.js';
import { describeFuzz, runFuzz, startFuzzBroker, type FuzzMeasure } from '../../test/abuse/support/fuzz-suite.js';
import { MiB, type AbuseCase, type Figure } from './case.js';

/**
 * The long version of test/abuse/fuzz-*.test.ts: mutated valid requests of every API and version over
 * TLS, half before authentication, half as a logged-in user with few rights, against one default
 * broker. What it shows: the rate at which the broker refuses hostile frames (mostly one connection
 * each: a malformed frame closes its connection), and that its memory does not grow with their number.
 * The sources are many (127.0.1.1 … 127.0.17.x) so that the login guard, which slows a source's
 * failed logins, does not set the pace; the 10⁶-frame volume run is `fuzz-pipeline`.
 */
export const fuzzCase: AbuseCase = {
  name: 'fuzz',
  summary: 'mutated frames of every API over TLS, before and after login: frames/s, RSS, typed closes',
  flags: { frames: '100000', 'max-seconds': '600', concurrency: '48', batch: '1', sources: '4000', seed: String(fuzzSeed(0x5eed_0003)) },
  async run(scope, flags) {
    const frames = flags.number(this, 'frames');
    const maxMs = (flags.number(this, 'max-seconds') * 1000) / 2;
    const driver = { concurrency: flags.number(this, 'concurrency'), batch: flags.number(this, 'batch'), sourceAddresses: flags.number(this, 'sources'), maxMs };
    const seed = flags.number(this, 'seed');
    const f = await startFuzzBroker(scope);
    const figures: Figure[] = [];
    let closes: LoggedCloses = loggedCloses('');
    for (const authenticated of [false, true]) {
      const m: FuzzMeasure = await runFuzz(f, { frames: Math.ceil(frames / 2), seed: seed + (authenticated ? 1 : 0), authenticated, driver });
      closes = loggedCloses(f.broker.output());
      console.log(`   ${authenticated ? 'post' : 'pre'}-auth: ${describeFuzz(m, closes)}`);
      const side = authenticated ? 'post-auth' : 'pre-auth';
      const { tally } = m;
      figures.push(
        { name: `${side} frames sent`, value: tally.sent, unit: 'frames' },
        { name: `${side} rate`, value: (tally.sent / tally.elapsedMs) * 1000, unit: 'frames/s', note: 'one TLS connection per refused frame' },
        { name: `${side} answered / closed / quiet`, value: tally.answered, unit: 'answered', note: `${tally.brokerCloses} closed by the broker, ${tally.quiet} quiet` },
        { name: `${side} RSS before → after`, value: m.rssAfter / MiB, unit: 'MiB', note: `from ${(m.rssBefore / MiB).toFixed(0)} MiB` },
        { name: `${side} RSS median last / second quarter`, value: m.rssLate / m.rssEarly, unit: 'ratio', note: '~1: no growth with the number of frames' },
      );
    }
    const alive = f.broker.child.exitCode === null && f.broker.child.signalCode === null;
    figures.push(
      { name: 'broker alive at the end', value: alive ? 1 : 0, unit: 'bool' },
      { name: 'INTERNAL_ERROR closes', value: closes.internal.length, unit: 'closes', note: 'each is a bug: 0 expected' },
      { name: 'untyped closes / error log lines', value: closes.untyped.length, unit: 'closes', note: `${closes.errors.length} error lines; 0 expected` },
    );
    for (const line of closes.internal.slice(0, 5)) console.log(`   INTERNAL_ERROR: ${line}`);
    return figures;
  },
};
