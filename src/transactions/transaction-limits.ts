/**
 * What the transaction coordinator may be made to hold, and its timing (docs/producers.md#transactions,
 * docs/security/limits.md#transactions). Kafka's names are given where a setting is Kafka's.
 */
export interface TransactionSettings {
  /** Kafka's transaction.max.timeout.ms: a producer asking for more gets INVALID_TRANSACTION_TIMEOUT (50). */
  readonly maxTimeoutMs: number;
  /** Kafka's transactional.id.expiration.ms: an id with no transaction open this long is forgotten. */
  readonly idExpirationMs: number;
  /** Kafka's transaction.abort.timed.out.transaction.cleanup.interval.ms: how often timed-out transactions are looked for. */
  readonly abortCheckIntervalMs: number;
  /** Transactional ids the broker holds at once; a new one past it is refused (POLICY_VIOLATION). */
  readonly maxTransactionalIds: number;
  /** Transactional ids one principal holds at once (a limited account cannot fill the broker's bound). */
  readonly maxTransactionalIdsPerPrincipal: number;
  /** Consumer groups one transaction may commit offsets for (AddOffsetsToTxn). */
  readonly maxGroupsPerTransaction: number;
  /** Partitions' offsets one open transaction may hold (TxnOffsetCommit); past it INVALID_COMMIT_OFFSET_SIZE. */
  readonly maxPendingOffsetsPerTransaction: number;
  /** The same for all of one principal's open transactions. */
  readonly maxPendingOffsetsPerPrincipal: number;
  /** The same for the broker (each is a row in the metadata store and about 100 bytes of memory). */
  readonly maxPendingOffsets: number;
}

export const DEFAULT_TRANSACTION_SETTINGS: TransactionSettings = {
  maxTimeoutMs: 900_000,
  idExpirationMs: 7 * 24 * 3600_000,
  abortCheckIntervalMs: 10_000,
  maxTransactionalIds: 50_000,
  maxTransactionalIdsPerPrincipal: 5_000,
  maxGroupsPerTransaction: 100,
  maxPendingOffsetsPerTransaction: 10_000,
  maxPendingOffsetsPerPrincipal: 50_000,
  maxPendingOffsets: 200_000,
};
