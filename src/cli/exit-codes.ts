/** The exit codes of `parapet` (docs/operations.md lists them). */
export const ExitCodes = {
  OK: 0,
  /** An operation failed, or an unexpected error (a bug: run with --debug and report it). */
  FAILED: 1,
  /** Bad usage: a flag, a config file, an environment variable. */
  USAGE: 2,
  /** The data directory cannot be used: in use by another process, not writable, nobody can log in. */
  DATA_DIR: 3,
  /** The listener cannot start: the address is in use or not this machine's. */
  LISTEN: 4,
} as const;
export type ExitCode = (typeof ExitCodes)[keyof typeof ExitCodes];
