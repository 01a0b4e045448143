import { printable } from '../client/printable.js';
import { UsageError, type AdminIo } from './admin/common.js';
import { explainFailure, ExitCodes, type ExitCode } from './failures.js';

/**
 * The action of a command that works on a data directory's files (`parapet keys`, `parapet audit`):
 * a failure is one line on stderr and an exit code (failures.ts), as for every other command. A
 * UsageError is a usage mistake (2); `exitCodeOf` names the command's own errors; the rest is
 * explained by explainFailure, or is unexpected. A reader that stops early (`… | head`) ends the
 * command quietly.
 */
export function offlineAction<A extends unknown[]>(
  io: AdminIo,
  fn: (...args: A) => Promise<void>,
  exitCodeOf: (err: unknown) => ExitCode | undefined = () => undefined,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const onPipeError = (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(ExitCodes.OK);
    };
    process.stdout.on('error', onPipeError);
    try {
      await fn(...args);
    } catch (err) {
      const message = printable(err instanceof Error ? err.message : String(err));
      const own = err instanceof UsageError ? ExitCodes.USAGE : exitCodeOf(err);
      if (own !== undefined) {
        io.stderr(`parapet: ${message}\n`);
        io.setExitCode(own);
        return;
      }
      const known = explainFailure(err);
      io.stderr(`parapet: ${known === undefined ? `unexpected error: ${message}` : printable(known.message)}\n`);
      io.setExitCode(known?.exitCode ?? ExitCodes.FAILED);
    } finally {
      process.stdout.off('error', onPipeError);
    }
  };
}
