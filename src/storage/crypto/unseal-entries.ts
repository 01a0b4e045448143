import type { KeyObject } from 'node:crypto';
import { BatchOffsets, LOG_OVERHEAD } from '../../records/batch.js';
import { isSealed, openSealed, sealedDekId, writeOpened, type BatchPlace } from './sealed-batch.js';

/** Why opening a read stopped before its end. */
export type UnsealStop =
  /** A batch failed authentication (or has a sealing version this build does not read): never served. */
  | { readonly kind: 'forged'; readonly reason: string; readonly baseOffset: bigint }
  /** A batch is sealed with a data key that was not given (it could not be had). */
  | { readonly kind: 'no-key'; readonly id: number };

/** The entries of a read opened in place: the first `length` bytes are the producers' batches. */
export interface Unsealed {
  readonly length: number;
  /** Why it stopped before the end of the read, or null. */
  readonly stop: UnsealStop | null;
}

/**
 * Opens every sealed entry of a read (whole entries, as a segment read gives them) in the buffer that
 * holds them: each batch is written where the one before it ended, which is never after where its
 * entry starts (a sealed entry is longer than its batch), and only once its tag has been checked. Clear
 * entries are moved as they are. Stops at the first entry that cannot be opened: what was opened
 * before it is served, it is not. Runs on the event loop or in a worker (unseal-pool.ts).
 */
export function unsealEntriesInPlace(buf: Buffer, keys: ReadonlyMap<number, KeyObject>, place: BatchPlace): Unsealed {
  let to = 0;
  for (let at = 0; at < buf.length; ) {
    const entry = buf.subarray(at, at + LOG_OVERHEAD + buf.readInt32BE(at + BatchOffsets.batchLength));
    if (!isSealed(entry)) {
      if (to !== at) entry.copy(buf, to);
      to += entry.length;
      at += entry.length;
      continue;
    }
    const id = sealedDekId(entry);
    const key = keys.get(id);
    if (key === undefined) return { length: to, stop: { kind: 'no-key', id } };
    const body = openSealed(entry, place, key);
    if (!Buffer.isBuffer(body)) return { length: to, stop: { kind: 'forged', reason: body.reason, baseOffset: entry.readBigInt64BE(BatchOffsets.baseOffset) } };
    at += entry.length;
    to += writeOpened(entry, body, buf, to);
  }
  return { length: to, stop: null };
}
