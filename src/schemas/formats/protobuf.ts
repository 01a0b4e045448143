import { createRequire } from 'node:module';
import protobuf from 'protobufjs';
import type { CompiledSchema, DecodedPayload } from '../types.js';
import { PayloadError } from '../types.js';
import type { ParsedSchema, SchemaFormat } from './format.js';
import { protobufReaderProblems } from './protobuf-compatibility.js';
import { readMessageIndexes, writeMessageIndexes } from './protobuf-message-indexes.js';

/**
 * Protobuf (.proto text, proto2, proto3 and the editions protobufjs parses), checked and compiled with
 * protobufjs. An `import` is resolved only from the schema's references, by import path (the reference
 * name, as Confluent's serializers register them), or from the google/protobuf well-known types
 * protobufjs ships (any, duration, empty, field_mask, struct, timestamp, wrappers, descriptor): never from
 * disk or the network.
 *
 * The payload is Confluent's message indexes (./protobuf-message-indexes.ts), then the message. Decoded
 * values, which masking walks by field name:
 * - a message is a plain object keyed by the .proto field names (not camelCased); a field absent from
 *   the payload is absent from the object (proto3 zero values are not written, so not there either);
 * - 64-bit integers are decimal strings (protobuf's JSON mapping does the same: a double cannot hold them);
 * - an enum is its value's name (a number when the payload has a value the enum does not declare);
 * - bytes are Buffers; a map a plain object keyed by the map key as a string; repeated fields arrays;
 * - a oneof is not a key of its own: the member that is set appears as its field.
 * `messageIndexes` says which message of the file it is (encode writes them back; absent means [0]).
 *
 * `decode` accepts only message bytes that `encode` writes back byte for byte (it checks): fields in
 * field-number order, as protobuf-java, Go and protobufjs write them; unknown fields (the payload names a
 * schema that lacks them), a field repeated where it is singular, or an unpacked repeated field where the
 * schema packs it are refused, since masking would otherwise drop or rewrite what it was not asked to.
 * The message indexes are written in Confluent's short form: a payload written with [0] in the long form
 * (0x02 0x00, as Apicurio's serializer did) comes back as 0x00, which every reader takes as the same.
 */

/**
 * Bounds on what a schema or a payload can make the broker do (both attacker-chosen):
 * - MAX_NESTING: messages nested in messages in the .proto text, and in a value given to `encode`. A
 *   payload's nesting is bounded by protobufjs's decoder at 100 (util.recursionLimit, as
 *   protobuf-java's CodedInputStream), a "max depth exceeded" PayloadError beyond.
 * - MAX_IMPORTS: files one schema may pull in through imports (its references and theirs).
 * The schema's size is the registry's bound; parsing and the generated codecs are linear in it.
 */
export const MAX_NESTING = 100;
export const MAX_IMPORTS = 256;

const require = createRequire(import.meta.url);

/** The well-known types protobufjs ships, by import path; descriptor.proto is a JSON file of its own. */
function wellKnown(path: string): protobuf.INamespace | undefined {
  if (path === 'google/protobuf/descriptor.proto') return require('protobufjs/google/protobuf/descriptor.json') as protobuf.INamespace;
  return protobuf.common.get(path) ?? undefined;
}

const PARSE_OPTIONS = { keepCase: true } as const;

export interface ProtoFile {
  /** The schema with its imports, every type resolved. */
  readonly root: protobuf.Root;
  /** The schema's own file alone: its package, its messages in declaration order (the message indexes). */
  readonly own: protobuf.Root;
  readonly package: string;
  readonly imports: readonly string[];
  /** `proto2`, `proto3` or an edition. */
  readonly syntax: string;
}

/** Parses the schema and its imports (recursively, from `references` and the well-known types). */
export function buildProtoFile(schema: string, references: ReadonlyMap<string, string>): ProtoFile | { error: string } {
  try {
    const own = protobuf.parse(schema, new protobuf.Root(), PARSE_OPTIONS);
    const root = new protobuf.Root();
    protobuf.parse(schema, root, PARSE_OPTIONS);
    const loaded = new Set<string>();
    const queue = [...(own.imports ?? []), ...(own.weakImports ?? [])];
    while (queue.length > 0) {
      const path = queue.shift() as string;
      if (loaded.has(path)) continue;
      loaded.add(path);
      if (loaded.size > MAX_IMPORTS) return { error: `more than ${MAX_IMPORTS} imported files` };
      const text = references.get(path);
      if (text !== undefined) {
        const parsed = protobuf.parse(text, root, PARSE_OPTIONS);
        queue.push(...(parsed.imports ?? []), ...(parsed.weakImports ?? []));
        continue;
      }
      const json = wellKnown(path);
      if (json === undefined) return { error: `import "${path}" is neither a reference of the schema nor a well-known type` };
      root.addJSON(json.nested ?? {});
    }
    root.resolveAll();
    const depth = nestingDepth(own.root, 0);
    if (depth > MAX_NESTING) return { error: `messages nest deeper than ${MAX_NESTING} levels` };
    return { root, own: own.root, package: own.package ?? '', imports: [...(own.imports ?? [])].sort(), syntax: syntaxOf(own.root) };
  } catch (err) {
    if (err instanceof RangeError) return { error: 'too deeply nested' };
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

function nestingDepth(ns: protobuf.NamespaceBase, depth: number): number {
  if (depth > MAX_NESTING) return depth;
  let max = depth;
  for (const child of ns.nestedArray) if (child instanceof protobuf.Namespace) max = Math.max(max, nestingDepth(child, depth + 1));
  return max;
}

/** The syntax protobufjs recorded on the file's top-level objects (proto2 when the file declares none). */
function syntaxOf(root: protobuf.Root): string {
  const found = (ns: protobuf.NamespaceBase): string | undefined => {
    for (const child of ns.nestedArray) {
      // A package's namespaces carry protobufjs's default edition: only the declarations have the file's.
      if (child instanceof protobuf.Namespace && !(child instanceof protobuf.Type) && !(child instanceof protobuf.Service)) {
        const inner = found(child);
        if (inner !== undefined) return inner;
        continue;
      }
      const edition = (child as unknown as { _edition?: unknown })._edition;
      if (typeof edition === 'string') return edition;
    }
    return undefined;
  };
  return found(root) ?? 'proto2';
}

/** The namespace of the file's package in `root` (the root itself without a package). */
function packageNamespace(root: protobuf.NamespaceBase, pkg: string): protobuf.NamespaceBase | undefined {
  if (pkg === '') return root;
  const found = root.lookup(pkg);
  return found instanceof protobuf.Namespace ? found : undefined;
}

/** The message types nested directly in `ns`, in declaration order (the message indexes count these). */
function messagesOf(ns: protobuf.NamespaceBase): protobuf.Type[] {
  return ns.nestedArray.filter((n): n is protobuf.Type => n instanceof protobuf.Type);
}

/** The full names (no leading dot) of the file's messages, in order, for the indexes: [[name, indexes]…]. */
export function fileMessages(file: ProtoFile): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const walk = (ns: protobuf.NamespaceBase, path: number[]): void => {
    messagesOf(ns).forEach((type, i) => {
      out.set(type.fullName.slice(1), [...path, i]);
      walk(type, [...path, i]);
    });
  };
  const pkg = packageNamespace(file.own, file.package);
  if (pkg !== undefined) walk(pkg, []);
  return out;
}

/**
 * The canonical text: the file as protobufjs's JSON descriptor (comments and whitespace gone), with its
 * syntax and sorted imports. Not sorted otherwise: the order of messages is what the message indexes
 * count, so two files that declare the same messages in another order are two schemas.
 */
function canonicalProto(file: ProtoFile): string {
  return JSON.stringify({ syntax: file.syntax, imports: file.imports, file: file.own.toJSON() });
}

/** The wire type each scalar type is written with (protobuf's encoding guide); messages and the rest: 2. */
const WIRE_TYPES: Readonly<Record<string, number>> = {
  int32: 0, int64: 0, uint32: 0, uint64: 0, sint32: 0, sint64: 0, bool: 0,
  fixed64: 1, sfixed64: 1, double: 1,
  fixed32: 5, sfixed32: 5, float: 5,
};

/**
 * Why a message's fields are not written as its schema types them, or null. protobufjs skips a known
 * field sent with another wire type (a string sent as a varint) as if it were unknown: the payload would
 * pass for one of this schema while its writer used another. Fields unknown to the schema are allowed
 * (a newer writer's, forward compatibility). Walks nested messages and map entries; the decode before it
 * has bounded their depth.
 */
function wireTypeProblem(type: protobuf.Type, bytes: Uint8Array, depth: number): string | null {
  if (depth > MAX_NESTING) return `${type.name} nests deeper than ${MAX_NESTING} levels`;
  const reader = protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const id = tag >>> 3;
    const wire = tag & 7;
    const field = type.fieldsById[id];
    if (field !== undefined) {
      const scalar = WIRE_TYPES[field.type];
      const enumType = field.resolvedType instanceof protobuf.Enum;
      const expected = field.map ? 2 : enumType ? 0 : (scalar ?? 2);
      // Repeated numbers may come packed (length-delimited) or one by one.
      const packedOk = field.repeated && !field.map && (scalar !== undefined || enumType) && wire === 2;
      if (wire !== expected && !packedOk) return `field ${field.name} of ${type.fullName.slice(1)} has wire type ${wire}, its type ${field.type} is written with ${expected}`;
      if (wire === 2 && field.resolvedType instanceof protobuf.Type && !field.map) {
        const length = reader.uint32();
        const problem = wireTypeProblem(field.resolvedType, bytes.subarray(reader.pos, reader.pos + length), depth + 1);
        if (problem !== null) return problem;
        reader.skip(length);
        continue;
      }
    }
    reader.skipType(wire);
  }
  return null;
}

const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: String, bytes: Buffer, defaults: false, arrays: false, objects: false, oneofs: false, json: false };

const INT32 = new Set(['int32', 'sint32', 'sfixed32']);
const UINT32 = new Set(['uint32', 'fixed32']);
const INT64 = new Set(['int64', 'sint64', 'sfixed64']);
const UINT64 = new Set(['uint64', 'fixed64']);

/**
 * Why `value` is not a value of `type` as decode gives them, or null: checked before protobufjs's
 * fromObject, which coerces what it is given (a string put in an int32 field becomes 0) where a masked
 * value that no longer fits must be refused.
 */
function messageProblem(type: protobuf.Type, value: unknown, path: string, depth: number): string | null {
  if (depth > MAX_NESTING) return `${path || '(root)'} nests deeper than ${MAX_NESTING} levels`;
  if (value === null || typeof value !== 'object' || Array.isArray(value) || Buffer.isBuffer(value)) return `${path || '(root)'} is not a message`;
  const record = value as Record<string, unknown>;
  for (const [key, fieldValue] of Object.entries(record)) {
    const field = type.fields[key];
    const at = path === '' ? key : `${path}.${key}`;
    if (field === undefined) return `${at} is not a field of ${type.fullName.slice(1)}`;
    if (fieldValue === null || fieldValue === undefined) continue;
    field.resolve();
    if (field instanceof protobuf.MapField) {
      if (typeof fieldValue !== 'object' || Array.isArray(fieldValue) || Buffer.isBuffer(fieldValue)) return `${at} is not a map`;
      for (const [k, v] of Object.entries(fieldValue as Record<string, unknown>)) {
        const keyProblem = scalarProblem(field.keyType, k, true);
        if (keyProblem !== null) return `${at} key ${keyProblem}`;
        const problem = singleProblem(field, v, `${at}.${k}`, depth);
        if (problem !== null) return problem;
      }
    } else if (field.repeated) {
      if (!Array.isArray(fieldValue)) return `${at} is not a list`;
      for (let i = 0; i < fieldValue.length; i++) {
        const problem = singleProblem(field, fieldValue[i], `${at}[${i}]`, depth);
        if (problem !== null) return problem;
      }
    } else {
      const problem = singleProblem(field, fieldValue, at, depth);
      if (problem !== null) return problem;
    }
  }
  for (const oneof of type.oneofsArray) {
    const set = oneof.oneof.filter((name) => record[name] !== undefined && record[name] !== null);
    if (set.length > 1) return `${path === '' ? '' : `${path}.`}${oneof.name} has more than one member set (${set.join(', ')})`;
  }
  return null;
}

function singleProblem(field: protobuf.Field, value: unknown, at: string, depth: number): string | null {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return messageProblem(resolved, value, at, depth + 1);
  if (resolved instanceof protobuf.Enum) {
    if (typeof value === 'string') return Object.hasOwn(resolved.values, value) ? null : `${at}: ${JSON.stringify(value)} is not a value of ${resolved.fullName.slice(1)}`;
    return typeof value === 'number' && Number.isInteger(value) && value >= -0x80000000 && value <= 0x7fffffff ? null : `${at} is not a value of ${resolved.fullName.slice(1)}`;
  }
  const problem = scalarProblem(field.type, value, false);
  return problem === null ? null : `${at} ${problem}`;
}

/** `mapKey`: the value is a map key, always a string (a number's decimal form, "true"/"false"). */
function scalarProblem(type: string, value: unknown, mapKey: boolean): string | null {
  const integer = (min: bigint, max: bigint): string | null => {
    let n: bigint;
    if (typeof value === 'bigint') n = value;
    else if (typeof value === 'number' && Number.isSafeInteger(value) && !mapKey) n = BigInt(value);
    else if (typeof value === 'string' && /^-?\d{1,20}$/.test(value) && (mapKey || INT64.has(type) || UINT64.has(type))) n = BigInt(value);
    else return `is not a ${type}`;
    return n >= min && n <= max ? null : `is out of the ${type} range`;
  };
  if (INT32.has(type)) return integer(-(2n ** 31n), 2n ** 31n - 1n);
  if (UINT32.has(type)) return integer(0n, 2n ** 32n - 1n);
  if (INT64.has(type)) return integer(-(2n ** 63n), 2n ** 63n - 1n);
  if (UINT64.has(type)) return integer(0n, 2n ** 64n - 1n);
  switch (type) {
    case 'double':
    case 'float':
      return typeof value === 'number' ? null : `is not a ${type}`;
    case 'bool':
      return (mapKey ? value === 'true' || value === 'false' : typeof value === 'boolean') ? null : 'is not a bool';
    case 'string':
      return typeof value === 'string' ? null : 'is not a string';
    case 'bytes':
      return value instanceof Uint8Array ? null : 'is not bytes';
    default:
      return `has the unknown type ${type}`;
  }
}

function compileProtobuf(id: number, parsed: ParsedSchema): CompiledSchema {
  const file = buildProtoFile(parsed.schema, parsed.references);
  if ('error' in file) throw new Error(`Protobuf schema ${id}: ${file.error}`);
  const pkg = packageNamespace(file.root, file.package);
  const topLevel = pkg === undefined ? [] : messagesOf(pkg);
  const first = topLevel[0];
  const messageAt = (indexes: readonly number[]): protobuf.Type => {
    let candidates = topLevel;
    let type: protobuf.Type | undefined;
    for (const index of indexes) {
      type = candidates[index];
      if (type === undefined) throw new PayloadError(`the message indexes [${indexes.join(', ')}] name no message of the schema`);
      candidates = messagesOf(type);
    }
    if (type === undefined) throw new PayloadError('no message indexes');
    return type;
  };
  const encodeMessage = (type: protobuf.Type, value: unknown): Buffer => {
    const problem = messageProblem(type, value, '', 0);
    if (problem !== null) throw new PayloadError(problem);
    try {
      return Buffer.from(type.encode(type.fromObject(value as Record<string, unknown>)).finish());
    } catch (err) {
      throw new PayloadError(`the value does not fit ${type.fullName.slice(1)}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  return {
    id,
    schemaType: 'PROTOBUF',
    recordName: first?.fullName.slice(1),
    decode(payload: Buffer): DecodedPayload {
      const { indexes, offset } = readMessageIndexes(payload);
      const type = messageAt(indexes);
      const bytes = payload.subarray(offset);
      let value: Record<string, unknown>;
      try {
        value = type.toObject(type.decode(bytes), TO_OBJECT);
      } catch (err) {
        throw new PayloadError(`not a ${type.fullName.slice(1)} message: ${err instanceof Error ? err.message : String(err)}`);
      }
      // The value must be one this schema can write (types, ranges). The bytes need not be the ones it
      // would write: protobuf encoders may send default values explicitly, fields in any order, repeated
      // numbers packed or not (protobufjs 7, which @kafkajs/confluent-schema-registry uses, writes an int64
      // 0 explicitly), and fields a newer schema added (forward compatibility). All of these are valid
      // payloads; a masked record is written in this schema's own encoding, without fields it does not know.
      const wrong = wireTypeProblem(type, bytes, 0);
      if (wrong !== null) throw new PayloadError(wrong);
      encodeMessage(type, value);
      return { value, messageIndexes: indexes };
    },
    encode(decoded: DecodedPayload): Buffer {
      const indexes = decoded.messageIndexes ?? [0];
      return Buffer.concat([writeMessageIndexes(indexes), encodeMessage(messageAt(indexes), decoded.value)]);
    },
  };
}

export const protobufFormat: SchemaFormat = {
  schemaType: 'PROTOBUF',
  parse(schema, references) {
    const file = buildProtoFile(schema, references);
    if ('error' in file) return { error: `invalid Protobuf schema: ${file.error}` };
    return { schemaType: 'PROTOBUF', schema, canonical: canonicalProto(file), references };
  },
  readerProblems(reader, writer) {
    return protobufReaderProblems(reader, writer);
  },
  compile: compileProtobuf,
};
