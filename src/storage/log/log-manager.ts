import { join } from 'node:path';
import type { Logger } from '../../logger.js';
import { GroupCommit } from './group-commit.js';
import { nodeLogFs, type LogFs } from './log-fs.js';
import { PartitionLog, type BatchToAppend, type LogConfig } from './partition-log.js';

export interface LogManagerOptions {
  readonly dataDir: string;
  readonly logger: Logger;
  /** The effective log configs of a topic (its overrides over the defaults), read at each use. */
  readonly configFor: (topic: string) => LogConfig;
  readonly fs?: LogFs;
  readonly clock?: () => number;
  /** Buffers for reads sent to consumers, e.g. from a pool the connections give them back to. */
  readonly allocate?: (size: number) => Buffer;
}

/** A topic as the log manager needs it. */
export interface TopicLogs {
  readonly name: string;
  readonly id: string;
  readonly partitions: number;
}

/** Suffix of a partition directory renamed for deletion; leftovers are removed at start-up. */
const DELETED_SUFFIX = '.deleted';

/**
 * All partition logs of the broker under `<dataDir>/logs/<topic>-<partition>/`, with one group commit
 * shared by every partition (acks=all producers on different partitions share fsync rounds) and a
 * notification when data arrives (for long-polling fetches).
 */
export class LogManager {
  readonly #o: LogManagerOptions;
  readonly #fs: LogFs;
  readonly #clock: () => number;
  readonly #dir: string;
  readonly #logs = new Map<string, PartitionLog[]>();
  readonly #groupCommit = new GroupCommit();
  /** Who waits for appends to each partition (long-polling fetches); a log is here only while watched. */
  readonly #watchers = new Map<PartitionLog, Set<() => void>>();

  constructor(options: LogManagerOptions) {
    this.#o = options;
    this.#fs = options.fs ?? nodeLogFs;
    this.#clock = options.clock ?? Date.now;
    this.#dir = join(options.dataDir, 'logs');
    if (!this.#fs.existsSync(this.#dir)) {
      this.#fs.mkdirSync(this.#dir);
      this.#fs.fsyncDir(options.dataDir);
    }
    for (const name of this.#fs.readdirSync(this.#dir)) {
      if (name.endsWith(DELETED_SUFFIX)) this.#fs.rmSync(join(this.#dir, name));
    }
  }

  /** Opens (creating where missing) the logs of every partition of `topic`; returns them. */
  openTopic(topic: TopicLogs): readonly PartitionLog[] {
    const logs = this.#logs.get(topic.name) ?? [];
    for (let partition = logs.length; partition < topic.partitions; partition++) {
      const deps = { fs: this.#fs, logger: this.#o.logger, clock: this.#clock, ...(this.#o.allocate === undefined ? {} : { allocate: this.#o.allocate }) };
      logs.push(
        PartitionLog.open(deps, join(this.#dir, `${topic.name}-${partition}`), { topic: topic.name, partition, topicId: topic.id }, () =>
          this.#o.configFor(topic.name),
        ),
      );
    }
    this.#logs.set(topic.name, logs);
    return logs;
  }

  get(topic: string, partition: number): PartitionLog | undefined {
    return this.#logs.get(topic)?.[partition];
  }

  /** Appends a validated batch; the data is readable at once and durable after {@link sync}. */
  append(log: PartitionLog, batch: BatchToAppend): bigint {
    const baseOffset = log.append(batch);
    this.#groupCommit.markDirty(log);
    this.#notify(log);
    return baseOffset;
  }

  /** Resolves when everything appended before the call is on disk (fsync), sharing rounds with other callers. */
  sync(): Promise<void> {
    return this.#groupCommit.sync();
  }

  /**
   * Calls `listener` after every append to `log`, and once when the log is deleted; returns the
   * function that stops it. An append calls only the watchers of its own partition, so its cost is
   * that of the fetches waiting on that partition, whatever waits elsewhere.
   */
  watch(log: PartitionLog, listener: () => void): () => void {
    let listeners = this.#watchers.get(log);
    if (listeners === undefined) {
      listeners = new Set();
      this.#watchers.set(log, listeners);
    }
    listeners.add(listener);
    return () => {
      const current = this.#watchers.get(log);
      if (current === undefined) return;
      current.delete(listener);
      if (current.size === 0) this.#watchers.delete(log);
    };
  }

  /** Listeners watching appends, over every partition (diagnostics and tests). */
  get watcherCount(): number {
    let count = 0;
    for (const listeners of this.#watchers.values()) count += listeners.size;
    return count;
  }

  #notify(log: PartitionLog): void {
    const listeners = this.#watchers.get(log);
    if (listeners === undefined) return;
    // A copy: a listener may stop watching (or stop others) while this runs.
    for (const listener of [...listeners]) listener();
  }

  /**
   * Removes a topic's logs: the directories are renamed at once (so a topic re-created with the same
   * name starts empty) and deleted after their files are closed.
   */
  async deleteTopic(name: string): Promise<void> {
    const logs = this.#logs.get(name) ?? [];
    this.#logs.delete(name);
    // Fetches waiting on these partitions answer now (UNKNOWN_TOPIC_OR_PARTITION) instead of at max_wait.
    for (const log of logs) this.#notify(log);
    const stamp = `${this.#clock()}-${Math.random().toString(36).slice(2, 8)}`;
    await Promise.all(
      logs.map(async (log) => {
        const doomed = `${log.dir}.${stamp}${DELETED_SUFFIX}`;
        this.#fs.renameSync(log.dir, doomed);
        // Removes `doomed`, never `log.dir`: the topic may be re-created there while the files close.
        await log.delete(doomed);
      }),
    );
    this.#fs.fsyncDir(this.#dir);
  }

  /** Applies retention to every partition; returns the number of segments deleted. */
  async enforceRetention(): Promise<number> {
    let deleted = 0;
    for (const logs of this.#logs.values()) for (const log of logs) deleted += await log.enforceRetention();
    return deleted;
  }

  /** Flushes and closes every log (graceful shutdown). */
  async close(): Promise<void> {
    const all = [...this.#logs.values()].flat();
    this.#logs.clear();
    await Promise.all(all.map((log) => log.close()));
  }
}
