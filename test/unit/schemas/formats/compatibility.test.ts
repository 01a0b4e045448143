import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { avroFormat } from '../../../../src/schemas/formats/avro.js';
import type { ParsedSchema, SchemaFormat } from '../../../../src/schemas/formats/format.js';
import { jsonSchemaFormat } from '../../../../src/schemas/formats/json-schema.js';
import { protobufFormat } from '../../../../src/schemas/formats/protobuf.js';

/**
 * The compatibility rules as tables: [what changes, reader (the new schema for BACKWARD), writer (the
 * old one), the problems expected ([] when the reader reads everything the writer wrote)].
 */
type Case = readonly [name: string, reader: string, writer: string, problems: readonly string[]];

function parse(format: SchemaFormat, schema: string, references = new Map<string, string>()): ParsedSchema {
  const parsed = format.parse(schema, references);
  if ('error' in parsed) assert.fail(`${schema}: ${parsed.error}`);
  return parsed;
}

function runTable(format: SchemaFormat, cases: readonly Case[]): void {
  for (const [name, reader, writer, expected] of cases) {
    it(`${expected.length === 0 ? 'compatible' : 'incompatible'}: ${name}`, () => {
      assert.deepEqual(format.readerProblems(parse(format, reader), parse(format, writer)), expected);
    });
  }
}

const record = (fields: unknown[], extra: Record<string, unknown> = {}) => JSON.stringify({ type: 'record', name: 'User', namespace: 'com.example', fields, ...extra });
const enumOf = (symbols: string[], extra: Record<string, unknown> = {}) => ({ type: 'enum', name: 'Kind', symbols, ...extra });

describe('Avro compatibility (the spec\'s schema resolution)', () => {
  runTable(avroFormat, [
    ['a field removed', record([{ name: 'a', type: 'int' }]), record([{ name: 'a', type: 'int' }, { name: 'b', type: 'string' }]), []],
    ['a field added with a default', record([{ name: 'a', type: 'int' }, { name: 'b', type: 'string', default: 'x' }]), record([{ name: 'a', type: 'int' }]), []],
    ['int promoted to long, float and double', record([{ name: 'a', type: 'long' }, { name: 'b', type: 'float' }, { name: 'c', type: 'double' }]), record([{ name: 'a', type: 'int' }, { name: 'b', type: 'long' }, { name: 'c', type: 'float' }]), []],
    ['string read as bytes', record([{ name: 'a', type: 'bytes' }]), record([{ name: 'a', type: 'string' }]), []],
    ['a type widened into a union', record([{ name: 'a', type: ['null', 'long'] }]), record([{ name: 'a', type: 'int' }]), []],
    ['an enum symbol removed, the reader has a default', record([{ name: 'k', type: enumOf(['A'], { default: 'A' }) }]), record([{ name: 'k', type: enumOf(['A', 'B']) }]), []],
    ['an enum symbol added', record([{ name: 'k', type: enumOf(['A', 'B', 'C']) }]), record([{ name: 'k', type: enumOf(['A', 'B']) }]), []],
    ['a record renamed with the old name as an alias', record([{ name: 'a', type: 'int' }], { name: 'Person', aliases: ['com.example.User'] }), record([{ name: 'a', type: 'int' }]), []],
    ['a field renamed with the old name as an alias', record([{ name: 'b', type: 'int', aliases: ['a'] }]), record([{ name: 'a', type: 'int' }]), []],
    ['a recursive record unchanged', record([{ name: 'next', type: ['null', 'User'] }]), record([{ name: 'next', type: ['null', 'User'] }]), []],

    ['a field added without a default', record([{ name: 'a', type: 'int' }, { name: 'b', type: 'string' }]), record([{ name: 'a', type: 'int' }]), ['b: a field the writer does not have and the reader has no default for']],
    ['long narrowed to int', record([{ name: 'a', type: 'int' }]), record([{ name: 'a', type: 'long' }]), ["a: the writer's long cannot be read as int"]],
    ['string changed to int', record([{ name: 'a', type: 'int' }]), record([{ name: 'a', type: 'string' }]), ["a: the writer's string cannot be read as int"]],
    ['an enum symbol removed without a default', record([{ name: 'k', type: enumOf(['A']) }]), record([{ name: 'k', type: enumOf(['A', 'B', 'C']) }]), ["k: enum com.example.Kind lacks the writer's symbols B, C and has no default"]],
    ['a union branch removed', record([{ name: 'a', type: ['null', 'string'] }]), record([{ name: 'a', type: ['null', 'string', 'int'] }]), ["a<int>: the reader's union has no branch for the writer's int"]],
    ['a record renamed without an alias', record([{ name: 'a', type: 'int' }], { name: 'Person' }), record([{ name: 'a', type: 'int' }]), ["the schema: the writer's record com.example.User is read as com.example.Person: names differ (the reader may list the old name in its aliases)"]],
    ['a fixed resized', record([{ name: 'h', type: { type: 'fixed', name: 'H', size: 16 } }]), record([{ name: 'h', type: { type: 'fixed', name: 'H', size: 32 } }]), ['h: fixed com.example.H has size 16 where the writer\'s has 32']],
    ['map values narrowed', record([{ name: 'm', type: { type: 'map', values: 'int' } }]), record([{ name: 'm', type: { type: 'map', values: 'double' } }]), ["m{}: the writer's double cannot be read as int"]],
    ['array items changed in a nested record', record([{ name: 'addr', type: { type: 'record', name: 'Addr', fields: [{ name: 'lines', type: { type: 'array', items: 'int' } }] } }]), record([{ name: 'addr', type: { type: 'record', name: 'Addr', fields: [{ name: 'lines', type: { type: 'array', items: 'string' } }] } }]), ["addr.lines[]: the writer's string cannot be read as int"]],
    ['a recursive record whose field type changed', record([{ name: 'next', type: ['null', 'User'] }, { name: 'v', type: 'int' }]), record([{ name: 'next', type: ['null', 'User'] }, { name: 'v', type: 'string' }]), ["v: the writer's string cannot be read as int"]],
  ]);

  it('FORWARD is the same rule the other way round: a field added without a default reads old data badly, new data well', () => {
    const v1 = parse(avroFormat, record([{ name: 'a', type: 'int' }]));
    const v2 = parse(avroFormat, record([{ name: 'a', type: 'int' }, { name: 'b', type: 'string' }]));
    assert.equal(avroFormat.readerProblems(v2, v1).length, 1);
    assert.deepEqual(avroFormat.readerProblems(v1, v2), []);
  });

  it('resolves named types from references on both sides', () => {
    const refs = new Map([['com.example.Addr', JSON.stringify({ type: 'record', name: 'Addr', namespace: 'com.example', fields: [{ name: 'city', type: 'string' }] })]]);
    const reader = parse(avroFormat, record([{ name: 'to', type: 'Addr' }]), refs);
    const writer = parse(avroFormat, record([{ name: 'to', type: 'Addr' }]), refs);
    assert.deepEqual(avroFormat.readerProblems(reader, writer), []);
  });
});

const p3 = (body: string, pkg = 'shop') => `syntax = "proto3";\npackage ${pkg};\n${body}`;
const p2 = (body: string) => `syntax = "proto2";\npackage shop;\n${body}`;

describe('Protobuf compatibility (wire compatibility by field number)', () => {
  runTable(protobufFormat, [
    ['a field added', p3('message Order { string id = 1; int64 cents = 2; }'), p3('message Order { string id = 1; }'), []],
    ['a field removed', p3('message Order { string id = 1; }'), p3('message Order { string id = 1; int64 cents = 2; }'), []],
    ['a field renamed (names are not on the wire)', p3('message Order { string order_id = 1; }'), p3('message Order { string id = 1; }'), []],
    ['int32 widened to int64', p3('message Order { int64 n = 1; }'), p3('message Order { int32 n = 1; }'), []],
    ['string read as bytes', p3('message Order { bytes s = 1; }'), p3('message Order { string s = 1; }'), []],
    ['an int32 turned into an enum', p3('message Order { enum S { A = 0; } S s = 1; }'), p3('message Order { int32 s = 1; }'), []],
    ['a message added', p3('message Order { string id = 1; } message Refund { string id = 1; }'), p3('message Order { string id = 1; }'), []],
    ['one field moved into a new oneof', p3('message Order { oneof pay { string card = 1; } }'), p3('message Order { string card = 1; }'), []],
    ['a singular string made repeated', p3('message Order { repeated string tag = 1; }'), p3('message Order { string tag = 1; }'), []],
    ['fixed32 read as sfixed32', p3('message Order { sfixed32 n = 1; }'), p3('message Order { fixed32 n = 1; }'), []],

    ['a message removed', p3('message Order { string id = 1; }'), p3('message Order { string id = 1; } message Refund { string id = 1; }'), ['message shop.Refund was removed']],
    ['the package changed', p3('message Order { string id = 1; }', 'store'), p3('message Order { string id = 1; }'), ['the package changed from shop to store, renaming every message']],
    ['a field number reused with another wire type', p3('message Order { string cents = 2; }'), p3('message Order { int64 cents = 2; }'), ["shop.Order.cents (field 2): the type changed from int64 to string, which the writer's bytes do not decode as"]],
    ['int32 changed to sint32 (zigzag)', p3('message Order { sint32 n = 1; }'), p3('message Order { int32 n = 1; }'), ["shop.Order.n (field 1): the type changed from int32 to sint32, which the writer's bytes do not decode as"]],
    ['a message field\'s type changed', p3('message Order { A x = 1; } message A {} message B {}'), p3('message Order { B x = 1; } message A {} message B {}'), ['shop.Order.x (field 1): the message type changed from shop.B to shop.A']],
    ['a numeric field made repeated', p3('message Order { repeated int32 n = 1; }'), p3('message Order { int32 n = 1; }'), ['shop.Order.n (field 1): changed from singular to repeated, which only string, bytes and message fields may']],
    ['a required field added (proto2)', p2('message Order { required string id = 1; optional string note = 2; }'), p2('message Order { optional string note = 2; }'), ['shop.Order.id (field 1): a required field the writer does not have']],
    ['a required field removed (proto2)', p2('message Order { optional string note = 2; }'), p2('message Order { required string id = 1; optional string note = 2; }'), ['shop.Order.id (field 1): a required field was removed']],
    ['several fields moved into a new oneof', p3('message Order { oneof pay { string card = 1; string iban = 2; } }'), p3('message Order { string card = 1; string iban = 2; }'), ['shop.Order: fields card, iban moved into the new oneof pay, where the writer may have set them all']],
    ['a field moved into an existing oneof', p3('message Order { oneof pay { string card = 1; string iban = 2; } }'), p3('message Order { oneof pay { string card = 1; } string iban = 2; }'), ['shop.Order.iban (field 2): moved into the existing oneof pay']],
    ['a member removed from a oneof', p3('message Order { oneof pay { string card = 1; } }'), p3('message Order { oneof pay { string card = 1; string iban = 2; } }'), ['shop.Order.iban (field 2): was removed from oneof pay']],
    ['the syntax changed', p3('message Order { string id = 1; }'), p2('message Order { optional string id = 1; }'), ['the syntax changed from proto2 to proto3']],
  ]);
});

const json = (schema: Record<string, unknown>) => JSON.stringify(schema);
const object = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => json({ type: 'object', properties, ...extra });

describe('JSON Schema compatibility (Confluent\'s content-model rules)', () => {
  runTable(jsonSchemaFormat, [
    ['a property added to a closed content model', object({ a: { type: 'string' }, b: { type: 'integer' } }, { additionalProperties: false }), object({ a: { type: 'string' } }, { additionalProperties: false }), []],
    ['a property removed from an open content model', object({ a: { type: 'string' } }), object({ a: { type: 'string' }, b: { type: 'integer' } }), []],
    ['a type widened (integer read as number)', object({ n: { type: 'number' } }), object({ n: { type: 'integer' } }), []],
    ['a type widened to a list', object({ n: { type: ['string', 'null'] } }), object({ n: { type: 'string' } }), []],
    ['an enum widened', object({ k: { enum: ['A', 'B', 'C'] } }), object({ k: { enum: ['A', 'B'] } }), []],
    ['bounds loosened', object({ s: { type: 'string', maxLength: 20, minLength: 1 } }), object({ s: { type: 'string', maxLength: 10, minLength: 2 } }), []],
    ['a requirement dropped', object({ a: { type: 'string' } }), object({ a: { type: 'string' } }, { required: ['a'] }), []],
    ['items widened', object({ l: { type: 'array', items: { type: 'number' } } }), object({ l: { type: 'array', items: { type: 'integer' } } }), []],
    ['a branch added to anyOf', object({ v: { anyOf: [{ type: 'string' }, { type: 'integer' }] } }), object({ v: { type: 'string' } }), []],
    ['a local $ref followed on both sides', json({ type: 'object', properties: { a: { $ref: '#/definitions/A' } }, definitions: { A: { type: 'number' } } }), json({ type: 'object', properties: { a: { $ref: '#/definitions/A' } }, definitions: { A: { type: 'integer' } } }), []],

    ['a type narrowed', object({ n: { type: 'integer' } }), object({ n: { type: 'number' } }), ['#/properties/n: type narrowed: number no longer allowed']],
    ['a property added to an open content model', object({ a: { type: 'string' }, b: { type: 'integer' } }), object({ a: { type: 'string' } }), ['#/properties/b: type integer required where the writer allowed any type']],
    ['a property removed from a closed content model', object({ a: { type: 'string' } }, { additionalProperties: false }), object({ a: { type: 'string' }, b: { type: 'integer' } }, { additionalProperties: false }), ['#/properties/b: removed from a closed content model (additionalProperties: false), so the reader refuses it']],
    ['the content model closed', object({ a: { type: 'string' } }, { additionalProperties: false }), object({ a: { type: 'string' } }), ['#/additionalProperties: additional properties the writer allowed are refused']],
    ['a property newly required', object({ a: { type: 'string' } }, { required: ['a'] }), object({ a: { type: 'string' } }), ['#: newly required: a']],
    ['an enum narrowed', object({ k: { enum: ['A'] } }), object({ k: { enum: ['A', 'B'] } }), ['#/properties/k: enum narrowed: "B" no longer allowed']],
    ['a maximum lowered and a minimum added', object({ n: { type: 'integer', maximum: 10, minimum: 0 } }), object({ n: { type: 'integer', maximum: 100 } }), ['#/properties/n: minimum added to 0', '#/properties/n: maximum lowered from 100 to 10']],
    ['a maxLength added', object({ s: { type: 'string', maxLength: 5 } }), object({ s: { type: 'string' } }), ['#/properties/s: maxLength added to 5']],
    ['items narrowed', object({ l: { type: 'array', items: { type: 'string' } } }), object({ l: { type: 'array', items: { type: ['string', 'null'] } } }), ['#/properties/l/items: type narrowed: null no longer allowed']],
    ['a pattern added', object({ s: { type: 'string', pattern: '^[a-z]+$' } }), object({ s: { type: 'string' } }), ['#/properties/s: pattern added']],
    ['an anyOf branch removed', object({ v: { anyOf: [{ type: 'string' }] } }), object({ v: { anyOf: [{ type: 'string' }, { type: 'integer' }] } }), ["#/properties/v: the writer's branch 1 matches no branch of the reader's anyOf"]],
    ['a format added', object({ s: { type: 'string', format: 'email' } }), object({ s: { type: 'string' } }), ['#/properties/s: format added: compatibility cannot be proven']],
  ]);

  it('refuses a schema whose pattern or patternProperties could backtrack exponentially (ReDoS), and accepts linear ones', () => {
    const refused: [unknown, RegExp][] = [
      [{ type: 'string', pattern: '^(a+)+$' }, /^invalid JSON schema: the pattern at # repeats a group that itself repeats/],
      [{ type: 'object', properties: { name: { type: 'string', pattern: '(a|aa)*b' } } }, /^invalid JSON schema: the pattern at #\/properties\/name repeats a group/],
      [{ type: 'object', patternProperties: { '^(x+)*$': { type: 'string' } } }, /^invalid JSON schema: the patternProperties key "\^\(x\+\)\*\$" at # repeats a group/],
      [{ type: 'string', pattern: '^(a)\\1$' }, /backreference/],
      // A property named like a data keyword is still a schema: its pattern is checked.
      [{ type: 'object', properties: { default: { type: 'string', pattern: '(.*)*' } } }, /the pattern at #\/properties\/default repeats a group/],
    ];
    for (const [schema, message] of refused) {
      const result = jsonSchemaFormat.parse(JSON.stringify(schema), new Map());
      assert.ok('error' in result, JSON.stringify(schema));
      assert.match(result.error, message);
    }
    const reference = jsonSchemaFormat.parse(json({ $ref: 'other.json' }), new Map([['other.json', json({ type: 'string', pattern: '(a+)+' })]]));
    assert.ok('error' in reference && /^invalid JSON schema: reference other\.json: the pattern at # repeats a group/.test(reference.error));
    assert.ok(!('error' in jsonSchemaFormat.parse(json({ type: 'string', pattern: '^[a-z0-9._-]{1,64}$' }), new Map())));
  });

  it('refuses a schema nested deeper than the bound', () => {
    let schema: unknown = { type: 'string' };
    for (let i = 0; i < 150; i++) schema = { type: 'array', items: schema };
    const result = jsonSchemaFormat.parse(JSON.stringify(schema), new Map());
    assert.ok('error' in result && /nests deeper than 128 levels/.test(result.error));
  });
});
