import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, type Command, type CommanderError } from 'commander';
import { AdminClient } from '../../client/admin.js';
import { parseBootstrapServers, readClientConfig, type ClientConfig } from '../../client/client-config.js';
import { BackupError } from '../../backup/backup-error.js';
import { CaptureError } from '../../backup/capture/capture-error.js';
import { ConfigError } from '../../config-error.js';
import { ClientError } from '../../client/errors.js';
import { printable } from '../../client/printable.js';
import type { ConnectionOptions } from '../../client/kafka-connection.js';

// What the `parapet user|acl|topic|group` commands share: where they write, how they connect, how they fail.

/** Where the commands read and write; injected so tests can run them in-process. */
export interface AdminIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** The whole of standard input (for `--password-stdin`). */
  readonly readStdin: () => Promise<string>;
  /** Ends the program after a usage error commander detected (or `--help`); does not return. */
  readonly exit: (code: number) => never;
  /** Records the status of a finished action; actions never exit themselves, so sockets close cleanly. */
  readonly setExitCode: (code: number) => void;
  readonly connection?: ConnectionOptions;
}

/** Standard input is a password or two, never more. */
const MAX_STDIN_BYTES = 64 * 1024;

export function processIo(): AdminIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    readStdin: async () => {
      if (process.stdin.isTTY) process.stderr.write('password (then Enter and Ctrl-D): ');
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of process.stdin) {
        const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
        size += buf.length;
        if (size > MAX_STDIN_BYTES) throw new UsageError(`standard input is larger than ${MAX_STDIN_BYTES} bytes`);
        chunks.push(buf);
      }
      return Buffer.concat(chunks).toString('utf8');
    },
    exit: (code) => process.exit(code),
    setExitCode: (code) => {
      process.exitCode = code;
    },
  };
}

/** A mistake in how the command was called: exit code 2, like commander's own usage errors. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface ConnectionFlags {
  readonly bootstrap?: string;
  readonly clientConfig?: string;
  readonly dataDir: string;
}

export const DEFAULT_DATA_DIR = './parapet-data';

export function withConnectionOptions(cmd: Command): Command {
  return cmd
    .option('--bootstrap <host:port>', 'broker(s) to connect to, comma-separated (overrides bootstrap.servers)')
    .option('--client-config <file>', 'librdkafka-style client properties (default: <data-dir>/client/admin.properties)')
    .option('--data-dir <dir>', 'the Parapet data directory', DEFAULT_DATA_DIR);
}

export function loadConfig(flags: ConnectionFlags): ClientConfig {
  const explicit = flags.clientConfig !== undefined;
  const path = flags.clientConfig ?? join(flags.dataDir, 'client', 'admin.properties');
  if (!explicit && !existsSync(path)) {
    throw new ClientError(`no client config at ${path}: pass --client-config FILE (or --data-dir for another data directory)`);
  }
  const config = readClientConfig(path);
  if (flags.bootstrap === undefined) return config;
  try {
    return { ...config, bootstrapServers: parseBootstrapServers(flags.bootstrap) };
  } catch (err) {
    throw new UsageError(`--bootstrap: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export async function withAdmin<T>(io: AdminIo, config: ClientConfig, fn: (admin: AdminClient) => Promise<T>): Promise<T> {
  const admin = await AdminClient.connect(config, io.connection ?? {});
  try {
    return await fn(admin);
  } finally {
    admin.close();
  }
}

/** Runs an action: a failure becomes one line on stderr and exit code 1 (2 for usage errors). */
export function action<A extends unknown[]>(io: AdminIo, fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      const usage = err instanceof UsageError;
      const known = usage || err instanceof ClientError || err instanceof ConfigError || err instanceof BackupError || err instanceof CaptureError;
      // Messages carry names and explanations from the broker: shown escaped, on one line.
      const message = printable(err instanceof Error ? err.message : String(err));
      io.stderr(`parapet: ${known ? '' : 'unexpected error: '}${message}\n`);
      io.setExitCode(usage ? 2 : 1);
    }
  };
}

export function integer(what: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${what} must be an integer from ${min} to ${max}.`);
    }
    return n;
  };
}

export function collect(value: string, previous: readonly string[]): string[] {
  return [...previous, value];
}

/** Usage errors (exit 2) and help (exit 0) from commander go through the injected io. */
export function configureGroup(cmd: Command, io: AdminIo): Command {
  return cmd
    .configureOutput({
      writeOut: (s) => {
        io.stdout(s);
      },
      writeErr: (s) => {
        io.stderr(s);
      },
    })
    .exitOverride((err: CommanderError) => io.exit(err.exitCode === 0 ? 0 : 2))
    .showHelpAfterError('(add --help for usage)');
}

