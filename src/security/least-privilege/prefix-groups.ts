/**
 * Grouping resource names into PREFIXED patterns only where that is exact: a prefix is used when every
 * resource that exists under it now was accessed (with the operation being grouped), and at least two
 * of them were. Such a prefix grants nothing that exists and was not used; it does grant resources
 * created later under it, which is why the advisor says so (docs/security/least-privilege.md).
 */

export interface NamePattern {
  /** The literal name, or the prefix. */
  readonly name: string;
  readonly prefixed: boolean;
  /** The accessed names it covers, sorted. */
  readonly covers: readonly string[];
}

/** Names in [lo, hi) of a sorted array: how many start with `prefix`. */
function countWithPrefix(sorted: readonly string[], prefix: string): number {
  return upperBound(sorted, prefix) - lowerBound(sorted, prefix);
}

function lowerBound(sorted: readonly string[], prefix: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] ?? '') < prefix) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first index whose name is past every name starting with `prefix`. */
function upperBound(sorted: readonly string[], prefix: string): number {
  let lo = lowerBound(sorted, prefix);
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] ?? '').startsWith(prefix)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function commonPrefix(names: readonly string[]): string {
  let prefix = names[0] ?? '';
  for (const name of names) {
    let i = 0;
    while (i < prefix.length && i < name.length && prefix[i] === name[i]) i++;
    prefix = prefix.slice(0, i);
  }
  return prefix;
}

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The fewest patterns that cover `accessed` exactly against `existing`: for each name, the shortest
 * exact prefix (exact prefixes nest, so the shortest ones do not overlap), narrowed to the longest
 * prefix its names share; names without one stay literal. Each check is two binary searches, so a
 * principal with thousands of names costs milliseconds.
 */
export function groupExactPrefixes(accessed: Iterable<string>, existing: Iterable<string>): NamePattern[] {
  const names = [...new Set(accessed)].sort(byCodeUnit);
  const nameSet = new Set(names);
  const exists = [...new Set(existing)].sort(byCodeUnit);
  const existingAccessed = exists.filter((n) => nameSet.has(n));
  const exact = (prefix: string) => {
    const under = countWithPrefix(exists, prefix);
    const used = countWithPrefix(existingAccessed, prefix);
    return under === used && used >= 2;
  };
  const chosen = new Map<string, string[]>();
  const literal: string[] = [];
  for (const name of names) {
    let prefix: string | undefined;
    for (let length = 1; length <= name.length; length++) {
      const candidate = name.slice(0, length);
      if (exact(candidate)) {
        prefix = candidate;
        break;
      }
    }
    if (prefix === undefined) literal.push(name);
    else chosen.set(prefix, [...(chosen.get(prefix) ?? []), name]);
  }
  const patterns: NamePattern[] = literal.map((name) => ({ name, prefixed: false, covers: [name] }));
  for (const covered of chosen.values()) patterns.push({ name: commonPrefix(covered), prefixed: true, covers: covered });
  return patterns.sort((a, b) => byCodeUnit(a.name, b.name) || Number(a.prefixed) - Number(b.prefixed));
}
