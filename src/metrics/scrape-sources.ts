/** One partition log as the scrape reads it (src/storage/log/partition-log.ts has these). */
export interface PartitionSample {
  readonly id: { readonly topic: string; readonly partition: number };
  readonly logStartOffset: bigint;
  readonly logEndOffset: bigint;
  readonly sizeBytes: number;
  /** Why the partition is offline (a failed fsync), or null. */
  readonly offline: string | null;
}

/** One consumer group's committed offset of one partition. */
export interface CommittedSample {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
}

/** What the gauges read at each scrape, from the broker's own objects. */
export interface ScrapeSources {
  /** The partition logs open now (bounded by maxPartitions). */
  partitions(): Iterable<PartitionSample>;
  /** Every committed offset of every group (bounded by groupMaxGroups and the offset byte bounds). */
  committedOffsets(): Iterable<CommittedSample>;
  /** The log end offset of an open partition; undefined when it is not open (not read since the start). */
  logEndOffset(topic: string, partition: number): bigint | undefined;
  /** The certificate files in use, by what they serve (`listener`, `listener-ca`, `admin-endpoint`…). */
  certificates(): readonly { readonly name: string; readonly file: string }[];
  /** The data directory, whose file system's free space is reported. */
  readonly dataDir: string;
}
