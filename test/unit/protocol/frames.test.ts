import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ParapetError } from '../../../src/errors.js';
import {
  decodeRequest,
  decodeResponse,
  encodeApiVersionsFallback,
  encodeRequest,
  encodeResponse,
  responseHeaderVersion,
} from '../../../src/protocol/frames.js';
import { ApiVersions } from '../../../src/protocol/messages/api-versions.js';
import { Metadata } from '../../../src/protocol/messages/metadata.js';

const hex = (s: string) => Buffer.from(s.replaceAll(' ', ''), 'hex');
const joined = (chunks: Buffer[]) => Buffer.concat(chunks);
/** Strips the int32 size prefix after checking that it matches the frame. */
function unframe(frame: Buffer): Buffer {
  assert.equal(frame.readInt32BE(0), frame.length - 4, 'size prefix');
  return frame.subarray(4);
}

function decodeFails(frame: Buffer): ParapetError {
  try {
    decodeRequest(frame);
  } catch (err) {
    assert.ok(err instanceof ParapetError, `expected a ParapetError, got ${String(err)}`);
    return err;
  }
  assert.fail('decode should have failed');
}

describe('byte-exact vectors from the protocol notes', () => {
  it('ApiVersions v3 response uses header v0 with a flexible body', () => {
    const frame = joined(encodeResponse(ApiVersions, 3, 1, { errorCode: 0, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 3 }], throttleTimeMs: 0 }));
    assert.deepEqual(frame, hex('00000013 00000001 0000 02 0012 0000 0003 00 00000000 00'));
  });

  it('ApiVersions fallback answers in the v0 layout with UNSUPPORTED_VERSION', () => {
    assert.deepEqual(joined(encodeApiVersionsFallback(1)), hex('00000010 00000001 0023 00000001 0012 0000 0003'));
  });
});

describe('request headers', () => {
  it('decodes an ApiVersions v3 request: header v2 keeps an int16 client id, then tagged fields', () => {
    // api 18, v3, correlation 7, client_id "kc" (int16 length), header tags 0, body: compact "a", compact "1", tags 0
    const frame = hex('0012 0003 00000007 0002 6b63 00 02 61 02 31 00');
    const decoded = decodeRequest(frame);
    assert.equal(decoded.kind, 'request');
    assert.deepEqual(decoded.header, { apiKey: 18, apiVersion: 3, correlationId: 7, clientId: 'kc' });
    assert.deepEqual(decoded.body, { clientSoftwareName: 'a', clientSoftwareVersion: '1' });
  });

  it('decodes header v1 (non-flexible) with a null client id', () => {
    const frame = hex('0003 0001 00000009 ffff ffffffff');
    const decoded = decodeRequest(frame);
    assert.equal(decoded.kind, 'request');
    assert.equal(decoded.header.clientId, null);
    assert.equal(decoded.body.topics, null);
  });

  it('an ApiVersions version above ours asks for the fallback, reading only the header', () => {
    // v9 with a body we could not parse: only the header is read (KIP-511).
    const decoded = decodeRequest(hex('0012 0009 00000005 0000 ff ff ff'));
    assert.equal(decoded.kind, 'api-versions-fallback');
    assert.equal(decoded.header.correlationId, 5);
  });

  it('refuses unknown API keys and unsupported versions of other APIs', () => {
    const unknown = decodeFails(hex('1234 0000 00000001 0000'));
    assert.equal(unknown.code, 'UNSUPPORTED_API');
    const tooNew = decodeFails(hex('0003 000a 00000001 0000 00 00'));
    assert.equal(tooNew.code, 'UNSUPPORTED_API');
    assert.equal(tooNew.context.api, 'Metadata');
    assert.equal(tooNew.context.version, 10);
  });

  it('response header v1 only for flexible versions, never for ApiVersions', () => {
    assert.equal(responseHeaderVersion(Metadata, 8), 0);
    assert.equal(responseHeaderVersion(Metadata, 9), 1);
    assert.equal(responseHeaderVersion(ApiVersions, 3), 0);
  });
});

describe('client-side frames', () => {
  it('a request encoded here decodes to the same header and body', () => {
    for (const apiVersion of [0, 1, 4, 9]) {
      const topics = [{ name: 'orders' }, { name: 'événements' }];
      const frame = unframe(joined(encodeRequest(Metadata, { apiVersion, correlationId: 42, clientId: 'me' }, { topics })));
      const decoded = decodeRequest(frame);
      assert.equal(decoded.kind, 'request');
      assert.equal(decoded.header.apiVersion, apiVersion);
      assert.deepEqual(decoded.body.topics, topics);
    }
  });

  it('a response encoded here decodes with its correlation id', () => {
    const body = { brokers: [{ nodeId: 1, host: 'localhost', port: 9092, rack: null }], topics: [] };
    const frame = unframe(joined(encodeResponse(Metadata, 9, 77, body)));
    const { correlationId, body: decoded } = decodeResponse(Metadata, 9, frame);
    assert.equal(correlationId, 77);
    assert.deepEqual(decoded.brokers, body.brokers);
  });
});

describe('decode errors say what was wrong and where', () => {
  it('a truncated topic name names the API, version, field path and offset', () => {
    // Metadata v1, one topic whose name claims 10 bytes but carries 2.
    const err = decodeFails(hex('0003 0001 00000001 0000 00000001 000a 6162'));
    assert.equal(err.code, 'DECODE_ERROR');
    assert.equal(err.context.api, 'Metadata');
    assert.equal(err.context.version, 1);
    assert.equal(err.context.field, 'topics[0].name');
    // The offset is where reading stopped: after the 2-byte length, where the 10 bytes should be.
    assert.equal(err.context.offset, 16);
    assert.match(err.toString(), /Metadata v1.*topics\[0\]\.name.*offset=16/);
  });

  it('an array count beyond what remains is refused before allocating', () => {
    // 5 topics would need at least 10 bytes (an int16 length each); 2 remain.
    const err = decodeFails(hex('0003 0001 00000001 0000 00000005 0000'));
    assert.match(err.message, /array length 5 exceeds the 2 bytes that remain/);
    assert.equal(err.context.field, 'topics');
  });

  it('an array count beyond the configured maximum is refused', () => {
    const err = decodeFails(hex('0003 0001 00000001 0000 7fffffff'));
    assert.match(err.message, /exceeds the limit of 1000000/);
  });

  it('trailing bytes after a message are an error', () => {
    const err = decodeFails(hex('0003 0001 00000001 0000 ffffffff 00'));
    assert.match(err.message, /trailing/);
  });

  it('a flexible request may end with stray zero bytes (a repeated empty tag section, as platformatic sends), nothing else', () => {
    // Metadata v9 (flexible): header (client id null, no tags), topics null, three booleans, no tags.
    const body = '0003 0009 00000001 ffff 00 00 00 00 00 00';
    const decoded = decodeRequest(hex(`${body} 00`));
    assert.equal(decoded.kind, 'request');
    assert.match(decodeFails(hex(`${body} 01`)).message, /trailing/);
    assert.match(decodeFails(hex(`${body} ${'00'.repeat(9)}`)).message, /trailing/);
  });

  it('null in a field that is not nullable in this version is an error', () => {
    // Metadata v0 topics array is not nullable (null means "all" only from v1).
    const err = decodeFails(hex('0003 0000 00000001 0000 ffffffff'));
    assert.match(err.message, /not nullable/);
  });

  it('a truncated header is reported as a header error', () => {
    const err = decodeFails(hex('0003 00'));
    assert.equal(err.context.field, 'header');
  });
});
