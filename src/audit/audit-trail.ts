import type { KeyObject } from 'node:crypto';
import { basename, join } from 'node:path';
import type { AuditEvent } from './audit-event.js';
import { auditFileName, auditFileNames, firstSeqOfName, writeHead, type AuditHead } from './audit-files.js';
import { nodeAuditFs, syncDirectory, type AuditFileHandle, type AuditFs } from './audit-fs.js';
import { formatCheckpointLine, formatEventLine, lineHash, signCheckpoint } from './chain.js';
import { keyId } from './signing-key.js';
import { recoverTrailEnd } from './trail-recovery.js';
import { eventsDroppedEvent, tailRepairedEvent } from './trail-events.js';

/**
 * The writer of the audit trail (docs/security/audit.md). Events are queued by record() and written
 * in group commits: one write of every queued line, one fsync, then the next batch, so that auditing
 * costs one fsync per batch rather than per event. Each line is chained to the one before; a signed
 * checkpoint closes every interval that wrote something, every file and the trail itself.
 *
 * A failed write or fsync (ENOSPC, EIO) makes the trail not writable (the broker refuses what must be
 * audited), keeps the lines queued and retries them; a line is never left half-written and then
 * continued: the file is cut back to the last good byte before the retry.
 */

export interface AuditTrailOptions {
  readonly dir: string;
  readonly signingKey: KeyObject;
  readonly clock?: () => number;
  readonly fs?: AuditFs;
  /** A file is closed with a checkpoint, and a new one started, before it would grow past this. */
  readonly maxFileBytes?: number;
  /** Retention: at most this many files (the active one included); the oldest go first. */
  readonly maxFiles?: number;
  /** Retention: files last written longer ago than this are deleted (never the active one). */
  readonly maxAgeMs?: number;
  readonly checkpointIntervalMs?: number;
  /** Events waiting to be written, at most; more are dropped and counted. */
  readonly maxQueuedEvents?: number;
  /** The longest wait between retries after a failed write. */
  readonly retryMaxMs?: number;
  /** Each batch's lines, after their fsync. */
  readonly onWritten?: (lines: readonly string[]) => void;
  readonly onFault?: (err: Error) => void;
}

export const DEFAULT_AUDIT_TRAIL = {
  maxFileBytes: 64 * 1024 * 1024,
  maxFiles: 50,
  maxAgeMs: 90 * 24 * 60 * 60 * 1000,
  checkpointIntervalMs: 5000,
  maxQueuedEvents: 100_000,
  retryMaxMs: 1000,
} as const;

/** A flush() whose lines could not be written (the cause is the file system's error). */
export class AuditWriteError extends Error {
  override name = 'AuditWriteError';
}

/** A batch composed: its lines are fixed (seq and prev given) until they are written. */
interface Batch {
  readonly lines: string[];
  readonly bytes: Buffer;
  /** The newest ticket of an event in it (0: none, a checkpoint alone). */
  readonly ticket: number;
  readonly head?: AuditHead;
  /** Its last line closes the file. */
  readonly rotate: boolean;
}

interface Queued {
  readonly event: AuditEvent;
  /** Its place in the order of record(): flush() waits for the tickets handed out before it. */
  readonly ticket: number;
}

interface Waiter {
  readonly ticket: number;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

/** Room kept at the end of a file for the checkpoint that closes it (a checkpoint line is about 230 bytes). */
const CHECKPOINT_RESERVE = 512;
/** A batch stops growing here, so that one write is not the whole of a long queue. */
const BATCH_BYTES = 1024 * 1024;
const FIRST_RETRY_MS = 50;

export class AuditTrail {
  readonly #dir: string;
  readonly #fs: AuditFs;
  readonly #key: KeyObject;
  readonly #keyId: string;
  readonly #clock: () => number;
  readonly #limits: Required<Pick<AuditTrailOptions, 'maxFileBytes' | 'maxFiles' | 'maxAgeMs' | 'checkpointIntervalMs' | 'maxQueuedEvents' | 'retryMaxMs'>>;
  readonly #onWritten: ((lines: readonly string[]) => void) | undefined;
  readonly #onFault: ((err: Error) => void) | undefined;

  #file: { name: string; handle: AuditFileHandle; size: number };
  #seq: number;
  #prev: string;
  #queue: Queued[] = [];
  #batch: Batch | undefined;
  #batchEvents = 0;
  #lastTicket = 0;
  #durableTicket = 0;
  #waiters: Waiter[] = [];
  #linesSinceCheckpoint = 0;
  #lastCheckpointAt: number;
  #checkpointWanted = false;
  #headOwed: AuditHead | undefined;
  #rotateOwed = false;
  /** A write may have left bytes after file.size: cut them before the next write. */
  #dirty = false;
  #dropped = 0;
  #fault: Error | undefined;
  #retryDelay: number = FIRST_RETRY_MS;
  #retryTimer: NodeJS.Timeout | undefined;
  readonly #checkpointTimer: NodeJS.Timeout;
  #running: Promise<void> | undefined;
  #closed = false;

  private constructor(options: AuditTrailOptions, fs: AuditFs, file: { name: string; handle: AuditFileHandle; size: number }, seq: number, prev: string) {
    this.#dir = options.dir;
    this.#fs = fs;
    this.#key = options.signingKey;
    this.#keyId = keyId(options.signingKey);
    this.#clock = options.clock ?? Date.now;
    this.#limits = {
      maxFileBytes: options.maxFileBytes ?? DEFAULT_AUDIT_TRAIL.maxFileBytes,
      maxFiles: Math.max(1, options.maxFiles ?? DEFAULT_AUDIT_TRAIL.maxFiles),
      maxAgeMs: options.maxAgeMs ?? DEFAULT_AUDIT_TRAIL.maxAgeMs,
      checkpointIntervalMs: options.checkpointIntervalMs ?? DEFAULT_AUDIT_TRAIL.checkpointIntervalMs,
      maxQueuedEvents: options.maxQueuedEvents ?? DEFAULT_AUDIT_TRAIL.maxQueuedEvents,
      retryMaxMs: options.retryMaxMs ?? DEFAULT_AUDIT_TRAIL.retryMaxMs,
    };
    this.#onWritten = options.onWritten;
    this.#onFault = options.onFault;
    this.#file = file;
    this.#seq = seq;
    this.#prev = prev;
    this.#lastCheckpointAt = this.#clock();
    // The interval's checkpoint is due even when nothing else is recorded after it.
    this.#checkpointTimer = setInterval(() => {
      if (this.#linesSinceCheckpoint > 0 || this.#queue.length > 0) this.#kick();
    }, this.#limits.checkpointIntervalMs);
    this.#checkpointTimer.unref();
  }

  /**
   * Opens the trail in `dir` (created 0700): continues the chain of its newest file. An incomplete
   * last line (a crash mid-write) is left as it is: the trail goes on in a new file whose first event
   * records where it was.
   */
  static async open(options: AuditTrailOptions): Promise<AuditTrail> {
    const fs = options.fs ?? nodeAuditFs;
    await fs.mkdir(options.dir, { recursive: true, mode: 0o700 });
    await fs.chmod(options.dir, 0o700);
    const end = await recoverTrailEnd(fs, options.dir);
    let file: { name: string; handle: AuditFileHandle; size: number };
    if (end.active !== undefined && end.repair === undefined) {
      file = { name: end.active.name, handle: await fs.open(join(options.dir, end.active.name), 'r+'), size: end.active.size };
    } else {
      file = await createFile(fs, options.dir, end.nextSeq);
    }
    const trail = new AuditTrail(options, fs, file, end.nextSeq, end.prev);
    try {
      // Lines a crash left unsigned are signed by the first checkpoint of this run, not left for ever.
      if (!end.signed) trail.#linesSinceCheckpoint = 1;
      if (end.repair !== undefined) trail.#enqueue(tailRepairedEvent(trail.#clock(), end.repair));
      await trail.#applyRetention();
      if (end.repair !== undefined) await trail.flush();
    } catch (err) {
      await trail.close().catch(() => undefined);
      throw err;
    }
    return trail;
  }

  /** Queues an event for the next batch. Never throws: a full queue or a closed trail drops it and counts it. */
  record(event: AuditEvent): void {
    if (this.#closed || this.#queued() >= this.#limits.maxQueuedEvents) {
      this.#dropped += 1;
      return;
    }
    this.#enqueue(event);
  }

  /** False while a write fails, while the queue is full, and once closed. */
  get writable(): boolean {
    return this.#fault === undefined && !this.#closed && this.#queued() < this.#limits.maxQueuedEvents;
  }

  /** How many events were dropped since the last `audit-events-dropped` event was queued. */
  get droppedEvents(): number {
    return this.#dropped;
  }

  /**
   * Resolves when every event recorded so far is written and fsynced. Rejects with an AuditWriteError
   * when they cannot be, now (the trail is failing) or by the next failed write; they stay queued.
   */
  flush(): Promise<void> {
    const ticket = this.#lastTicket;
    if (this.#durableTicket >= ticket) return Promise.resolve();
    if (this.#fault !== undefined) return Promise.reject(writeError(this.#fault));
    return new Promise((resolve, reject) => {
      this.#waiters.push({ ticket, resolve, reject });
      this.#kick();
    });
  }

  /** Writes a checkpoint now (when anything was written since the last one) and waits for it. */
  async checkpoint(): Promise<void> {
    if (this.#linesSinceCheckpoint === 0 && this.#queue.length === 0 && this.#batch === undefined) return;
    this.#checkpointWanted = true;
    this.#kick();
    await this.#idle();
    if (this.#fault !== undefined) throw writeError(this.#fault);
  }

  /** Writes a final checkpoint and closes the file; rejects when the last lines could not be written. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#checkpointTimer);
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    await this.#running;
    this.#fault = undefined;
    this.#checkpointWanted = this.#linesSinceCheckpoint > 0 || this.#queue.length > 0 || this.#batch !== undefined;
    const failed = await this.#run();
    await this.#file.handle.close();
    if (failed !== undefined) {
      this.#rejectWaiters(failed);
      throw writeError(failed);
    }
  }

  #queued(): number {
    return this.#queue.length + this.#batchEvents;
  }

  /** Every event gets the next ticket (the trail's own too): lines are written in ticket order. */
  #enqueue(event: AuditEvent): void {
    this.#lastTicket += 1;
    this.#queue.push({ event, ticket: this.#lastTicket });
    this.#kick();
  }

  /** Starts the write loop unless it runs or waits for a retry. */
  #kick(): void {
    if (this.#running !== undefined || this.#retryTimer !== undefined || this.#closed) return;
    this.#running = this.#run().then(() => {
      this.#running = undefined;
      // Work that arrived after the loop's last look and before this turn found it still running and
      // did not start it: start it now rather than leave it (and a flush() waiting on it) to the timer.
      if (this.#hasWork()) this.#kick();
    });
  }

  async #idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  /** Writes until there is nothing to write; returns the error that stopped it (a retry is scheduled). */
  async #run(): Promise<Error | undefined> {
    try {
      while (this.#hasWork()) await this.#step();
      return undefined;
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      this.#failed(error);
      return error;
    }
  }

  #hasWork(): boolean {
    return this.#batch !== undefined || this.#queue.length > 0 || this.#headOwed !== undefined || this.#rotateOwed || this.#checkpointDue();
  }

  #checkpointDue(): boolean {
    if (this.#linesSinceCheckpoint === 0) return false;
    return this.#checkpointWanted || this.#clock() - this.#lastCheckpointAt >= this.#limits.checkpointIntervalMs;
  }

  /** One batch: composed (or the failed one again), written, fsynced; then what it owes (head, rotation). */
  async #step(): Promise<void> {
    if (this.#rotateOwed) await this.#rotate();
    this.#batch ??= this.#compose();
    const batch = this.#batch;
    if (batch !== undefined) {
      if (this.#dirty) await this.#file.handle.truncate(this.#file.size);
      this.#dirty = true;
      let done = 0;
      while (done < batch.bytes.length) {
        done += (await this.#file.handle.write(batch.bytes, done, batch.bytes.length - done, this.#file.size + done)).bytesWritten;
      }
      await this.#file.handle.sync();
      this.#dirty = false;
      this.#file.size += batch.bytes.length;
      this.#batch = undefined;
      this.#batchEvents = 0;
      if (batch.head !== undefined) this.#headOwed = batch.head;
      if (batch.rotate) this.#rotateOwed = true;
      this.#written(batch);
    }
    if (this.#headOwed !== undefined) {
      await writeHead(this.#fs, this.#dir, this.#headOwed);
      this.#headOwed = undefined;
    }
    this.#resolveWaiters();
  }

  /** Waiters whose events are durable, and the head that names them when a checkpoint came with them. */
  #resolveWaiters(): void {
    if (this.#waiters.length === 0) return;
    const ready = this.#waiters.filter((w) => w.ticket <= this.#durableTicket);
    if (ready.length === 0) return;
    this.#waiters = this.#waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }

  /** The queued events as lines, up to a batch's size or the end of the file; a checkpoint when due. */
  #compose(): Batch | undefined {
    const lines: string[] = [];
    let bytes = 0;
    let taken = 0;
    let ticket = 0;
    let rotate = false;
    for (const q of this.#queue) {
      if (bytes >= BATCH_BYTES) break;
      const text = formatEventLine(this.#seq, this.#prev, q.event);
      const size = Buffer.byteLength(text) + 1;
      const fileBytes = this.#file.size + bytes;
      if (fileBytes > 0 && fileBytes + size + CHECKPOINT_RESERVE > this.#limits.maxFileBytes) {
        rotate = true;
        break;
      }
      lines.push(text);
      bytes += size;
      taken += 1;
      ticket = q.ticket;
      this.#advance(text);
    }
    if (taken > 0) this.#queue = taken === this.#queue.length ? [] : this.#queue.slice(taken);
    this.#batchEvents = taken;
    // A file always ends with a checkpoint, even one the interval's checkpoint just closed.
    if (rotate && this.#linesSinceCheckpoint === 0 && lines.length === 0 && this.#file.size > 0) {
      this.#rotateOwed = true;
      return undefined;
    }
    let head: AuditHead | undefined;
    if (rotate || this.#checkpointDue()) {
      const time = this.#clock();
      const checkpoint = signCheckpoint(this.#key, this.#keyId, this.#seq, this.#prev, time);
      head = { file: this.#file.name, seq: this.#seq, prev: this.#prev, checkpoint };
      const text = formatCheckpointLine(this.#seq, this.#prev, checkpoint);
      lines.push(text);
      this.#advance(text);
      this.#linesSinceCheckpoint = 0;
      this.#lastCheckpointAt = time;
      this.#checkpointWanted = false;
    }
    if (lines.length === 0) return undefined;
    return { lines, bytes: Buffer.from(`${lines.join('\n')}\n`, 'utf8'), ticket, ...(head === undefined ? {} : { head }), rotate };
  }

  #advance(text: string): void {
    this.#prev = lineHash(text);
    this.#seq += 1;
    this.#linesSinceCheckpoint += 1;
  }

  /** A batch is durable: waiters resolved, the fault over, dropped events owned up to. */
  #written(batch: Batch): void {
    if (batch.ticket > this.#durableTicket) this.#durableTicket = batch.ticket;
    if (this.#fault !== undefined) {
      this.#fault = undefined;
      this.#retryDelay = FIRST_RETRY_MS;
    }
    if (this.#dropped > 0 && this.#queued() < this.#limits.maxQueuedEvents) {
      // After what was queued before the drops: the order they were recorded in.
      const count = this.#dropped;
      this.#dropped = 0;
      this.#lastTicket += 1;
      this.#queue.push({ event: eventsDroppedEvent(this.#clock(), count), ticket: this.#lastTicket });
    }
    if (this.#onWritten !== undefined) {
      try {
        this.#onWritten(batch.lines);
      } catch (err) {
        this.#onFault?.(err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  #failed(err: Error): void {
    this.#fault = err;
    this.#rejectWaiters(err);
    try {
      this.#onFault?.(err);
    } catch {
      // A listener's own failure must not stop the retries.
    }
    if (this.#closed) return;
    const delay = Math.min(this.#retryDelay, this.#limits.retryMaxMs);
    this.#retryDelay = Math.min(this.#retryDelay * 2, this.#limits.retryMaxMs);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#kick();
    }, delay);
    // Retries do not keep a process alive on their own: close() is what ends a trail.
    this.#retryTimer.unref();
  }

  #rejectWaiters(err: Error): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.reject(writeError(err));
  }

  /** Closes the full file (its last line is a checkpoint) and starts the next one, chained to it. */
  async #rotate(): Promise<void> {
    const next = await createFile(this.#fs, this.#dir, this.#seq);
    const old = this.#file;
    this.#file = next;
    this.#rotateOwed = false;
    await old.handle.close().catch(() => undefined);
    try {
      await this.#applyRetention();
    } catch (err) {
      // Files kept too long are not a reason to refuse what must be audited: reported, tried again at the next rotation.
      this.#onFault?.(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Deletes the oldest files beyond maxFiles, and those not written for maxAgeMs; never the active one. */
  async #applyRetention(): Promise<void> {
    const names = auditFileNames(await this.#fs.readdir(this.#dir)).filter((n) => n !== this.#file.name && (firstSeqOfName(n) ?? 0) < this.#seq);
    let excess = names.length + 1 - this.#limits.maxFiles;
    const oldest = this.#clock() - this.#limits.maxAgeMs;
    let deleted = false;
    for (const name of names) {
      const path = join(this.#dir, name);
      // Oldest first, and only from the start: the files kept stay one unbroken chain.
      if (excess <= 0 && (await this.#fs.stat(path)).mtimeMs >= oldest) break;
      await this.#fs.unlink(path);
      excess -= 1;
      deleted = true;
    }
    if (deleted) await syncDirectory(this.#fs, this.#dir);
  }
}

async function createFile(fs: AuditFs, dir: string, firstSeq: number): Promise<{ name: string; handle: AuditFileHandle; size: number }> {
  const name = auditFileName(firstSeq);
  const path = join(dir, name);
  let handle: AuditFileHandle;
  try {
    handle = await fs.open(path, 'wx', 0o600);
  } catch (err) {
    // An attempt that failed after creating it (its directory fsync) left it empty: it is taken again.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || (await fs.stat(path)).size !== 0) throw err;
    handle = await fs.open(path, 'r+');
  }
  try {
    await syncDirectory(fs, dir);
  } catch (err) {
    await handle.close();
    throw err;
  }
  return { name: basename(name), handle, size: 0 };
}

function writeError(cause: Error): AuditWriteError {
  const code = (cause as NodeJS.ErrnoException).code;
  return new AuditWriteError(`the audit trail cannot write${code === undefined ? '' : ` (${code})`}: ${cause.message}`, { cause });
}

