import { ParapetError, type FaultCode, type FaultContext } from '../errors.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { DEFAULT_READ_LIMITS, Reader, type ReadLimits } from '../bytes/reader.js';

/**
 * The Kafka error codes a Produce handler answers with when a record batch is refused. They travel in
 * `ParapetError.context.kafkaErrorCode`; the mapping follows Kafka's exceptions: CorruptRecordException
 * (batch framing, CRC) → CORRUPT_MESSAGE, InvalidRecordException (record structure, offsets, counts)
 * → INVALID_RECORD (KIP-467), magic < 2 → UNSUPPORTED_FOR_MESSAGE_FORMAT, codec → UNSUPPORTED_COMPRESSION_TYPE.
 */
export const RecordErrorCodes = {
  CORRUPT_MESSAGE: ErrorCode.CORRUPT_MESSAGE,
  /** Used for a payload that decompresses past the configured limit (no Kafka equivalent is closer). */
  MESSAGE_TOO_LARGE: ErrorCode.MESSAGE_TOO_LARGE,
  UNSUPPORTED_FOR_MESSAGE_FORMAT: ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
  UNSUPPORTED_COMPRESSION_TYPE: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
  INVALID_RECORD: ErrorCode.INVALID_RECORD,
} as const;
export type RecordErrorCode = (typeof RecordErrorCodes)[keyof typeof RecordErrorCodes];

export function recordsFault(
  code: FaultCode,
  message: string,
  kafkaErrorCode: RecordErrorCode | undefined,
  offset?: number,
): ParapetError {
  const context: FaultContext = {};
  if (kafkaErrorCode !== undefined) context.kafkaErrorCode = kafkaErrorCode;
  if (offset !== undefined) context.offset = offset;
  return new ParapetError(code, message, context);
}

/**
 * The project's bounded {@link Reader}, failing with a records fault instead of DECODE_ERROR, so that a
 * record parsed out of a batch reports the Kafka error code the Produce handler should answer with.
 * Every length (record, key, value, header, counts) still goes through `checkLength`.
 */
export class FaultReader extends Reader {
  readonly #code: FaultCode;
  readonly #kafkaErrorCode: RecordErrorCode;

  constructor(
    buf: Buffer,
    code: FaultCode,
    kafkaErrorCode: RecordErrorCode,
    limits: ReadLimits = DEFAULT_READ_LIMITS,
    offset = 0,
    end = buf.length,
  ) {
    super(buf, offset, end, limits);
    this.#code = code;
    this.#kafkaErrorCode = kafkaErrorCode;
  }

  override fail(message: string): never {
    throw recordsFault(this.#code, message, this.#kafkaErrorCode, this.offset);
  }
}
