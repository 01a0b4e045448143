/**
 * Why a connection was closed: a closed set, logged with every close (and, with the security
 * layer, audited), so that an operator can tell a client hanging up from an attack.
 */
export const CloseReasons = {
  CLIENT_CLOSED: 'CLIENT_CLOSED',
  SOCKET_ERROR: 'SOCKET_ERROR',
  /** The size prefix was negative or above the configured maximum frame size. */
  FRAME_TOO_LARGE: 'FRAME_TOO_LARGE',
  /** The frame could not be decoded (see the logged ParapetError for API, version, field, offset). */
  DECODE_ERROR: 'DECODE_ERROR',
  /** Unknown API key, or a version we don't serve (Kafka closes the connection too). */
  UNSUPPORTED_API: 'UNSUPPORTED_API',
  /** A handler failed unexpectedly; the connection cannot continue in order. */
  INTERNAL_ERROR: 'INTERNAL_ERROR',
  SERVER_SHUTDOWN: 'SERVER_SHUTDOWN',
  /** An acks=0 produce failed: with no response to carry the error, closing is how the client learns (as in Kafka). */
  PRODUCE_REJECTED: 'PRODUCE_REJECTED',
} as const;
export type CloseReason = (typeof CloseReasons)[keyof typeof CloseReasons];
