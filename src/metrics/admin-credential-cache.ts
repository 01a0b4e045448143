import { createHmac, randomBytes } from 'node:crypto';
import type { Principal } from '../security/types.js';
import { TokenBucket } from '../token-bucket.js';
import { CredentialCheckBusy } from './admin-route-guard.js';

/**
 * HTTP Basic credentials verified recently, so that a serializer's every request to the schema registry
 * does not cost a SCRAM key derivation (PBKDF2, thousands of HMACs: milliseconds of the event loop).
 *
 * - Only a success is kept, keyed by an HMAC-SHA-256 of user and password under a key made at start
 *   (the password itself is never kept, and the digest is of no use outside this process), for
 *   `ttlMs`; a wrong password is derived every time, bounded by the routes' rates.
 * - At most `maxEntries`; when full, the oldest entry goes.
 * - `forget(user)` drops a user's entries at once: the broker calls it when a credential is changed or
 *   deleted (AlterUserScramCredentials), so an old password stops working then, not at the TTL.
 * - A derivation the cache cannot spare is bounded too: at most `derivationsPerSecond` (burst twice as
 *   many) uncached checks; past that the check throws {@link CredentialCheckBusy} and the guard answers
 *   429. That bounds what a password guesser costs the broker whatever the routes' request rates.
 *
 * Wrap the plain verifier with it, inside any check that must run every time (a disabled principal,
 * the lockdown: src/security/containment), so that a cache hit never skips those.
 */
export interface VerifiedCredentialCacheOptions {
  /** Default 1,000 entries. */
  readonly maxEntries?: number;
  /** Default 60 s. */
  readonly ttlMs?: number;
  /** Uncached verifications a second, all users together (burst twice as many). Default 20. */
  readonly derivationsPerSecond?: number;
  readonly clock?: () => number;
}

export const DEFAULT_CREDENTIAL_CACHE = { maxEntries: 1000, ttlMs: 60_000, derivationsPerSecond: 20 } as const;

interface Entry {
  readonly user: string;
  readonly principal: Principal;
  readonly expiresAt: number;
}

export class VerifiedCredentialCache {
  readonly #key = randomBytes(32);
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;
  readonly #ttlMs: number;
  readonly #clock: () => number;
  readonly #derivations: TokenBucket;

  constructor(options: VerifiedCredentialCacheOptions = {}) {
    this.#maxEntries = Math.max(1, options.maxEntries ?? DEFAULT_CREDENTIAL_CACHE.maxEntries);
    this.#ttlMs = options.ttlMs ?? DEFAULT_CREDENTIAL_CACHE.ttlMs;
    this.#clock = options.clock ?? Date.now;
    const rate = options.derivationsPerSecond ?? DEFAULT_CREDENTIAL_CACHE.derivationsPerSecond;
    this.#derivations = new TokenBucket(rate, rate * 2, this.#clock());
  }

  /** `verify` with the cache in front of it. */
  wrap(verify: (user: string, password: string) => Promise<Principal | null>): (user: string, password: string) => Promise<Principal | null> {
    return async (user, password) => {
      const key = this.#digest(user, password);
      const now = this.#clock();
      const hit = this.#entries.get(key);
      if (hit !== undefined && hit.expiresAt > now) return hit.principal;
      if (hit !== undefined) this.#entries.delete(key);
      if (!this.#derivations.tryTake(now)) throw new CredentialCheckBusy('too many password checks at once; retry in a second');
      const principal = await verify(user, password);
      if (principal !== null) {
        if (this.#entries.size >= this.#maxEntries) {
          const oldest = this.#entries.keys().next();
          if (oldest.done !== true) this.#entries.delete(oldest.value);
        }
        this.#entries.set(key, { user, principal, expiresAt: this.#clock() + this.#ttlMs });
      }
      return principal;
    };
  }

  /** Drops every entry of `user` (its credential changed or was deleted). */
  forget(user: string): void {
    for (const [key, entry] of this.#entries) if (entry.user === user) this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }

  #digest(user: string, password: string): string {
    // Length-prefixed: no two (user, password) pairs share the input.
    return createHmac('sha256', this.#key).update(`${user.length}:${user}:${password}`, 'utf8').digest('base64');
  }
}
