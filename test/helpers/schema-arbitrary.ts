import fc from 'fast-check';
import { inRange, type FieldDef, type FieldType, type StructDef } from '../../src/protocol/messages/schema.js';

/**
 * Builds a fast-check arbitrary of a whole message at one version from the same schema the codec
 * reads: fields absent from the version get their default (as the decoder fills them), nullable
 * fields are sometimes null, tagged fields are sometimes equal to their default.
 */
export function messageArbitrary(fields: StructDef, version: number, flexible: boolean): fc.Arbitrary<Record<string, unknown>> {
  const record: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, def] of Object.entries(fields)) {
    record[name] = inRange(def.versions, version) ? fieldArbitrary(def, version, flexible) : fc.constant(defaultValue(def));
  }
  return fc.record(record, { noNullPrototype: true });
}

function fieldArbitrary(def: FieldDef, version: number, flexible: boolean): fc.Arbitrary<unknown> {
  const base = typeArbitrary(def.type, version, flexible);
  const withNull = inRange(def.nullable, version) ? fc.oneof(fc.constant(null), base) : base;
  return def.tag !== undefined ? fc.oneof(fc.constant(defaultValue(def)), withNull) : withNull;
}

function typeArbitrary(type: FieldType, version: number, flexible: boolean): fc.Arbitrary<unknown> {
  if (typeof type !== 'string') {
    if ('array' in type) return fc.array(typeArbitrary(type.array, version, flexible), { maxLength: 3 });
    return messageArbitrary(type.struct, version, flexible);
  }
  switch (type) {
    case 'bool':
      return fc.boolean();
    case 'int8':
      return fc.integer({ min: -128, max: 127 });
    case 'int16':
      return fc.integer({ min: -32768, max: 32767 });
    case 'uint16':
      return fc.integer({ min: 0, max: 65535 });
    case 'int32':
      return fc.integer({ min: -2147483648, max: 2147483647 });
    case 'uint32':
      return fc.integer({ min: 0, max: 4294967295 });
    case 'int64':
      return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
    case 'float64':
      return fc.double({ noNaN: true });
    case 'string':
      return fc.string({ unit: 'grapheme', maxLength: 12 });
    case 'bytes':
    case 'records':
      return fc.uint8Array({ maxLength: 24 }).map((a) => Buffer.from(a));
    case 'uuid':
      return fc.uuid();
  }
}

export function defaultValue(def: FieldDef): unknown {
  if ('default' in def) return def.default;
  const type = def.type;
  if (typeof type !== 'string') {
    if ('array' in type) return [];
    const out: Record<string, unknown> = {};
    for (const [name, d] of Object.entries(type.struct)) out[name] = defaultValue(d);
    return out;
  }
  switch (type) {
    case 'bool':
      return false;
    case 'int64':
      return 0n;
    case 'string':
      return '';
    case 'bytes':
    case 'records':
      return Buffer.alloc(0);
    case 'uuid':
      return '00000000-0000-0000-0000-000000000000';
    default:
      return 0;
  }
}
