import { ErrorCode } from '../protocol/error-codes.js';
import type { LogFailureKind, MetadataRefusalKind } from '../storage/outcomes.js';

/**
 * The Kafka error code the broker answers for each outcome of storage (and of the records layer, whose
 * refusals the log passes on): the one place where storage's terms meet the wire. Every handler that
 * reports a storage outcome (Produce, Fetch, ListOffsets, topic administration) reads it here.
 */
const STORAGE_ERROR_CODES: { readonly [K in LogFailureKind | MetadataRefusalKind]: number } = {
  // Batches refused as malformed, after Kafka's exceptions: CorruptRecordException → CORRUPT_MESSAGE,
  // InvalidRecordException → INVALID_RECORD (KIP-467). A payload that decompresses past the limit has
  // no closer Kafka code than MESSAGE_TOO_LARGE, the code of a batch above max.message.bytes.
  corrupt: ErrorCode.CORRUPT_MESSAGE,
  'invalid-record': ErrorCode.INVALID_RECORD,
  'too-large': ErrorCode.MESSAGE_TOO_LARGE,
  'unsupported-format': ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
  'unsupported-compression': ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
  'unknown-partition': ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  // Retriable for clients (Java's KafkaStorageException is an InvalidMetadataException; KafkaJS and
  // librdkafka retry it): right for a file system that fails now and may not later, and for a
  // partition waiting for a restart.
  unavailable: ErrorCode.KAFKA_STORAGE_ERROR,
  offline: ErrorCode.KAFKA_STORAGE_ERROR,
  'out-of-range': ErrorCode.OFFSET_OUT_OF_RANGE,
  // Kafka's LogValidator answers a record timestamp outside the topic's bounds with INVALID_TIMESTAMP.
  'invalid-timestamp': ErrorCode.INVALID_TIMESTAMP,
  // What Kafka itself answers for a transactional batch outside an ongoing transaction (UnifiedLog:
  // "Record was not part of an ongoing transaction", KIP-890) and for a non-transactional batch of a
  // producer whose transaction is ongoing (ProducerAppendInfo: "Expected transactional write").
  'invalid-txn-state': ErrorCode.INVALID_TXN_STATE,
  // Kafka answers INVALID_PRODUCER_EPOCH instead of PRODUCER_FENCED since 2.7 (KIP-588).
  fenced: ErrorCode.INVALID_PRODUCER_EPOCH,
  'out-of-sequence': ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
  // A transform (encryption, masking) refuses by policy: the batch will not be taken as it is.
  'transform-refused': ErrorCode.POLICY_VIOLATION,
  // Encryption at rest (docs/security/encryption-at-rest.md#errors): a key that cannot be had now is a
  // storage failure clients retry; destroyed keys are a decision, refused for good.
  'key-unavailable': ErrorCode.KAFKA_STORAGE_ERROR,
  'key-destroyed': ErrorCode.POLICY_VIOLATION,
  'topic-exists': ErrorCode.TOPIC_ALREADY_EXISTS,
  'unknown-topic': ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  'invalid-partitions': ErrorCode.INVALID_PARTITIONS,
};

/** The Kafka error code answered for a storage outcome. */
export function storageErrorCode(kind: LogFailureKind | MetadataRefusalKind): number {
  return STORAGE_ERROR_CODES[kind];
}
