import type { LogPosition, LogStore, PartitionView } from '../../../storage/log-store.js';

/** One partition of a waiting fetch: where its data starts and how many bytes of it count. */
export interface WatchedPartition {
  readonly topic: string;
  readonly partition: number;
  readonly log: PartitionView;
  readonly from: LogPosition;
  /** At most this much of the partition counts toward min_bytes (the request's partition_max_bytes). */
  readonly maxBytes: number;
  /** Bytes available when the wait started, counted up to `maxBytes`. */
  readonly counted: number;
  /** A read_committed fetch: only the bytes below the last stable offset count (a marker moving it wakes the fetch). */
  readonly stableOnly?: boolean;
}

/** Why a wait ended: enough data, max_wait passed, the client went away, or the broker is stopping. */
export type WaitOutcome = 'ready' | 'timeout' | 'closed' | 'shutdown';

/**
 * The long-polling fetches of the broker (Kafka's fetch purgatory). A waiting fetch holds no data: it
 * holds its partitions' positions and a byte count, and reads only once it answers. Each append wakes
 * only the fetches waiting on that partition, and costs each of them one subtraction; a fetch whose
 * connection closes is dropped at once, never woken later; at shutdown every wait ends together.
 * A connection handles one request at a time and a Fetch never lets the next one start early, so there
 * is at most one waiting fetch per connection.
 */
export class WaitingFetches {
  readonly #logs: LogStore;
  readonly #shutdown: AbortSignal;
  readonly #waiting = new Set<(outcome: WaitOutcome) => void>();

  constructor(logs: LogStore, shutdown: AbortSignal) {
    this.#logs = logs;
    this.#shutdown = shutdown;
    // One listener for all of them, rather than one per fetch on the broker-wide signal.
    shutdown.addEventListener('abort', () => {
      for (const finish of [...this.#waiting]) finish('shutdown');
    });
  }

  /** Fetches waiting now. */
  get size(): number {
    return this.#waiting.size;
  }

  /**
   * Waits until the partitions hold `minBytes` between them (each counted up to its `maxBytes`),
   * `timeoutMs` passes, `closed` aborts (the client's connection) or the broker shuts down. A watched
   * partition whose topic is deleted ends the wait too: the answer is its error.
   */
  wait(partitions: readonly WatchedPartition[], minBytes: number, timeoutMs: number, closed: AbortSignal): Promise<WaitOutcome> {
    if (this.#shutdown.aborted) return Promise.resolve('shutdown');
    if (closed.aborted) return Promise.resolve('closed');
    return new Promise((resolve) => {
      let bytes = 0;
      const stops: (() => void)[] = [];
      const finish = (outcome: WaitOutcome) => {
        if (!this.#waiting.delete(finish)) return;
        clearTimeout(timer);
        closed.removeEventListener('abort', onClosed);
        for (const stop of stops) stop();
        resolve(outcome);
      };
      const onClosed = () => {
        finish('closed');
      };
      for (const p of partitions) {
        bytes += p.counted;
        let counted = p.counted;
        stops.push(
          this.#logs.watch(p.log, () => {
            const current = this.#logs.lookup(p.topic, p.partition);
            if (current.kind !== 'log' || current.log !== p.log) {
              finish('ready');
              return;
            }
            const now = p.log.bytesAfter(p.from, p.maxBytes, p.stableOnly === true);
            bytes += now - counted;
            counted = now;
            if (bytes >= minBytes) finish('ready');
          }),
        );
      }
      const timer = setTimeout(() => {
        finish('timeout');
      }, timeoutMs);
      closed.addEventListener('abort', onClosed);
      this.#waiting.add(finish);
    });
  }
}
