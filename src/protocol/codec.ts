import { ParapetError, isFault } from '../errors.js';
import { Reader } from '../bytes/reader.js';
import { Writer } from '../bytes/writer.js';
import { inRange, type ApiSchema, type FieldDef, type FieldType, type MessageSchema, type StructDef } from './messages/schema.js';

/**
 * The one generic codec. A schema is compiled once per (struct, version) into closures and a
 * generated reader/writer per struct, so the hot path does no version arithmetic and no schema lookups.
 */

type Value = unknown;
type Obj = Record<string, Value>;

interface CompiledField {
  readonly name: string;
  readonly read: (r: Reader) => Value;
  readonly write: (w: Writer, v: Value) => void;
  readonly makeDefault: () => Value;
  readonly minSize: number;
}

interface CompiledTagged extends CompiledField {
  readonly tag: number;
  /** The encoding of the default value: a tagged field equal to its default is not sent. */
  readonly defaultBytes: Buffer;
}

interface CompiledStruct {
  /** Tagged fields in this version, ascending by tag. */
  readonly tagged: readonly CompiledTagged[];
  readonly flexible: boolean;
  readonly minSize: number;
  /** Reads the untagged fields into an object holding every declared field (see {@link compileFieldReader}). */
  readonly readFields: (r: Reader) => Obj;
  /** Writes the untagged fields: generated code, see {@link compileFieldWriter}. */
  readonly writeFields: (w: Writer, obj: Obj) => void;
}

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

function prefixPath(err: unknown, segment: string): never {
  if (isFault(err)) {
    const inner = err.context.field;
    err.context.field = inner === undefined ? segment : inner.startsWith('[') ? segment + inner : `${segment}.${inner}`;
  }
  throw err;
}

function encodeFault(message: string): ParapetError {
  return new ParapetError('ENCODE_ERROR', message);
}

function zeroOf(type: FieldType): () => Value {
  if (typeof type !== 'string') {
    if ('array' in type) return () => [];
    const struct = type.struct;
    return () => defaultStruct(struct);
  }
  switch (type) {
    case 'bool':
      return () => false;
    case 'int64':
      return () => 0n;
    case 'string':
      return () => '';
    case 'bytes':
    case 'records':
      return () => Buffer.alloc(0);
    case 'uuid':
      return () => ZERO_UUID;
    default:
      return () => 0;
  }
}

function defaultOf(def: FieldDef): () => Value {
  if (!('default' in def)) return zeroOf(def.type);
  const d = def.default;
  if (d !== null && typeof d === 'object') throw new Error('struct defaults must be scalars or null');
  return () => d;
}

function defaultStruct(fields: StructDef): Obj {
  const out: Obj = {};
  for (const [name, def] of Object.entries(fields)) out[name] = defaultOf(def)();
  return out;
}

const cache = new WeakMap<StructDef, Map<number, CompiledStruct>>();

function compileStruct(fields: StructDef, version: number, flexible: boolean): CompiledStruct {
  let byVersion = cache.get(fields);
  if (byVersion === undefined) {
    byVersion = new Map();
    cache.set(fields, byVersion);
  }
  // Flexibility is a property of the message version, so one key (version × 2 + flexible) suffices.
  const key = version * 2 + (flexible ? 1 : 0);
  const hit = byVersion.get(key);
  if (hit !== undefined) return hit;

  const all: { name: string; makeDefault: () => Value }[] = [];
  const untagged: CompiledField[] = [];
  const tagged: CompiledTagged[] = [];
  for (const [name, def] of Object.entries(fields)) {
    const makeDefault = defaultOf(def);
    all.push({ name, makeDefault });
    if (!inRange(def.versions, version)) continue;
    const tag = flexible && inRange(def.taggedVersions ?? def.versions, version) ? def.tag : undefined;
    const nullable = inRange(def.nullable, version);
    const codec = compileType(def.type, version, flexible, nullable, name);
    const field: CompiledField = { name, makeDefault, ...codec };
    if (tag !== undefined) {
      const w = new Writer(64);
      field.write(w, makeDefault());
      tagged.push({ ...field, tag, defaultBytes: w.toBuffer() });
    } else {
      untagged.push(field);
    }
  }
  tagged.sort((a, b) => a.tag - b.tag);
  const minSize = untagged.reduce((n, fld) => n + fld.minSize, 0) + (flexible ? 1 : 0);
  const readFields = compileFieldReader(all, untagged);
  const writeFields = compileFieldWriter(untagged);
  const compiled: CompiledStruct = { tagged, flexible, minSize, readFields, writeFields };
  byVersion.set(key, compiled);
  return compiled;
}

function readStruct(s: CompiledStruct, r: Reader): Obj {
  const out = s.readFields(r);
  if (s.flexible) readTaggedFields(s, r, out);
  return out;
}

function readTaggedFields(s: CompiledStruct, r: Reader, out: Obj): void {
  const count = r.checkLength(r.uvarint(), r.limits.maxArrayLength, 'tagged fields', 2);
  let lastTag = -1;
  for (let i = 0; i < count; i++) {
    const tag = r.uvarint();
    if (tag <= lastTag) r.fail(`tagged field ${tag} out of ascending order`);
    lastTag = tag;
    const size = r.checkLength(r.uvarint(), r.limits.maxBytesLength, 'tagged field');
    const fld = s.tagged.find((t) => t.tag === tag);
    if (fld === undefined) {
      r.skip(size); // Unknown tags are allowed by KIP-482: a newer peer may send them.
      continue;
    }
    const end = r.offset + size;
    const sub = r.sub(end);
    try {
      out[fld.name] = fld.read(sub);
    } catch (err) {
      prefixPath(err, fld.name);
    }
    if (sub.offset !== end) r.fail(`tagged field ${fld.name} has ${end - sub.offset} trailing bytes`);
    r.offset = end;
  }
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Generates the function that writes a struct's untagged fields. Reading `obj[name]` in a loop is a
 * megamorphic keyed load that V8 cannot cache; a generated `obj.name` per field gets its own inline
 * cache, which makes encoding large responses (Metadata for thousands of partitions) several times
 * faster. The generated text contains only field names from our own schemas, checked to be plain
 * identifiers, and indexes into the closures passed in: no value from the wire reaches it.
 */
function compileFieldWriter(fields: readonly CompiledField[]): (w: Writer, obj: Obj) => void {
  const lines: string[] = [];
  fields.forEach((fld, i) => {
    if (!IDENTIFIER.test(fld.name)) throw new Error(`field name ${fld.name} is not an identifier`);
    lines.push(`c = ${i}; x = obj.${fld.name}; writers[${i}](w, x === undefined ? defaults[${i}]() : x);`);
  });
  const body = `return function writeFields(w, obj) {
    let c = 0, x;
    try { ${lines.join('\n')} } catch (err) { prefixPath(err, names[c]); }
  };`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- schema-only text, see the doc comment
  const factory = new Function('writers', 'defaults', 'names', 'prefixPath', body) as (
    writers: readonly CompiledField['write'][],
    defaults: readonly (() => Value)[],
    names: readonly string[],
    prefix: typeof prefixPath,
  ) => (w: Writer, obj: Obj) => void;
  return factory(
    fields.map((f) => f.write),
    fields.map((f) => f.makeDefault),
    fields.map((f) => f.name),
    prefixPath,
  );
}

/**
 * Generates the function that reads a struct's untagged fields, for the same reason as
 * {@link compileFieldWriter}: the result is one object literal with every declared field in
 * declaration order (wire order), so all decoded objects of a struct share one hidden class. Fields
 * absent from the version, and tagged ones, start at their default.
 */
function compileFieldReader(
  all: readonly { name: string; makeDefault: () => Value }[],
  fields: readonly CompiledField[],
): (r: Reader) => Obj {
  const entries = all.map(({ name }, i) => {
    if (!IDENTIFIER.test(name)) throw new Error(`field name ${name} is not an identifier`);
    const wire = fields.findIndex((f) => f.name === name);
    return wire < 0 ? `${name}: defaults[${i}]()` : `${name}: (c = ${wire}, readers[${wire}](r))`;
  });
  const body = `return function readFields(r) {
    let c = -1;
    try { return { ${entries.join(',\n')} }; } catch (err) { if (c < 0) throw err; prefixPath(err, names[c]); }
  };`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- schema-only text, see the doc comment
  const factory = new Function('readers', 'defaults', 'names', 'prefixPath', body) as (
    readers: readonly CompiledField['read'][],
    defaults: readonly (() => Value)[],
    names: readonly string[],
    prefix: typeof prefixPath,
  ) => (r: Reader) => Obj;
  return factory(
    fields.map((f) => f.read),
    all.map((f) => f.makeDefault),
    fields.map((f) => f.name),
    prefixPath,
  );
}

function writeStruct(s: CompiledStruct, w: Writer, v: Value): void {
  if (v === null || typeof v !== 'object') throw encodeFault('expected an object');
  const obj = v as Obj;
  s.writeFields(w, obj);
  if (s.flexible) writeTaggedFields(s, w, obj);
}

function writeTaggedFields(s: CompiledStruct, w: Writer, obj: Obj): void {
  if (s.tagged.length === 0) {
    w.uvarint(0);
    return;
  }
  const present: [CompiledTagged, Buffer[]][] = [];
  for (const fld of s.tagged) {
    const x = obj[fld.name];
    if (x === undefined) continue;
    const sub = new Writer(64);
    try {
      fld.write(sub, x);
    } catch (err) {
      prefixPath(err, fld.name);
    }
    const bytes = sub.finish();
    if (sub.length === fld.defaultBytes.length && Buffer.concat(bytes).equals(fld.defaultBytes)) continue;
    present.push([fld, bytes]);
  }
  w.uvarint(present.length);
  for (const [fld, bytes] of present) {
    w.uvarint(fld.tag);
    w.uvarint(bytes.reduce((n, b) => n + b.length, 0));
    for (const b of bytes) w.raw(b);
  }
}

interface TypeCodec {
  read: (r: Reader) => Value;
  write: (w: Writer, v: Value) => void;
  minSize: number;
}

function nullGuard(name: string): never {
  throw encodeFault(`${name} is not nullable in this version`);
}

function compileType(type: FieldType, version: number, flexible: boolean, nullable: boolean, name: string): TypeCodec {
  if (typeof type !== 'string') {
    if ('struct' in type) {
      const s = compileStruct(type.struct, version, flexible);
      return {
        read: (r) => readStruct(s, r),
        write: (w, v) => {
          writeStruct(s, w, v);
        },
        minSize: s.minSize,
      };
    }
    return compileArray(type.array, version, flexible, nullable, name);
  }
  switch (type) {
    case 'bool':
      return { read: (r) => r.bool(), write: (w, v) => w.bool(v as boolean), minSize: 1 };
    case 'int8':
      return { read: (r) => r.int8(), write: (w, v) => w.int8(v as number), minSize: 1 };
    case 'int16':
      return { read: (r) => r.int16(), write: (w, v) => w.int16(v as number), minSize: 2 };
    case 'uint16':
      return { read: (r) => r.uint16(), write: (w, v) => w.uint16(v as number), minSize: 2 };
    case 'int32':
      return { read: (r) => r.int32(), write: (w, v) => w.int32(v as number), minSize: 4 };
    case 'uint32':
      return { read: (r) => r.uint32(), write: (w, v) => w.uint32(v as number), minSize: 4 };
    case 'int64':
      return { read: (r) => r.int64(), write: (w, v) => w.int64(v as bigint), minSize: 8 };
    case 'float64':
      return { read: (r) => r.float64(), write: (w, v) => w.float64(v as number), minSize: 8 };
    case 'uuid':
      return { read: (r) => r.uuid(), write: (w, v) => w.uuid(v as string), minSize: 16 };
    case 'string':
      return stringCodec(flexible, nullable, name);
    case 'bytes':
    case 'records':
      return bytesCodec(flexible, nullable, name);
  }
}

function notNullable(name: string): never {
  throw new ParapetError('DECODE_ERROR', `${name} is null but not nullable in this version`);
}

function stringCodec(flexible: boolean, nullable: boolean, name: string): TypeCodec {
  const check = (v: string | null) => (v === null && !nullable ? notNullable(name) : v);
  const write = (w: Writer, v: Value) => {
    if (v === null && !nullable) nullGuard(name);
    if (v !== null && typeof v !== 'string') throw encodeFault(`${name} must be a string`);
    if (flexible) w.compactString(v);
    else w.string(v);
  };
  return flexible
    ? { read: (r) => check(r.compactString()), write, minSize: 1 }
    : { read: (r) => check(r.string()), write, minSize: 2 };
}

function bytesCodec(flexible: boolean, nullable: boolean, name: string): TypeCodec {
  const check = (v: Buffer | null) => (v === null && !nullable ? notNullable(name) : v);
  const write = (w: Writer, v: Value) => {
    if (v === null && !nullable) nullGuard(name);
    if (v !== null && !(v instanceof Uint8Array)) throw encodeFault(`${name} must be bytes`);
    if (flexible) w.compactBytes(v);
    else w.bytes(v);
  };
  return flexible
    ? { read: (r) => check(r.compactBytes()), write, minSize: 1 }
    : { read: (r) => check(r.bytes()), write, minSize: 4 };
}

function compileArray(element: FieldType, version: number, flexible: boolean, nullable: boolean, name: string): TypeCodec {
  const el = compileType(element, version, flexible, false, name);
  const readEl = el.read;
  const writeEl = el.write;
  const read = (r: Reader): Value => {
    const n = flexible ? r.compactArrayLength(el.minSize) : r.arrayLength(el.minSize);
    if (n === null) {
      return nullable ? null : notNullable(name);
    }
    const out = new Array<Value>(n);
    let i = 0;
    try {
      for (; i < n; i++) out[i] = readEl(r);
    } catch (err) {
      prefixPath(err, `[${i}]`);
    }
    return out;
  };
  const write = (w: Writer, v: Value): void => {
    if (v === null) {
      if (!nullable) nullGuard(name);
      if (flexible) w.uvarint(0);
      else w.int32(-1);
      return;
    }
    if (!Array.isArray(v)) throw encodeFault(`${name} must be an array`);
    if (flexible) w.uvarint(v.length + 1);
    else w.int32(v.length);
    let i = 0;
    try {
      for (; i < v.length; i++) writeEl(w, v[i]);
    } catch (err) {
      prefixPath(err, `[${i}]`);
    }
  };
  return { read, write, minSize: flexible ? 1 : 4 };
}

// ---- Public entry points ----

export function isFlexible(api: ApiSchema, version: number): boolean {
  return api.flexibleFrom !== null && version >= api.flexibleFrom;
}

function compiledMessage(api: ApiSchema, message: MessageSchema, version: number): CompiledStruct {
  if (version < api.minVersion || version > api.maxVersion) {
    throw new ParapetError('UNSUPPORTED_API', `${api.name} v${version} is not supported`, { api: api.name, version });
  }
  return compileStruct(message.fields, version, isFlexible(api, version));
}

/**
 * Decodes a message body from `r` to its end; trailing bytes are an error (a sign of a wrong schema),
 * except, with `tolerateTrailingZeros`, zero bytes after a flexible request: @platformatic/kafka 1.35
 * writes the empty tagged-field section of AlterUserScramCredentials and DescribeTopicPartitions twice,
 * and Apache Kafka serves it, reading only the fields it knows.
 */
export function decodeBody(api: ApiSchema, message: MessageSchema, version: number, r: Reader, options: { tolerateTrailingZeros?: boolean } = {}): Obj {
  const s = compiledMessage(api, message, version);
  try {
    const out = readStruct(s, r);
    if (r.remaining !== 0 && !(options.tolerateTrailingZeros === true && r.remaining <= 8 && r.peekZeros(r.remaining))) {
      r.fail(`${r.remaining} trailing bytes after the message`);
    }
    return out;
  } catch (err) {
    if (isFault(err)) {
      err.context.api = api.name;
      err.context.version = version;
      err.context.offset ??= r.offset;
    }
    throw err;
  }
}

export function encodeBody(api: ApiSchema, message: MessageSchema, version: number, w: Writer, value: object): void {
  const s = compiledMessage(api, message, version);
  try {
    writeStruct(s, w, value);
  } catch (err) {
    if (isFault(err)) {
      err.context.api = api.name;
      err.context.version = version;
    }
    throw err;
  }
}
