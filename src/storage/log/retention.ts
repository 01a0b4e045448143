/** The retention topic configs; −1 means unlimited, as in Kafka. */
export interface RetentionConfig {
  readonly retentionMs: number;
  readonly retentionBytes: number;
}

/** What retention needs to know about a segment. */
export interface RetainedSegment {
  readonly size: number;
  /** Largest record timestamp in the segment (−1 when unknown). */
  readonly maxTimestamp: number;
}

/**
 * How many of the oldest segments retention deletes: a prefix of `segments` (ascending by offset),
 * never the last (active) one. A segment expires by time when its newest record is older than
 * retention.ms; by size while the log minus that segment would still be at least retention.bytes
 * (Kafka's UnifiedLog.deleteRetentionSizeBreachedSegments).
 */
export function segmentsToDelete(segments: readonly RetainedSegment[], config: RetentionConfig, nowMs: number): number {
  let excess = config.retentionBytes < 0 ? -1 : segments.reduce((sum, s) => sum + s.size, 0) - config.retentionBytes;
  let count = 0;
  for (const segment of segments.slice(0, -1)) {
    const expired = config.retentionMs >= 0 && segment.maxTimestamp >= 0 && nowMs - segment.maxTimestamp > config.retentionMs;
    const oversize = excess >= 0 && excess - segment.size >= 0;
    if (!expired && !oversize) break;
    excess -= segment.size;
    count++;
  }
  return count;
}
