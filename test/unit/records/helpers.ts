import assert from 'node:assert/strict';
import { ParapetError, type FaultCode } from '../../../src/errors.js';
import { BATCH_HEADER_SIZE, BatchOffsets, LOG_OVERHEAD, RecordFault, writeBatchCrc, type RecordFaultKind } from '../../../src/records/index.js';

export const hex = (s: string): Buffer => Buffer.from(s.replace(/[\s|]/g, ''), 'hex');

/** The 78-byte batch written by kafka-python 2.0.2: key "k", value "hello", header h=v. */
export const NOTES_VECTOR_HEX =
  '0000000000000000 00000042 00000000 02 c622acfa 0000 00000000 0000018bcfe56800 0000018bcfe56800 ' +
  'ffffffffffffffff ffff ffffffff 00000001 | 20 00 00 00 02 6b 0a 68656c6c6f 02 02 68 02 76';
export const notesVector = (): Buffer => hex(NOTES_VECTOR_HEX);

/** `kind` undefined: a fault that refuses no batch (a misuse, such as zstd through a sync call). */
function checkFault(err: unknown, code: FaultCode, kind: RecordFaultKind | undefined, pattern?: RegExp): true {
  assert.ok(err instanceof ParapetError, `expected a ParapetError, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  assert.equal(err instanceof RecordFault ? err.kind : undefined, kind, err.message);
  if (pattern !== undefined) assert.match(err.message, pattern);
  return true;
}

export function throwsFault(fn: () => unknown, code: FaultCode, kind: RecordFaultKind | undefined, pattern?: RegExp): void {
  assert.throws(fn, (err: unknown) => checkFault(err, code, kind, pattern));
}

export async function rejectsFault(
  fn: () => Promise<unknown>,
  code: FaultCode,
  kind: RecordFaultKind | undefined,
  pattern?: RegExp,
): Promise<void> {
  await assert.rejects(fn, (err: unknown) => checkFault(err, code, kind, pattern));
}

/** A copy of `batch` with its payload replaced, attributes' codec set, length and CRC fixed. */
export function withPayload(batch: Buffer, payload: Buffer, codec: number): Buffer {
  const out = Buffer.concat([batch.subarray(0, BATCH_HEADER_SIZE), payload]);
  out.writeInt32BE(out.length - LOG_OVERHEAD, BatchOffsets.batchLength);
  const attributes = out.readInt16BE(BatchOffsets.attributes);
  out.writeInt16BE((attributes & ~0x07) | codec, BatchOffsets.attributes);
  writeBatchCrc(out);
  return out;
}

/** A copy with `edit` applied and the CRC recomputed, to reach checks that come after the CRC. */
export function edited(batch: Buffer, edit: (b: Buffer) => void): Buffer {
  const out = Buffer.from(batch);
  edit(out);
  writeBatchCrc(out);
  return out;
}
