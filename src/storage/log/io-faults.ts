import type { Logger } from '../../logger.js';
import { isTransientIoError } from './open-files.js';

/** One log line per error code per this many milliseconds; the others are counted into the next line. */
export const IO_FAULT_LOG_INTERVAL_MS = 10_000;

/** The errno-style code of a file system error (`EMFILE`, `ENOSPC`…), or undefined for anything else. */
export function ioErrorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Logs the file system errors that fail requests (a full disk, running out of descriptors), at most once
 * per interval for each error code: a client retrying into EMFILE, or many producers hitting a full
 * disk, must not turn every failed request into a log line. The first of a burst is logged at once
 * with its details; the next line says how many were left out since.
 */
export class IoFaultLog {
  readonly #logger: Logger;
  readonly #clock: () => number;
  readonly #intervalMs: number;
  /** By error code (a closed set, from the OS): when it was last logged and how many were left out. */
  readonly #byCode = new Map<string, { loggedAt: number; suppressed: number }>();
  /** Told of every fault, logged or not (metrics count them all). */
  readonly #onFault: ((code: string, operation: string) => void) | undefined;

  constructor(logger: Logger, options: { clock?: () => number; intervalMs?: number; onFault?: (code: string, operation: string) => void } = {}) {
    this.#logger = logger;
    this.#onFault = options.onFault;
    this.#clock = options.clock ?? Date.now;
    this.#intervalMs = options.intervalMs ?? IO_FAULT_LOG_INTERVAL_MS;
  }

  /** Reports `err`, met while doing `operation` on `partition` (`topic-N`), when its code's interval allows. */
  report(err: unknown, operation: string, partition?: string): void {
    const code = ioErrorCode(err) ?? 'unknown';
    this.#onFault?.(code, operation);
    const now = this.#clock();
    const seen = this.#byCode.get(code);
    if (seen !== undefined && now - seen.loggedAt < this.#intervalMs) {
      seen.suppressed++;
      return;
    }
    const suppressed = seen?.suppressed ?? 0;
    this.#byCode.set(code, { loggedAt: now, suppressed: 0 });
    const transient = isTransientIoError(err);
    this.#logger.error(
      {
        code,
        operation,
        ...(partition === undefined ? {} : { partition }),
        err: err instanceof Error ? err.message : String(err),
        ...(suppressed > 0 ? { suppressedSinceLastReport: suppressed } : {}),
      },
      transient
        ? 'out of file descriptors: the request failed with a retriable error, the partition stays online (see docs/storage-format.md, open files)'
        : 'a storage operation failed: the request was answered with KAFKA_STORAGE_ERROR',
    );
  }
}
