/**
 * Why a capture could not be taken, renewed or released. A closed set of codes, so that the admin
 * route answers each with its HTTP status and the CLI with its sentence; the message names what failed
 * (a partition, a file) and never holds a secret.
 */
export const CaptureErrorCodes = {
  /** Two captures are held already (CaptureRegistry's bound): release one or wait for its lease. */
  TOO_MANY: 'too-many-captures',
  /** No capture with this id is held (released, expired, or never taken here). */
  UNKNOWN: 'unknown-capture',
  /** A broker holds the data directory: the capture must be taken through it. */
  IN_USE: 'data-dir-in-use',
  /** The directory is no Parapet data directory (no metadata.db). */
  NOT_A_DATA_DIR: 'not-a-data-dir',
  /** Something could not be captured consistently (an offline partition, a file that cannot be linked or copied). */
  FAILED: 'capture-failed',
} as const;
export type CaptureErrorCode = (typeof CaptureErrorCodes)[keyof typeof CaptureErrorCodes];

export class CaptureError extends Error {
  override name = 'CaptureError';
  readonly code: CaptureErrorCode;

  constructor(code: CaptureErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isCaptureError(err: unknown, code?: CaptureErrorCode): err is CaptureError {
  return err instanceof CaptureError && (code === undefined || err.code === code);
}
