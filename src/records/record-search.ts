import { setImmediate as nextTurn } from 'node:timers/promises';
import { BATCH_HEADER_SIZE, TimestampType, validateBatch } from './batch.js';
import { decompress } from './compression.js';
import { FaultReader, RecordFault } from './faults.js';

/** Where the search stopped: the record found, none newer, or a payload larger than allowed. */
export type RecordSearch = { readonly offset: bigint; readonly timestamp: bigint } | 'none' | 'too-large';

/** Records walked between turns of the event loop: a batch of a million tiny records must not stall it. */
const RECORDS_PER_TURN = 65_536;

/**
 * The first record of a batch whose timestamp is ≥ `timestamp` (ListOffsets by time). Only each
 * record's length, attributes, timestamp and offset deltas are read; keys, values and headers are
 * skipped, so no object is made per record. `maxBytes` bounds the decompressed payload: a batch that
 * inflates past it (a compression bomb, or just a very large batch) answers 'too-large' once that
 * many bytes were inflated, and the caller decides what to do without it.
 */
export async function firstRecordAtOrAfter(batch: Buffer, timestamp: bigint, maxBytes: number): Promise<RecordSearch> {
  // Batches come from the log, which compaction may have cleaned (fewer records than offsets).
  const header = validateBatch(batch, { verifyCrc: true, allowCleaned: true });
  let payload: Buffer;
  try {
    payload = await decompress(header.compression, batch.subarray(BATCH_HEADER_SIZE), maxBytes);
  } catch (err) {
    if (err instanceof RecordFault && err.kind === 'too-large') return 'too-large';
    throw err;
  }
  const logAppendTime = header.timestampType === TimestampType.logAppendTime;
  const r = new FaultReader(payload, 'CORRUPT_RECORDS', 'invalid-record');
  for (let i = 0; i < header.recordCount; i++) {
    if (i > 0 && i % RECORDS_PER_TURN === 0) await nextTurn();
    const length = r.varint();
    const end = r.offset + length;
    if (length < 0 || end > payload.length) r.fail(`record ${i} declares ${length} bytes, ${payload.length - r.offset} remain`);
    r.int8();
    const timestampDelta = r.varlong();
    const offsetDelta = r.varint();
    const recordTimestamp = logAppendTime ? header.maxTimestamp : header.baseTimestamp + timestampDelta;
    if (recordTimestamp >= timestamp) return { offset: header.baseOffset + BigInt(offsetDelta), timestamp: recordTimestamp };
    r.offset = end;
  }
  return 'none';
}
