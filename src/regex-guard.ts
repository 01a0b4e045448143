/**
 * The ReDoS guard for regular expressions a user or a client chooses: topic policies' name patterns
 * (src/topics/topic-policies.ts) and the `pattern` / `patternProperties` of registered JSON schemas
 * (src/schemas/formats/json-schema.ts), which run against record payloads on the produce path.
 * Basics layer: imports nothing of src/.
 */

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
