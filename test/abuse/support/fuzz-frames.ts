import fc from 'fast-check';
import { isFlexible } from '../../../src/protocol/codec.js';
import { encodeRequest } from '../../../src/protocol/frames.js';
import { ALL_APIS } from '../../../src/protocol/messages/index.js';
import type { ApiSchema } from '../../../src/protocol/messages/schema.js';
import { buildBatchSync } from '../../../src/records/record.js';
import { messageArbitrary } from '../../helpers/schema-arbitrary.js';

/**
 * Hostile frames for the socket fuzzers (test/abuse/, bench/abuse/fuzz.ts): each starts as a VALID
 * request of an API the broker serves, at one of its versions, encoded by the project's own codec
 * from a body fast-check generated from the same schema, and is then damaged the ways a broken or
 * hostile client damages frames. Everything is derived from one seed, so a failure replays exactly.
 */

/** A small, fast, seedable PRNG (mulberry32): the mutations must replay from the printed seed. */
export class Prng {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

/** The seed of a run: PARAPET_FUZZ_SEED when set (to replay a failure), else a fixed default. */
export function fuzzSeed(fallback: number): number {
  const env = process.env.PARAPET_FUZZ_SEED;
  if (env === undefined || env === '') return fallback;
  const seed = Number(env);
  if (!Number.isSafeInteger(seed)) throw new Error(`PARAPET_FUZZ_SEED must be an integer (got ${env})`);
  return seed;
}

export interface ValidRequest {
  readonly api: ApiSchema;
  readonly version: number;
  /** The whole frame, size prefix included. */
  readonly frame: Buffer;
}

/** Where the requests point: names the fuzzing user may use, so that frames get past authorization into the handlers. */
export interface RequestAim {
  readonly topic: string;
  readonly group: string;
}

const TOPIC_FIELDS: ReadonlySet<string> = new Set(['name', 'topic', 'resourceName', 'topicName']);
const GROUP_FIELDS: ReadonlySet<string> = new Set(['groupId', 'group', 'transactionalId']);

/**
 * Points most names of a generated body at `aim` (a random name is refused by authorization before
 * any handler sees it) and puts a real record batch in most record sets (random bytes stop at the
 * batch parser). Deterministic under `rng`.
 */
function aimed(value: unknown, key: string, aim: RequestAim, rng: Prng): unknown {
  if (Array.isArray(value)) return value.map((v) => aimed(v, key, aim, rng));
  if (Buffer.isBuffer(value)) {
    return key === 'records' && rng.next() < 0.7 ? buildBatchSync({ records: [{ value: rng.bytes(rng.int(32)) }] }) : value;
  }
  if (typeof value === 'string') {
    if (TOPIC_FIELDS.has(key) && rng.next() < 0.8) return aim.topic;
    if (GROUP_FIELDS.has(key) && rng.next() < 0.8) return aim.group;
    return value;
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = aimed(v, k, aim, rng);
    return out;
  }
  return value;
}

/**
 * `perVersion` valid requests of EVERY API and EVERY version the broker serves (ALL_APIS is what
 * ApiVersions advertises), generated from the schemas with fast-check under `seed`, aimed at `aim`
 * when given.
 */
export function validRequests(seed: number, perVersion: number, aim?: RequestAim, apis: readonly ApiSchema[] = ALL_APIS): ValidRequest[] {
  const out: ValidRequest[] = [];
  const rng = new Prng(seed ^ 0x9e3779b9);
  let i = 0;
  for (const api of apis) {
    for (let version = api.minVersion; version <= api.maxVersion; version++) {
      const bodies = fc.sample(messageArbitrary(api.request.fields, version, isFlexible(api, version)), { seed: seed + i++, numRuns: perVersion });
      for (const generated of bodies) {
        const body = aim === undefined ? generated : (aimed(generated, '', aim, rng) as Record<string, unknown>);
        const frame = Buffer.concat(encodeRequest(api, { apiVersion: version, correlationId: out.length + 1, clientId: 'fuzz' }, body));
        out.push({ api, version, frame });
      }
    }
  }
  return out;
}

export const MUTATIONS = [
  'bit-flip',
  'truncate',
  'huge-length',
  'negative-length',
  'garbage-tail',
  'duplicate-tail',
  'wrong-api-version',
  'wrong-header-version',
  'size-prefix-lie',
] as const;
export type Mutation = (typeof MUTATIONS)[number];

export interface MutatedFrame {
  readonly mutation: Mutation;
  readonly api: string;
  readonly version: number;
  readonly bytes: Buffer;
}

/** The frame with its size prefix rewritten to the payload's real length. */
function framed(payload: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length);
  return Buffer.concat([size, payload]);
}

/** Offset of the body: after size (4), api key, version (2+2), correlation id (4) and a 'fuzz' client id (2+4). */
const BODY_AT = 4 + 2 + 2 + 4 + 2 + 4;

/**
 * One damaged copy of `valid`. The size prefix stays true except for `size-prefix-lie` (the broker
 * frames by it, so a lie desynchronises everything after it: that is the point of that mutation).
 */
export function mutate(valid: ValidRequest, rng: Prng, mutation: Mutation = rng.pick(MUTATIONS)): MutatedFrame {
  const payload = Buffer.from(valid.frame.subarray(4));
  const bodyAt = Math.min(BODY_AT - 4, payload.length);
  const at = (from: number) => from + rng.int(Math.max(1, payload.length - from));
  let bytes: Buffer;
  switch (mutation) {
    case 'bit-flip': {
      const flips = 1 + rng.int(4);
      for (let i = 0; i < flips; i++) {
        const p = at(0);
        payload[p] = (payload[p] ?? 0) ^ (1 << rng.int(8));
      }
      bytes = framed(payload);
      break;
    }
    case 'truncate':
      bytes = framed(payload.subarray(0, rng.int(payload.length)));
      break;
    case 'huge-length':
    case 'negative-length': {
      // Where a length or count sits is not known without decoding: write one at a random body offset,
      // as int32, int16 or unsigned varint (the compact lengths of flexible versions).
      const huge = mutation === 'huge-length';
      const width = rng.pick([4, 2, 5] as const);
      const field =
        width === 4
          ? Buffer.from(huge ? rng.pick(['7fffffff', '40000000', '00ffffff']) : rng.pick(['ffffffff', 'fffffffe', '80000000']), 'hex')
          : width === 2
            ? Buffer.from(huge ? '7fff' : rng.pick(['ffff', 'fffe', '8000']), 'hex')
            : Buffer.from(huge ? 'ffffffff07' : 'ffffffff0f', 'hex');
      const p = Math.min(at(bodyAt), Math.max(0, payload.length - field.length));
      field.copy(payload, p, 0, Math.min(field.length, payload.length - p));
      bytes = framed(payload);
      break;
    }
    case 'garbage-tail':
      bytes = framed(Buffer.concat([payload, rng.bytes(1 + rng.int(64))]));
      break;
    case 'duplicate-tail': {
      const from = rng.int(payload.length);
      bytes = framed(Buffer.concat([payload, payload.subarray(from), payload.subarray(from)]));
      break;
    }
    case 'wrong-api-version': {
      const { api } = valid;
      // Just outside the range, far outside it, or negative.
      payload.writeInt16BE(rng.pick([api.maxVersion + 1, api.minVersion - 1, 0x7fff, -1, -32768, api.maxVersion + 1 + rng.int(100)]), 2);
      bytes = framed(payload);
      break;
    }
    case 'wrong-header-version': {
      // A version of the other flexibility, so the header (v1 vs v2: tagged fields) and the body are
      // read in the wrong layout; when every version has the same flexibility, a tag section inserted
      // into (or one byte removed from) the header instead.
      const { api, version } = valid;
      const flexible = isFlexible(api, version);
      const others: number[] = [];
      for (let v = api.minVersion; v <= api.maxVersion; v++) if (isFlexible(api, v) !== flexible) others.push(v);
      if (others.length > 0) {
        payload.writeInt16BE(rng.pick(others), 2);
        bytes = framed(payload);
      } else {
        const p = Math.min(bodyAt, payload.length);
        bytes = flexible
          ? framed(Buffer.concat([payload.subarray(0, p), payload.subarray(p + 1)]))
          : framed(Buffer.concat([payload.subarray(0, p), Buffer.from([rng.int(4)]), payload.subarray(p)]));
      }
      break;
    }
    case 'size-prefix-lie': {
      const size = Buffer.alloc(4);
      // Short (the rest reads as the next frame), a little long (the next frame's bytes read as this
      // one's), negative, or far above any limit.
      const lie = rng.pick([payload.length - 1 - rng.int(Math.max(1, payload.length)), payload.length + 1 + rng.int(64), -1 - rng.int(1000), 0x7fffffff, 0]);
      size.writeInt32BE(lie);
      bytes = Buffer.concat([size, payload]);
      break;
    }
  }
  return { mutation, api: valid.api.name, version: valid.version, bytes };
}
