import { ParapetError } from '../errors.js';

/** Byte fields at least this long are referenced by the output, not copied into it. */
const ZERO_COPY_THRESHOLD = 1024;
const INITIAL_CHUNK = 4096;
const MAX_CHUNK = 1024 * 1024;

/**
 * Encodes into a list of chunks. Small fields are packed into a scratch buffer; large byte fields
 * (record batches) are referenced as they are, so a Produce or Fetch message carrying megabytes of
 * records is written with `writev` without one copy of the records. The scratch buffer grows by new
 * chunks, never by re-copying what was written.
 */
export class Writer {
  #chunks: Buffer[] = [];
  #buf: Buffer;
  #pos = 0;
  #start = 0;
  #sealed = 0;

  constructor(initialSize = INITIAL_CHUNK) {
    this.#buf = Buffer.allocUnsafe(initialSize);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#sealed + this.#pos - this.#start;
  }

  #seal(): void {
    if (this.#pos > this.#start) {
      this.#chunks.push(this.#buf.subarray(this.#start, this.#pos));
      this.#sealed += this.#pos - this.#start;
    }
    this.#start = this.#pos;
  }

  #ensure(n: number): number {
    if (this.#pos + n > this.#buf.length) {
      this.#seal();
      this.#buf = Buffer.allocUnsafe(Math.max(n, Math.min(this.#buf.length * 2, MAX_CHUNK)));
      this.#pos = 0;
      this.#start = 0;
    }
    const at = this.#pos;
    this.#pos = at + n;
    return at;
  }

  #byte(b: number): void {
    const at = this.#ensure(1);
    this.#buf[at] = b;
  }

  #range(v: number, min: number, max: number, what: string): void {
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new ParapetError('ENCODE_ERROR', `${String(v)} is not a valid ${what}`);
    }
  }

  int8(v: number): this {
    this.#range(v, -0x80, 0x7f, 'int8');
    this.#byte(v & 0xff);
    return this;
  }
  int16(v: number): this {
    if ((v << 16) >> 16 !== v) this.#range(v, -0x8000, 0x7fff, 'int16');
    const at = this.#ensure(2);
    const b = this.#buf;
    b[at] = v >>> 8;
    b[at + 1] = v;
    return this;
  }
  uint16(v: number): this {
    this.#range(v, 0, 0xffff, 'uint16');
    const at = this.#ensure(2);
    this.#buf.writeUInt16BE(v, at);
    return this;
  }
  int32(v: number): this {
    // `(v | 0) === v` holds exactly for integers in the int32 range: the hot path's only check.
    if ((v | 0) !== v) this.#range(v, -0x80000000, 0x7fffffff, 'int32');
    const at = this.#ensure(4);
    const b = this.#buf;
    b[at] = v >>> 24;
    b[at + 1] = v >>> 16;
    b[at + 2] = v >>> 8;
    b[at + 3] = v;
    return this;
  }
  uint32(v: number): this {
    this.#range(v, 0, 0xffffffff, 'uint32');
    const at = this.#ensure(4);
    this.#buf.writeUInt32BE(v, at);
    return this;
  }
  int64(v: bigint): this {
    if (typeof v !== 'bigint' || v < -0x8000000000000000n || v > 0x7fffffffffffffffn) {
      throw new ParapetError('ENCODE_ERROR', `${String(v)} is not a valid int64`);
    }
    const at = this.#ensure(8);
    this.#buf.writeBigInt64BE(v, at);
    return this;
  }
  float64(v: number): this {
    const at = this.#ensure(8);
    this.#buf.writeDoubleBE(v, at);
    return this;
  }
  bool(v: boolean): this {
    this.#byte(v ? 1 : 0);
    return this;
  }
  uvarint(v: number): this {
    this.#range(v, 0, 0xffffffff, 'unsigned varint');
    let rest = v;
    while (rest >= 0x80) {
      this.#byte((rest & 0x7f) | 0x80);
      rest = Math.floor(rest / 128);
    }
    this.#byte(rest);
    return this;
  }
  /** Zigzag varint (record fields). */
  varint(v: number): this {
    this.#range(v, -0x80000000, 0x7fffffff, 'varint');
    return this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
  }
  /** Zigzag varlong (record timestamp delta). */
  varlong(v: bigint): this {
    let rest = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
    while (rest >= 0x80n) {
      this.#byte(Number(rest & 0x7fn) | 0x80);
      rest >>= 7n;
    }
    this.#byte(Number(rest));
    return this;
  }
  /** Raw bytes with no length prefix; large ones are referenced, not copied. */
  raw(b: Uint8Array): this {
    if (b.length >= ZERO_COPY_THRESHOLD) {
      this.#seal();
      this.#chunks.push(Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length));
      this.#sealed += b.length;
    } else if (b.length > 0) {
      const at = this.#ensure(b.length);
      this.#buf.set(b, at);
    }
    return this;
  }
  /** Appends everything another writer produced (tagged field values). */
  append(other: Writer): this {
    for (const chunk of other.finish()) this.raw(chunk);
    return this;
  }

  string(v: string | null): this {
    if (v === null) return this.int16(-1);
    const len = Buffer.byteLength(v, 'utf8');
    this.int16(len);
    const at = this.#ensure(len);
    this.#buf.write(v, at, len, 'utf8');
    return this;
  }
  compactString(v: string | null): this {
    if (v === null) return this.uvarint(0);
    const len = Buffer.byteLength(v, 'utf8');
    this.uvarint(len + 1);
    const at = this.#ensure(len);
    this.#buf.write(v, at, len, 'utf8');
    return this;
  }
  bytes(v: Uint8Array | null): this {
    if (v === null) return this.int32(-1);
    return this.int32(v.length).raw(v);
  }
  compactBytes(v: Uint8Array | null): this {
    if (v === null) return this.uvarint(0);
    return this.uvarint(v.length + 1).raw(v);
  }
  uuid(v: string): this {
    const hex = v.replaceAll('-', '');
    if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new ParapetError('ENCODE_ERROR', `${v} is not a valid UUID`);
    const at = this.#ensure(16);
    this.#buf.write(hex, at, 16, 'hex');
    return this;
  }

  /** The encoded bytes as chunks, ready for `writev`. The writer may keep being used afterwards. */
  finish(): Buffer[] {
    this.#seal();
    return this.#chunks.slice();
  }

  /** The encoded bytes as one buffer (copies; for small messages and tests). */
  toBuffer(): Buffer {
    const chunks = this.finish();
    return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, this.#sealed);
  }
}
