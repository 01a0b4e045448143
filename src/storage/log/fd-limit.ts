import { readFileSync } from 'node:fs';

/**
 * The process's soft limit on open files (`ulimit -n`), read from /proc/self/limits: Node has no API
 * for getrlimit and a native addon is not worth it. Undefined where there is no /proc (macOS) or the
 * limit is "unlimited".
 */
export function processOpenFileLimit(readLimits: () => string = () => readFileSync('/proc/self/limits', 'utf8')): number | undefined {
  let text: string;
  try {
    text = readLimits();
  } catch {
    return undefined;
  }
  // "Max open files            1024                 524288               files"
  const m = /^Max open files\s+(\d+|unlimited)\s+/m.exec(text);
  const soft = m?.[1];
  return soft === undefined || soft === 'unlimited' ? undefined : Number(soft);
}

/** The fewest and most segment files the derived default keeps open. */
export const MIN_DERIVED_OPEN_LOG_FILES = 32;
export const MAX_DERIVED_OPEN_LOG_FILES = 10_000;
/** The default where the limit cannot be read: half of 1024, the most common soft limit. */
export const FALLBACK_OPEN_LOG_FILES = 512;
/** Descriptors the broker needs besides log files and connections: Node itself, the metadata store, locks, short-lived opens. */
export const OTHER_DESCRIPTORS = 64;

/**
 * `maxOpenLogFiles: auto`: half the soft limit, the other half left to client connections (each a
 * socket) and to everything else, within [32, 10,000]. Above 10,000 more open segment files buy
 * nothing (a partition being written needs one; reads reopen older segments in microseconds).
 */
export function derivedMaxOpenLogFiles(softLimit: number | undefined): number {
  if (softLimit === undefined) return FALLBACK_OPEN_LOG_FILES;
  return Math.min(MAX_DERIVED_OPEN_LOG_FILES, Math.max(MIN_DERIVED_OPEN_LOG_FILES, Math.floor(softLimit / 2)));
}
