import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import protobuf from 'protobufjs';
import type { ParsedSchema } from '../../../../src/schemas/formats/format.js';
import { protobufFormat } from '../../../../src/schemas/formats/protobuf.js';
import { PayloadError } from '../../../../src/schemas/types.js';

const NONE = new Map<string, string>();

function parsed(schema: string, references: ReadonlyMap<string, string> = NONE): ParsedSchema {
  const result = protobufFormat.parse(schema, references);
  if ('error' in result) assert.fail(result.error);
  return result;
}

const ORDERS = `
syntax = "proto3";
package shop.v1;

import "google/protobuf/timestamp.proto";

message Order {
  string id = 1;
  int64 amount_cents = 2;
  enum Status { UNKNOWN = 0; PAID = 1; SHIPPED = 2; }
  Status status = 3;
  repeated Line lines = 4;
  map<string, string> labels = 5;
  bytes signature = 6;
  optional uint64 coupon = 7;
  google.protobuf.Timestamp placed_at = 8;
  oneof payment { string card_last4 = 9; string iban = 10; }
  message Line { string sku = 1; uint32 quantity = 2; repeated sint32 marks = 3; }
  double weight = 11;
  float ratio = 12;
  bool gift = 13;
  fixed64 fingerprint = 14;
}

message Refund {
  string order_id = 1;
}
`;

/** The message bytes as protobufjs writes them from its own reflection (a "normal serializer"). */
function serialize(schema: string, typeName: string, value: Record<string, unknown>): Buffer {
  const root = protobuf.parse(schema, { keepCase: true }).root;
  root.addJSON(protobuf.common.get('google/protobuf/timestamp.proto')?.nested ?? {});
  const type = root.lookupType(typeName);
  return Buffer.from(type.encode(type.fromObject(value)).finish());
}

const ORDER_VALUE = {
  id: 'o-1',
  amount_cents: '9007199254740993',
  status: 'PAID',
  lines: [{ sku: 'A', quantity: 2, marks: [-1, 5] }, { sku: 'B', quantity: 1 }],
  labels: { channel: 'web', '7': 'seven' },
  signature: Buffer.from([1, 2, 3]),
  coupon: '0',
  placed_at: { seconds: '1700000000', nanos: 5 },
  iban: 'FR76',
  weight: 1.25,
  ratio: 0.5,
  gift: true,
  fingerprint: '18446744073709551615',
};

describe('protobufFormat.parse', () => {
  it('accepts proto3 and proto2 files and refuses invalid ones naming the problem', () => {
    parsed(ORDERS);
    parsed('syntax = "proto2"; package p; message M { required int32 a = 1; optional string b = 2 [default = "x"]; }');
    const cases: [string, RegExp][] = [
      ['syntax = "proto3"; message M { int32 a = 1 }', /^invalid Protobuf schema: illegal token '}'/],
      ['syntax = "proto3"; message M { Missing a = 1; }', /^invalid Protobuf schema: no such Type or Enum 'Missing' in Type .M$/],
      ['syntax = "proto3"; import "other.proto"; message M { Other a = 1; }', /^invalid Protobuf schema: import "other.proto" is neither a reference of the schema nor a well-known type$/],
      ['syntax = "proto3"; import "/etc/passwd"; message M {}', /import "\/etc\/passwd" is neither a reference/],
      ['syntax = "proto4"; message M {}', /^invalid Protobuf schema: Unknown edition: proto4$/],
    ];
    for (const [schema, message] of cases) {
      const result = protobufFormat.parse(schema, NONE);
      assert.ok('error' in result, schema);
      assert.match(result.error, message);
    }
  });

  it('resolves imports only from the references, by import path, transitively', () => {
    const money = 'syntax = "proto3"; package common; import "common/currency.proto"; message Money { int64 units = 1; Currency currency = 2; }';
    const currency = 'syntax = "proto3"; package common; enum Currency { EUR = 0; USD = 1; }';
    const invoice = 'syntax = "proto3"; package billing; import "common/money.proto"; message Invoice { common.Money total = 1; }';
    const p = parsed(invoice, new Map([['common/money.proto', money], ['common/currency.proto', currency]]));
    const compiled = protobufFormat.compile(3, p);
    assert.equal(compiled.recordName, 'billing.Invoice');
    const value = { total: { units: '12', currency: 'USD' } };
    assert.deepEqual(compiled.decode(compiled.encode({ value })).value, value);
    const missing = protobufFormat.parse(invoice, new Map([['common/money.proto', money]]));
    assert.ok('error' in missing && /import "common\/currency\.proto" is neither/.test(missing.error));
  });

  it('gives comments, whitespace and option spelling variants one canonical form, but not a reordering of messages', () => {
    const a = parsed('syntax = "proto3";\npackage p;\n// a comment\nmessage A { int32 x = 1; }\nmessage B { string y = 1; }\n');
    const b = parsed('syntax="proto3"; package p; /* other */ message A{int32 x=1;} message B{ string y = 1 ; }');
    assert.equal(a.canonical, b.canonical);
    // The order of messages is what the message indexes count: another order is another schema.
    const c = parsed('syntax = "proto3"; package p; message B { string y = 1; } message A { int32 x = 1; }');
    assert.notEqual(a.canonical, c.canonical);
    // So is another syntax (proto2's fields have presence, proto3's do not).
    const d = parsed('syntax = "proto2"; package p; message A { optional int32 x = 1; } message B { optional string y = 1; }');
    assert.notEqual(a.canonical, d.canonical);
  });

  it('does not let a schema pollute Object.prototype through options', () => {
    protobufFormat.parse('syntax = "proto3"; option (__proto__).polluted = true; message M { int32 a = 1 [(__proto__).x = 1]; }', NONE);
    protobufFormat.parse('syntax = "proto3"; option __proto__ = 1; message M {}', NONE);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });

  it('refuses a schema whose messages nest deeper than the bound', () => {
    const deep = `syntax = "proto3"; ${'message M { '.repeat(120)}${'} '.repeat(120)}`;
    const result = protobufFormat.parse(deep, NONE);
    assert.ok('error' in result);
    assert.match(result.error, /^invalid Protobuf schema: (max depth exceeded|messages nest deeper than 100 levels)$/);
  });
});

describe('protobufFormat.compile', () => {
  const orders = protobufFormat.compile(11, parsed(ORDERS));

  it('names the record by the first message', () => {
    assert.equal(orders.recordName, 'shop.v1.Order');
    assert.equal(orders.schemaType, 'PROTOBUF');
  });

  it('decodes what protobufjs serialized, behind the [0] index byte, to field names, and re-encodes it byte for byte', () => {
    const message = serialize(ORDERS, 'shop.v1.Order', ORDER_VALUE);
    const payload = Buffer.concat([Buffer.of(0), message]);
    const decoded = orders.decode(payload);
    assert.deepEqual(decoded.messageIndexes, [0]);
    assert.deepEqual(decoded.value, ORDER_VALUE);
    assert.ok(orders.encode(decoded).equals(payload));
  });

  it('reads the second and a nested message by their indexes', () => {
    const refund = Buffer.concat([Buffer.of(0x02, 0x02), serialize(ORDERS, 'shop.v1.Refund', { order_id: 'o-1' })]);
    assert.deepEqual(orders.decode(refund), { value: { order_id: 'o-1' }, messageIndexes: [1] });
    assert.ok(orders.encode(orders.decode(refund)).equals(refund));
    const line = Buffer.concat([Buffer.of(0x04, 0x00, 0x00), serialize(ORDERS, 'shop.v1.Order.Line', { sku: 'Z', quantity: 3 })]);
    assert.deepEqual(orders.decode(line), { value: { sku: 'Z', quantity: 3 }, messageIndexes: [0, 0] });
    assert.ok(orders.encode(orders.decode(line)).equals(line));
    assert.throws(() => orders.decode(Buffer.of(0x02, 0x04)), (err: unknown) => err instanceof PayloadError && /\[2\] name no message/.test(err.message));
  });

  it('writes fields in field-number order whatever order the .proto declares them in, as protobuf-java does', () => {
    const schema = 'syntax = "proto3"; message M { string b = 2; int32 a = 1; }';
    const compiled = protobufFormat.compile(1, parsed(schema));
    // field 1 (varint 7) then field 2 (string "x").
    assert.deepEqual(compiled.encode({ value: { b: 'x', a: 7 } }), Buffer.from('0008071201 78'.replace(' ', ''), 'hex'));
  });

  it('refuses malformed payloads with a PayloadError: truncated, wrong wire type, unknown field, missing required', () => {
    const payload = Buffer.concat([Buffer.of(0), serialize(ORDERS, 'shop.v1.Order', ORDER_VALUE)]);
    const cases: [Buffer, RegExp][] = [
      [payload.subarray(0, payload.length - 3), /not a shop\.v1\.Order message: index out of range/],
      [Buffer.of(), /truncated/],
      // field 1 (id, a string) sent as a varint
      [Buffer.of(0x00, 0x08, 0x01), /field id of shop\.v1\.Order has wire type 0, its type string is written with 2/],
      // a wire type 7 does not exist
      [Buffer.of(0x00, 0x0f), /not a shop\.v1\.Order message/],
    ];
    for (const [bytes, message] of cases) assert.throws(() => orders.decode(bytes), (err: unknown) => err instanceof PayloadError && message.test(err.message), bytes.toString('hex'));
    // A field unknown to the schema (a newer writer's) is valid protobuf: accepted, and dropped by a re-encode.
    assert.deepEqual(orders.decode(Buffer.concat([payload, Buffer.of(0x98, 0x06, 0x01)])).value, orders.decode(payload).value);
    const proto2 = protobufFormat.compile(1, parsed('syntax = "proto2"; message M { required int32 a = 1; optional int32 b = 2; }'));
    assert.throws(() => proto2.decode(Buffer.of(0x00, 0x10, 0x01)), (err: unknown) => err instanceof PayloadError && /missing required 'a'/.test(err.message));
    assert.deepEqual(proto2.decode(Buffer.of(0x00, 0x08, 0x00)).value, { a: 0 });
  });

  it('refuses to encode a value that no longer fits instead of coercing it, naming the field and not the value', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...ORDER_VALUE, amount_cents: 'secret-text' }, /^amount_cents is not a int64$/],
      [{ ...ORDER_VALUE, amount_cents: '99999999999999999999' }, /^amount_cents is out of the int64 range$/],
      [{ ...ORDER_VALUE, status: 'secret-status' }, /^status: "secret-status" is not a value of shop\.v1\.Order\.Status$/],
      [{ ...ORDER_VALUE, lines: [{ sku: 'A', quantity: -1 }] }, /^lines\[0\]\.quantity is out of the uint32 range$/],
      [{ ...ORDER_VALUE, signature: 'secret' }, /^signature is not bytes$/],
      [{ ...ORDER_VALUE, card_last4: '1234' }, /^payment has more than one member set \(card_last4, iban\)$/],
      [{ ...ORDER_VALUE, nosuch: 1 }, /^nosuch is not a field of shop\.v1\.Order$/],
      [{ ...ORDER_VALUE, labels: { a: 5 } }, /^labels\.a is not a string$/],
      [{ ...ORDER_VALUE, gift: 'yes' }, /^gift is not a bool$/],
    ];
    for (const [value, message] of cases) {
      assert.throws(() => orders.encode({ value, messageIndexes: [0] }), (err: unknown) => err instanceof PayloadError && message.test(err.message), message.source);
    }
    // A masked field set to null is cleared (absent from the message), as protobuf has no null.
    const cleared = orders.decode(orders.encode({ value: { ...ORDER_VALUE, iban: null } }));
    assert.equal((cleared.value as Record<string, unknown>).iban, undefined);
  });

  it('refuses a payload nesting messages deeper than protobufjs\'s recursion limit', () => {
    const list = protobufFormat.compile(1, parsed('syntax = "proto3"; message Node { Node next = 1; int32 v = 2; }'));
    let message = Buffer.of(0x10, 0x01);
    for (let i = 0; i < 150; i++) message = Buffer.concat([Buffer.of(0x0a, ...varint(message.length)), message]);
    assert.throws(() => list.decode(Buffer.concat([Buffer.of(0), message])), (err: unknown) => err instanceof PayloadError && /max depth exceeded/.test(err.message));
  });
});

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}
