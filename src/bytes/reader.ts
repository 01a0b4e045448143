import { ParapetError } from '../errors.js';

/** Upper bounds applied to every length read from the wire, on top of "no more than what remains". */
export interface ReadLimits {
  /** Longest string, bytes or records field accepted, in bytes. */
  readonly maxBytesLength: number;
  /** Most elements accepted in one array. */
  readonly maxArrayLength: number;
  /**
   * Most array elements accepted in one request, over all its arrays, nested ones included. Each
   * element costs tens of bytes of heap for one to three bytes of wire: without a bound on the total,
   * a 30 MB OffsetFetch of 100 groups of 100,000 empty topics held 800 MB of heap and the event loop
   * for 11 s (the amplification of Kafka's CVE-2026-111108). Applied by decodeRequest.
   */
  readonly maxRequestElements?: number;
}

export const DEFAULT_READ_LIMITS: ReadLimits = {
  maxBytesLength: 100 * 1024 * 1024,
  maxArrayLength: 1_000_000,
  maxRequestElements: 1_000_000,
};

/** What is left of a frame's element allowance, shared by the readers of one frame (its tagged fields' too). */
export interface ElementBudget {
  left: number;
  readonly max: number;
}

/**
 * The one bounded reader over a frame. Every length read from the wire goes through
 * {@link Reader.checkLength}, which compares it with what remains and with the configured maximum
 * before anything is allocated (CVE-2022-34917 was an allocation sized by an unchecked field).
 * Byte fields are returned as views into the frame, never copied.
 */
export class Reader {
  readonly buf: Buffer;
  readonly limits: ReadLimits;
  offset: number;
  readonly #end: number;
  /** Array elements this frame may still hold in all; none: only the per-array bound applies. */
  readonly #elements: ElementBudget | undefined;

  constructor(buf: Buffer, offset = 0, end = buf.length, limits: ReadLimits = DEFAULT_READ_LIMITS, elements?: ElementBudget) {
    this.buf = buf;
    this.offset = offset;
    this.#end = end;
    this.limits = limits;
    this.#elements = elements;
  }

  /** A reader of this frame's bytes from here to `end` (a tagged field), sharing its element budget. */
  sub(end: number): Reader {
    return new Reader(this.buf, this.offset, end, this.limits, this.#elements);
  }

  get remaining(): number {
    return this.#end - this.offset;
  }

  /** Whether the next `n` bytes (all within the message) are zero, without consuming them. */
  peekZeros(n: number): boolean {
    if (n > this.remaining) return false;
    for (let i = this.offset; i < this.offset + n; i++) if (this.buf[i] !== 0) return false;
    return true;
  }

  fail(message: string): never {
    throw new ParapetError('DECODE_ERROR', message, { offset: this.offset });
  }

  /** Consumes `n` bytes, returning the offset where they start. */
  #need(n: number): number {
    if (n > this.#end - this.offset) this.fail(`needs ${n} bytes, ${this.#end - this.offset} remain`);
    const at = this.offset;
    this.offset = at + n;
    return at;
  }

  /**
   * Checks a length from the wire. `minElementSize` lets arrays reject counts that could not fit in
   * what remains (each element takes at least that many bytes).
   */
  checkLength(len: number, max: number, what: string, minElementSize = 1): number {
    if (len < 0) this.fail(`negative ${what} length ${len}`);
    if (len > max) this.fail(`${what} length ${len} exceeds the limit of ${max}`);
    if (len * minElementSize > this.#end - this.offset) {
      this.fail(`${what} length ${len} exceeds the ${this.#end - this.offset} bytes that remain`);
    }
    return len;
  }

  int8(): number {
    return this.buf.readInt8(this.#need(1));
  }
  int16(): number {
    return this.buf.readInt16BE(this.#need(2));
  }
  uint16(): number {
    return this.buf.readUInt16BE(this.#need(2));
  }
  int32(): number {
    return this.buf.readInt32BE(this.#need(4));
  }
  uint32(): number {
    return this.buf.readUInt32BE(this.#need(4));
  }
  int64(): bigint {
    return this.buf.readBigInt64BE(this.#need(8));
  }
  float64(): number {
    return this.buf.readDoubleBE(this.#need(8));
  }
  bool(): boolean {
    const v = this.buf[this.#need(1)];
    if (v !== 0 && v !== 1) this.fail(`invalid boolean byte ${v}`);
    return v === 1;
  }

  /** Unsigned LEB128 varint of at most 32 bits (compact lengths, tag numbers). */
  uvarint(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.buf[this.#need(1)] as number;
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) {
        if (result > 0xffffffff) this.fail('unsigned varint exceeds 32 bits');
        return result;
      }
    }
    return this.fail('unsigned varint longer than 5 bytes');
  }

  /** Zigzag varint of at most 32 bits (record fields). */
  varint(): number {
    const u = this.uvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  /** Zigzag varlong of at most 64 bits (record timestamp delta). */
  varlong(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const b = this.buf[this.#need(1)] as number;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) {
        if (result > 0xffffffffffffffffn) this.fail('varlong exceeds 64 bits');
        return (result >> 1n) ^ -(result & 1n);
      }
    }
    return this.fail('varlong longer than 10 bytes');
  }

  /** A length-prefixed view: returns `len` bytes as a subarray after the bounded check. */
  view(len: number, what: string): Buffer {
    this.checkLength(len, this.limits.maxBytesLength, what);
    const at = this.#need(len);
    return this.buf.subarray(at, at + len);
  }

  #utf8(len: number): string {
    this.checkLength(len, this.limits.maxBytesLength, 'string');
    const at = this.#need(len);
    return this.buf.toString('utf8', at, at + len);
  }

  /** STRING / NULLABLE_STRING: int16 length, −1 = null. */
  string(): string | null {
    const len = this.int16();
    if (len === -1) return null;
    return this.#utf8(len);
  }
  /** COMPACT_STRING: uvarint length + 1, 0 = null. */
  compactString(): string | null {
    const n = this.uvarint();
    if (n === 0) return null;
    return this.#utf8(n - 1);
  }
  /** BYTES: int32 length, −1 = null. */
  bytes(): Buffer | null {
    const len = this.int32();
    if (len === -1) return null;
    return this.view(len, 'bytes');
  }
  compactBytes(): Buffer | null {
    const n = this.uvarint();
    if (n === 0) return null;
    return this.view(n - 1, 'bytes');
  }
  /** Array count: int32, −1 = null; checked so that `count × minElementSize` fits in what remains. */
  arrayLength(minElementSize: number): number | null {
    const n = this.int32();
    if (n === -1) return null;
    return this.#charge(this.checkLength(n, this.limits.maxArrayLength, 'array', minElementSize));
  }
  compactArrayLength(minElementSize: number): number | null {
    const n = this.uvarint();
    if (n === 0) return null;
    return this.#charge(this.checkLength(n - 1, this.limits.maxArrayLength, 'array', minElementSize));
  }
  #charge(n: number): number {
    const budget = this.#elements;
    if (budget !== undefined) {
      if (n > budget.left) this.fail(`the arrays of this frame hold more than ${budget.max} elements in all`);
      budget.left -= n;
    }
    return n;
  }
  uuid(): string {
    const at = this.#need(16);
    const hex = this.buf.toString('hex', at, at + 16);
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  /** Skips `n` bytes (unknown tagged fields). */
  skip(n: number): void {
    this.#need(this.checkLength(n, this.limits.maxBytesLength, 'skipped field'));
  }
}
