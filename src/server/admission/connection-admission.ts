import { CloseReasons } from '../../close-reasons.js';
import { MAX_ACCEPT_DELAY_MS, RATE_BURST_SECONDS, type AdmissionPolicy } from './admission-policy.js';
import { parseIp } from './cidr.js';
import { TokenBucket } from '../../token-bucket.js';

export type AdmissionRefusal = typeof CloseReasons.ADDRESS_DENIED | typeof CloseReasons.CONNECTION_LIMIT | typeof CloseReasons.CONNECTION_RATE;

/**
 * What to do with a new TCP connection: admit it (after `delayMs`, the listener rate's wait), or close
 * it at once. An admitted connection is counted until `release` is called for it.
 */
export type AdmissionDecision = { readonly kind: 'admit'; readonly delayMs: number } | { readonly kind: 'refuse'; readonly reason: AdmissionRefusal; readonly detail: string };

/** Addresses whose creation rate is remembered; beyond it the least recently seen one is forgotten. */
export const DEFAULT_MAX_TRACKED_ADDRESSES = 10_000;

/**
 * The listener's admission control, decided on the raw TCP accept, before a TLS handshake or a SASL
 * exchange costs anything: the address lists, the total and per-address connection counts, and the
 * creation rates of KIP-612. Its memory is bounded: open counts exist only for addresses with an open
 * connection (at most maxConnections), and rates for at most `maxTrackedAddresses` addresses.
 */
export class ConnectionAdmission {
  #policy: AdmissionPolicy;
  readonly #clock: () => number;
  readonly #maxTrackedAddresses: number;
  #open = 0;
  readonly #openByAddress = new Map<bigint, number>();
  /** Per-address rate buckets in least-recently-seen order (a touched entry is moved to the end). */
  #rates = new Map<bigint, TokenBucket>();
  #listenerRate: TokenBucket;

  constructor(policy: AdmissionPolicy, options: { readonly clock?: () => number; readonly maxTrackedAddresses?: number } = {}) {
    this.#policy = policy;
    this.#clock = options.clock ?? Date.now;
    this.#maxTrackedAddresses = options.maxTrackedAddresses ?? DEFAULT_MAX_TRACKED_ADDRESSES;
    this.#listenerRate = bucketOf(policy.maxConnectionCreationRate, this.#clock());
  }

  get policy(): AdmissionPolicy {
    return this.#policy;
  }

  /** Connections admitted and not yet released (those waiting out a delay among them). */
  get open(): number {
    return this.#open;
  }

  /** Addresses whose creation rate is remembered now (bounded by maxTrackedAddresses). */
  get trackedAddresses(): number {
    return this.#rates.size;
  }

  /** Replaces the policy (a reload): counts of open connections are kept, rates start afresh if they changed. */
  update(policy: AdmissionPolicy): void {
    const old = this.#policy;
    this.#policy = policy;
    if (policy.maxConnectionCreationRate !== old.maxConnectionCreationRate) this.#listenerRate = bucketOf(policy.maxConnectionCreationRate, this.#clock());
    if (policy.maxConnectionCreationRatePerIp !== old.maxConnectionCreationRatePerIp) this.#rates = new Map();
  }

  /** Whether the address lists refuse `address` (what a reload checks the open connections with). */
  denied(address: string): boolean {
    const ip = parseIp(address);
    return ip === undefined || this.#deniedIp(ip) !== undefined;
  }

  /**
   * Decides on a connection from `address`. The checks run cheapest and least forgiving first: the
   * lists, the counts (refused: Kafka's max.connections.per.ip closes too, and a full listener has
   * no descriptor to lend), the per-address rate (refused, as KIP-612's per-IP quota), then the listener
   * rate (delayed, as KIP-612's listener quota, which keeps connections waiting rather than failing).
   */
  admit(address: string): AdmissionDecision {
    const ip = parseIp(address);
    if (ip === undefined) return { kind: 'refuse', reason: CloseReasons.ADDRESS_DENIED, detail: `not an IP address: ${address}` };
    const denial = this.#deniedIp(ip);
    if (denial !== undefined) return { kind: 'refuse', reason: CloseReasons.ADDRESS_DENIED, detail: denial };
    const p = this.#policy;
    if (this.#open >= p.maxConnections) {
      // The operators' reserve: their addresses may go past a full listener, by reservedConnections.
      const reserved = p.reservedFor.match(ip) !== undefined && this.#open < p.maxConnections + p.reservedConnections;
      if (!reserved) return { kind: 'refuse', reason: CloseReasons.CONNECTION_LIMIT, detail: `the listener has its maximum of ${p.maxConnections} connections open (maxConnections)` };
    }
    const openHere = this.#openByAddress.get(ip) ?? 0;
    const override = p.perIpOverrides.match(ip);
    const maxHere = override?.value ?? p.maxConnectionsPerIp;
    if (openHere >= maxHere) {
      const setting = override === undefined ? 'maxConnectionsPerIp' : `maxConnectionsPerIpOverrides ${override.cidr.text}`;
      return { kind: 'refuse', reason: CloseReasons.CONNECTION_LIMIT, detail: `the address has its maximum of ${maxHere} connections open (${setting})` };
    }
    const now = this.#clock();
    if (!this.#addressRate(ip, now).tryTake(now)) {
      return { kind: 'refuse', reason: CloseReasons.CONNECTION_RATE, detail: `more than ${p.maxConnectionCreationRatePerIp} new connections a second from the address (maxConnectionCreationRatePerIp)` };
    }
    const delayMs = this.#listenerRate.reserve(now, MAX_ACCEPT_DELAY_MS);
    if (delayMs === undefined) {
      return { kind: 'refuse', reason: CloseReasons.CONNECTION_RATE, detail: `the listener is over ${p.maxConnectionCreationRate} new connections a second by more than ${MAX_ACCEPT_DELAY_MS} ms of delay (maxConnectionCreationRate)` };
    }
    this.#open++;
    this.#openByAddress.set(ip, openHere + 1);
    return { kind: 'admit', delayMs };
  }

  /** An admitted connection from `address` closed (call once per admitted connection). */
  release(address: string): void {
    const ip = parseIp(address);
    if (ip === undefined) return;
    const openHere = this.#openByAddress.get(ip);
    if (openHere === undefined) return;
    this.#open--;
    if (openHere <= 1) this.#openByAddress.delete(ip);
    else this.#openByAddress.set(ip, openHere - 1);
  }

  #deniedIp(ip: bigint): string | undefined {
    const { allow, deny } = this.#policy;
    const denied = deny.match(ip);
    if (denied !== undefined) return `the address is in listener.deny (${denied.cidr.text})`;
    if (allow.size > 0 && allow.match(ip) === undefined) return 'the address is not in listener.allow';
    return undefined;
  }

  /**
   * The address's rate bucket. When the table is full the least recently seen address is forgotten:
   * with thousands of addresses its bucket has long refilled (forgetting it changes nothing), and an
   * attacker who cycles through more addresses than that to reset its own still meets the listener rate.
   */
  #addressRate(ip: bigint, now: number): TokenBucket {
    let bucket = this.#rates.get(ip);
    if (bucket !== undefined) {
      this.#rates.delete(ip);
    } else {
      bucket = bucketOf(this.#policy.maxConnectionCreationRatePerIp, now);
      if (this.#rates.size >= this.#maxTrackedAddresses) {
        const oldest = this.#rates.keys().next();
        if (oldest.done !== true) this.#rates.delete(oldest.value);
      }
    }
    this.#rates.set(ip, bucket);
    return bucket;
  }
}

function bucketOf(ratePerSecond: number, now: number): TokenBucket {
  return new TokenBucket(ratePerSecond, Math.max(1, ratePerSecond * RATE_BURST_SECONDS), now);
}
