import { constants as bufferConstants } from 'node:buffer';
import { endianness } from 'node:os';
import { hash } from 'node:crypto';

/**
 * The log cleaner's key → newest offset map, after the idea of Kafka's SkimpyOffsetMap: a fixed-size
 * open-addressing hash table in one Buffer allocated up front, so the cleaner's memory is the configured
 * number of bytes however many keys a partition has. A full map refuses new keys; the cleaner then
 * cleans up to the last offset it could map and leaves the rest for the next round.
 *
 * A slot is 16 bytes of the key's SHA-256 (four int32 words) then its offset (int64), read and written through
 * typed-array views of the buffer in the platform's byte order (the buffer never leaves the process).
 * An unused slot holds offset −1 (offsets are never negative), so an all-zero hash is a valid key.
 *
 * Only the hash is stored, never the key: two keys with the same hash share one entry, and the cleaner
 * would then drop the older key's newest record. By the birthday bound the chance that any two of n
 * random keys collide in 128 bits is about n² / 2^129: for 10^9 keys, 10^18 / 6.8·10^38 ≈ 1.5·10^-21,
 * far below the chance of an undetected disk error. Kafka uses MD5; SHA-256 (native, about as fast:
 * 1.3 µs against 1.1 µs a key here) is chosen so that nobody can compute two keys that collide, which
 * MD5 allows, and so drop another key's newest record.
 *
 * Probing is double hashing: the start slot comes from the hash, and the step is one of 256 steps
 * spread over 1..slots−1, each coprime with the slot count so that a probe sequence visits every slot
 * (chosen once here: a gcd per lookup cost more than the hash). At the 0.9 load factor an absent key
 * costs about 1/(1 − 0.9) = 10 probes on average, where linear probing would cost about 50.
 */

export const OFFSET_MAP_SLOT_BYTES = 24;
const SLOT_WORDS = OFFSET_MAP_SLOT_BYTES / 4;
const SLOT_LONGS = OFFSET_MAP_SLOT_BYTES / 8;
/** The int32 word of a slot that holds its offset's high half: negative only for the unused mark −1. */
const HIGH_WORD = endianness() === 'LE' ? 5 : 4;
/** Kafka's log.cleaner.io.buffer.load.factor default: beyond it probe sequences grow quickly. */
const LOAD_FACTOR = 0.9;
const MAX_OFFSET = 2n ** 63n - 1n;
const STEP_CHOICES = 256;

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const r = a % b;
    a = b;
    b = r;
  }
  return a;
}

/** Probe steps spread over 1..slots−1, each lowered to the nearest value coprime with `slots`. */
function probeSteps(slots: number): Int32Array {
  const steps = new Int32Array(STEP_CHOICES);
  for (let j = 0; j < STEP_CHOICES; j++) {
    let step = Math.max(1, Math.floor(((j + 1) * (slots - 1)) / STEP_CHOICES));
    while (gcd(step, slots) !== 1) step--;
    steps[j] = step;
  }
  return steps;
}

export class OffsetMap {
  readonly #buf: Buffer;
  readonly #words: Int32Array;
  readonly #longs: BigInt64Array;
  readonly #slots: number;
  readonly #capacity: number;
  readonly #steps: Int32Array;
  readonly #hash = new Int32Array(4);
  #size = 0;

  /** `memoryBytes` is the map's whole memory; keys it can hold: floor(floor(memoryBytes / 24) × 0.9). */
  constructor(memoryBytes: number) {
    if (!Number.isSafeInteger(memoryBytes) || memoryBytes < OFFSET_MAP_SLOT_BYTES) {
      throw new RangeError(`offset map memory must be a whole number of bytes, at least one ${OFFSET_MAP_SLOT_BYTES}-byte slot; got ${memoryBytes}`);
    }
    if (memoryBytes > bufferConstants.MAX_LENGTH) {
      throw new RangeError(`offset map memory of ${memoryBytes} bytes exceeds the largest buffer (${bufferConstants.MAX_LENGTH} bytes)`);
    }
    // A buffer over an ArrayBuffer of its own (byteOffset 0, never a slice of Buffer's shared pool), so
    // that the 4- and 8-byte typed-array views below are aligned.
    this.#buf = Buffer.from(new ArrayBuffer(memoryBytes)).fill(0xff);
    this.#slots = Math.floor(memoryBytes / OFFSET_MAP_SLOT_BYTES);
    const used = this.#slots * OFFSET_MAP_SLOT_BYTES;
    this.#words = new Int32Array(this.#buf.buffer, this.#buf.byteOffset, used / 4);
    this.#longs = new BigInt64Array(this.#buf.buffer, this.#buf.byteOffset, used / 8);
    this.#capacity = Math.floor(this.#slots * LOAD_FACTOR);
    this.#steps = probeSteps(this.#slots);
  }

  get size(): number {
    return this.#size;
  }

  get capacity(): number {
    return this.#capacity;
  }

  get memoryBytes(): number {
    return this.#buf.length;
  }

  /**
   * Records `offset` as the newest of `key` (the cleaner puts in offset order, so the last put wins).
   * False, and nothing changed, when the map is full and the key is new.
   */
  put(key: Buffer, offset: bigint): boolean {
    if (offset < 0n || offset > MAX_OFFSET) throw new RangeError(`offset ${String(offset)} is outside 0..2^63−1`);
    const found = this.#find(key);
    if (found >= 0) {
      this.#longs[found * SLOT_LONGS + 2] = offset;
      return true;
    }
    if (this.#size >= this.#capacity) return false;
    const slot = -found - 1;
    this.#words.set(this.#hash, slot * SLOT_WORDS);
    this.#longs[slot * SLOT_LONGS + 2] = offset;
    this.#size++;
    return true;
  }

  /** The newest offset recorded for `key`, or −1n. */
  get(key: Buffer): bigint {
    const found = this.#find(key);
    return found >= 0 ? (this.#longs[found * SLOT_LONGS + 2] as bigint) : -1n;
  }

  clear(): void {
    this.#buf.fill(0xff);
    this.#size = 0;
  }

  /**
   * Hashes `key` into #hash and probes for it: its slot number (≥ 0), or −(slot + 1) of the first
   * unused slot of its probe sequence. An unused slot always exists because the capacity
   * is below the slot count and entries are never removed one by one (only by clear()).
   */
  #find(key: Buffer): number {
    const h = this.#hash;
    const digest = hash('sha256', key, 'buffer');
    h[0] = digest.readInt32LE(0);
    h[1] = digest.readInt32LE(4);
    h[2] = digest.readInt32LE(8);
    h[3] = digest.readInt32LE(12);
    const h0 = h[0];
    const h1 = h[1];
    const h2 = h[2];
    const h3 = h[3];
    const slots = this.#slots;
    // 48 bits of hash for the start: uniform modulo any slot count below 2^32.
    let slot = ((h0 >>> 0) * 0x10000 + (h1 >>> 16)) % slots;
    const step = this.#steps[h2 & (STEP_CHOICES - 1)] as number;
    const words = this.#words;
    for (let probes = 0; probes < slots; probes++) {
      const w = slot * SLOT_WORDS;
      if ((words[w + HIGH_WORD] as number) < 0) return -slot - 1;
      if (words[w] === h0 && words[w + 1] === h1 && words[w + 2] === h2 && words[w + 3] === h3) return slot;
      slot += step;
      if (slot >= slots) slot -= slots;
    }
    throw new Error('offset map: probed every slot without finding an unused one (size is kept below the slot count)');
  }
}
