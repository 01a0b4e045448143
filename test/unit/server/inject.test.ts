import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ParapetError } from '../../../src/errors.js';
import { CloseReasons } from '../../../src/close-reasons.js';
import { injectFrame } from '../../../src/server/inject.js';

const frame = (payload: string) => {
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length);
  return Buffer.concat([size, Buffer.from(payload)]);
};

describe('injectFrame: one frame handed to a pipeline in place of a connection', () => {
  it('hands over the frame without its size prefix and returns the answer as one frame', async () => {
    const result = await injectFrame((f) => Promise.resolve([Buffer.from([0, 0, 0, 2]), Buffer.from(f.toString().toUpperCase())]), frame('ok'));
    assert.deepEqual(result, { frame: Buffer.from([0, 0, 0, 2, 0x4f, 0x4b]) });
  });

  it('reports that the connection would close: asked for after the answer, or because handling threw', async () => {
    const asked = await injectFrame((_f, control) => {
      control.closeAfterResponse(CloseReasons.UNAUTHENTICATED_REQUEST, 'why');
      return Promise.resolve(null);
    }, frame('x'));
    assert.deepEqual(asked, { frame: null, closed: { reason: CloseReasons.UNAUTHENTICATED_REQUEST, detail: 'why' } });
    const error = new ParapetError('DECODE_ERROR', 'truncated');
    const threw = await injectFrame(() => Promise.reject(error), frame('x'));
    assert.deepEqual(threw, { frame: null, closed: { reason: CloseReasons.DECODE_ERROR, error } });
  });

  it('refuses a frame whose size prefix does not match it', async () => {
    await assert.rejects(injectFrame(() => Promise.resolve(null), Buffer.from([0, 0, 0, 9, 1])), /size prefix says 9 bytes, but 1 follow/);
  });
});
