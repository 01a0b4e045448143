import type { KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { unsealEntriesInPlace, type Unsealed } from './unseal-entries.js';
import type { BatchPlace } from './sealed-batch.js';
import type { UnsealReply, UnsealRequest } from './unseal-worker.js';

/**
 * Opening sealed batches costs one AES-GCM pass over every byte a consumer fetches, which on the event
 * loop would cost as much CPU as the rest of a fetch (docs/performance.md). Reads big enough to be
 * worth a hop go to worker threads, on machines with cores to spare: the read's buffer is
 * transferred (not copied) to a worker, opened there in place and transferred back, so the event loop
 * only sends and receives. Smaller reads, and every read where the machine has a single core, are
 * opened on the event loop. A read waits for no other: jobs go to the worker with the fewest pending.
 *
 * What a job holds is what the fetch read, which the response budget already bounds.
 */

/** Reads below this are opened on the event loop: a thread hop costs tens of microseconds. */
export const MIN_OFFLOADED_BYTES = 64 * 1024;

/**
 * Workers only where cores are left over: the event loop, TLS and the collector keep two busy, and on
 * a 2-core machine a worker competed with them and lowered consume throughput (docs/performance.md).
 */
export function defaultUnsealThreads(cores = availableParallelism()): number {
  return cores >= 4 ? Math.min(4, cores - 2) : 0;
}

interface Pending {
  resolve(result: { buffer: Buffer; unsealed: Unsealed }): void;
  reject(err: Error): void;
  length: number;
}

interface PoolWorker {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
}

export class UnsealPool {
  readonly #workers: PoolWorker[] = [];
  #nextJob = 0;
  #closed = false;

  /** `threads`: how many workers; 0 opens everything on the event loop. See {@link defaultUnsealThreads}. */
  constructor(threads = defaultUnsealThreads()) {
    for (let i = 0; i < threads; i++) this.#workers.push(this.#spawn());
  }

  get threads(): number {
    return this.#workers.length;
  }

  #spawn(): PoolWorker {
    const worker = new Worker(new URL('./unseal-worker.js', import.meta.url));
    const entry: PoolWorker = { worker, pending: new Map() };
    worker.on('message', (reply: UnsealReply) => {
      const job = entry.pending.get(reply.job);
      if (job === undefined) return;
      entry.pending.delete(reply.job);
      if (entry.pending.size === 0) worker.unref();
      if ('error' in reply.result) job.reject(new Error(`opening sealed batches failed in a worker: ${reply.result.error}`));
      else job.resolve({ buffer: Buffer.from(reply.buffer, 0, job.length), unsealed: reply.result });
    });
    const fail = (err: Error) => {
      for (const job of entry.pending.values()) job.reject(err);
      entry.pending.clear();
      // A worker that died is replaced, so that later reads are served.
      const at = this.#workers.indexOf(entry);
      if (at >= 0 && !this.#closed) this.#workers[at] = this.#spawn();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (!this.#closed) fail(new Error(`an unseal worker exited (code ${code})`));
    });
    // Idle, never what keeps a process alive (the broker closes the pool; a failed start may not);
    // referenced while it has jobs. After the listeners: adding a 'message' listener refs it again.
    worker.unref();
    return entry;
  }

  /**
   * Opens the sealed entries of `buf` (a read of whole entries) with `keys`, in place; resolves to the
   * buffer that holds the result (`buf` itself, or the same bytes back from a worker: `buf` must not be
   * used after the call) and how much of it was opened.
   */
  async unseal(buf: Buffer, keys: ReadonlyMap<number, KeyObject>, place: BatchPlace): Promise<{ buffer: Buffer; unsealed: Unsealed }> {
    const target = this.#leastBusy();
    // Only a buffer that owns its whole ArrayBuffer can be transferred: one from a pool or a large
    // allocation, never a slice of Node's shared slab (allocations below 4 KiB).
    const transferable = buf.byteOffset === 0 && buf.length >= MIN_OFFLOADED_BYTES && !(buf.buffer instanceof SharedArrayBuffer);
    if (target === undefined || !transferable) return { buffer: buf, unsealed: unsealEntriesInPlace(buf, keys, place) };
    const job = this.#nextJob++;
    const request: UnsealRequest = { job, buffer: buf.buffer, length: buf.length, keys: [...keys], topicId: place.topicId, partition: place.partition };
    return new Promise((resolve, reject) => {
      target.pending.set(job, { resolve, reject, length: buf.length });
      target.worker.ref();
      target.worker.postMessage(request, [request.buffer]);
    });
  }

  #leastBusy(): PoolWorker | undefined {
    let best: PoolWorker | undefined;
    for (const w of this.#workers) if (best === undefined || w.pending.size < best.pending.size) best = w;
    return best;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const workers = this.#workers.splice(0);
    for (const w of workers) for (const job of w.pending.values()) job.reject(new Error('the broker is closing'));
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }
}
