import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import avsc from 'avsc';
import fc from 'fast-check';
import { avroFormat, MAX_VALUE_DEPTH } from '../../../../src/schemas/formats/avro.js';
import type { ParsedSchema } from '../../../../src/schemas/formats/format.js';
import { PayloadError } from '../../../../src/schemas/types.js';

const NONE = new Map<string, string>();

function parsed(schema: unknown, references: ReadonlyMap<string, string> = NONE): ParsedSchema {
  const result = avroFormat.parse(typeof schema === 'string' ? schema : JSON.stringify(schema), references);
  if ('error' in result) assert.fail(result.error);
  return result;
}

const USER = {
  type: 'record',
  name: 'User',
  namespace: 'com.example',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'name', type: 'string' },
    { name: 'email', type: ['null', 'string'], default: null },
    { name: 'age', type: 'int' },
    { name: 'score', type: 'double' },
    { name: 'ratio', type: 'float' },
    { name: 'active', type: 'boolean' },
    { name: 'tags', type: { type: 'array', items: 'string' } },
    { name: 'attrs', type: { type: 'map', values: 'long' } },
    { name: 'kind', type: { type: 'enum', name: 'Kind', symbols: ['A', 'B', 'C'] } },
    { name: 'hash', type: { type: 'fixed', name: 'Hash', size: 4 } },
    { name: 'blob', type: 'bytes' },
    { name: 'address', type: ['null', { type: 'record', name: 'Address', fields: [{ name: 'city', type: 'string' }] }], default: null },
  ],
};

/** Values of USER as decode gives them (longs: numbers while safe, bigints beyond). */
const userValue = fc.record({
  id: fc.oneof(fc.maxSafeInteger(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).filter((n) => n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER))),
  name: fc.string({ unit: 'grapheme' }),
  email: fc.option(fc.string(), { nil: null }),
  age: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  score: fc.double({ noNaN: true }),
  ratio: fc.float({ noNaN: true }).map(Math.fround),
  active: fc.boolean(),
  tags: fc.array(fc.string(), { maxLength: 4 }),
  attrs: fc.dictionary(fc.string().filter((k) => k !== '__proto__'), fc.maxSafeInteger(), { maxKeys: 4, noNullPrototype: true }),
  kind: fc.constantFrom('A', 'B', 'C'),
  hash: fc.uint8Array({ minLength: 4, maxLength: 4 }).map((a) => Buffer.from(a)),
  blob: fc.uint8Array({ maxLength: 16 }).map((a) => Buffer.from(a)),
  address: fc.option(fc.record({ city: fc.string() }, { noNullPrototype: true }), { nil: null }),
}, { noNullPrototype: true });

describe('avroFormat.parse', () => {
  it('accepts a record schema and refuses invalid ones with one sentence naming the problem', () => {
    assert.ok(!('error' in avroFormat.parse(JSON.stringify(USER), NONE)));
    const cases: [string, RegExp][] = [
      ['{"type":"record","name":"R"', /^invalid Avro schema: the schema is not JSON/],
      ['{"type":"record","name":"R","fields":[{"name":"a","type":"nosuch"}]}', /^invalid Avro schema: .*undefined type name: nosuch/],
      ['{"type":"record","name":"1R","fields":[]}', /^invalid Avro schema: invalid name: "1R"$/],
      ['{"type":"enum","name":"E","symbols":["A","A"]}', /^invalid Avro schema: .*duplicate/],
      ['{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":"x"}]}', /^invalid Avro schema: .*invalid "int"/],
      ['"strng"', /^invalid Avro schema: .*undefined type name: strng/],
    ];
    for (const [schema, message] of cases) {
      const result = avroFormat.parse(schema, NONE);
      assert.ok('error' in result, schema);
      assert.match(result.error, message);
    }
  });

  it('resolves named types from the references (by full name), in any order of the references', () => {
    const address = JSON.stringify({ type: 'record', name: 'Address', namespace: 'com.example', fields: [{ name: 'city', type: 'com.example.City' }] });
    const city = JSON.stringify({ type: 'record', name: 'City', namespace: 'com.example', fields: [{ name: 'name', type: 'string' }] });
    const order = { type: 'record', name: 'Order', namespace: 'com.example', fields: [{ name: 'to', type: 'Address' }] };
    // Address uses City: given first, it only resolves once City is in the registry.
    const refs = new Map([['com.example.Address', address], ['com.example.City', city]]);
    const p = parsed(order, refs);
    const compiled = avroFormat.compile(1, p);
    const value = { to: { city: { name: 'Lyon' } } };
    assert.deepEqual(compiled.decode(compiled.encode({ value })).value, value);
    const missing = avroFormat.parse(JSON.stringify(order), new Map([['com.example.Address', address]]));
    assert.ok('error' in missing && /reference com\.example\.Address: .*undefined type name: com\.example\.City/.test(missing.error), JSON.stringify(missing));
  });

  it('gives whitespace, attribute order, namespace spelling and {"type":"int"} variants one canonical form', () => {
    const a = parsed({ type: 'record', name: 'R', namespace: 'n', fields: [{ name: 'a', type: 'int' }, { name: 'b', type: { type: 'enum', name: 'E', symbols: ['X'] } }] });
    const b = parsed(`{ "fields": [ {"type": {"type":"int"}, "name": "a"},
        {"name":"b","type":{"symbols":["X"],"name":"n.E","type":"enum"}} ],
      "name": "n.R", "type": "record" }`);
    assert.equal(a.canonical, b.canonical);
    assert.equal(a.canonical, '{"name":"n.R","type":"record","fields":[{"name":"a","type":"int"},{"name":"b","type":{"name":"n.E","type":"enum","symbols":["X"]}}]}');
  });

  it('keeps in the canonical form what changes how data is read: a default, an alias, a logical type, a property', () => {
    const base = { type: 'record', name: 'R', fields: [{ name: 'a', type: 'int' }] };
    const variants = [
      { ...base, fields: [{ name: 'a', type: 'int', default: 0 }] },
      { ...base, fields: [{ name: 'a', type: 'int', aliases: ['old'] }] },
      { ...base, fields: [{ name: 'a', type: { type: 'int', logicalType: 'date' } }] },
      { ...base, 'connect.name': 'R' },
      { ...base, fields: [{ name: 'a', type: 'long' }] },
    ];
    const canonical = parsed(base).canonical;
    for (const variant of variants) assert.notEqual(parsed(variant).canonical, canonical, JSON.stringify(variant));
  });

  it('refuses a schema nested deeper than the bound without recursing into it', () => {
    let type: unknown = 'int';
    for (let i = 0; i < 200; i++) type = { type: 'array', items: type };
    const result = avroFormat.parse(JSON.stringify(type), NONE);
    assert.ok('error' in result);
    assert.match(result.error, /nests deeper than 128 levels/);
  });
});

describe('avroFormat.compile', () => {
  const user = avroFormat.compile(7, parsed(USER));

  it('names the record by its full name', () => {
    assert.equal(user.recordName, 'com.example.User');
    assert.equal(user.schemaType, 'AVRO');
    assert.equal(avroFormat.compile(1, parsed('"string"')).recordName, undefined);
  });

  it('round-trips byte for byte: decode(encode(v)) is v, and encode(decode(bytes)) is bytes', () => {
    fc.assert(
      fc.property(userValue, (value) => {
        const bytes = user.encode({ value });
        const decoded = user.decode(bytes);
        assert.deepEqual(decoded.value, value);
        assert.ok(user.encode(decoded).equals(bytes));
      }),
      { numRuns: 200 },
    );
  });

  it('decodes what a plain avsc serializer wrote, into plain objects, and re-encodes it identically', () => {
    const writer = avsc.Type.forSchema(USER as avsc.Schema);
    const datum = { id: 42, name: 'Ada', email: 'ada@example.com', age: 36, score: 1.5, ratio: 0.25, active: true, tags: ['x', 'y'], attrs: { k: 9 }, kind: 'B', hash: Buffer.from('abcd'), blob: Buffer.alloc(0), address: { city: 'London' } };
    const bytes = writer.toBuffer(datum);
    const decoded = user.decode(bytes);
    assert.deepEqual(decoded.value, datum);
    // Records are plain objects, as masking and JSON expect, not avsc's generated classes.
    assert.equal(Object.getPrototypeOf(decoded.value), Object.prototype);
    assert.equal(Object.getPrototypeOf((decoded.value as { address: object }).address), Object.prototype);
    assert.ok(user.encode(decoded).equals(bytes));
  });

  it('reads a long beyond 2^53 exactly, as a bigint', () => {
    const long = avroFormat.compile(1, parsed('"long"'));
    const bytes = Buffer.from('feffffffffffffffff01', 'hex'); // zigzag of 2^63 - 1
    assert.equal(long.decode(bytes).value, 2n ** 63n - 1n);
    assert.ok(long.encode(long.decode(bytes)).equals(bytes));
    assert.equal(long.decode(Buffer.of(0x54)).value, 42);
  });

  it('wraps an ambiguous union by branch name and leaves ["null", T] unwrapped', () => {
    const schema = parsed({ type: 'record', name: 'R', fields: [{ name: 'n', type: ['int', 'double'] }, { name: 'o', type: ['null', 'string'] }] });
    const compiled = avroFormat.compile(1, schema);
    const value = { n: { double: 2.5 }, o: 'x' };
    assert.deepEqual(compiled.decode(compiled.encode({ value })).value, value);
  });

  it('refuses malformed payloads with a PayloadError: truncated, trailing bytes, a bad union or enum index, invalid UTF-8', () => {
    const bytes = user.encode({ value: fc.sample(userValue, { numRuns: 1, seed: 1 })[0] });
    const cases: [Buffer, RegExp][] = [
      [bytes.subarray(0, bytes.length - 1), /truncated/],
      [Buffer.concat([bytes, Buffer.of(0)]), /trailing data/],
      [Buffer.alloc(0), /truncated/],
    ];
    for (const [payload, message] of cases) assert.throws(() => user.decode(payload), (err: unknown) => err instanceof PayloadError && message.test(err.message));
    const union = avroFormat.compile(1, parsed(['null', 'string']));
    assert.throws(() => union.decode(Buffer.of(0x04)), (err: unknown) => err instanceof PayloadError && /invalid union index/.test(err.message));
    const enumType = avroFormat.compile(1, parsed({ type: 'enum', name: 'E', symbols: ['A'] }));
    assert.throws(() => enumType.decode(Buffer.of(0x02)), PayloadError);
    const string = avroFormat.compile(1, parsed('"string"'));
    // Invalid UTF-8 would come back as U+FFFD: not written back unchanged, so refused.
    assert.throws(() => string.decode(Buffer.of(0x04, 0xc3, 0x28)), (err: unknown) => err instanceof PayloadError && /could not be written back unchanged/.test(err.message));
    // A varint one byte longer than needed: a valid datum that would not come back the same.
    const int = avroFormat.compile(1, parsed('"int"'));
    assert.throws(() => int.decode(Buffer.of(0x82, 0x00)), /could not be written back unchanged/);
  });

  it('refuses to encode a value that no longer fits, naming the field and not the value', () => {
    const good = fc.sample(userValue, { numRuns: 1, seed: 2 })[0] as Record<string, unknown>;
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...good, age: 'secret-string' }, /^age does not fit the schema$/],
      [{ ...good, kind: 'D' }, /^kind does not fit/],
      [{ ...good, hash: Buffer.alloc(3) }, /^hash does not fit/],
      [{ ...good, id: 2n ** 64n }, /^id does not fit/],
      [{ ...good, address: { city: 5 } }, /^address\.city does not fit|^address does not fit/],
    ];
    for (const [value, message] of cases) {
      assert.throws(() => user.encode({ value }), (err: unknown) => err instanceof PayloadError && message.test(err.message) && !err.message.includes('secret'));
    }
  });

  it('refuses a payload of a recursive schema nested deeper than the bound', () => {
    const list = avroFormat.compile(1, parsed({ type: 'record', name: 'Node', fields: [{ name: 'next', type: ['null', 'Node'] }] }));
    // Each level is the union index 1 (zigzag 0x02); the innermost next is null (0x00).
    const deep = (levels: number) => Buffer.concat([Buffer.alloc(levels, 0x02), Buffer.of(0x00)]);
    assert.ok(list.decode(deep(10)).value !== undefined);
    assert.throws(() => list.decode(deep(MAX_VALUE_DEPTH + 5)), (err: unknown) => err instanceof PayloadError && /nests/.test(err.message));
    // Deep enough to overflow avsc's recursion: still a PayloadError, not a crash.
    assert.throws(() => list.decode(deep(200_000)), PayloadError);
  });
});
