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

/** A flag's value that a case cannot use: reported as a usage error, without a stack. */
export class FlagError extends Error {}

/** The flags given on the command line (`--frames=100000`), read with a case's defaults. */
export class Flags {
  constructor(readonly given: Readonly<Record<string, string>>) {}

  /** The flag as given, or its default. */
  text(c: AbuseCase, name: string): string {
    const raw = this.given[name] ?? c.flags[name];
    if (raw === undefined) throw new FlagError(`${c.name} has no flag --${name}`);
    return raw;
  }

  number(c: AbuseCase, name: string): number {
    const raw = this.text(c, name);
    const n = Number(raw);
    if (raw === '' || !Number.isFinite(n)) throw new FlagError(`--${name} of ${c.name} must be a number (got ${raw})`);
    return n;
  }

  /** A comma-separated list of whole numbers above 0 (`--connections=20,200`). */
  counts(c: AbuseCase, name: string): number[] {
    const raw = this.text(c, name);
    const ns = raw.split(',').map(Number);
    if (ns.some((n) => !Number.isInteger(n) || n < 1)) throw new FlagError(`--${name} of ${c.name} must be whole numbers above 0, separated by commas (got ${raw})`);
    return ns;
  }

  /** A comma-separated list of words, each one of `allowed`. */
  choices<T extends string>(c: AbuseCase, name: string, allowed: readonly T[]): T[] {
    const raw = this.text(c, name);
    const words = raw.split(',');
    const bad = words.filter((w) => !(allowed as readonly string[]).includes(w));
    if (bad.length > 0 || words.length === 0) throw new FlagError(`--${name} of ${c.name}: ${bad.join(', ')} is not one of ${allowed.join(', ')}`);
    return words as T[];
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
