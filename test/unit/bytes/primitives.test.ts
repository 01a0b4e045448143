import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ParapetError } from '../../../src/errors.js';
import { Reader } from '../../../src/bytes/reader.js';
import { Writer } from '../../../src/bytes/writer.js';

const hex = (s: string) => Buffer.from(s.replaceAll(' ', ''), 'hex');

function fails(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof ParapetError && pattern.test(err.message));
}

describe('varints', () => {
  it('unsigned varints (compact lengths) match known encodings', () => {
    const cases: [number, string][] = [
      [0, '00'],
      [1, '01'],
      [127, '7f'],
      [128, '8001'],
      [300, 'ac02'],
      [0xffffffff, 'ffffffff0f'],
    ];
    for (const [value, bytes] of cases) {
      assert.equal(new Writer().uvarint(value).toBuffer().toString('hex'), bytes);
      assert.equal(new Reader(hex(bytes)).uvarint(), value);
    }
  });

  it('zigzag varints (records) match known encodings', () => {
    const cases: [number, string][] = [
      [0, '00'],
      [-1, '01'],
      [1, '02'],
      [-64, '7f'],
      [64, '8001'],
      [2147483647, 'feffffff0f'],
      [-2147483648, 'ffffffff0f'],
    ];
    for (const [value, bytes] of cases) {
      assert.equal(new Writer().varint(value).toBuffer().toString('hex'), bytes);
      assert.equal(new Reader(hex(bytes)).varint(), value);
    }
  });

  it('varlongs round-trip across the whole int64 range', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (v) => {
        assert.equal(new Reader(new Writer().varlong(v).toBuffer()).varlong(), v);
      }),
    );
    assert.equal(new Writer().varlong(-1n).toBuffer().toString('hex'), '01');
  });

  it('overlong and truncated varints are refused', () => {
    fails(() => new Reader(hex('ffffffffff01')).uvarint(), /longer than 5 bytes|exceeds 32 bits/);
    fails(() => new Reader(hex('ffffffff1f')).uvarint(), /exceeds 32 bits/);
    fails(() => new Reader(hex('80')).uvarint(), /needs 1 bytes, 0 remain/);
    fails(() => new Reader(hex('ffffffffffffffffffff7f')).varlong(), /longer than 10 bytes|exceeds 64 bits/);
  });
});

describe('strings, bytes, arrays, uuids', () => {
  it('classic and compact strings with null', () => {
    const w = new Writer().string('hé').string(null).compactString('x').compactString(null);
    assert.equal(w.toBuffer().toString('hex'), '000368c3a9' + 'ffff' + '0278' + '00');
    const r = new Reader(w.toBuffer());
    assert.deepEqual([r.string(), r.string(), r.compactString(), r.compactString()], ['hé', null, 'x', null]);
  });

  it('bytes are views into the frame, not copies', () => {
    const frame = hex('00000003 616263');
    const view = new Reader(frame).bytes();
    assert.ok(view !== null);
    assert.equal(view.buffer, frame.buffer);
    view[0] = 0x7a;
    assert.equal(frame[4], 0x7a);
  });

  it('every length is checked against what remains and the configured maximum', () => {
    fails(() => new Reader(hex('00000010 6162')).bytes(), /exceeds the 2 bytes that remain/);
    fails(() => new Reader(hex('0005 6162')).string(), /exceeds the 2 bytes that remain/);
    fails(() => new Reader(hex('fffffffe')).bytes(), /negative bytes length/);
    const limited = new Reader(hex('00000004 61626364'), 0, 8, { maxBytesLength: 3, maxArrayLength: 10 });
    fails(() => limited.bytes(), /exceeds the limit of 3/);
    fails(() => new Reader(hex('00000003 00'), 0, 5, { maxBytesLength: 3, maxArrayLength: 2 }).arrayLength(0), /exceeds the limit of 2/);
  });

  it('booleans other than 0 and 1 are refused', () => {
    fails(() => new Reader(hex('02')).bool(), /invalid boolean/);
  });

  it('UUIDs round-trip in their canonical form', () => {
    fc.assert(
      fc.property(fc.uuid(), (u) => {
        assert.equal(new Reader(new Writer().uuid(u).toBuffer()).uuid(), u);
      }),
    );
  });

  it('values out of range for their wire type are refused on encode', () => {
    assert.throws(() => new Writer().int16(40000), ParapetError);
    assert.throws(() => new Writer().int32(1.5), ParapetError);
    assert.throws(() => new Writer().int64(2n ** 63n), ParapetError);
    assert.throws(() => new Writer().uuid('not-a-uuid'), ParapetError);
  });
});

describe('Writer', () => {
  it('references large byte fields instead of copying them', () => {
    const big = Buffer.alloc(64 * 1024, 1);
    const chunks = new Writer().int32(big.length).raw(big).int8(0).finish();
    assert.ok(chunks.includes(big), 'the large buffer itself is one of the output chunks');
  });

  it('any sequence of writes across chunk boundaries reads back identically', () => {
    const op = fc.oneof(
      fc.integer({ min: -2147483648, max: 2147483647 }).map((v) => ['int32', v] as const),
      fc.string({ maxLength: 40 }).map((v) => ['string', v] as const),
      fc.uint8Array({ maxLength: 3000 }).map((v) => ['bytes', Buffer.from(v)] as const),
      fc.nat().map((v) => ['uvarint', v] as const),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const w = new Writer(8);
        for (const [kind, v] of ops) {
          if (kind === 'int32') w.int32(v);
          else if (kind === 'string') w.compactString(v);
          else if (kind === 'bytes') w.bytes(v);
          else w.uvarint(v);
        }
        const chunks = w.finish();
        assert.equal(chunks.reduce((n, c) => n + c.length, 0), w.length);
        const r = new Reader(Buffer.concat(chunks));
        for (const [kind, v] of ops) {
          if (kind === 'int32') assert.equal(r.int32(), v);
          else if (kind === 'string') assert.equal(r.compactString(), v);
          else if (kind === 'bytes') assert.deepEqual(r.bytes(), v);
          else assert.equal(r.uvarint(), v);
        }
        assert.equal(r.remaining, 0);
      }),
    );
  });
});
