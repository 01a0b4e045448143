import { pino } from 'pino';

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

export function createLogger(level: LogLevel = logLevelFrom(process.env.PARAPET_LOG_LEVEL)): Logger {
  return pino({ level, base: { service: 'parapet' } });
}

/** A logger that drops everything (for tools and tests that don't inspect logs). */
export const silentLogger: Logger = { info() {}, warn() {}, error() {}, debug() {} };
