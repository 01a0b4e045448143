import { pino } from 'pino';
import pretty from 'pino-pretty';

/** The logging surface the broker uses; pino's logger satisfies it, tests can pass a recorder. */
export interface Logger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export class LogLevelError extends Error {
  override name = 'LogLevelError';
}

/** The level named by PARAPET_LOG_LEVEL (default info); an unknown name is refused, not ignored. */
export function logLevelFrom(value: string | undefined): LogLevel {
  if (value === undefined || value === '') return 'info';
  const level = LOG_LEVELS.find((l) => l === value.trim().toLowerCase());
  if (level === undefined) throw new LogLevelError(`PARAPET_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${value}")`);
  return level;
}

export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** The format named by --log-format or PARAPET_LOG_FORMAT (default auto: pretty on a terminal, JSON otherwise). */
export function logFormatFrom(value: string | undefined): LogFormat {
  if (value === undefined || value === '') return 'auto';
  const format = LOG_FORMATS.find((f) => f === value.trim().toLowerCase());
  if (format === undefined) throw new LogLevelError(`the log format must be one of ${LOG_FORMATS.join(', ')} (got "${value}")`);
  return format;
}

/**
 * The broker's logger: JSON lines with ISO timestamps and level names (`"level":"warn"`), for log
 * shippers; on a terminal (or `pretty`) one readable line each, with the same fields after it.
 */
export function createLogger(
  level: LogLevel = logLevelFrom(process.env.PARAPET_LOG_LEVEL),
  format: LogFormat = logFormatFrom(process.env.PARAPET_LOG_FORMAT),
  stream?: NodeJS.WritableStream & { isTTY?: boolean },
): Logger {
  const tty = (stream ?? process.stdout).isTTY === true;
  const options = {
    level,
    base: { service: 'parapet' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  const human = format === 'pretty' || (format === 'auto' && tty);
  // pino's own destination (fd 1, written without blocking the event loop) unless a stream is given.
  if (!human) return stream === undefined ? pino(options) : pino(options, stream);
  return pino(
    options,
    pretty({
      destination: stream ?? 1,
      sync: true,
      colorize: tty,
      singleLine: true,
      translateTime: 'UTC:yyyy-mm-dd"T"HH:MM:ss.l"Z"',
      ignore: 'pid,hostname,service',
    }),
  );
}

/** A logger that drops everything (for tools and tests that don't inspect logs). */
export const silentLogger: Logger = { info() {}, warn() {}, error() {}, debug() {} };
