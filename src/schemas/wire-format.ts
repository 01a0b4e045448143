/**
 * Confluent's wire format, which every Confluent serializer writes in front of a record's key or value:
 * a magic byte 0, the schema's id as a big-endian int32, then the payload (for Protobuf, preceded by the
 * message indexes). docs.confluent.io/platform/current/schema-registry/fundamentals/serdes-develop/index.html#wire-format
 */

export const WIRE_FORMAT_MAGIC = 0;
export const WIRE_FORMAT_HEADER_SIZE = 5;

export type WireFormatRead =
  | { readonly kind: 'framed'; readonly schemaId: number; readonly payload: Buffer }
  | { readonly kind: 'unframed'; readonly reason: string };

/** The schema id and payload of a serialized key or value, or why it has no wire-format header. */
export function readWireFormat(bytes: Buffer): WireFormatRead {
  if (bytes.length < WIRE_FORMAT_HEADER_SIZE) return { kind: 'unframed', reason: `${bytes.length} bytes: too short for the wire-format header (magic byte 0 and a 4-byte schema id)` };
  const magic = bytes[0];
  if (magic !== WIRE_FORMAT_MAGIC) return { kind: 'unframed', reason: `magic byte ${magic} where the wire format has 0` };
  return { kind: 'framed', schemaId: bytes.readInt32BE(1), payload: bytes.subarray(WIRE_FORMAT_HEADER_SIZE) };
}

/** The header and payload together. */
export function writeWireFormat(schemaId: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(WIRE_FORMAT_HEADER_SIZE + payload.length);
  out[0] = WIRE_FORMAT_MAGIC;
  out.writeInt32BE(schemaId, 1);
  payload.copy(out, WIRE_FORMAT_HEADER_SIZE);
  return out;
}
