import { CloseReasons, type CloseReason } from '../../../src/close-reasons.js';

/**
 * What an abuse run must leave behind: a broker whose memory did not grow with the run, whose file
 * descriptors came back, and whose every close was logged with a reason from the closed set (never
 * INTERNAL_ERROR, which means a handler or decoder threw something it did not expect).
 */

/** Samples a process's RSS every `everyMs` until stopped. */
export class RssSampler {
  readonly samples: number[] = [];
  readonly #timer: NodeJS.Timeout;

  constructor(rss: () => number, everyMs = 100) {
    this.samples.push(rss());
    this.#timer = setInterval(() => {
      try {
        this.samples.push(rss());
      } catch {
        // The process is gone: the liveness assertion reports it.
      }
    }, everyMs);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /**
   * Medians of the second quarter of the samples (after the warm-up: TLS sessions, compiled code, the
   * heap's first growth) and of the last quarter. Growth with the number of frames shows as the second
   * well above the first; the collector's saw-tooth does not move medians much.
   */
  windows(): { early: number; late: number } {
    const n = this.samples.length;
    const q = Math.max(1, Math.floor(n / 4));
    return { early: median(this.samples.slice(q, 2 * q)), late: median(this.samples.slice(n - q)) };
  }
}

export function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

const TYPED: ReadonlySet<string> = new Set(Object.values(CloseReasons));

export interface LoggedCloses {
  readonly byReason: Record<string, number>;
  /** Close lines whose reason is not in src/close-reasons.ts. */
  readonly untyped: string[];
  /** INTERNAL_ERROR closes, with their logged error (each is a bug). */
  readonly internal: string[];
  /** Lines logged at error or fatal level. */
  readonly errors: string[];
}

/** The `connection closed` lines of a broker's JSON log, by reason. */
export function loggedCloses(output: string): LoggedCloses {
  const byReason: Record<string, number> = {};
  const untyped: string[] = [];
  const internal: string[] = [];
  const errors: string[] = [];
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    let entry: { msg?: unknown; reason?: unknown; level?: unknown; error?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    if (entry.level === 'error' || entry.level === 'fatal') errors.push(line);
    if (entry.msg !== 'connection closed') continue;
    const reason = typeof entry.reason === 'string' ? entry.reason : String(entry.reason);
    byReason[reason] = (byReason[reason] ?? 0) + 1;
    if (!TYPED.has(reason)) untyped.push(line);
    if (reason === (CloseReasons.INTERNAL_ERROR satisfies CloseReason)) internal.push(typeof entry.error === 'string' ? entry.error : line);
  }
  return { byReason, untyped, internal, errors };
}

export const MiB = 1024 * 1024;
