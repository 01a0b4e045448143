import type { CleanupScope } from '../../test/security/attack-support.js';

/**
 * One case of the abuse benchmark (`npm run bench:abuse [-- case… --flag=value…]`): an attack run
 * long against a default broker process, reporting figures that compare within one run (a ratio to
 * the same measure without the attack, memory before and after), since absolute rates on a shared
 * machine move from run to run. A new case is a file in this folder and one line in ./cases.ts.
 */
export interface AbuseCase {
  /** What to type after `npm run bench:abuse --` to select it. */
  readonly name: string;
  readonly summary: string;
  /** The flags it reads, with their defaults, shown by `--help`. */
  readonly flags: Readonly<Record<string, string>>;
  run(scope: BenchScope, flags: Flags): Promise<Figure[]>;
}

export interface Figure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** How to read it (what it is a ratio of, what "good" is). */
  readonly note?: string;
}

/** The flags given on the command line (`--frames=100000`), read with a case's defaults. */
export class Flags {
  constructor(readonly given: Readonly<Record<string, string>>) {}

  number(c: AbuseCase, name: string): number {
    const raw = this.given[name] ?? c.flags[name];
    const n = Number(raw);
    if (raw === undefined || !Number.isFinite(n)) throw new Error(`--${name} of ${c.name} must be a number (got ${String(raw)})`);
    return n;
  }
}

/** Clean-ups run when a case ends (the broker process it started, its data directory). */
export class BenchScope implements CleanupScope {
  readonly #cleanups: (() => void)[] = [];

  after(fn: () => void): void {
    this.#cleanups.push(fn);
  }

  close(): void {
    for (const fn of this.#cleanups.reverse()) {
      try {
        fn();
      } catch (err) {
        console.error('clean-up failed:', err);
      }
    }
  }
}

export const MiB = 1024 * 1024;
