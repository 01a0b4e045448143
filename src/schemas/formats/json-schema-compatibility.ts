/**
 * JSON Schema compatibility, after Confluent's rules for JSON Schema
 * (docs.confluent.io/platform/current/schema-registry/fundamentals/serdes-develop/serdes-json.html, "JSON
 * Schema compatibility rules"; the open and closed content models): a problem is data the writer's schema
 * allowed and the reader's refuses. Keywords checked:
 * - `type` narrowed (integer stays readable as number); `enum` / `const` added or narrowed;
 * - bounds added or tightened: minimum, maximum, exclusiveMinimum, exclusiveMaximum, minLength,
 *   maxLength, minItems, maxItems, minProperties, maxProperties, `multipleOf` no longer dividing the
 *   writer's; `pattern` added or changed; `uniqueItems` added;
 * - `required`: a property newly required;
 * - `properties` under the content models: a property the reader adds is compared with what the writer
 *   allowed there (its `additionalProperties`: anything when open, nothing when closed, so adding one to
 *   a closed model is fine and to an open model only if it accepts anything); a property the reader
 *   removes must be allowed by the reader's `additionalProperties` (removing one from a closed model is a
 *   problem); `additionalProperties` narrowed;
 * - `items` (a schema, or a tuple as an array / `prefixItems`), recursively;
 * - `anyOf` / `oneOf`: each branch the writer allowed must be accepted by a branch of the reader;
 *   `allOf` in the reader: each of its branches must accept the writer; `not` changed;
 * - `$ref`: local JSON pointers and the schema's references (by name) are followed (cycles stop);
 * - any other validation keyword (format, patternProperties, dependencies, if/then/else, contains,
 *   propertyNames, unevaluated*…) added or changed in the reader is reported as not provably compatible.
 * Annotations (title, description, default, examples, $comment, vendor keys) are ignored. Paths are JSON
 * pointers into the reader's schema (`#/properties/a/items`).
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = { [key: string]: Json };

const MIN_KEYS = ['minimum', 'exclusiveMinimum', 'minLength', 'minItems', 'minProperties'] as const;
const MAX_KEYS = ['maximum', 'exclusiveMaximum', 'maxLength', 'maxItems', 'maxProperties'] as const;
const OTHER_KEYS = [
  'format', 'patternProperties', 'dependencies', 'dependentRequired', 'dependentSchemas', 'propertyNames', 'if', 'then', 'else',
  'contains', 'minContains', 'maxContains', 'unevaluatedProperties', 'unevaluatedItems', 'additionalItems', '$dynamicRef', '$recursiveRef',
] as const;
/** Comparing stops this deep (a schema nested deeper is reported, not walked). */
const MAX_DEPTH = 64;

export interface JsonSchemaDocument {
  readonly root: Json;
  /** Referenced schemas by reference name (the `$ref` targets). */
  readonly references: ReadonlyMap<string, Json>;
}

/** A `$ref` that names nothing the document or its references hold. */
class Unresolved {
  constructor(readonly ref: string) {}
}

const isObj = (v: Json | Unresolved | undefined): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** JSON with sorted keys, to compare values. */
function stable(value: Json | undefined): string {
  if (value === undefined) return 'undefined';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
  return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${stable(value[k])}`).join(',')}}`;
}

function pointer(doc: Json, fragment: string): Json | undefined {
  if (fragment === '' || fragment === '/') return doc;
  let node: Json | undefined = doc;
  for (const raw of fragment.replace(/^\//, '').split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) node = node[Number(key)];
    else if (isObj(node)) node = node[key];
    else return undefined;
  }
  return node;
}

/** The schema a `$ref` names: `#/…` in the same document, or a reference's name with an optional fragment. */
function resolveRef(ref: string, doc: JsonSchemaDocument): Json | undefined {
  const hash = ref.indexOf('#');
  const base = hash < 0 ? ref : ref.slice(0, hash);
  const fragment = hash < 0 ? '' : ref.slice(hash + 1);
  const target = base === '' ? doc.root : doc.references.get(base);
  return target === undefined ? undefined : pointer(target, fragment);
}

class Comparison {
  readonly problems: string[] = [];
  readonly #seen = new Set<string>();
  readonly #ids = new Map<Json, number>();
  readonly #reader: JsonSchemaDocument;
  readonly #writer: JsonSchemaDocument;

  constructor(reader: JsonSchemaDocument, writer: JsonSchemaDocument) {
    this.#reader = reader;
    this.#writer = writer;
  }

  #id(node: Json): number {
    let id = this.#ids.get(node);
    if (id === undefined) {
      id = this.#ids.size;
      this.#ids.set(node, id);
    }
    return id;
  }

  /** The schema with its `$ref` followed (draft 2019+ siblings of $ref kept), or why it cannot be. */
  #deref(node: Json, doc: JsonSchemaDocument): Json | Unresolved {
    let current = node;
    for (let hops = 0; isObj(current) && typeof current.$ref === 'string'; hops++) {
      if (hops > MAX_DEPTH) return new Unresolved(current.$ref);
      const target = resolveRef(current.$ref, doc);
      if (target === undefined) return new Unresolved(current.$ref);
      const siblings: Obj = { ...current };
      delete siblings.$ref;
      current = Object.keys(siblings).length === 0 ? target : isObj(target) ? { ...target, ...siblings } : target;
    }
    return current;
  }

  /** Problems of reading what `w` allowed with `r`, into a scratch list (for anyOf: is there a branch with none?). */
  #fits(r: Json, w: Json, path: string, depth: number): boolean {
    const saved = this.problems.length;
    this.walk(r, w, path, depth);
    const fits = this.problems.length === saved;
    this.problems.length = saved;
    return fits;
  }

  walk(readerNode: Json, writerNode: Json, path: string, depth: number): void {
    const problem = (text: string): void => {
      this.problems.push(`${path || '#'}: ${text}`);
    };
    if (depth > MAX_DEPTH) {
      problem(`nested deeper than ${MAX_DEPTH} levels: not compared`);
      return;
    }
    const r = this.#deref(readerNode, this.#reader);
    const w = this.#deref(writerNode, this.#writer);
    if (r instanceof Unresolved) {
      if (!(w instanceof Unresolved && w.ref === r.ref)) problem(`$ref ${r.ref} cannot be resolved to compare it`);
      return;
    }
    if (w === false) return; // the writer wrote nothing here
    if (w instanceof Unresolved) {
      if (r !== true && !isEmpty(r)) problem(`the writer's $ref ${w.ref} cannot be resolved to compare it`);
      return;
    }
    if (r === true || isEmpty(r)) return;
    if (r === false || !isObj(r)) {
      problem('the reader accepts nothing here, where the writer allowed values');
      return;
    }
    const wo: Obj = isObj(w) ? w : {};
    const key = `${this.#id(r)}:${this.#id(wo)}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);

    this.#types(r, wo, problem);
    this.#enums(r, wo, problem);
    for (const k of MIN_KEYS) {
      const rv = r[k];
      const wv = wo[k];
      if (typeof rv === 'number' && (typeof wv !== 'number' || rv > wv)) problem(`${k} ${typeof wv === 'number' ? `raised from ${wv}` : 'added'} to ${rv}`);
    }
    for (const k of MAX_KEYS) {
      const rv = r[k];
      const wv = wo[k];
      if (typeof rv === 'number' && (typeof wv !== 'number' || rv < wv)) problem(`${k} ${typeof wv === 'number' ? `lowered from ${wv}` : 'added'} to ${rv}`);
    }
    if (typeof r.multipleOf === 'number') {
      const wm = wo.multipleOf;
      if (typeof wm !== 'number' || !Number.isInteger(wm / r.multipleOf)) problem(`multipleOf ${r.multipleOf} does not divide what the writer allowed (${typeof wm === 'number' ? `multipleOf ${wm}` : 'any number'})`);
    }
    if (r.pattern !== undefined && r.pattern !== wo.pattern) problem(`pattern ${wo.pattern === undefined ? 'added' : 'changed'}`);
    if (r.uniqueItems === true && wo.uniqueItems !== true) problem('uniqueItems added');
    for (const k of OTHER_KEYS) {
      if (r[k] !== undefined && stable(r[k]) !== stable(wo[k])) problem(`${k} ${wo[k] === undefined ? 'added' : 'changed'}: compatibility cannot be proven`);
    }
    if (Array.isArray(r.required)) {
      const before = new Set(Array.isArray(wo.required) ? wo.required : []);
      const added = r.required.filter((p) => !before.has(p));
      if (added.length > 0) problem(`newly required: ${added.map(String).join(', ')}`);
    }
    this.#properties(r, wo, path, depth);
    this.#items(r, wo, path, depth);
    this.#combinators(r, wo, path, depth, problem);
  }

  #types(r: Obj, w: Obj, problem: (text: string) => void): void {
    const types = (s: Obj): string[] | null => (typeof s.type === 'string' ? [s.type] : Array.isArray(s.type) ? s.type.map(String) : null);
    const rt = types(r);
    if (rt === null) return;
    const wt = types(w);
    if (wt === null) {
      problem(`type ${rt.join(' or ')} required where the writer allowed any type`);
      return;
    }
    const lost = wt.filter((t) => !rt.includes(t) && !(t === 'integer' && rt.includes('number')));
    if (lost.length > 0) problem(`type narrowed: ${lost.join(', ')} no longer allowed`);
  }

  #enums(r: Obj, w: Obj, problem: (text: string) => void): void {
    const values = (s: Obj): Json[] | null => (Array.isArray(s.enum) ? s.enum : 'const' in s ? [s.const ?? null] : null);
    const re = values(r);
    if (re === null) return;
    const we = values(w);
    if (we === null) {
      problem('enum added where the writer allowed any value');
      return;
    }
    const allowed = new Set(re.map(stable));
    const lost = we.filter((v) => !allowed.has(stable(v)));
    if (lost.length > 0) problem(`enum narrowed: ${lost.map((v) => JSON.stringify(v)).join(', ')} no longer allowed`);
  }

  #properties(r: Obj, w: Obj, path: string, depth: number): void {
    const rp = isObj(r.properties) ? r.properties : {};
    const wp = isObj(w.properties) ? w.properties : {};
    const radd: Json = r.additionalProperties ?? true;
    const wadd: Json = w.additionalProperties ?? true;
    for (const name of new Set([...Object.keys(rp), ...Object.keys(wp)])) {
      const at = `${path || '#'}/properties/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      const rs = rp[name];
      const ws = wp[name];
      if (rs !== undefined && ws !== undefined) this.walk(rs, ws, at, depth + 1);
      else if (rs !== undefined) {
        // Added by the reader: the writer allowed there what its additionalProperties allowed.
        if (wadd !== false) this.walk(rs, wadd, at, depth + 1);
      } else if (ws !== undefined) {
        if (radd === false) this.problems.push(`${at}: removed from a closed content model (additionalProperties: false), so the reader refuses it`);
        else this.walk(radd, ws, at, depth + 1);
      }
    }
    if (wadd !== false) {
      if (radd === false) this.problems.push(`${path || '#'}/additionalProperties: additional properties the writer allowed are refused`);
      else this.walk(radd, wadd, `${path || '#'}/additionalProperties`, depth + 1);
    }
  }

  #items(r: Obj, w: Obj, path: string, depth: number): void {
    const tuple = (s: Obj): Json[] | null => (Array.isArray(s.prefixItems) ? s.prefixItems : Array.isArray(s.items) ? s.items : null);
    const rest = (s: Obj): Json => (Array.isArray(s.items) ? (s.additionalItems ?? true) : (s.items ?? true));
    const rt = tuple(r);
    const wt = tuple(w);
    const at = (i: number | null) => `${path || '#'}/${i === null ? 'items' : `${Array.isArray(r.prefixItems) ? 'prefixItems' : 'items'}/${i}`}`;
    if (rt === null && wt === null) {
      if (r.items !== undefined) this.walk(r.items, w.items ?? true, at(null), depth + 1);
      return;
    }
    const n = Math.max(rt?.length ?? 0, wt?.length ?? 0);
    for (let i = 0; i < n; i++) this.walk(rt?.[i] ?? rest(r), wt?.[i] ?? rest(w), at(i), depth + 1);
    this.walk(rest(r), rest(w), at(null), depth + 1);
  }

  #combinators(r: Obj, w: Obj, path: string, depth: number, problem: (text: string) => void): void {
    const branches = (s: Obj): Json[] | null => (Array.isArray(s.anyOf) ? s.anyOf : Array.isArray(s.oneOf) ? s.oneOf : null);
    const rb = branches(r);
    if (rb !== null) {
      const withoutCombinator = (s: Obj): Obj => {
        const rest: Obj = { ...s };
        delete rest.anyOf;
        delete rest.oneOf;
        return rest;
      };
      const wb = branches(w) ?? [withoutCombinator(w)];
      wb.forEach((branch, i) => {
        if (!rb.some((candidate) => this.#fits(candidate, branch, path, depth + 1))) problem(`the writer's ${branches(w) === null ? 'schema' : `branch ${i}`} matches no branch of the reader's ${Array.isArray(r.anyOf) ? 'anyOf' : 'oneOf'}`);
      });
    }
    if (Array.isArray(r.allOf) && stable(r.allOf) !== stable(w.allOf)) {
      r.allOf.forEach((branch, i) => {
        this.walk(branch, w, `${path || '#'}/allOf/${i}`, depth + 1);
      });
    }
    if (r.not !== undefined && stable(r.not) !== stable(w.not)) problem(`not ${w.not === undefined ? 'added' : 'changed'}: compatibility cannot be proven`);
  }
}

/** A schema without validation keywords (only annotations): accepts anything. */
function isEmpty(s: Json): boolean {
  if (!isObj(s)) return false;
  const ANNOTATIONS = new Set(['title', 'description', 'default', 'examples', '$comment', '$schema', '$id', 'id', 'definitions', '$defs', 'deprecated', 'readOnly', 'writeOnly', '$anchor']);
  return Object.keys(s).every((k) => ANNOTATIONS.has(k) || !KNOWN.has(k));
}

const KNOWN = new Set<string>([
  'type', 'enum', 'const', ...MIN_KEYS, ...MAX_KEYS, 'multipleOf', 'pattern', 'uniqueItems', ...OTHER_KEYS, 'required', 'properties',
  'additionalProperties', 'items', 'prefixItems', 'anyOf', 'oneOf', 'allOf', 'not', '$ref',
]);

/** Why data valid under `writer` may be refused by `reader`: one sentence each, by JSON pointer; empty when none. */
export function jsonSchemaReaderProblems(reader: JsonSchemaDocument, writer: JsonSchemaDocument): string[] {
  const comparison = new Comparison(reader, writer);
  comparison.walk(reader.root, writer.root, '', 0);
  return comparison.problems;
}
