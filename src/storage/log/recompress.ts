import { BATCH_HEADER_SIZE, BatchAttributes, BatchOffsets, LOG_OVERHEAD, writeBatchCrc } from '../../records/batch.js';
import { compress, compressSync } from '../../records/compression.js';

/**
 * A topic's `compression.type` other than `producer` (Kafka's LogValidator recompresses a batch whose
 * codec differs from the topic's, on append). In record batch v2 the records are encoded the same
 * whatever the codec, which wraps the whole records section: so only that section, the codec bits of
 * the attributes, the batch length and the CRC change. Offsets deltas, timestamps and the producer
 * id, epoch and sequence (idempotence) are the producer's, untouched.
 *
 * `records` is the batch's records section already decompressed (bounded by the caller).
 */
export async function recompressBatch(batch: Buffer, records: Buffer, codec: number): Promise<Buffer> {
  return withPayload(batch, await compress(codec, records), codec);
}

/** {@link recompressBatch} for none, snappy, lz4 and gzip (zstd compresses asynchronously only). */
export function recompressBatchSync(batch: Buffer, records: Buffer, codec: number): Buffer {
  return withPayload(batch, compressSync(codec, records), codec);
}

function withPayload(batch: Buffer, payload: Buffer, codec: number): Buffer {
  const out = Buffer.allocUnsafe(BATCH_HEADER_SIZE + payload.length);
  batch.copy(out, 0, 0, BATCH_HEADER_SIZE);
  payload.copy(out, BATCH_HEADER_SIZE);
  out.writeInt32BE(out.length - LOG_OVERHEAD, BatchOffsets.batchLength);
  const attributes = batch.readInt16BE(BatchOffsets.attributes);
  out.writeInt16BE((attributes & ~BatchAttributes.compressionMask) | codec, BatchOffsets.attributes);
  writeBatchCrc(out);
  return out;
}
