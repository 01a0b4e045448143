import { errorByCode } from '../protocol/error-codes.js';

/**
 * Errors of the admin client. Their messages are shown to people as they are (the CLI prints them),
 * so they say what failed and what to do, and never carry a password, a salted password or a token.
 */
export class ClientError extends Error {
  override name = 'ClientError';
}

/** The broker could not be reached: another bootstrap server may be tried. */
export class ConnectionError extends ClientError {
  override name = 'ConnectionError';
}

/** A Kafka error code a broker answered with, named as in Kafka's protocol guide. */
export class KafkaError extends ClientError {
  override name = 'KafkaError';
  readonly code: number;
  readonly errorName: string;
  /** The broker's own explanation, when it sent one. */
  readonly brokerMessage: string | null;

  /** `what` says what was being done, e.g. `create topic "orders"`. */
  constructor(what: string, code: number, brokerMessage: string | null = null) {
    const errorName = errorByCode(code)?.name ?? 'UNKNOWN_ERROR_CODE';
    const detail = brokerMessage === null || brokerMessage === '' ? '' : `: ${brokerMessage}`;
    super(`${what} failed: ${errorName} (${code})${detail}`);
    this.code = code;
    this.errorName = errorName;
    this.brokerMessage = brokerMessage;
  }
}

/** Throws a KafkaError unless `code` is 0 (NONE). */
export function throwIfError(what: string, code: number, brokerMessage?: string | null): void {
  if (code !== 0) throw new KafkaError(what, code, brokerMessage ?? null);
}

/** A short account of a thrown value for a ClientError message: a system error by its code alone. */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = 'code' in err && typeof err.code === 'string' ? err.code : undefined;
  // A system error's message repeats its code and address ("connect ECONNREFUSED 127.0.0.1:1").
  if (code !== undefined && 'syscall' in err) return code;
  return code === undefined ? err.message : `${code}: ${err.message}`;
}
