import avsc from 'avsc';
import type { CompiledSchema, DecodedPayload } from '../types.js';
import { PayloadError } from '../types.js';
import { avroReaderProblems } from './avro-compatibility.js';
import type { ParsedSchema, SchemaFormat } from './format.js';

/**
 * Avro (avro.apache.org/docs/1.11.1/specification/), checked and compiled with avsc. The payload is the
 * Avro binary encoding of one datum of the schema.
 *
 * Decoded values, which masking walks by field name:
 * - a record is a plain object keyed by field name; a map a plain object; an array an array;
 * - bytes and fixed are Buffers; an enum is its symbol (a string); a float or double a number;
 * - an int is a number; a long a number while it is a safe integer (|n| < 2^53), a bigint beyond;
 * - a union is unwrapped (the branch's value as is: null, a string, a record…) when its branches are of
 *   different kinds (null, boolean, number, string or enum, bytes or fixed, array, map or record): the
 *   common ["null", T]. A union with two branches of one kind (two records, int and double) is wrapped as
 *   Avro's JSON encoding does it, `{ "<branch full name>": value }`, since the value alone would not say
 *   which branch it is (avsc's `wrapUnions: 'auto'`).
 * Logical types are not interpreted: a date is its int, a decimal its bytes, so nothing is re-rounded.
 *
 * `decode` accepts only payloads that `encode` gives back byte for byte (it checks), so masking never
 * changes what it does not mask: invalid UTF-8 in a string, a NaN with a payload, a varint longer than
 * needed or an array written in several blocks are refused (no Avro writer we know of writes them).
 */

/**
 * Bounds on what a registered schema or a payload can make the broker do (both attacker-chosen):
 * - MAX_SCHEMA_DEPTH: nesting of the schema's JSON (a record of a record… is 3 JSON levels a record);
 *   deeper is refused before avsc walks it recursively.
 * - MAX_VALUE_DEPTH: nesting of a decoded value (records, arrays, maps); 100 as protobuf-java's default
 *   recursion limit, so a recursive schema (a linked list) cannot make decode recurse without end. A
 *   deeper payload is a PayloadError (avsc's own recursion ends in a RangeError first, also one).
 * The schema's size is the registry's bound; avsc's work to compile it is linear in it.
 */
export const MAX_SCHEMA_DEPTH = 128;
export const MAX_VALUE_DEPTH = 100;

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);
const NAMED = new Set(['record', 'error', 'enum', 'fixed']);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * avsc's long is a JS number and refuses values beyond 2^53 ("potential precision loss"): this one reads
 * them as bigints, so every long round-trips (avsc's documented LongType.__with; buffers are the 8-byte
 * little-endian two's complement avsc unpacks the zigzag varint to).
 */
const exactLong = avsc.types.LongType.__with({
  fromBuffer(buf: Buffer): number | bigint {
    const n = buf.readBigInt64LE(0);
    return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
  },
  toBuffer(value: number | bigint): Buffer {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(BigInt(value));
    return buf;
  },
  fromJSON(value: unknown): number | bigint {
    if (typeof value === 'bigint' || typeof value === 'number') return value;
    return BigInt(String(value));
  },
  toJSON(value: number | bigint): number | string {
    return typeof value === 'bigint' ? value.toString() : value;
  },
  isValid(value: unknown): boolean {
    if (typeof value === 'number') return Number.isSafeInteger(value);
    return typeof value === 'bigint' && value >= -(2n ** 63n) && value < 2n ** 63n;
  },
  compare(a: number | bigint, b: number | bigint): number {
    return a < b ? -1 : a > b ? 1 : 0;
  },
});

/** The JSON text as a value, or why not; refuses nesting deeper than MAX_SCHEMA_DEPTH. */
function parseSchemaJson(text: string, what: string): { value: Json } | { error: string } {
  let value: Json;
  try {
    value = JSON.parse(text) as Json;
  } catch (err) {
    return { error: `${what} is not JSON: ${(err as Error).message}` };
  }
  if (jsonDepth(value, 0) > MAX_SCHEMA_DEPTH) return { error: `${what} nests deeper than ${MAX_SCHEMA_DEPTH} levels` };
  return { value };
}

function jsonDepth(value: Json, depth: number): number {
  if (depth > MAX_SCHEMA_DEPTH) return depth;
  if (value === null || typeof value !== 'object') return depth;
  let max = depth;
  for (const child of Array.isArray(value) ? value : Object.values(value)) max = Math.max(max, jsonDepth(child, depth + 1));
  return max;
}

export interface AvroTypes {
  /** The schema's type. */
  readonly type: avsc.Type;
  /** Every type by full name: the schema's named types and those of its references (and avsc's primitives). */
  readonly registry: Readonly<Record<string, avsc.Type>>;
  readonly json: Json;
}

/**
 * The avsc type of a schema whose references (Avro named types, each a schema text) are parsed first into
 * the same registry, in an order where each finds the names it uses (a reference may use another).
 * `exactLongs`: longs as above (for the record stages); the compatibility rules use avsc's own long.
 */
export function buildAvroType(schema: string, references: ReadonlyMap<string, string>, exactLongs: boolean): AvroTypes | { error: string } {
  const registry: Record<string, avsc.Type> = exactLongs ? { long: exactLong } : {};
  const options = { registry, wrapUnions: 'auto' as const };
  let pending = [...references];
  while (pending.length > 0) {
    const failed: [string, string][] = [];
    let lastError = '';
    for (const [name, text] of pending) {
      const json = parseSchemaJson(text, `reference ${name}`);
      if ('error' in json) return json;
      // A failed parse leaves the names it got to in its registry: parse into a copy, kept on success.
      const attempt = { ...registry };
      try {
        avsc.Type.forSchema(json.value as avsc.Schema, { ...options, registry: attempt });
        Object.assign(registry, attempt);
      } catch (err) {
        failed.push([name, text]);
        lastError = `reference ${name}: ${describe(err)}`;
      }
    }
    // No progress in a round: a reference's names cannot be resolved by the others.
    if (failed.length === pending.length) return { error: lastError };
    pending = failed;
  }
  const json = parseSchemaJson(schema, 'the schema');
  if ('error' in json) return json;
  try {
    return { type: avsc.Type.forSchema(json.value as avsc.Schema, options), registry, json: json.value };
  } catch (err) {
    return { error: describe(err) };
  }
}

/** An error from avsc or V8 in one sentence (a stack overflow from a schema avsc recurses into named as such). */
function describe(err: unknown): string {
  if (err instanceof RangeError) return 'too deeply nested';
  return err instanceof Error ? err.message : String(err);
}

/**
 * The canonical text: the spec's Parsing Canonical Form transformations [FULLNAMES] (names qualified,
 * `namespace` dropped), [PRIMITIVES] ({"type":"int"} is "int"), [ORDER] (name, type, fields, symbols,
 * items, values, size first) and [WHITESPACE], but not [STRIP]: doc, aliases, defaults, order,
 * logicalType and other attributes are kept (after the others, sorted by key), so two schemas that differ
 * in what a reader resolves with (a default, an alias), in a logical type or in what Kafka Connect reads
 * (connect.* attributes) stay two schemas with two ids, as Confluent's registry keeps them.
 */
function canonicalAvro(json: Json, registry: Readonly<Record<string, avsc.Type>>): string {
  const qualify = (name: string, namespace: string): string => {
    if (PRIMITIVES.has(name) || name.includes('.') || namespace === '') return name;
    const full = `${namespace}.${name}`;
    return registry[full] !== undefined || registry[name] === undefined ? full : name;
  };
  const walk = (node: Json, namespace: string): string => {
    if (typeof node === 'string') return JSON.stringify(qualify(node, namespace));
    if (Array.isArray(node)) return `[${node.map((branch) => walk(branch, namespace)).join(',')}]`;
    if (node === null || typeof node !== 'object') return stableJson(node);
    const type = node.type;
    const extraKeys = Object.keys(node).filter((k) => k !== 'type');
    if (typeof type !== 'string' || (!NAMED.has(type) && type !== 'array' && type !== 'map')) {
      // A primitive, a name, or a nested schema under "type": alone it is that type.
      if (extraKeys.length === 0) return walk(type ?? null, namespace);
      return `{"type":${walk(type ?? null, namespace)}${rest(node, new Set(['type']))}}`;
    }
    const parts: string[] = [];
    let inner = namespace;
    if (NAMED.has(type)) {
      const name = typeof node.name === 'string' ? node.name : '';
      const ns = typeof node.namespace === 'string' ? node.namespace : namespace;
      const full = name.includes('.') || ns === '' ? name : `${ns}.${name}`;
      inner = full.includes('.') ? full.slice(0, full.lastIndexOf('.')) : '';
      parts.push(`"name":${JSON.stringify(full)}`);
      if (Array.isArray(node.aliases)) node = { ...node, aliases: node.aliases.map((a) => (typeof a === 'string' ? qualify(a, inner) : a)).sort() };
    }
    parts.push(`"type":${JSON.stringify(type)}`);
    if (Array.isArray(node.fields)) {
      const fields = node.fields.map((field) => {
        if (field === null || typeof field !== 'object' || Array.isArray(field)) return stableJson(field);
        return `{"name":${JSON.stringify(field.name)},"type":${walk(field.type ?? null, inner)}${rest(field, new Set(['name', 'type']))}}`;
      });
      parts.push(`"fields":[${fields.join(',')}]`);
    }
    if (node.symbols !== undefined) parts.push(`"symbols":${stableJson(node.symbols)}`);
    if (node.items !== undefined) parts.push(`"items":${walk(node.items, inner)}`);
    if (node.values !== undefined) parts.push(`"values":${walk(node.values, inner)}`);
    if (node.size !== undefined) parts.push(`"size":${stableJson(node.size)}`);
    return `{${parts.join(',')}${rest(node, new Set(['name', 'namespace', 'type', 'fields', 'symbols', 'items', 'values', 'size']))}}`;
  };
  return walk(json, '');
}

/** The attributes not in `skip`, sorted by key, each `,"key":value`. */
function rest(node: { [key: string]: Json }, skip: ReadonlySet<string>): string {
  return Object.keys(node)
    .filter((k) => !skip.has(k))
    .sort()
    .map((k) => `,${JSON.stringify(k)}:${stableJson(node[k] ?? null)}`)
    .join('');
}

/** JSON with object keys sorted at every level. */
function stableJson(value: Json): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${stableJson(value[k] ?? null)}`).join(',')}}`;
}

/**
 * avsc's records and wrapped-union branches are instances of generated classes: copied into plain
 * objects (masking and JSON see only own fields), depth-checked on the way.
 */
function toPlain(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  if (depth >= MAX_VALUE_DEPTH) throw new PayloadError(`the value nests deeper than ${MAX_VALUE_DEPTH} levels`);
  if (Array.isArray(value)) return value.map((item) => toPlain(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) out[key] = toPlain(child, depth + 1);
  return out;
}

/** Why `type` cannot encode `value`: the first path avsc's check stops at, never the value itself. */
function encodeProblem(type: avsc.Type, value: unknown): string {
  let where = '';
  type.isValid(value, {
    errorHook: (path: string[]) => {
      if (where === '') where = path.length === 0 ? '(root)' : path.join('.');
    },
  });
  return where === '' ? 'the value does not fit the schema' : `${where} does not fit the schema`;
}

function compileAvro(id: number, parsed: ParsedSchema): CompiledSchema {
  const built = buildAvroType(parsed.schema, parsed.references, true);
  if ('error' in built) throw new Error(`Avro schema ${id}: ${built.error}`);
  const { type } = built;
  const encode = (value: unknown): Buffer => {
    if (!type.isValid(value)) throw new PayloadError(encodeProblem(type, value));
    try {
      return type.toBuffer(value);
    } catch (err) {
      throw new PayloadError(`the value does not fit the schema: ${describe(err)}`);
    }
  };
  return {
    id,
    schemaType: 'AVRO',
    recordName: type.typeName === 'record' || type.typeName === 'error' ? type.name : undefined,
    decode(payload: Buffer): DecodedPayload {
      let raw: unknown;
      try {
        raw = type.fromBuffer(payload);
      } catch (err) {
        throw new PayloadError(err instanceof RangeError && !/buffer|offset|index/i.test(err.message) ? `the value nests too deeply` : `not an Avro datum of the schema: ${describe(err)}`);
      }
      const value = toPlain(raw, 0);
      const again = encode(value);
      if (!again.equals(payload)) throw new PayloadError('the payload is not in the Avro binary encoding this schema writes (a longer varint, several array blocks, invalid UTF-8…): refused, as it could not be written back unchanged');
      return { value };
    },
    encode(decoded: DecodedPayload): Buffer {
      return encode(decoded.value);
    },
  };
}

export const avroFormat: SchemaFormat = {
  schemaType: 'AVRO',
  parse(schema, references) {
    const built = buildAvroType(schema, references, false);
    if ('error' in built) return { error: `invalid Avro schema: ${built.error}` };
    return { schemaType: 'AVRO', schema, canonical: canonicalAvro(built.json, built.registry), references };
  },
  readerProblems(reader, writer) {
    return avroReaderProblems(reader, writer);
  },
  compile: compileAvro,
};
