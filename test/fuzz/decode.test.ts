import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ParapetError } from '../../src/errors.js';
import { isFlexible } from '../../src/protocol/codec.js';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../../src/protocol/frames.js';
import { ALL_APIS } from '../../src/protocol/messages/index.js';
import type { ApiSchema } from '../../src/protocol/messages/schema.js';
import { messageArbitrary } from '../helpers/schema-arbitrary.js';

/**
 * Hostile bytes are the first thing an unauthenticated peer can send. Whatever arrives, decoding
 * either succeeds or throws the protocol's own typed error: never a RangeError, TypeError or crash,
 * and never an allocation sized by an unchecked length.
 */

function onlyTypedErrors(decode: () => unknown): void {
  try {
    decode();
  } catch (err) {
    if (!(err instanceof ParapetError)) throw err;
    assert.ok(err.code === 'DECODE_ERROR' || err.code === 'UNSUPPORTED_API', err.code);
  }
}

const apiAndVersion = fc
  .constantFrom(...ALL_APIS)
  .chain((api) => fc.tuple(fc.constant(api), fc.integer({ min: api.minVersion, max: api.maxVersion })));

function header(api: ApiSchema, version: number, correlationId = 1): Buffer {
  const h = Buffer.alloc(isFlexible(api, version) ? 11 : 10);
  h.writeInt16BE(api.apiKey, 0);
  h.writeInt16BE(version, 2);
  h.writeInt32BE(correlationId, 4);
  h.writeInt16BE(-1, 8); // null client id
  return h;
}

/** A valid encoded request or response of any API and version. */
const validFrame = apiAndVersion.chain(([api, version]) =>
  fc.tuple(fc.constant(api), fc.constant(version), fc.boolean()).chain(([a, v, isRequest]) =>
    messageArbitrary((isRequest ? a.request : a.response).fields, v, isFlexible(a, v)).map((body) => {
      const chunks = isRequest
        ? encodeRequest(a, { apiVersion: v, correlationId: 3, clientId: 'fuzz' }, body)
        : encodeResponse(a, v, 3, body);
      return { api: a, version: v, isRequest, frame: Buffer.concat(chunks).subarray(4) };
    }),
  ),
);

type Mutation = { kind: 'flip'; at: number; xor: number } | { kind: 'truncate'; at: number } | { kind: 'insert'; at: number; bytes: Uint8Array };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
);

function mutate(frame: Buffer, mutations: Mutation[]): Buffer {
  let out = Buffer.from(frame);
  for (const m of mutations) {
    if (out.length === 0) break;
    const at = m.at % out.length;
    if (m.kind === 'flip') out[at] = (out[at] as number) ^ m.xor;
    else if (m.kind === 'truncate') out = out.subarray(0, at);
    else out = Buffer.concat([out.subarray(0, at), m.bytes, out.subarray(at)]);
  }
  return out;
}

describe('decoding hostile input', () => {
  it('random bytes never throw anything but a typed decode error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        onlyTypedErrors(() => decodeRequest(Buffer.from(bytes)));
      }),
      { numRuns: 3000 },
    );
  });

  it('a valid header followed by random bytes, for every API and version', () => {
    fc.assert(
      fc.property(apiAndVersion, fc.uint8Array({ maxLength: 256 }), ([api, version], body) => {
        onlyTypedErrors(() => decodeRequest(Buffer.concat([header(api, version), body])));
        onlyTypedErrors(() => decodeResponse(api, version, Buffer.concat([Buffer.alloc(isFlexible(api, version) ? 5 : 4), body])));
      }),
      { numRuns: 3000 },
    );
  });

  it('mutated valid frames (flipped, truncated, inserted bytes) never throw anything else', () => {
    fc.assert(
      fc.property(validFrame, fc.array(mutation, { minLength: 1, maxLength: 4 }), ({ api, version, isRequest, frame }, ms) => {
        const bad = mutate(frame, ms);
        onlyTypedErrors(() => (isRequest ? decodeRequest(bad) : decodeResponse(api, version, bad)));
      }),
      { numRuns: 3000 },
    );
  });

  it('huge length fields allocate nothing: memory stays flat over 20,000 hostile frames', () => {
    // Every int32 length/count position filled with 0x7fffffff, every int16 with 0x7fff.
    const hostile: Buffer[] = [];
    for (const api of ALL_APIS) {
      for (let v = api.minVersion; v <= api.maxVersion; v++) {
        hostile.push(Buffer.concat([header(api, v), Buffer.from('7fffffff'.repeat(16), 'hex')]));
        hostile.push(Buffer.concat([header(api, v), Buffer.from('ffffffff0f'.repeat(8), 'hex')]));
      }
    }
    global.gc?.();
    const before = process.memoryUsage();
    const started = Date.now();
    for (let i = 0; i < 20_000; i++) onlyTypedErrors(() => decodeRequest(hostile[i % hostile.length] as Buffer));
    const after = process.memoryUsage();
    const grown = after.arrayBuffers - before.arrayBuffers + (after.heapUsed - before.heapUsed);
    assert.ok(grown < 64 * 1024 * 1024, `memory grew by ${grown} bytes`);
    // Bounded work: 20,000 refusals are quick (generous bound; a hang or quadratic scan would not be).
    assert.ok(Date.now() - started < 10_000, 'hostile frames took too long');
  });
});
