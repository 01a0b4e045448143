/** Something with data that an fsync makes durable. */
export interface Flushable {
  flush(): Promise<void>;
}

/**
 * Group commit for acks=all: every caller of {@link sync} waits for one fsync round that starts after
 * its call, and one round syncs everything written by all callers so far. While a round runs, new
 * callers queue for the next one, so N concurrent producers share one fsync per round instead of
 * paying N (the disk's fsync latency, not the number of producers, bounds throughput).
 */
export class GroupCommit {
  readonly #dirty = new Set<Flushable>();
  #waiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  #running = false;

  /** Records that `target` has data written since its last flush. */
  markDirty(target: Flushable): void {
    this.#dirty.add(target);
  }

  /** Resolves once everything marked dirty before this call is durable; rejects with the fsync error. */
  sync(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      if (!this.#running) void this.#run();
    });
  }

  async #run(): Promise<void> {
    this.#running = true;
    while (this.#waiters.length > 0) {
      const waiters = this.#waiters;
      this.#waiters = [];
      const targets = [...this.#dirty];
      this.#dirty.clear();
      const results = await Promise.allSettled(targets.map((t) => t.flush()));
      const failure = results.find((r) => r.status === 'rejected');
      if (failure === undefined) {
        for (const w of waiters) w.resolve();
      } else {
        // A failed fsync leaves those writes of unknown durability: nobody in this round gets a success.
        for (const t of targets) this.#dirty.add(t);
        for (const w of waiters) w.reject(failure.reason);
      }
    }
    this.#running = false;
  }
}
