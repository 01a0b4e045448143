/**
 * Record batches v2 (magic 2): framing, validation, offsets, compression and records
 * (docs/protocol.md#record-batches).
 */
export {
  BATCH_HEADER_SIZE,
  BatchAttributes,
  BatchOffsets,
  CRC_START,
  CURRENT_MAGIC,
  LOG_OVERHEAD,
  NO_PRODUCER_ID,
  TimestampType,
  applyLogAppendTime,
  assignOffsets,
  computeBatchCrc,
  readBatchHeader,
  splitBatches,
  validateBatch,
  writeBatchCrc,
  type BatchHeader,
  type SplitOptions,
  type TimestampTypeId,
  type ValidateOptions,
} from './batch.js';
export {
  CompressionCodec,
  codecName,
  compress,
  compressSync,
  decompress,
  decompressSync,
  isKnownCodec,
  type CompressionCodecId,
} from './compression.js';
export {
  CONTROL_RECORD_VERSION,
  ControlRecordType,
  buildTransactionMarker,
  controlRecordType,
  readTransactionMarker,
  type MarkerBatchOptions,
  type TransactionMarkerFields,
  type TransactionMarkerRecord,
} from './control-records.js';
export { RecordFault, type RecordFaultKind } from './faults.js';
export {
  buildBatch,
  buildBatchSync,
  decodeRecords,
  readRecords,
  readRecordsSync,
  walkRecords,
  type BatchRecord,
  type BuildBatchOptions,
  type HeaderInput,
  type ReadRecordsOptions,
  type RecordHeader,
  type RecordInput,
  type RecordSpan,
} from './record.js';
