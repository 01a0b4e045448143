import type { SecurityEvents } from '../../security/events.js';
import type { CloseReason } from '../../close-reasons.js';

/** Refusals of one address are reported once per interval, the rest summed. */
export const DEFAULT_REPORT_INTERVAL_MS = 10_000;
/** Addresses reported apart in one interval; refusals of further addresses are summed under `*`. */
export const DEFAULT_MAX_REPORTED_ADDRESSES = 256;

/** The source `*`: refusals of addresses beyond the table, summed. */
export const OTHER_ADDRESSES = '*';

/** What the reporter sums: the admission's refusals, and the deadlines an attacker runs into by the thousand. */
export type ReportedRefusal = CloseReason | 'TLS_HANDSHAKE_FAILED';

interface Folded {
  readonly address: string;
  /** Refusals by reason since the first one of the interval, not reported yet. */
  readonly counts: Map<ReportedRefusal, number>;
}

/**
 * Reports the listener's refusals as security events without letting an attacker choose how many: a
 * storm refused on accept is thousands of connections a second (and a slowloris thousands of TLS
 * handshakes or logins that miss their deadline every 10 s), and one log line (and one audit event)
 * each would be a second attack on the disk. The first refusal of each address in an interval is
 * reported with its detail; the others are counted and reported at the end of the interval as one
 * event per address and reason, whose `repeated` says how many it stands for (so the refusal counter
 * metric still counts every one). Memory is bounded: beyond `maxAddresses` addresses in an interval,
 * refusals are summed under the source `*`.
 */
export class RefusalReporter {
  readonly #events: SecurityEvents;
  readonly #intervalMs: number;
  readonly #maxAddresses: number;
  readonly #folded = new Map<string, Folded>();
  #timer: NodeJS.Timeout | undefined;

  constructor(events: SecurityEvents, options: { readonly intervalMs?: number; readonly maxAddresses?: number } = {}) {
    this.#events = events;
    this.#intervalMs = options.intervalMs ?? DEFAULT_REPORT_INTERVAL_MS;
    this.#maxAddresses = options.maxAddresses ?? DEFAULT_MAX_REPORTED_ADDRESSES;
  }

  /** A connection from `address` (its `remote`, address and port) was refused. */
  refused(address: string, remote: string, reason: ReportedRefusal, detail: string): void {
    // A failed TLS handshake says why (an old protocol, no client certificate, a forged one): each
    // kind is reported apart, as an operator tells a misconfigured client from an attack by it.
    const key = reason === 'TLS_HANDSHAKE_FAILED' ? `${address} ${reason} ${detail}` : address;
    const known = this.#folded.get(key);
    if (known !== undefined) {
      known.counts.set(reason, (known.counts.get(reason) ?? 0) + 1);
      return;
    }
    if (this.#folded.size >= this.#maxAddresses) {
      const other: Folded = this.#folded.get(OTHER_ADDRESSES) ?? { address: OTHER_ADDRESSES, counts: new Map<ReportedRefusal, number>() };
      other.counts.set(reason, (other.counts.get(reason) ?? 0) + 1);
      this.#folded.set(OTHER_ADDRESSES, other);
      this.#schedule();
      return;
    }
    this.#folded.set(key, { address, counts: new Map<ReportedRefusal, number>() });
    this.#events.emit({ type: 'connection-refused', remote, reason, detail });
    this.#schedule();
  }

  /** Reports what was folded since the last flush and forgets the addresses (called every interval). */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const { address, counts } of this.#folded.values()) {
      for (const [reason, n] of counts) {
        const from = address === OTHER_ADDRESSES ? 'addresses beyond the first reported ones' : 'the address';
        this.#events.emit({
          type: 'connection-refused',
          remote: address === OTHER_ADDRESSES ? OTHER_ADDRESSES : `${address}:0`,
          reason,
          detail: `${n} connection(s) from ${from} refused (${reason}) in the last ${this.#intervalMs / 1000} s, summed into this event`,
          repeated: n - 1,
        });
      }
    }
    this.#folded.clear();
  }

  /** Flushes and stops the timer (the listener closes). */
  close(): void {
    this.flush();
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.flush();
    }, this.#intervalMs).unref();
  }
}
