import { RecordFault } from '../../records/faults.js';
import type { LogFailure } from '../outcomes.js';
import { forEachRecord } from './batch-filter.js';
import { MAX_DECOMPRESSED_BATCH_BYTES } from './log-cleaner.js';

/**
 * Why a batch may not go to a compacted topic: a record without a key (Kafka's LogValidator refuses it
 * with INVALID_RECORD), or records the cleaner could not read back (decompressing beyond
 * {@link MAX_DECOMPRESSED_BATCH_BYTES}, malformed). Null when every record has a key.
 */
export async function keylessRecordProblem(batch: Buffer, partition: string): Promise<LogFailure | null> {
  let keyless = -1;
  let index = 0;
  try {
    await forEachRecord(batch, MAX_DECOMPRESSED_BATCH_BYTES, (record) => {
      if (keyless < 0 && record.key === null) keyless = index;
      index++;
    });
  } catch (err) {
    if (err instanceof RecordFault) return { kind: err.kind, message: err.message };
    throw err;
  }
  if (keyless < 0) return null;
  return { kind: 'invalid-record', message: `compacted topic partition ${partition} cannot accept a record without a key (record ${keyless} of the batch)` };
}
