import { describe, it } from 'node:test';
import { fuzzSeed } from './support/fuzz-frames.js';
import { fuzzBroker } from './support/fuzz-suite.js';

/**
 * After authentication every API is reachable: a logged-in client with few rights (one topic, one
 * group) is the insider of the threat model, and its malformed frames reach the handlers, the stages
 * and the authorizer, not only the decoder. Mutated valid requests of every API at every version over
 * TLS connections logged in with SASL/PLAIN; a connection the broker closes is replaced by a new login.
 * The pre-authentication half is fuzz-pre-auth.test.ts.
 */
describe('fuzzing after authentication (docs/performance.md#abuse-runner)', () => {
  it('3,000 mutated frames from a limited user: the broker stays up, flat and typed', async (t) => {
    await fuzzBroker(t, { frames: 3000, seed: fuzzSeed(0x5eed_0002), authenticated: true });
  });
});
