/**
 * The field paths of masking policies (docs/governance/masking.md#paths): a small subset of JSONPath
 * (RFC 9535) that names fields, never computes anything, so that what a policy selects is plain to
 * read and cheap to walk:
 *
 *   card.number              a member of a member of the root object ($. in front is optional)
 *   $.customers[*].email     `[*]`: every element of an array; nested arrays are `[*][*]`
 *   items.*.price            `.*`: every member of an object (a map)
 *   $["odd.name"].x          a member whose name has dots, brackets or spaces, in quotes
 *   $                        the whole value
 *
 * No filters, slices, recursive descent or indexes: each would make a path's cost depend on the data
 * or let a policy say less plainly what it hides. Paths are bounded (length, depth), checked when a
 * policy is added, so a policy can never make a fetch walk more than its paths' depth per record.
 */

/** Longest path text accepted. */
export const MAX_PATH_LENGTH = 256;
/** Most segments (members and wildcards) in one path. */
export const MAX_PATH_DEPTH = 16;

export type PathSegment =
  | { readonly kind: 'member'; readonly name: string }
  /** `[*]`: every element of an array. */
  | { readonly kind: 'elements' }
  /** `.*`: every member of an object. */
  | { readonly kind: 'members' };

export interface FieldPath {
  /** As written. */
  readonly text: string;
  readonly segments: readonly PathSegment[];
}

/** Characters of a bare member name: anything but the path's own punctuation and white space. */
const BARE = /[^.[\]"'*\s]/u;

/** The path's segments, or why it is not a path (one sentence naming the position). */
export function parsePath(text: string): FieldPath | { readonly error: string } {
  if (text.length === 0) return { error: 'a path is empty: name a field such as card.number or $' };
  if (text.length > MAX_PATH_LENGTH) return { error: `a path has at most ${MAX_PATH_LENGTH} characters, this one ${text.length}` };
  const segments: PathSegment[] = [];
  let at = 0;
  const fail = (what: string) => ({ error: `path ${JSON.stringify(text)}: ${what} at position ${at}` });
  if (text[0] === '$') at = 1;
  else {
    // A bare first name (`card.number`) reads as `$.card.number`.
    const name = bareName(text, 0);
    if (name.length === 0) return fail('expected a field name or $');
    segments.push({ kind: 'member', name });
    at = name.length;
  }
  while (at < text.length) {
    const c = text[at];
    if (c === '.') {
      at++;
      if (text[at] === '*') {
        segments.push({ kind: 'members' });
        at++;
      } else {
        const name = bareName(text, at);
        if (name.length === 0) return fail('expected a field name or * after "."');
        segments.push({ kind: 'member', name });
        at += name.length;
      }
    } else if (c === '[') {
      const quote = text[at + 1];
      if (text.startsWith('[*]', at)) {
        segments.push({ kind: 'elements' });
        at += 3;
      } else if (quote === '"' || quote === "'") {
        const quoted = quotedName(text, at + 1);
        if (quoted === null) return fail(`unterminated ${quote}quoted${quote} name`);
        if (text[quoted.end] !== ']') return fail('expected "]" after a quoted name');
        segments.push({ kind: 'member', name: quoted.name });
        at = quoted.end + 1;
      } else {
        return fail('a bracket holds * (every element) or a quoted name; indexes and filters are not supported');
      }
    } else {
      return fail(`unexpected ${JSON.stringify(c)}`);
    }
    if (segments.length > MAX_PATH_DEPTH) return { error: `path ${JSON.stringify(text)}: at most ${MAX_PATH_DEPTH} segments` };
  }
  return { text, segments };
}

function bareName(text: string, from: number): string {
  let end = from;
  while (end < text.length && BARE.test(text[end] as string)) end++;
  return text.slice(from, end);
}

/** A name in quotes from `from` (the quote): `\` escapes the quote and itself. */
function quotedName(text: string, from: number): { name: string; end: number } | null {
  const quote = text[from];
  let name = '';
  for (let i = from + 1; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '\\') {
      const next = text[i + 1];
      if (next === undefined) return null;
      name += next;
      i++;
    } else if (c === quote) {
      return { name, end: i + 1 };
    } else {
      name += c;
    }
  }
  return null;
}

/** Where a path ends: the container and the key a rule replaces or removes. */
export type PathTarget = { readonly container: Record<string, unknown>; readonly key: string } | { readonly container: unknown[]; readonly key: number };

/** The value at a target. */
export function valueAt(target: PathTarget): unknown {
  return typeof target.key === 'number' ? (target.container as unknown[])[target.key] : (target.container as Record<string, unknown>)[target.key];
}

const hasOwn = (o: object, key: string) => Object.prototype.hasOwnProperty.call(o, key);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

/**
 * Calls `edit` for every place the path selects in `holder[key]` (the walk starts at that member, so
 * that `$` itself can be replaced), deepest and last elements first, so that an edit which removes an
 * array element leaves the indexes still to visit valid. Only own members are followed: a name such as
 * `__proto__` or `constructor` selects a member the document has, never one it inherits.
 */
export function eachTarget(holder: Record<string, unknown>, key: string, segments: readonly PathSegment[], edit: (target: PathTarget) => void): void {
  const walk = (target: PathTarget, depth: number): void => {
    if (depth === segments.length) {
      edit(target);
      return;
    }
    const value = valueAt(target);
    const segment = segments[depth] as PathSegment;
    if (segment.kind === 'member') {
      if (isObject(value) && hasOwn(value, segment.name)) walk({ container: value, key: segment.name }, depth + 1);
    } else if (segment.kind === 'elements') {
      if (Array.isArray(value)) for (let i = value.length - 1; i >= 0; i--) walk({ container: value, key: i }, depth + 1);
    } else if (isObject(value)) {
      const names = Object.keys(value);
      for (let i = names.length - 1; i >= 0; i--) walk({ container: value, key: names[i] as string }, depth + 1);
    }
  };
  if (hasOwn(holder, key)) walk({ container: holder, key }, 0);
}
