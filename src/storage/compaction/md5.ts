/**
 * MD5 (RFC 1321) computed into four preallocated words, for the offset map's key hashes.
 *
 * Why not node:crypto: `createHash('md5')` builds a Hash object and a digest Buffer per key, and
 * `crypto.hash` a digest Buffer; for 10^6 keys of 24 bytes they took 1.27 s and 0.79 s on the 2-core
 * development VM where this loop, which makes no object at all, took 0.32 s (`npm run bench:compaction`).
 * The cleaner hashes every key of the dirty section once and every key it cleans once more,
 * so the per-key cost is the cleaner's main CPU cost. What MD5's chosen collisions allow is weighed in
 * offset-map.ts; what matters here is its uniform spread.
 */

/**
 * K[i] = floor(|sin(i + 1)| × 2^32) (RFC 1321 §3.4). The unit tests check the digests against
 * node:crypto; the offset map would stay correct even if they differed, since it only needs a
 * well-spread hash that is the same within one process (nothing hashed here is stored).
 */
const K = new Int32Array(64);
for (let i = 0; i < 64; i++) K[i] = Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0;

/** Rotation amounts per round (4 rounds × 4 steps, repeated 4 times in each round). */
const S = new Int32Array([7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21]);

/** Initial state A, B, C, D (RFC 1321 §3.3, as little-endian words). */
const INIT = [0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476] as const;

/** One 64-byte block as 16 little-endian words, and the padded tail (at most two blocks). */
const WORDS = new Int32Array(16);
const TAIL = Buffer.alloc(128);

function compressBlock(state: Int32Array, block: Buffer, at: number): void {
  for (let w = 0; w < 16; w++) WORDS[w] = block.readInt32LE(at + 4 * w);
  let a = state[0] as number;
  let b = state[1] as number;
  let c = state[2] as number;
  let d = state[3] as number;
  for (let i = 0; i < 64; i++) {
    let f: number;
    let g: number;
    if (i < 16) {
      f = (b & c) | (~b & d);
      g = i;
    } else if (i < 32) {
      f = (d & b) | (~d & c);
      g = (5 * i + 1) & 15;
    } else if (i < 48) {
      f = b ^ c ^ d;
      g = (3 * i + 5) & 15;
    } else {
      f = c ^ (b | ~d);
      g = (7 * i) & 15;
    }
    const s = S[((i >> 4) << 2) | (i & 3)] as number;
    const x = (a + f + (K[i] as number) + (WORDS[g] as number)) | 0;
    a = d;
    d = c;
    c = b;
    b = (b + ((x << s) | (x >>> (32 - s)))) | 0;
  }
  state[0] = ((state[0] as number) + a) | 0;
  state[1] = ((state[1] as number) + b) | 0;
  state[2] = ((state[2] as number) + c) | 0;
  state[3] = ((state[3] as number) + d) | 0;
}

/**
 * Writes the MD5 of `data` into `out` as four int32 words A, B, C, D: the digest's bytes are their
 * little-endian encodings in that order. Not reentrant (shared scratch), which JS's single thread allows.
 */
export function md5Words(data: Buffer, out: Int32Array): void {
  out[0] = INIT[0];
  out[1] = INIT[1];
  out[2] = INIT[2];
  out[3] = INIT[3];
  const full = data.length - (data.length % 64);
  for (let at = 0; at < full; at += 64) compressBlock(out, data, at);
  // Padding: 0x80, zeros up to 56 mod 64, then the bit length as a 64-bit little-endian integer.
  const rest = data.length - full;
  TAIL.fill(0);
  data.copy(TAIL, 0, full);
  TAIL[rest] = 0x80;
  const tailBlocks = rest < 56 ? 1 : 2;
  const bits = data.length * 8;
  TAIL.writeUInt32LE(bits >>> 0, tailBlocks * 64 - 8);
  TAIL.writeUInt32LE(Math.floor(bits / 2 ** 32) >>> 0, tailBlocks * 64 - 4);
  compressBlock(out, TAIL, 0);
  if (tailBlocks === 2) compressBlock(out, TAIL, 64);
}

/** The 16-byte digest, for tests and diagnostics (allocates). */
export function md5(data: Buffer): Buffer {
  const words = new Int32Array(4);
  md5Words(data, words);
  const digest = Buffer.alloc(16);
  for (let i = 0; i < 4; i++) digest.writeInt32LE(words[i] as number, 4 * i);
  return digest;
}
