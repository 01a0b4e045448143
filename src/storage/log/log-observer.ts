import type { LogFs } from './log-fs.js';

/**
 * What the logs report as they work, for metrics (src/metrics): injected, so that storage knows
 * nothing of Prometheus and several brokers in one process report apart. Every call is synchronous
 * and must not throw.
 */
export interface LogObserver {
  /** A batch of `bytes` was appended to a partition of `topic`. */
  appended(topic: string, bytes: number): void;
  /** One fsync of a log file took `seconds`; `failed` when it threw (the partition goes offline). */
  fsync(seconds: number, failed: boolean): void;
  /** A file system error failed `operation` (append, open, retention…) with `code` (ENOSPC, EIO…). */
  storageError(operation: string, code: string): void;
  /** A topic's logs were deleted. */
  topicDeleted(topic: string): void;
  /**
   * The compaction cleaner finished with a partition: `cleaned` (its rolled segments went from
   * `bytesBefore` to `bytesAfter`, `recordsRemoved` records fewer), `interrupted` or `refused`.
   */
  cleaning?(outcome: 'cleaned' | 'interrupted' | 'refused', bytesBefore: number, bytesAfter: number, recordsRemoved: number): void;
}

/** `fs` with each fdatasync of a log file timed and reported to `observer`. */
export function timedSyncFs(fs: LogFs, observer: LogObserver): LogFs {
  return {
    ...fs,
    fdatasync: async (fd) => {
      const start = performance.now();
      try {
        await fs.fdatasync(fd);
      } catch (err) {
        observer.fsync((performance.now() - start) / 1000, true);
        throw err;
      }
      observer.fsync((performance.now() - start) / 1000, false);
    },
  };
}
