/**
 * The declarative message schema: one table per API of fields × versions, read by the one generic
 * codec (`../codec.ts`) in both directions. The TypeScript type of every message is derived from the
 * same table, so a field exists in the code exactly where it exists on the wire.
 *
 * Version ranges use Kafka's notation: "3+" (3 and later), "1-4" (inclusive), "2" (only), "none".
 */

export type Scalar =
  | 'bool'
  | 'int8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'float64'
  | 'string'
  | 'bytes'
  | 'uuid'
  /** A record set (batches), kept as raw bytes: never copied, never parsed by the codec. */
  | 'records';

export interface StructDef {
  readonly [name: string]: FieldDef;
}
export interface ArrayType {
  readonly array: FieldType;
}
export interface StructType {
  readonly struct: StructDef;
}
export type FieldType = Scalar | ArrayType | StructType;

export interface FieldOptions {
  /** Versions in which the field may be null. */
  readonly nullable?: string;
  /** Tag number of a tagged field (flexible versions only). */
  readonly tag?: number;
  /** Versions in which the field is sent as a tagged field. */
  readonly taggedVersions?: string;
  /** Value used when the field is absent from a version or not given; else the type's zero. */
  readonly default?: unknown;
}

export interface FieldDef extends FieldOptions {
  readonly type: FieldType;
  readonly versions: string;
}

type Field<T extends FieldType, V extends string, O extends FieldOptions> = { readonly type: T; readonly versions: V } & O;

function scalar<T extends Scalar>(type: T) {
  // NoInfer: the options type must come from the argument only, not from the contextual type of a
  // schema table (which would widen every field to FieldDef and erase the derived message types).
  return <V extends string, O extends FieldOptions = object>(versions: V, options?: O): Field<T, V, NoInfer<O>> =>
    ({ type, versions, ...options }) as Field<T, V, O>;
}

/** Field constructors: `f.int32('3+')`, `f.string('1+', { nullable: '1+', default: null })`. */
export const f = {
  bool: scalar('bool'),
  int8: scalar('int8'),
  int16: scalar('int16'),
  uint16: scalar('uint16'),
  int32: scalar('int32'),
  uint32: scalar('uint32'),
  int64: scalar('int64'),
  float64: scalar('float64'),
  string: scalar('string'),
  bytes: scalar('bytes'),
  uuid: scalar('uuid'),
  records: scalar('records'),
  /** An array of scalars (`f.array('0+', 'int32')`) or of structs (`f.array('0+', { … })`). */
  array<V extends string, E extends Scalar | StructDef, O extends FieldOptions = object>(
    versions: V,
    of: E,
    options?: O,
  ): Field<{ readonly array: E extends Scalar ? E : { readonly struct: E } }, V, NoInfer<O>> {
    const element = typeof of === 'string' ? of : { struct: of };
    return { type: { array: element }, versions, ...options } as never;
  },
  /** A single nested struct (not an array), e.g. Fetch's tagged `currentLeader`. */
  struct<V extends string, S extends StructDef, O extends FieldOptions = object>(
    versions: V,
    fields: S,
    options?: O,
  ): Field<{ readonly struct: S }, V, NoInfer<O>> {
    return { type: { struct: fields }, versions, ...options } as never;
  },
};

export interface MessageSchema<S extends StructDef = StructDef> {
  readonly apiKey: number;
  readonly name: string;
  readonly kind: 'request' | 'response';
  readonly fields: S;
}

export interface ApiSchema<Req extends StructDef = StructDef, Res extends StructDef = StructDef> {
  readonly apiKey: number;
  readonly name: string;
  /** The versions Parapet decodes and encodes (and advertises unless the registry narrows it). */
  readonly minVersion: number;
  readonly maxVersion: number;
  /** First flexible version, or null when no supported version is flexible. */
  readonly flexibleFrom: number | null;
  readonly request: MessageSchema<Req>;
  readonly response: MessageSchema<Res>;
}

export function parseRange(range: string): { min: number; max: number } | null {
  if (range === 'none') return null;
  const plus = /^(\d+)\+$/.exec(range);
  if (plus) return { min: Number(plus[1]), max: Number.MAX_SAFE_INTEGER };
  const span = /^(\d+)-(\d+)$/.exec(range);
  if (span) return { min: Number(span[1]), max: Number(span[2]) };
  const one = /^(\d+)$/.exec(range);
  if (one) return { min: Number(one[1]), max: Number(one[1]) };
  throw new Error(`invalid version range "${range}"`);
}

export function inRange(range: string | undefined, version: number): boolean {
  if (range === undefined) return false;
  const r = parseRange(range);
  return r !== null && version >= r.min && version <= r.max;
}

/** Declares an API: `api({ apiKey: 3, name: 'Metadata', versions: '0-9', flexible: '9+', request, response })`. */
export function api<Req extends StructDef, Res extends StructDef>(def: {
  apiKey: number;
  name: string;
  versions: string;
  flexible: string;
  request: Req;
  response: Res;
}): ApiSchema<Req, Res> {
  const range = parseRange(def.versions);
  if (range === null) throw new Error(`${def.name}: no versions`);
  const flex = parseRange(def.flexible);
  return {
    apiKey: def.apiKey,
    name: def.name,
    minVersion: range.min,
    maxVersion: range.max,
    flexibleFrom: flex === null || flex.min > range.max ? null : flex.min,
    request: { apiKey: def.apiKey, name: `${def.name}Request`, kind: 'request', fields: def.request },
    response: { apiKey: def.apiKey, name: `${def.name}Response`, kind: 'response', fields: def.response },
  };
}

// ---- Types derived from the schema ----

interface ScalarValues {
  bool: boolean;
  int8: number;
  int16: number;
  uint16: number;
  int32: number;
  uint32: number;
  int64: bigint;
  float64: number;
  string: string;
  bytes: Buffer;
  uuid: string;
  records: Buffer;
}

type Simplify<T> = { [K in keyof T]: T[K] } & {};

export type TypeValue<T> = T extends Scalar
  ? ScalarValues[T]
  : T extends { readonly array: infer E }
    ? TypeValue<E>[]
    : T extends { readonly struct: infer S extends StructDef }
      ? StructValue<S>
      : never;

type FieldValue<F> = F extends { readonly type: infer T }
  ? TypeValue<T> | (F extends { readonly nullable: string } ? null : never)
  : never;

/**
 * A field is required in the type when it is in every version ("0+"), untagged and without a default.
 * Others are optional: the decoder still fills them with their default, so handlers read `x ?? default`.
 */
type RequiredKeys<S extends StructDef> = {
  [K in keyof S]: S[K] extends { readonly versions: '0+' }
    ? S[K] extends { readonly tag: number }
      ? never
      : S[K] extends { readonly default: unknown }
        ? never
        : K
    : never;
}[keyof S];

export type StructValue<S extends StructDef> = Simplify<
  { -readonly [K in RequiredKeys<S>]: FieldValue<S[K]> } & {
    -readonly [K in Exclude<keyof S, RequiredKeys<S>>]?: FieldValue<S[K]>;
  }
>;

export type RequestOf<A> = A extends ApiSchema<infer Req> ? StructValue<Req> : never;
export type ResponseOf<A> = A extends ApiSchema<StructDef, infer Res> ? StructValue<Res> : never;
