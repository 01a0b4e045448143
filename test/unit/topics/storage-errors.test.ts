import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { storageErrorCode } from '../../../src/topics/storage-errors.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import type { LogFailureKind, MetadataRefusalKind } from '../../../src/storage/outcomes.js';

describe('storage outcomes on the wire', () => {
  it('answers each outcome of storage and the records layer with the Kafka error code clients act on', () => {
    const expected: Record<LogFailureKind | MetadataRefusalKind, number> = {
      corrupt: ErrorCode.CORRUPT_MESSAGE,
      'invalid-record': ErrorCode.INVALID_RECORD,
      'too-large': ErrorCode.MESSAGE_TOO_LARGE,
      'unsupported-format': ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
      'unsupported-compression': ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
      'unknown-partition': ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      unavailable: ErrorCode.KAFKA_STORAGE_ERROR,
      offline: ErrorCode.KAFKA_STORAGE_ERROR,
      'out-of-range': ErrorCode.OFFSET_OUT_OF_RANGE,
      'invalid-timestamp': ErrorCode.INVALID_TIMESTAMP,
      'invalid-txn-state': ErrorCode.INVALID_TXN_STATE,
      fenced: ErrorCode.INVALID_PRODUCER_EPOCH,
      'out-of-sequence': ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
      'transform-refused': ErrorCode.POLICY_VIOLATION,
      'key-unavailable': ErrorCode.KAFKA_STORAGE_ERROR,
      'key-destroyed': ErrorCode.POLICY_VIOLATION,
      'topic-exists': ErrorCode.TOPIC_ALREADY_EXISTS,
      'unknown-topic': ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      'invalid-partitions': ErrorCode.INVALID_PARTITIONS,
    };
    for (const [kind, code] of Object.entries(expected)) assert.equal(storageErrorCode(kind as LogFailureKind | MetadataRefusalKind), code, kind);
    // The numbers themselves, as the suite asserted them before the table existed.
    assert.deepEqual(
      [storageErrorCode('corrupt'), storageErrorCode('invalid-record'), storageErrorCode('unsupported-format'), storageErrorCode('unsupported-compression'), storageErrorCode('too-large')],
      [2, 87, 43, 76, 10],
    );
    assert.deepEqual([storageErrorCode('offline'), storageErrorCode('fenced'), storageErrorCode('out-of-sequence'), storageErrorCode('invalid-txn-state')], [56, 47, 45, 48]);
    assert.deepEqual([storageErrorCode('topic-exists'), storageErrorCode('unknown-topic'), storageErrorCode('invalid-partitions')], [36, 3, 37]);
  });
});
