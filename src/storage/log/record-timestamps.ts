import { DEFAULT_READ_LIMITS } from '../../bytes/reader.js';
import { FaultReader } from '../../records/faults.js';

/** Kafka's RecordBatch.NO_TIMESTAMP: a record without a timestamp, which no bound applies to. */
const NO_TIMESTAMP = -1n;

/**
 * The smallest and largest record timestamps of a batch's uncompressed records payload
 * (baseTimestamp + each record's timestampDelta), leaving out records without one (−1); null when no
 * record has one. Reads only each record's length, attributes and timestamp delta: what the timestamp
 * bounds need, without building the records. Throws a RecordFault (`invalid-record`) for a payload
 * that does not hold `recordCount` records.
 */
export function recordTimestampRange(payload: Buffer, recordCount: number, baseTimestamp: bigint): { min: bigint; max: bigint } | null {
  const r = new FaultReader(payload, 'CORRUPT_RECORDS', 'invalid-record', DEFAULT_READ_LIMITS);
  let range: { min: bigint; max: bigint } | null = null;
  for (let i = 0; i < recordCount; i++) {
    const body = r.view(r.varint(), 'record');
    const rr = new FaultReader(body, 'CORRUPT_RECORDS', 'invalid-record', DEFAULT_READ_LIMITS);
    rr.int8();
    const timestamp = baseTimestamp + rr.varlong();
    if (timestamp === NO_TIMESTAMP) continue;
    if (range === null) range = { min: timestamp, max: timestamp };
    else if (timestamp < range.min) range.min = timestamp;
    else if (timestamp > range.max) range.max = timestamp;
  }
  if (r.remaining !== 0) r.fail(`${r.remaining} bytes remain after the ${recordCount} records the batch declares`);
  return range;
}
