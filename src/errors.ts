/**
 * Internal faults: one error class with a closed set of codes (docs/architecture.md#two-error-families).
 * Wire errors (Kafka error codes) are data in responses and never use this class; a ParapetError is
 * thrown only for what must close a connection or stop an operation.
 */
export const FaultCodes = {
  /** A frame or field could not be decoded: truncated, over a limit, or an invalid value. */
  DECODE_ERROR: 'DECODE_ERROR',
  /** A value could not be encoded (out of range for its wire type, missing required field). */
  ENCODE_ERROR: 'ENCODE_ERROR',
  /** The request names an API key or version this broker does not serve. */
  UNSUPPORTED_API: 'UNSUPPORTED_API',
  /** A record batch is malformed (length, magic, CRC, record count). */
  CORRUPT_RECORDS: 'CORRUPT_RECORDS',
  /** A record batch uses a compression codec that is unknown or fails to (de)compress. */
  COMPRESSION_ERROR: 'COMPRESSION_ERROR',
  /** The metadata store refused an operation (the Kafka error code to answer with is in the context). */
  METADATA_ERROR: 'METADATA_ERROR',
  /** The log on disk cannot be opened or written (unsupported format version, I/O error, full disk). */
  STORAGE_ERROR: 'STORAGE_ERROR',
  /** A produce with acks=0 was refused: there is no response, so the connection is closed instead. */
  PRODUCE_REJECTED: 'PRODUCE_REJECTED',
} as const;
export type FaultCode = (typeof FaultCodes)[keyof typeof FaultCodes];

/** Where a decode failed: enough for an operator to see what was wrong without the payload. */
export interface FaultContext {
  api?: string;
  version?: number;
  /** Field path inside the message, e.g. `topics[2].partitions[0].records`. */
  field?: string;
  /** Byte offset inside the frame (after the size prefix). */
  offset?: number;
  /** Kafka error code a handler should answer with, when the fault maps to one. */
  kafkaErrorCode?: number;
}

export class ParapetError extends Error {
  readonly code: FaultCode;
  readonly context: FaultContext;

  constructor(code: FaultCode, message: string, context: FaultContext = {}) {
    super(message);
    this.name = 'ParapetError';
    this.code = code;
    this.context = context;
  }

  /** The message with its context, as logs show it: `… (api=Produce v7, field=topics[0].name, offset=31)`. */
  override toString(): string {
    const c = this.context;
    const parts: string[] = [];
    if (c.api !== undefined) parts.push(`api=${c.api}${c.version === undefined ? '' : ` v${c.version}`}`);
    if (c.field !== undefined) parts.push(`field=${c.field}`);
    if (c.offset !== undefined) parts.push(`offset=${c.offset}`);
    return `${this.name} ${this.code}: ${this.message}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`;
  }
}

export function isFault(err: unknown, code?: FaultCode): err is ParapetError {
  return err instanceof ParapetError && (code === undefined || err.code === code);
}
