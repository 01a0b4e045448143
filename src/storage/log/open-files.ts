import type { LogFs } from './log-fs.js';

/**
 * The log's open file descriptors, bounded: an LRU of segment files. A partition that nobody reads or
 * writes holds no descriptor, so the number of partitions and segments on disk does not decide how many
 * files the process keeps open (Kafka keeps every segment open, which is why its operators size
 * `ulimit -n` by partition count; running out takes a Kafka log directory offline).
 *
 * One rule is never broken to make room: a file with writes not yet fsynced stays open until a sync
 * succeeds. After a failed writeback the kernel reports the error to descriptors that were open, and
 * a closed, reopened file may never see it (the "fsyncgate" discussion of 2018), so closing such a file
 * could turn a lost write into an acknowledged one. When only such files are left to close, the cache
 * asks for a group commit ({@link OpenFilesOptions.onPressure}) and refuses to open more until it has
 * made some of them closable: the request fails with a retriable error instead of the process running
 * out of descriptors.
 */
export interface OpenFilesOptions {
  readonly fs: LogFs;
  /** Most descriptors open at once (Infinity: no bound, for tools and tests of a single log). */
  readonly maxOpen: number;
  /** Milliseconds, for the idle sweep. */
  readonly clock?: () => number;
  /**
   * Called when files with unsynced writes fill most of the cache: an fsync of them (the group commit)
   * makes them closable. Called again only after {@link OpenFiles.relieved}.
   */
  readonly onPressure?: () => void;
}

/** The code of the error thrown when every open file is in use or unsynced (see {@link OpenFiles}). */
export const LOG_FILES_BUSY = 'ELOGFILESBUSY';

/** How an open file is reopened after an eviction: never with the flags that created (and truncated) it. */
const REOPEN_FLAGS = 'r+';

/** Unsynced files may fill this share of the cache before a group commit is asked for. */
const PRESSURE_SHARE = 0.75;

interface Slot {
  readonly path: string;
  fd: number | null;
  /** Uses in progress: a synchronous call, or an fsync awaiting the thread pool. */
  pins: number;
  /** Written since its last successful fsync: kept open (see the class comment). */
  unsynced: boolean;
  /** Closed by its owner: never reopened; the descriptor closes once the last use ends. */
  closed: boolean;
  lastUse: number;
}

export class OpenFiles {
  readonly #fs: LogFs;
  readonly #max: number;
  readonly #clock: () => number;
  readonly #onPressure: () => void;
  /** Slots with an open descriptor, least recently used first (a Map keeps insertion order). */
  readonly #open = new Map<Slot, true>();
  #unsynced = 0;
  #pressureRaised = false;
  #evictions = 0;
  #reopens = 0;

  constructor(options: OpenFilesOptions) {
    if (!(options.maxOpen >= 1)) throw new RangeError(`maxOpen must be at least 1, not ${options.maxOpen}`);
    this.#fs = options.fs;
    this.#max = options.maxOpen;
    this.#clock = options.clock ?? Date.now;
    this.#onPressure = options.onPressure ?? (() => undefined);
  }

  get maxOpen(): number {
    return this.#max;
  }
  /** Descriptors open now. */
  get openCount(): number {
    return this.#open.size;
  }
  /** Open files that may not be closed yet (unsynced writes). */
  get unsyncedCount(): number {
    return this.#unsynced;
  }
  /** Descriptors closed to make room, and files opened again after that, since the start. */
  get stats(): { evictions: number; reopens: number } {
    return { evictions: this.#evictions, reopens: this.#reopens };
  }

  /**
   * Opens `path` with `flags` (`'w+'` to create a segment) and returns its handle; later reopens after
   * an eviction use `'r+'`. Throws the file system's error, or {@link LOG_FILES_BUSY}.
   */
  open(path: string, flags: string, mode?: number): LogFile {
    const slot: Slot = { path, fd: null, pins: 0, unsynced: false, closed: false, lastUse: this.#clock() };
    slot.fd = this.#openFd(path, flags, mode);
    this.#open.set(slot, true);
    return new LogFile(this, slot);
  }

  /**
   * The descriptor of `slot`, reopened if it was evicted; pinned until {@link release}. `touch`: a read
   * or write makes the file the most recently used; an fsync does not (a group commit is no sign that
   * the partition is in use, and must not keep an idle file open).
   */
  acquire(slot: Slot, touch = true): number {
    if (slot.closed) throw Object.assign(new Error(`${slot.path} is closed`), { code: 'EBADF' });
    if (slot.fd !== null) {
      if (touch) {
        // Most recently used goes last.
        slot.lastUse = this.#clock();
        this.#open.delete(slot);
        this.#open.set(slot, true);
      }
    } else {
      slot.lastUse = this.#clock();
      slot.fd = this.#openFd(slot.path, REOPEN_FLAGS);
      this.#open.set(slot, true);
      this.#reopens++;
    }
    slot.pins++;
    return slot.fd;
  }

  release(slot: Slot): void {
    slot.pins--;
    if (slot.closed && slot.pins === 0) this.#closeFd(slot);
  }

  setUnsynced(slot: Slot, unsynced: boolean): void {
    if (slot.unsynced === unsynced || slot.fd === null) return;
    slot.unsynced = unsynced;
    this.#unsynced += unsynced ? 1 : -1;
    if (unsynced && this.#unsynced >= this.#max * PRESSURE_SHARE) this.#raisePressure();
  }

  /** The owner is done with the file: closed now, or when its last use ends. */
  close(slot: Slot): void {
    if (slot.closed) return;
    slot.closed = true;
    if (slot.pins === 0) this.#closeFd(slot);
  }

  /** A group commit asked for by {@link OpenFilesOptions.onPressure} has ended: pressure may be raised again. */
  relieved(): void {
    this.#pressureRaised = false;
  }

  /**
   * Closes the descriptors of files unused for `idleMs` (an idle partition holds none). Unsynced idle
   * files are left open and a group commit is asked for, after which the next sweep closes them.
   * Returns how many were closed.
   */
  closeIdle(idleMs: number): number {
    const cutoff = this.#clock() - idleMs;
    let closed = 0;
    let idleUnsynced = false;
    for (const slot of [...this.#open.keys()]) {
      if (slot.lastUse > cutoff) break;
      if (slot.unsynced) idleUnsynced = true;
      else if (slot.pins === 0) {
        this.#closeFd(slot);
        closed++;
      }
    }
    if (idleUnsynced) this.#raisePressure();
    return closed;
  }

  /**
   * Runs `fn`, which takes a descriptor for a moment (a directory listing, an index file written); when
   * the process is out of them, closes one of the cache's files and runs it once more.
   */
  yieldingDescriptor<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (!isOutOfDescriptors(err) || !this.#evictOne()) throw err;
      return fn();
    }
  }

  #raisePressure(): void {
    if (this.#pressureRaised) return;
    this.#pressureRaised = true;
    this.#onPressure();
  }

  /** Closes the least recently used file that may be closed; false when there is none. */
  #evictOne(): boolean {
    for (const slot of this.#open.keys()) {
      if (slot.pins === 0 && !slot.unsynced) {
        this.#closeFd(slot);
        this.#evictions++;
        return true;
      }
    }
    return false;
  }

  #openFd(path: string, flags: string, mode?: number): number {
    if (this.#open.size >= this.#max && !this.#evictOne()) {
      this.#raisePressure();
      throw Object.assign(
        new Error(
          `all ${this.#max} log files this broker may keep open (maxOpenLogFiles) have unsynced writes or are in use; ` +
            'the request may be retried once they are synced (raise maxOpenLogFiles if this persists)',
        ),
        { code: LOG_FILES_BUSY },
      );
    }
    try {
      return this.#fs.openSync(path, flags, mode);
    } catch (err) {
      // Out of descriptors in the process (sockets count too) or the system: give one of ours back
      // and try once more, so that the log yields before the request fails.
      if (!isOutOfDescriptors(err) || !this.#evictOne()) throw err;
      return this.#fs.openSync(path, flags, mode);
    }
  }

  #closeFd(slot: Slot): void {
    if (slot.fd === null) return;
    const fd = slot.fd;
    slot.fd = null;
    this.#open.delete(slot);
    if (slot.unsynced) {
      // Only an owner closing its file (topic deleted, log closed after a failed fsync) gets here.
      slot.unsynced = false;
      this.#unsynced--;
    }
    try {
      this.#fs.closeSync(fd);
    } catch {
      // The descriptor is released whatever close reports (Linux, POSIX 2024); the file holds no
      // unsynced writes (those are never closed here but by their owner), so nothing is lost.
    }
  }
}

/** One file of the log, whose descriptor the {@link OpenFiles} cache may close while it is not in use. */
export class LogFile {
  readonly #files: OpenFiles;
  readonly #slot: Slot;

  constructor(files: OpenFiles, slot: Slot) {
    this.#files = files;
    this.#slot = slot;
  }

  get path(): string {
    return this.#slot.path;
  }

  /** True while a descriptor is open (tests and diagnostics). */
  get isOpen(): boolean {
    return this.#slot.fd !== null;
  }

  /** Runs `fn` with the file's descriptor (reopened when evicted), which stays open during the call. */
  use<T>(fn: (fd: number) => T): T {
    const fd = this.#files.acquire(this.#slot);
    try {
      return fn(fd);
    } finally {
      this.#files.release(this.#slot);
    }
  }

  /**
   * As {@link use}, for an fsync on the thread pool: the descriptor stays open until it settles. Not a
   * use for the LRU: the file does not become recently used.
   */
  async syncWith<T>(fn: (fd: number) => Promise<T>): Promise<T> {
    const fd = this.#files.acquire(this.#slot, false);
    try {
      return await fn(fd);
    } finally {
      this.#files.release(this.#slot);
    }
  }

  /** Marks writes not yet fsynced (the file then stays open) or all of them synced. */
  set unsynced(value: boolean) {
    this.#files.setUnsynced(this.#slot, value);
  }

  close(): void {
    this.#files.close(this.#slot);
  }
}

/**
 * `fs` whose calls that take a descriptor for a moment (listings, small files, directory fsyncs) give
 * one of the cache's back and retry once when the process is out of descriptors: running out then
 * costs an evicted (and later reopened) segment file, not a failed request.
 */
export function descriptorYieldingFs(fs: LogFs, files: OpenFiles): LogFs {
  const yielding = <T>(fn: () => T): T => files.yieldingDescriptor(fn);
  return {
    ...fs,
    readdirSync: (path) => yielding(() => fs.readdirSync(path)),
    readFileSync: (path) => yielding(() => fs.readFileSync(path)),
    writeFileDurably: (path, data) => {
      yielding(() => {
        fs.writeFileDurably(path, data);
      });
    },
    fsyncDir: (path) => {
      yielding(() => {
        fs.fsyncDir(path);
      });
    },
    rmSync: (path) => {
      yielding(() => {
        fs.rmSync(path);
      });
    },
  };
}

/** EMFILE (the process's limit) or ENFILE (the system's). */
export function isOutOfDescriptors(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'EMFILE' || code === 'ENFILE';
}

/**
 * Out of descriptors, the process's, the system's or the log's own ({@link LOG_FILES_BUSY}): a
 * condition that passes once files are closed or synced. Only the operation that hit it fails, with a
 * retriable error; the partition stays online (unlike after a failed fsync).
 */
export function isTransientIoError(err: unknown): boolean {
  return isOutOfDescriptors(err) || (err as { code?: unknown } | null)?.code === LOG_FILES_BUSY;
}
