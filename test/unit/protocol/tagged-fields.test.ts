import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ParapetError } from '../../../src/errors.js';
import { decodeBody, encodeBody } from '../../../src/protocol/codec.js';
import { ApiVersions } from '../../../src/protocol/messages/api-versions.js';
import { Reader } from '../../../src/bytes/reader.js';
import { Writer } from '../../../src/bytes/writer.js';

const hex = (s: string) => Buffer.from(s.replaceAll(' ', ''), 'hex');
const encode = (body: object) => {
  const w = new Writer();
  encodeBody(ApiVersions, ApiVersions.response, 3, w, body);
  return w.toBuffer();
};
const decode = (bytes: Buffer) => decodeBody(ApiVersions, ApiVersions.response, 3, new Reader(bytes));

// ApiVersions v3 response: error 0, no keys, throttle 0, then the tag section.
const prefix = '0000 01 00000000';

describe('tagged fields (KIP-482)', () => {
  it('a tagged field equal to its default is not sent', () => {
    assert.equal(encode({ errorCode: 0, apiKeys: [], finalizedFeaturesEpoch: -1n }).toString('hex'), hex(prefix + '00').toString('hex'));
  });

  it('a tagged field with a value is sent with its tag and size, in tag order', () => {
    const bytes = encode({ errorCode: 0, apiKeys: [], zkMigrationReady: true, finalizedFeaturesEpoch: 5n });
    assert.equal(bytes.toString('hex'), hex(prefix + '02 01 08 0000000000000005 03 01 01').toString('hex'));
    const decoded = decode(bytes);
    assert.equal(decoded.finalizedFeaturesEpoch, 5n);
    assert.equal(decoded.zkMigrationReady, true);
  });

  it('absent tagged fields decode to their defaults', () => {
    const decoded = decode(hex(prefix + '00'));
    assert.equal(decoded.finalizedFeaturesEpoch, -1n);
    assert.equal(decoded.zkMigrationReady, false);
    assert.deepEqual(decoded.supportedFeatures, []);
  });

  it('unknown tags from a newer peer are skipped', () => {
    const decoded = decode(hex(prefix + '02 03 01 01 09 02 abcd'));
    assert.equal(decoded.zkMigrationReady, true);
  });

  it('tags out of ascending order, or a size that does not match the value, are refused', () => {
    assert.throws(() => decode(hex(prefix + '02 03 01 01 01 08 0000000000000005')), (e: unknown) => e instanceof ParapetError && /ascending/.test(e.message));
    assert.throws(() => decode(hex(prefix + '01 03 02 01 00')), (e: unknown) => e instanceof ParapetError && /trailing bytes/.test(e.message));
  });
});
