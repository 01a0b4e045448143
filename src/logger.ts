import { pino } from 'pino';

/** The logging surface the broker uses; pino's logger satisfies it, tests can pass a recorder. */
export interface Logger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export function createLogger(level = process.env.PARAPET_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { service: 'parapet' } });
}

/** A logger that drops everything (for tools and tests that don't inspect logs). */
export const silentLogger: Logger = { info() {}, warn() {}, error() {}, debug() {} };
