import { describe, it } from 'node:test';
import { fuzzSeed } from './support/fuzz-frames.js';
import { fuzzBroker } from './support/fuzz-suite.js';

/**
 * Before authentication anyone who can reach the port can send bytes: the broker decodes every frame
 * (to answer ApiVersions and the SASL requests, and to refuse the rest with a typed close), so its
 * decoder and framing face the whole internet. Mutated valid requests of every API at every version
 * (test/abuse/support/fuzz-frames.ts) over fresh TLS connections of the default SASL_SSL listener; a
 * connection the broker closes is replaced. The post-authentication half is fuzz-post-auth.test.ts;
 * the two share the suite's 10^4 frames, and bench/abuse/fuzz.ts sends 10^6.
 */
describe('fuzzing before authentication (docs/performance.md#abuse-runner)', () => {
  it('7,000 mutated frames from fresh connections: the broker stays up, flat and typed', async (t) => {
    await fuzzBroker(t, { frames: 7000, seed: fuzzSeed(0x5eed_0001), authenticated: false });
  });
});
