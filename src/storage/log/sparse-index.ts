import { OFFSET_INDEX_ENTRY, TIME_INDEX_ENTRY } from './format.js';

/**
 * A segment's sparse offset index and time index, held in memory (plain arrays of small integers) and
 * written to `.index` / `.timeindex` files when the segment rolls or the log closes. One entry per
 * {@link INDEX_INTERVAL_BYTES} of log. Offsets are relative to the segment's base offset. Timestamps are
 * kept as doubles: exact up to 2^53 ms (year 287,396), beyond which only index precision would suffer.
 */
export class SparseIndex {
  /** Offset index: relative base offset of the batch at `positions[i]`; both strictly increasing. */
  readonly relOffsets: number[] = [];
  readonly positions: number[] = [];
  /** Time index: the segment's max timestamp up to and including the batch at `timeRelOffsets[i]`. */
  readonly timestamps: number[] = [];
  readonly timeRelOffsets: number[] = [];

  addOffset(relOffset: number, position: number): void {
    this.relOffsets.push(relOffset);
    this.positions.push(position);
  }

  /** Adds a time entry only when the max timestamp grew (Kafka's TimeIndex.maybeAppend). */
  addTime(maxTimestampSoFar: number, relOffset: number): void {
    const last = this.timestamps.at(-1);
    if (last !== undefined && maxTimestampSoFar <= last) return;
    this.timestamps.push(maxTimestampSoFar);
    this.timeRelOffsets.push(relOffset);
  }

  /** Byte position to start scanning from for `relOffset`: the last entry at or before it, else 0. */
  positionFor(relOffset: number): number {
    const i = lastAtOrBelow(this.relOffsets, relOffset);
    return i < 0 ? 0 : (this.positions[i] ?? 0);
  }

  /**
   * Relative offset to start scanning from for the first batch with max timestamp ≥ `timestamp`: every
   * batch up to the last entry whose max-so-far is below the target is too old (Kafka's lookup).
   */
  relOffsetForTimestamp(timestamp: number): number {
    const i = lastAtOrBelow(this.timestamps, timestamp - 1);
    return i < 0 ? 0 : (this.timeRelOffsets[i] ?? 0);
  }

  /** Drops entries at or after `position` (after a truncation). */
  truncateTo(position: number, relOffsetLimit: number): void {
    let n = this.positions.length;
    while (n > 0 && (this.positions[n - 1] ?? 0) >= position) n--;
    this.positions.length = n;
    this.relOffsets.length = n;
    let t = this.timeRelOffsets.length;
    while (t > 0 && (this.timeRelOffsets[t - 1] ?? 0) >= relOffsetLimit) t--;
    this.timestamps.length = t;
    this.timeRelOffsets.length = t;
  }

  encodeOffsetIndex(): Buffer {
    const buf = Buffer.allocUnsafe(this.relOffsets.length * OFFSET_INDEX_ENTRY);
    for (let i = 0; i < this.relOffsets.length; i++) {
      buf.writeInt32BE(this.relOffsets[i] ?? 0, i * OFFSET_INDEX_ENTRY);
      buf.writeInt32BE(this.positions[i] ?? 0, i * OFFSET_INDEX_ENTRY + 4);
    }
    return buf;
  }

  encodeTimeIndex(): Buffer {
    const buf = Buffer.allocUnsafe(this.timestamps.length * TIME_INDEX_ENTRY);
    for (let i = 0; i < this.timestamps.length; i++) {
      buf.writeBigInt64BE(BigInt(this.timestamps[i] ?? 0), i * TIME_INDEX_ENTRY);
      buf.writeInt32BE(this.timeRelOffsets[i] ?? 0, i * TIME_INDEX_ENTRY + 8);
    }
    return buf;
  }

  /**
   * Parses index files written by {@link encodeOffsetIndex}/{@link encodeTimeIndex} and checks them
   * against the segment: returns null when anything is off (torn file, entries out of order, a position
   * past the end), and the caller rebuilds the index from the log.
   */
  static decode(offsetIndex: Buffer, timeIndex: Buffer, segmentSize: number, maxRelOffset: number): SparseIndex | null {
    if (offsetIndex.length % OFFSET_INDEX_ENTRY !== 0 || timeIndex.length % TIME_INDEX_ENTRY !== 0) return null;
    const index = new SparseIndex();
    for (let at = 0; at < offsetIndex.length; at += OFFSET_INDEX_ENTRY) {
      const rel = offsetIndex.readInt32BE(at);
      const pos = offsetIndex.readInt32BE(at + 4);
      const prevRel = index.relOffsets.at(-1) ?? -1;
      const prevPos = index.positions.at(-1) ?? -1;
      if (rel <= prevRel || pos <= prevPos || rel > maxRelOffset || pos >= segmentSize) return null;
      index.addOffset(rel, pos);
    }
    for (let at = 0; at < timeIndex.length; at += TIME_INDEX_ENTRY) {
      const ts = Number(timeIndex.readBigInt64BE(at));
      const rel = timeIndex.readInt32BE(at + 8);
      const prevTs = index.timestamps.at(-1);
      const prevRel = index.timeRelOffsets.at(-1) ?? -1;
      if ((prevTs !== undefined && ts <= prevTs) || rel < prevRel || rel < 0 || rel > maxRelOffset) return null;
      index.addTime(ts, rel);
    }
    return index;
  }
}

/** Index of the last element ≤ `value` in an ascending array, or −1. */
function lastAtOrBelow(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] ?? 0) <= value) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}
