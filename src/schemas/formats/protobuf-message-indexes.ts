import { PayloadError } from '../types.js';

/**
 * The message indexes of Confluent's Protobuf wire format: after the magic byte and the schema id, which
 * message of the .proto file the payload is, as a path of indexes (the i-th top-level message, then the
 * j-th message nested in it, …). Written as a count then the indexes, each a zigzag varint (Java's
 * ByteUtils.writeVarint, which Confluent's MessageIndexes uses; Go's binary.PutVarint likewise); the
 * common case [0], the first message, is shortened to the count 0 alone, a single 0x00 byte.
 * docs.confluent.io/platform/current/schema-registry/fundamentals/serdes-develop/index.html#wire-format
 *
 * (@kafkajs/confluent-schema-registry 3.x writes no indexes at all, kafkajs/confluent-schema-registry#152,
 * and confluent-kafka-python 1.x wrote unsigned varints, confluent-kafka-python#926: payloads of either are
 * not Confluent's wire format and are refused, or misread as another message only if their bytes happen to
 * parse both ways, which the strict decode of ./protobuf.ts makes unlikely.)
 */

/**
 * Most indexes a payload may declare: a path deeper than the deepest message nesting of any sane schema
 * (protobuf-java parses at most 100 nested messages, CodedInputStream's default recursion limit) is
 * refused before anything is allocated for it.
 */
export const MAX_MESSAGE_INDEXES = 100;

/** Zigzag varint (32-bit, as Java's) read at `offset`: the value and the offset after it. */
function readZigzagVarint(bytes: Buffer, offset: number): { value: number; next: number } {
  let raw = 0;
  for (let shift = 0, i = offset; shift <= 28; shift += 7, i++) {
    const b = bytes[i];
    if (b === undefined) throw new PayloadError('the message indexes are truncated');
    raw |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) {
      // Java's readVarint refuses a fifth byte above 0x0f: more than 32 bits.
      if (shift === 28 && b > 0x0f) break;
      return { value: (raw >>> 1) ^ -(raw & 1), next: i + 1 };
    }
  }
  throw new PayloadError('a message index is not a 32-bit varint');
}

function writeZigzagVarint(value: number, out: number[]): void {
  let raw = ((value << 1) ^ (value >> 31)) >>> 0;
  while (raw > 0x7f) {
    out.push((raw & 0x7f) | 0x80);
    raw >>>= 7;
  }
  out.push(raw);
}

/** The indexes at the start of `payload` and where the message bytes start. Throws PayloadError. */
export function readMessageIndexes(payload: Buffer): { indexes: number[]; offset: number } {
  const count = readZigzagVarint(payload, 0);
  if (count.value === 0) return { indexes: [0], offset: count.next };
  if (count.value < 0 || count.value > MAX_MESSAGE_INDEXES) throw new PayloadError(`the message indexes declare ${count.value} indexes (at most ${MAX_MESSAGE_INDEXES})`);
  const indexes: number[] = [];
  let offset = count.next;
  for (let i = 0; i < count.value; i++) {
    const index = readZigzagVarint(payload, offset);
    if (index.value < 0) throw new PayloadError(`message index ${index.value} is negative`);
    indexes.push(index.value);
    offset = index.next;
  }
  return { indexes, offset };
}

/** The bytes of `indexes` ([0] as the single byte 0, as Confluent's serializers write it). */
export function writeMessageIndexes(indexes: readonly number[]): Buffer {
  if (indexes.length === 0 || indexes.length > MAX_MESSAGE_INDEXES) throw new PayloadError(`${indexes.length} message indexes: a message is named by 1 to ${MAX_MESSAGE_INDEXES}`);
  if (indexes.length === 1 && indexes[0] === 0) return Buffer.of(0);
  const out: number[] = [];
  writeZigzagVarint(indexes.length, out);
  for (const index of indexes) {
    if (!Number.isInteger(index) || index < 0 || index > 0x7fffffff) throw new PayloadError(`message index ${index} is not a non-negative 32-bit integer`);
    writeZigzagVarint(index, out);
  }
  return Buffer.from(out);
}
