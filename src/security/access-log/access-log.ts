import type { Logger } from '../../logger.js';
import type { AclOperation, ResourceType } from '../../protocol/acl.js';
import type { AccessStore } from '../../storage/access-store.js';
import type { SecurityEvent, SecurityEvents } from '../events.js';
import type { Principal } from '../types.js';
import type { AccessLogConfig } from './access-log-config.js';
import type { AccessLogState, AccessRecorder, AccessScope, ObservedAccess, ObservedLogin } from './observed-access.js';

/**
 * The access log (docs/security/least-privilege.md): every authorization decision of a logged-in
 * principal, summed per (principal, operation, resource as the request named it, scope, outcome), and
 * every login, for the least-privilege advisor and `parapet access review`.
 *
 * The hot path ({@link record}) is two Map lookups (principal, then resource name) and a few field
 * writes into a buffer of what was seen since the last write, with no clock read (times are to the second); every `flushIntervalMs` the buffer goes to the metadata store in one
 * transaction (./../../storage/access-store.ts), which keeps the bounds: the least recently seen rows
 * beyond a principal's cap or the total are deleted and counted (`parapet_access_log_dropped_total`,
 * a warning the first time). The buffer holds at most `maxEntries` distinct tuples and a principal at
 * most `maxEntriesPerPrincipal` of them: past that, new tuples are dropped (counted the same way) and
 * a write is made at once. A crash loses at most the last interval.
 */
export interface AccessLogOptions {
  readonly config: AccessLogConfig;
  readonly store: AccessStore;
  readonly logger: Logger;
  readonly clock?: () => number;
}

interface Pending {
  readonly principal: Principal;
  readonly operation: AclOperation;
  readonly resourceType: ResourceType;
  readonly resourceName: string;
  readonly scope: AccessScope;
  readonly allowed: boolean;
  readonly firstSeenMs: number;
  lastSeenMs: number;
  count: number;
}

/** One principal's tuples since the last write, by resource name: each name has a handful (operations, scopes, outcomes). */
interface PrincipalPending {
  readonly byName: Map<string, Pending[]>;
  size: number;
}

interface PendingLogin {
  readonly principal: string;
  readonly firstSeenMs: number;
  lastSeenMs: number;
  count: number;
  lastAddress: string;
  lastMechanism: string;
}

export interface AccessLogStats {
  /** Access tuples stored at the last write. */
  readonly entries: number;
  /** Observations dropped to stay within the bounds since this broker started. */
  readonly dropped: number;
}

export class AccessLog implements AccessRecorder, SecurityEvents {
  readonly #o: AccessLogOptions;
  /** The test's clock; absent, {@link #coarseNow}. */
  readonly #clock: (() => number) | undefined;
  /** Date.now() read once a second (by the write timer): first and last seen are to the second, and the hot path reads no clock. */
  #coarseNow = Date.now();
  readonly #pending = new Map<string, PrincipalPending>();
  #pendingSize = 0;
  readonly #logins = new Map<string, PendingLogin>();
  #droppedInBuffer = 0;
  #dropped = 0;
  #entries: number;
  #warned = false;
  #failing = false;
  #timer: NodeJS.Timeout | undefined;
  #soon: NodeJS.Timeout | undefined;
  /** performance.now() of the last write: writes forced by a full buffer come at most once a second. */
  #lastFlushAt = -Infinity;
  #closed = false;

  constructor(options: AccessLogOptions) {
    this.#o = options;
    this.#clock = options.clock;
    this.#entries = options.store.entries();
  }

  /** Starts the periodic writes. */
  start(): void {
    let sinceFlush = 0;
    this.#timer ??= setInterval(() => {
      this.#coarseNow = Date.now();
      sinceFlush += 1000;
      if (sinceFlush >= this.#o.config.flushIntervalMs) {
        sinceFlush = 0;
        this.flush();
      }
    }, Math.min(1000, this.#o.config.flushIntervalMs));
    this.#timer.unref();
  }

  record(principal: Principal, operation: AclOperation, resourceType: ResourceType, resourceName: string, allowed: boolean, scope: AccessScope): void {
    if (this.#closed) return;
    const now = this.#clock === undefined ? this.#coarseNow : this.#clock();
    let mine = this.#pending.get(principal);
    const seen = mine?.byName.get(resourceName);
    if (seen !== undefined) {
      for (const p of seen) {
        if (p.operation === operation && p.resourceType === resourceType && p.scope === scope && p.allowed === allowed) {
          p.count++;
          p.lastSeenMs = now;
          return;
        }
      }
    }
    const { maxEntries, maxEntriesPerPrincipal } = this.#o.config;
    if (this.#pendingSize >= maxEntries || (mine?.size ?? 0) >= maxEntriesPerPrincipal) {
      this.#droppedInBuffer++;
      this.#flushSoon();
      return;
    }
    if (mine === undefined) {
      mine = { byName: new Map(), size: 0 };
      this.#pending.set(principal, mine);
    }
    const tuple = { principal, operation, resourceType, resourceName, scope, allowed, firstSeenMs: now, lastSeenMs: now, count: 1 };
    if (seen === undefined) mine.byName.set(resourceName, [tuple]);
    else seen.push(tuple);
    mine.size++;
    this.#pendingSize++;
  }

  /** Logins come with the security events (the broker's fan-out): `authentication-succeeded`. */
  emit(event: SecurityEvent): void {
    if (event.type !== 'authentication-succeeded' || this.#closed) return;
    const now = this.#clock?.() ?? Date.now();
    // `remote` is `address:port`; the address is what the review shows.
    const address = event.remote.slice(0, Math.max(0, event.remote.lastIndexOf(':'))) || event.remote;
    const seen = this.#logins.get(event.principal);
    if (seen !== undefined) {
      seen.count++;
      seen.lastSeenMs = now;
      seen.lastAddress = address;
      seen.lastMechanism = event.mechanism;
      return;
    }
    if (this.#logins.size >= this.#o.config.maxPrincipals) {
      this.#droppedInBuffer++;
      this.#flushSoon();
      return;
    }
    this.#logins.set(event.principal, { principal: event.principal, firstSeenMs: now, lastSeenMs: now, count: 1, lastAddress: address, lastMechanism: event.mechanism });
  }

  /**
   * Writes what was observed since the last write, in one transaction; nothing happens to the buffer
   * when the write fails (a full disk): it is tried again at the next interval, still bounded.
   */
  flush(): void {
    if (this.#pendingSize === 0 && this.#logins.size === 0 && this.#droppedInBuffer === 0) return;
    this.#lastFlushAt = performance.now();
    const access: ObservedAccess[] = [];
    for (const mine of this.#pending.values()) for (const tuples of mine.byName.values()) access.push(...tuples);
    const logins: ObservedLogin[] = [...this.#logins.values()];
    let result: { dropped: number; entries: number };
    try {
      result = this.#o.store.write({ access, logins, droppedBeforeWrite: this.#droppedInBuffer }, this.#o.config);
    } catch (err) {
      if (!this.#failing) this.#o.logger.error({ err: err instanceof Error ? err.message : String(err) }, 'access log: cannot write the observed access to the metadata store; retrying at the next interval');
      this.#failing = true;
      return;
    }
    this.#failing = false;
    this.#pending.clear();
    this.#pendingSize = 0;
    this.#logins.clear();
    this.#droppedInBuffer = 0;
    this.#entries = result.entries;
    if (result.dropped > 0) {
      this.#dropped += result.dropped;
      if (!this.#warned) {
        this.#warned = true;
        const { maxEntries, maxEntriesPerPrincipal, maxPrincipals } = this.#o.config;
        this.#o.logger.warn(
          { dropped: result.dropped, maxEntries, maxEntriesPerPrincipal, maxPrincipals },
          'access log: at its bounds, the least recently seen observations are being dropped (reported once; see parapet_access_log_dropped_total); raise accessLog.maxEntries / maxEntriesPerPrincipal if the advisor should see more',
        );
      }
    }
  }

  /** What was observed, written first: of one principal (or all), last seen at or after `sinceMs`. */
  access(principal: string | null, sinceMs = 0): ObservedAccess[] {
    this.flush();
    // The store keeps what this class wrote: Kafka's ACL codes and a scope of ACCESS_SCOPES.
    return this.#o.store.access(principal, sinceMs) as ObservedAccess[];
  }

  logins(): ObservedLogin[] {
    this.flush();
    return this.#o.store.logins();
  }

  /** Since when it records and how much it dropped, the buffer's drops written first. */
  state(): AccessLogState {
    this.flush();
    return this.#o.store.state();
  }

  stats(): AccessLogStats {
    return { entries: this.#entries, dropped: this.#dropped + this.#droppedInBuffer };
  }

  /** The last write; nothing is recorded after it. */
  close(): void {
    clearInterval(this.#timer);
    clearTimeout(this.#soon);
    this.flush();
    this.#closed = true;
  }

  /**
   * A full buffer is written early, so that what is new replaces the least recently seen in the store
   * rather than being dropped; at most once a second, so that a client naming endless resources costs
   * one bounded write a second.
   */
  #flushSoon(): void {
    if (this.#soon !== undefined || this.#timer === undefined) return;
    const wait = Math.max(0, 1000 - (performance.now() - this.#lastFlushAt));
    this.#soon = setTimeout(() => {
      this.#soon = undefined;
      this.flush();
    }, wait);
    this.#soon.unref();
  }
}
