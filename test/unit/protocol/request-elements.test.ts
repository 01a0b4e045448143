import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_READ_LIMITS } from '../../../src/bytes/reader.js';
import { ParapetError } from '../../../src/errors.js';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../../../src/protocol/frames.js';
import { ApiVersions, OffsetFetch } from '../../../src/protocol/messages/index.js';

/**
 * The elements of one request are bounded in all, nested arrays included (ReadLimits.maxRequestElements):
 * each array's count fits what remains, but an element of 1–3 wire bytes is an object of tens of bytes,
 * so a 30 MB OffsetFetch of nested empty arrays decoded to 800 MB of heap (as Kafka's CVE-2026-111108).
 */

function offsetFetch(groups: number, topicsPerGroup: number): Buffer {
  const topics = Array.from({ length: topicsPerGroup }, () => ({ name: '', partitionIndexes: [] }));
  const body = { groups: Array.from({ length: groups }, () => ({ groupId: 'g', topics })), requireStable: false };
  return Buffer.concat(encodeRequest(OffsetFetch, { apiVersion: 8, correlationId: 1, clientId: 't' }, body)).subarray(4);
}

function decodeFault(frame: Buffer, limits = DEFAULT_READ_LIMITS): ParapetError {
  try {
    decodeRequest(frame, limits);
  } catch (err) {
    assert.ok(err instanceof ParapetError, String(err));
    return err;
  }
  assert.fail('the frame was decoded');
}

describe('the element budget of one request', () => {
  it('refuses nested arrays over 1,000,000 elements in all, each array well under its own bound', () => {
    // 11 groups of 100,000 topics: every array is within maxArrayLength, the total is not.
    const err = decodeFault(offsetFetch(11, 100_000));
    assert.equal(err.code, 'DECODE_ERROR');
    assert.match(err.message, /more than 1000000 elements in all/);
  });

  it('decodes a request just under the budget (groups and topics count: 9 + 9 × 100,000)', () => {
    const decoded = decodeRequest(offsetFetch(9, 100_000));
    assert.equal(decoded.kind, 'request');
    assert.equal((decoded.body as { groups: unknown[] }).groups.length, 9);
  });

  it('follows a configured budget', () => {
    const limits = { ...DEFAULT_READ_LIMITS, maxRequestElements: 10 };
    assert.doesNotThrow(() => decodeRequest(offsetFetch(2, 4), limits)); // 2 + 8 elements
    assert.match(decodeFault(offsetFetch(2, 5), limits).message, /more than 10 elements/); // 2 + 10
  });

  it('leaves responses alone: a client decodes what its broker sends, however large', () => {
    const apiKeys = Array.from({ length: 5 }, (_, i) => ({ apiKey: i, minVersion: 0, maxVersion: 1 }));
    const frame = Buffer.concat(encodeResponse(ApiVersions, 0, 1, { errorCode: 0, apiKeys })).subarray(4);
    assert.equal((decodeResponse(ApiVersions, 0, frame, { ...DEFAULT_READ_LIMITS, maxRequestElements: 1 }).body.apiKeys as unknown[]).length, 5);
  });
});
