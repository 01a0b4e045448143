import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VerifiedCredentialCache } from '../../../src/metrics/admin-credential-cache.js';
import { CredentialCheckBusy } from '../../../src/metrics/admin-route-guard.js';
import type { Principal } from '../../../src/security/types.js';

/** A verifier that counts its (expensive) calls: `<user>-pw` is right. */
function counting() {
  const calls: string[] = [];
  const verify = (user: string, password: string): Promise<Principal | null> => {
    calls.push(user);
    const principal: Principal = `User:${user}`;
    return Promise.resolve(password === `${user}-pw` ? principal : null);
  };
  return { calls, verify };
}

describe('the verified-credential cache of the admin endpoint', () => {
  it('derives a right password once per TTL, a wrong one every time', async () => {
    let now = 0;
    const cache = new VerifiedCredentialCache({ ttlMs: 1000, clock: () => now });
    const { calls, verify } = counting();
    const check = cache.wrap(verify);
    assert.equal(await check('alice', 'alice-pw'), 'User:alice');
    assert.equal(await check('alice', 'alice-pw'), 'User:alice');
    assert.equal(await check('alice', 'wrong'), null);
    assert.equal(await check('alice', 'wrong'), null);
    assert.deepEqual(calls, ['alice', 'alice', 'alice'], 'one derivation for the right password, one per wrong attempt');
    now = 1000;
    assert.equal(await check('alice', 'alice-pw'), 'User:alice');
    assert.equal(calls.length, 4, 'expired at the TTL');
  });

  it('forget(user) drops the user’s entries at once (a changed or deleted credential)', async () => {
    const cache = new VerifiedCredentialCache();
    const { calls, verify } = counting();
    const check = cache.wrap(verify);
    await check('alice', 'alice-pw');
    await check('bob', 'bob-pw');
    cache.forget('alice');
    assert.equal(cache.size, 1);
    await check('alice', 'alice-pw');
    await check('bob', 'bob-pw');
    assert.deepEqual(calls, ['alice', 'bob', 'alice']);
  });

  it('holds at most maxEntries (the oldest goes), whatever the number of users', async () => {
    const cache = new VerifiedCredentialCache({ maxEntries: 3, derivationsPerSecond: 1000 });
    const check = cache.wrap(counting().verify);
    for (let i = 0; i < 10; i++) await check(`u${i}`, `u${i}-pw`);
    assert.equal(cache.size, 3);
  });

  it('bounds uncached derivations: past the budget the check is busy (the guard answers 429), a cached one still passes', async () => {
    const cache = new VerifiedCredentialCache({ derivationsPerSecond: 1, clock: () => 0 });
    const { calls, verify } = counting();
    const check = cache.wrap(verify);
    assert.equal(await check('alice', 'alice-pw'), 'User:alice');
    assert.equal(await check('mallory', 'guess-1'), null);
    await assert.rejects(check('mallory', 'guess-2'), CredentialCheckBusy);
    assert.equal(await check('alice', 'alice-pw'), 'User:alice');
    assert.deepEqual(calls, ['alice', 'mallory']);
  });
});
