import { DEFAULT_READ_LIMITS } from '../bytes/reader.js';
import { BATCH_HEADER_SIZE, readBatchHeader, validateBatch } from './batch.js';
import { CompressionCodec } from './compression.js';
import { recordsFault } from './faults.js';
import { buildBatchSync, walkRecords } from './record.js';

/**
 * Control batches (KIP-98): batches with the control attribute, written by the broker only, that hold
 * one control record whose key says what it is. Consumers never hand them to the application. The
 * transaction markers are the only ones a Parapet log holds: a commit or an abort of one producer's
 * transaction, written by the transaction coordinator into every partition of the transaction.
 *
 * Layout, as Kafka's ControlRecordType and EndTransactionMarker write it (big-endian):
 * - key: int16 version (0), int16 type (0 abort, 1 commit);
 * - value: int16 version (0), int32 coordinator epoch.
 */

/** Kafka's ControlRecordType ids of the transaction markers. */
export const ControlRecordType = { abort: 0, commit: 1 } as const;

/** The version of the control record key and of the marker value that this build writes (Kafka's current, 0). */
export const CONTROL_RECORD_VERSION = 0;

const KEY_BYTES = 4;
const MARKER_VALUE_BYTES = 6;

/** What a transaction marker says, as the coordinator gives it. */
export interface TransactionMarkerFields {
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly commit: boolean;
  readonly coordinatorEpoch: number;
}

export interface MarkerBatchOptions extends TransactionMarkerFields {
  /** The record's timestamp (milliseconds): the broker's clock when it writes the marker. */
  readonly timestamp: number;
  /** Set the LogAppendTime attribute (a topic with message.timestamp.type=LogAppendTime). */
  readonly logAppendTime?: boolean;
}

/**
 * The control batch of a transaction marker: a v2 batch with the transactional and control attributes,
 * the producer's id and epoch, base sequence −1 (markers take no sequence: Kafka's
 * MemoryRecords.withEndTransactionMarker writes RecordBatch.NO_SEQUENCE), one uncompressed record and a
 * CRC-32C. Its base offset is 0 until the log assigns one.
 */
export function buildTransactionMarker(options: MarkerBatchOptions): Buffer {
  const key = Buffer.allocUnsafe(KEY_BYTES);
  key.writeInt16BE(CONTROL_RECORD_VERSION, 0);
  key.writeInt16BE(options.commit ? ControlRecordType.commit : ControlRecordType.abort, 2);
  const value = Buffer.allocUnsafe(MARKER_VALUE_BYTES);
  value.writeInt16BE(CONTROL_RECORD_VERSION, 0);
  value.writeInt32BE(options.coordinatorEpoch, 2);
  return buildBatchSync({
    records: [{ key, value, timestamp: options.timestamp }],
    baseTimestamp: options.timestamp,
    producerId: options.producerId,
    producerEpoch: options.producerEpoch,
    baseSequence: -1,
    transactional: true,
    control: true,
    ...(options.logAppendTime === true ? { logAppendTime: true } : {}),
  });
}

/** A transaction marker read back from a control batch. */
export interface TransactionMarkerRecord {
  readonly commit: boolean;
  readonly coordinatorEpoch: number;
}

/**
 * The control record type of a control batch (the int16 after the key's version), or null when the
 * batch is no control batch. Throws a RecordFault (`invalid-record`) for a control batch that is not
 * one uncompressed record with a 4-byte key (the broker writes no other: such a batch is damage).
 * Checks the CRC like every reader of the records layer.
 */
export function controlRecordType(batch: Buffer): number | null {
  return readControlRecord(batch)?.type ?? null;
}

/**
 * The transaction marker a control batch holds, or null for a batch that is no marker (a data batch).
 * Throws a RecordFault for a control batch that is no well-formed marker: a log must never guess
 * whether a transaction committed.
 */
export function readTransactionMarker(batch: Buffer): TransactionMarkerRecord | null {
  const control = readControlRecord(batch);
  if (control === null) return null;
  if (control.type !== ControlRecordType.abort && control.type !== ControlRecordType.commit) {
    throw recordsFault('CORRUPT_RECORDS', `control record type ${control.type} is no transaction marker`, 'invalid-record');
  }
  const { value } = control;
  if (value === null || value.length < MARKER_VALUE_BYTES) {
    throw recordsFault('CORRUPT_RECORDS', `a transaction marker's value must hold a version and a coordinator epoch (${value?.length ?? 'null'} bytes)`, 'invalid-record');
  }
  return { commit: control.type === ControlRecordType.commit, coordinatorEpoch: value.readInt32BE(2) };
}

function readControlRecord(batch: Buffer): { type: number; value: Buffer | null } | null {
  const header = validateBatch(batch);
  if (!header.isControl) return null;
  if (header.compression !== CompressionCodec.none || header.recordCount !== 1) {
    throw recordsFault('CORRUPT_RECORDS', `a control batch holds one uncompressed record (codec ${header.compression}, ${header.recordCount} records)`, 'invalid-record');
  }
  const found: { record: { type: number; value: Buffer | null } | null } = { record: null };
  walkRecords(readBatchHeader(batch), batch.subarray(BATCH_HEADER_SIZE), DEFAULT_READ_LIMITS, (span) => {
    const key = span.key;
    if (key === null || key.length < KEY_BYTES) {
      throw recordsFault('CORRUPT_RECORDS', `a control record's key holds a version and a type (${key?.length ?? 'null'} bytes)`, 'invalid-record');
    }
    // A newer key version may add fields after the type; the type stays where it is (Kafka's ControlRecordType.parse).
    found.record = { type: key.readInt16BE(2), value: span.value };
  });
  return found.record;
}
