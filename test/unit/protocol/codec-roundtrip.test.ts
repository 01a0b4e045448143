import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeBody, encodeBody, isFlexible } from '../../../src/protocol/codec.js';
import { ALL_APIS } from '../../../src/protocol/messages/index.js';
import { Reader } from '../../../src/bytes/reader.js';
import { Writer } from '../../../src/bytes/writer.js';
import { messageArbitrary } from '../../helpers/schema-arbitrary.js';

// Every API × every supported version × request and response: random messages (nulls, tagged
// fields, unicode strings, extreme integers) survive encode → decode → encode unchanged.
for (const api of ALL_APIS) {
  describe(`${api.name} round trip`, () => {
    for (let version = api.minVersion; version <= api.maxVersion; version++) {
      for (const message of [api.request, api.response]) {
        it(`${message.name} v${version}`, () => {
          const arb = messageArbitrary(message.fields, version, isFlexible(api, version));
          fc.assert(
            fc.property(arb, (value) => {
              const w = new Writer(16);
              encodeBody(api, message, version, w, value);
              const bytes = w.toBuffer();
              const decoded = decodeBody(api, message, version, new Reader(bytes));
              assert.deepStrictEqual(decoded, value);
              const again = new Writer(16);
              encodeBody(api, message, version, again, decoded);
              assert.ok(again.toBuffer().equals(bytes), 're-encoding the decoded message changed its bytes');
            }),
            { numRuns: 40 },
          );
        });
      }
    }
  });
}
