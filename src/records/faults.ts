import { DEFAULT_READ_LIMITS, Reader, type ReadLimits } from '../bytes/reader.js';
import { ParapetError, type FaultCode } from '../errors.js';

/**
 * Why a record batch is refused, after Kafka's exceptions (the broker answers each with its error
 * code: src/topics/storage-errors.ts):
 * - `corrupt`: framing, CRC or compressed data that cannot be decoded (CorruptRecordException);
 * - `invalid-record`: record structure, offsets, counts (InvalidRecordException, KIP-467);
 * - `too-large`: a payload that decompresses past the configured limit;
 * - `unsupported-format`: a legacy message set (magic 0 or 1);
 * - `unsupported-compression`: an unknown codec, or zstd from a client too old to send it.
 */
export type RecordFaultKind = 'corrupt' | 'invalid-record' | 'too-large' | 'unsupported-format' | 'unsupported-compression';

/** A refused record batch: a {@link ParapetError} that says, in {@link RecordFault.kind}, what kind of refusal it is. */
export class RecordFault extends ParapetError {
  readonly kind: RecordFaultKind;

  constructor(code: FaultCode, message: string, kind: RecordFaultKind, offset?: number) {
    super(code, message, offset === undefined ? {} : { offset });
    this.kind = kind;
  }
}

export function recordsFault(code: FaultCode, message: string, kind: RecordFaultKind, offset?: number): RecordFault {
  return new RecordFault(code, message, kind, offset);
}

/**
 * The project's bounded {@link Reader}, failing with a {@link RecordFault} instead of DECODE_ERROR, so
 * that a record parsed out of a batch says why the batch is refused. Every length (record, key,
 * value, header, counts) still goes through `checkLength`.
 */
export class FaultReader extends Reader {
  readonly #code: FaultCode;
  readonly #kind: RecordFaultKind;

  constructor(buf: Buffer, code: FaultCode, kind: RecordFaultKind, limits: ReadLimits = DEFAULT_READ_LIMITS, offset = 0, end = buf.length) {
    super(buf, offset, end, limits);
    this.#code = code;
    this.#kind = kind;
  }

  override fail(message: string): never {
    throw recordsFault(this.#code, message, this.#kind, this.offset);
  }
}
