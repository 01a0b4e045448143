import { DEFAULT_READ_LIMITS } from '../../bytes/reader.js';
import { FaultReader, recordsFault } from '../../records/faults.js';

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
  // Kept as numbers while they are exact (|delta| < 2^53, every delta a real producer writes), so that
  // a batch of small records costs no BigInt per record; a larger delta is taken as a BigInt.
  // The delta that lands on NO_TIMESTAMP, as a number too when it is one exactly.
  const skip = NO_TIMESTAMP - baseTimestamp;
  const skipNumber = Number.isSafeInteger(Number(skip)) && BigInt(Number(skip)) === skip ? Number(skip) : NaN;
  let min: number | bigint | null = null;
  let max: number | bigint | null = null;
  for (let i = 0; i < recordCount; i++) {
    const length = r.varint();
    if (length < 2) r.fail(`record ${i} declares ${length} bytes, too few for its attributes and timestamp`);
    const body = r.view(length, 'record');
    const delta = timestampDelta(body, i);
    if (typeof delta === 'number' ? delta === skipNumber : delta === skip) continue;
    if (min === null || delta < min) min = delta;
    if (max === null || delta > max) max = delta;
  }
  if (r.remaining !== 0) r.fail(`${r.remaining} bytes remain after the ${recordCount} records the batch declares`);
  return min === null || max === null ? null : { min: baseTimestamp + BigInt(min), max: baseTimestamp + BigInt(max) };
}

/** The zigzag varlong after a record's attributes byte: its timestampDelta. */
function timestampDelta(body: Buffer, index: number): number | bigint {
  let n = 0;
  let shift = 0;
  for (let at = 1; at < body.length && at <= 10; at++) {
    const byte = body[at] as number;
    if (shift >= 49) return slowDelta(body, index);
    n += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
    shift += 7;
  }
  throw recordsFault('CORRUPT_RECORDS', `record ${index}: its timestamp delta is not a valid varlong`, 'invalid-record');
}

function slowDelta(body: Buffer, index: number): bigint {
  const rr = new FaultReader(body, 'CORRUPT_RECORDS', 'invalid-record', DEFAULT_READ_LIMITS);
  rr.int8();
  try {
    return rr.varlong();
  } catch {
    throw recordsFault('CORRUPT_RECORDS', `record ${index}: its timestamp delta is not a valid varlong`, 'invalid-record');
  }
}
