import type { RecordFaultKind } from '../records/faults.js';

/**
 * Why storage did not do what it was asked, in its own terms. Storage knows nothing of the wire: the
 * broker answers each kind with a Kafka error code, in one table (src/topics/storage-errors.ts).
 */

/** Why a partition's log refused an append or a read, or could not serve one. */
export type LogFailureKind =
  /**
   * The batch is malformed (the records layer's refusals, src/records/faults.ts). The log uses two of
   * them too: `corrupt` for a stored batch that fails its CRC, `too-large` for a batch above the
   * topic's max.message.bytes.
   */
  | RecordFaultKind
  /** No such topic, or no such partition in it. */
  | 'unknown-partition'
  /** The file system failed this operation (out of descriptors, a full disk, EIO): retriable, the partition stays online. */
  | 'unavailable'
  /** An fsync failed: the partition serves nothing and takes nothing until a restart recovers it from disk. */
  | 'offline'
  /** An offset below the log start or past the log end. */
  | 'out-of-range'
  /** A record's timestamp is outside the topic's message.timestamp.before/after.max.ms bounds. */
  | 'invalid-timestamp'
  /**
   * A batch or marker that does not fit the producer's transaction state: a batch outside a
   * transaction while one of its producer is ongoing on the partition, or a transactional batch the
   * transaction coordinator did not admit (the partition is not in the producer's ongoing transaction,
   * KIP-890), or any transactional batch on a broker without a transaction coordinator.
   */
  | 'invalid-txn-state'
  /** A producer's epoch (of a batch or of a transaction marker) is older than the one the partition knows. */
  | 'fenced'
  /** An idempotent producer's batch does not follow its last one (a gap, or a new epoch not starting at 0). */
  | 'out-of-sequence'
  /** The record transform (the preparation step of an append) refused the batch. */
  | 'transform-refused'
  /** Encryption at rest: the topic's key cannot be had now (a KEK missing, an HSM down); nothing is written in clear instead. */
  | 'key-unavailable'
  /** Encryption at rest: the topic's keys were destroyed (crypto-shredding). */
  | 'key-destroyed';

/** A refusal of the log, with what to tell the client. */
export interface LogFailure<K extends LogFailureKind = LogFailureKind> {
  readonly kind: K;
  readonly message: string;
}

/** Why the metadata store refused a change. */
export type MetadataRefusalKind = 'topic-exists' | 'unknown-topic' | 'invalid-partitions';

export interface MetadataRefusal {
  readonly kind: MetadataRefusalKind;
  readonly message: string;
}
