import { SecurityConfigError } from '../broker/security-setup.js';
import { ConfigError } from '../config/config-file.js';
import { LogLevelError } from '../logger.js';
import { InitError } from '../setup/init.js';
import { DataDirLockedError } from '../storage/data-dir-lock.js';
import { ExitCodes, type ExitCode } from './exit-codes.js';

// In a module of their own, so that `parapet` reads them without loading what explainFailure knows of.
export { ExitCodes, type ExitCode } from './exit-codes.js';

/**
 * How `parapet` fails: one line that says what went wrong and how to fix it, and an exit code a
 * script can act on (docs/operations.md lists them). A stack trace only with `--debug`: everyday
 * failures (a port in use, a directory that is not writable) are not bugs.
 */
export class CliFailure extends Error {
  override name = 'CliFailure';
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode) {
    super(message);
    this.exitCode = exitCode;
  }
}

interface SystemError {
  readonly code: string;
  readonly syscall?: string;
  readonly path?: string;
  readonly address?: string;
  readonly port?: number;
}

function systemError(err: unknown): SystemError | undefined {
  if (!(err instanceof Error) || !('code' in err) || typeof err.code !== 'string') return undefined;
  const e = err as Error & Partial<SystemError> & { code: string };
  return {
    code: e.code,
    ...(typeof e.syscall === 'string' ? { syscall: e.syscall } : {}),
    ...(typeof e.path === 'string' ? { path: e.path } : {}),
    ...(typeof e.address === 'string' ? { address: e.address } : {}),
    ...(typeof e.port === 'number' ? { port: e.port } : {}),
  };
}

const VERBS: Readonly<Record<string, string>> = {
  mkdir: 'create',
  open: 'open',
  scandir: 'read the directory',
  chmod: 'change the permissions of',
  rename: 'rename',
  unlink: 'delete',
  rmdir: 'delete',
  write: 'write',
  stat: 'look at',
  access: 'access',
};

/** The failure explained for a person, or undefined when it is not one the CLI knows (a bug). */
export function explainFailure(err: unknown, context: { readonly dataDir?: string } = {}): CliFailure | undefined {
  if (err instanceof CliFailure) return err;
  if (err instanceof DataDirLockedError || err instanceof InitError) return new CliFailure(err.message, ExitCodes.DATA_DIR);
  if (err instanceof ConfigError || err instanceof SecurityConfigError || err instanceof LogLevelError) return new CliFailure(err.message, ExitCodes.USAGE);
  const sys = systemError(err);
  if (sys === undefined) return undefined;
  if (sys.syscall === 'listen' || sys.syscall === 'bind' || sys.code === 'EADDRINUSE' || sys.code === 'EADDRNOTAVAIL') return listenFailure(sys);
  if (sys.code.startsWith('SQLITE_')) {
    const where = context.dataDir === undefined ? 'the metadata store' : `the metadata store in ${context.dataDir}`;
    return new CliFailure(`cannot use ${where} (${sys.code}): ${err instanceof Error ? err.message : ''}; check that the directory is yours and writable`, ExitCodes.DATA_DIR);
  }
  return fileFailure(sys, context.dataDir);
}

function listenFailure(sys: SystemError): CliFailure {
  const where = sys.address === undefined ? 'the configured address' : `${sys.address.includes(':') ? `[${sys.address}]` : sys.address}:${sys.port ?? ''}`;
  switch (sys.code) {
    case 'EADDRINUSE':
      return new CliFailure(
        `cannot listen on ${where}: the address is already in use (another Parapet or Kafka broker?); stop it, or choose another port with --listen HOST:PORT`,
        ExitCodes.LISTEN,
      );
    case 'EADDRNOTAVAIL':
      return new CliFailure(`cannot listen on ${where}: it is not an address of this machine; use one of its addresses, 127.0.0.1, or 0.0.0.0`, ExitCodes.LISTEN);
    case 'EACCES':
      return new CliFailure(`cannot listen on ${where}: permission denied (ports below 1024 need privileges); choose a port above 1023`, ExitCodes.LISTEN);
    default:
      return new CliFailure(`cannot listen on ${where}: ${sys.code}`, ExitCodes.LISTEN);
  }
}

function fileFailure(sys: SystemError, dataDir: string | undefined): CliFailure | undefined {
  const path = sys.path ?? dataDir ?? 'a file';
  const verb = VERBS[sys.syscall ?? ''] ?? 'use';
  const elsewhere = 'or choose another directory with --data-dir';
  switch (sys.code) {
    case 'EACCES':
      return new CliFailure(`cannot ${verb} ${path}: permission denied; give your user access to it (or run parapet as its owner), ${elsewhere}`, ExitCodes.DATA_DIR);
    case 'EPERM':
      return new CliFailure(
        `cannot ${verb} ${path}: operation not permitted (it belongs to another user?); run parapet as its owner, ${elsewhere}`,
        ExitCodes.DATA_DIR,
      );
    case 'ENOTDIR':
      return new CliFailure(`cannot ${verb} ${path}: a part of this path is a file, not a directory; ${elsewhere.replace(/^or /, '')}`, ExitCodes.DATA_DIR);
    case 'EEXIST':
      return sys.syscall === 'mkdir'
        ? new CliFailure(`cannot create the directory ${path}: a file of that name exists; ${elsewhere.replace(/^or /, '')}`, ExitCodes.DATA_DIR)
        : undefined;
    case 'EROFS':
      return new CliFailure(`cannot ${verb} ${path}: the file system is read-only; ${elsewhere.replace(/^or /, '')}`, ExitCodes.DATA_DIR);
    case 'ENOSPC':
      return new CliFailure(`cannot ${verb} ${path}: no space left on the device; free some space, ${elsewhere}`, ExitCodes.DATA_DIR);
    case 'ELOOP':
    case 'ENAMETOOLONG':
      return new CliFailure(`cannot ${verb} ${path}: ${sys.code === 'ELOOP' ? 'too many symbolic links' : 'the path is too long'}`, ExitCodes.DATA_DIR);
    default:
      return undefined;
  }
}
