/**
 * The ReDoS guard for regular expressions a user or a client chooses: topic policies' name patterns
 * (src/topics/topic-policies.ts) and the `pattern` / `patternProperties` of registered JSON schemas
 * (src/schemas/formats/json-schema.ts), which run against record payloads on the produce path.
 * Basics layer: imports nothing of src/ (node:v8 only, for the linear-time engine below).
 */
import { setFlagsFromString } from 'node:v8';

/**
 * Why `pattern` is not accepted (as a name pattern, a JSON Schema pattern), or null. JavaScript's engine backtracks, so a pattern
 * is kept to what a linear-time engine (RE2) accepts: no backreferences and no lookaround. Patterns whose
 * backtracking can take exponential time on a 249-character name are refused too: a quantified group
 * that itself holds a quantifier or an alternation, (a+)+ or (a|ab)*, the shapes behind ReDoS.
 */
export function namePatternProblem(pattern: string): string | null {
  try {
    new RegExp(pattern, 'u');
  } catch (err) {
    return `does not compile: ${err instanceof Error ? err.message : String(err)}`;
  }
  // Each open group: whether it holds a quantifier or an alternation (directly or in an inner group).
  const groups: boolean[] = [];
  let risky = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      const next = pattern[i + 1] ?? '';
      if (/[1-9]/.test(next) || next === 'k') return 'uses a backreference, which a linear-time (RE2) engine cannot run';
      i++;
      continue;
    }
    if (c === '[') {
      // Skip the class: its ( | * are literal.
      for (i++; i < pattern.length && pattern[i] !== ']'; i++) if (pattern[i] === '\\') i++;
      continue;
    }
    if (c === '(') {
      if (/^\(\?<?[=!]/.test(pattern.slice(i, i + 4))) return 'uses lookahead or lookbehind, which a linear-time (RE2) engine cannot run';
      groups.push(false);
      continue;
    }
    const quantified = isRepeat(pattern, i + 1);
    if (c === ')') {
      const inner = groups.pop() ?? false;
      if (inner && quantified) return 'repeats a group that itself repeats or alternates, such as (a+)+ or (a|b)*: matching can take exponential time (ReDoS)';
      if (groups.length > 0) groups[groups.length - 1] = (groups[groups.length - 1] ?? false) || inner || quantified;
      continue;
    }
    if (c === '|' || isRepeat(pattern, i)) risky = true;
    if (risky && groups.length > 0) groups[groups.length - 1] = true;
    risky = false;
  }
  return null;
}

/** Whether a repetition (`*`, `+`, `{n,}` or `{n,m}` with m > 1; `?` repeats nothing) starts at `i`. */
function isRepeat(pattern: string, i: number): boolean {
  const c = pattern[i];
  if (c === '*' || c === '+') return true;
  if (c !== '{') return false;
  const m = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i));
  if (m === null) return false;
  if (m[2] === undefined) return Number(m[1]) > 1;
  return m[3] === '' || Number(m[3]) > 1;
}

/**
 * The guard above stops exponential backtracking, not polynomial: /a*a*b/ passes it and takes seconds
 * on 4,096 characters, /a*a*a*b/ a minute on 1,000. A regular expression matched against record data
 * (a JSON schema's `pattern`) runs instead on V8's linear-time engine (the `l` flag, made available by
 * the V8 flag --enable-experimental-regexp-engine, which this sets once: it adds that flag and changes
 * no other expression). That engine has no Unicode mode, so a pattern that needs one (`\p{…}`, `\u{…}`,
 * characters beyond the BMP) is refused rather than run with another meaning; `.` then matches one
 * UTF-16 unit.
 */
let linearEngine: boolean | undefined;
/** The `l` flag (linear), in a variable: the lint rule knows only the standard flags. */
const LINEAR = 'l';

function linearEngineAvailable(): boolean {
  if (linearEngine === undefined) {
    try {
      new RegExp('a', LINEAR);
      linearEngine = true;
    } catch {
      setFlagsFromString('--enable-experimental-regexp-engine');
      try {
        new RegExp('a', LINEAR);
        linearEngine = true;
      } catch {
        linearEngine = false;
      }
    }
  }
  return linearEngine;
}

/** `pattern` compiled for V8's linear-time engine, or why it cannot be. */
export function linearRegExp(pattern: string): RegExp | { readonly problem: string } {
  const shape = namePatternProblem(pattern);
  if (shape !== null) return { problem: shape };
  if (/\\[pP]\{|\\u\{|[\u{10000}-\u{10ffff}]/u.test(pattern)) return { problem: 'needs Unicode mode (\\p{…}, \\u{…} or characters beyond the BMP), which the linear-time engine lacks' };
  if (!linearEngineAvailable()) return { problem: 'cannot be run: the linear-time regular expression engine is not available in this Node.js' };
  try {
    return new RegExp(pattern, LINEAR);
  } catch (err) {
    // V8's linear engine unrolls a counted repetition and refuses one above 16 (`[0-9]{12,19}`, a card
    // number's pattern). Without any unbounded repetition, backtracking is bounded by the product of the
    // counts for each start position: such a pattern runs on the usual engine when that product is small.
    const product = boundedRepetitionProduct(pattern);
    if (product !== null && product <= MAX_BOUNDED_PRODUCT) return new RegExp(pattern, 'u');
    return { problem: `cannot run in linear time: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** The largest product of repetition counts a pattern without unbounded repetition may have. */
export const MAX_BOUNDED_PRODUCT = 4096;

/**
 * The product of the upper counts of a pattern's repetitions (`?` counts 2, `{n,m}` m, `{n}` n), or null
 * when it repeats without bound (`*`, `+`, `{n,}`). Classes and escapes are skipped.
 */
function boundedRepetitionProduct(pattern: string): number | null {
  let product = 1;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '[') {
      for (i++; i < pattern.length && pattern[i] !== ']'; i++) if (pattern[i] === '\\') i++;
      continue;
    }
    if (c === '*' || c === '+') return null;
    if (c === '?' && pattern[i - 1] !== '(') product *= 2;
    if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i));
      if (m === null) continue;
      if (m[2] !== undefined && m[3] === '') return null;
      product *= Math.max(1, Number(m[3] ?? m[1]));
    }
    if (product > Number.MAX_SAFE_INTEGER) return null;
  }
  return product;
}
