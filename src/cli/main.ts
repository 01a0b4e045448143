#!/usr/bin/env node
import { resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { ADMIN_COMMANDS, registerAdminCommands } from './admin-commands.js';
import { ExitCodes } from './exit-codes.js';
import { productVersion } from '../version.js';

/** The `parapet` command. Exit codes: src/cli/failures.ts and docs/operations.md. */
const program = new Command('parapet')
  .description('A secure-by-default, Kafka-compatible event streaming system')
  .version(productVersion(), '-V, --version', 'print the version of Parapet')
  .option('--debug', 'print the stack trace of a failure')
  // Usage errors are reported by commander itself; they end with exit code 2 like the admin commands'.
  .exitOverride();

/** The other command groups, each loaded when it is the one asked for. */
const OTHER_COMMANDS: Readonly<Record<string, () => Promise<void>>> = {
  cert: async () => {
    (await import('./cert-commands.js')).registerCertCommands(program);
  },
  tls: async () => {
    (await import('./tls-commands.js')).registerTlsCommands(program);
  },
  keys: async () => {
    (await import('./keys-commands.js')).registerKeysCommands(program);
  },
  audit: async () => {
    (await import('./audit-commands.js')).registerAuditCommands(program);
  },
};

/**
 * Registers the command asked for, and only it: loading every command's modules (the broker, the
 * backup targets, the certificate library…) cost each invocation about a second of CPU. Without a
 * known command (help, `start`, a typo), everything is registered, in the order the help lists them.
 */
async function registerCommands(argv: readonly string[]): Promise<void> {
  const asked = argv.find((a) => !a.startsWith('-'));
  if (asked !== undefined && Object.hasOwn(ADMIN_COMMANDS, asked)) {
    await registerAdminCommands(program, undefined, asked);
    return;
  }
  const other = asked === undefined ? undefined : OTHER_COMMANDS[asked];
  if (other !== undefined) {
    await other();
    return;
  }
  (await import('./core-commands.js')).registerCoreCommands(program);
  await registerAdminCommands(program);
  for (const register of Object.values(OTHER_COMMANDS)) await register();
}

/** The data directory a failing command was about, for messages that need one. */
async function dataDirOf(argv: readonly string[]): Promise<string> {
  const at = argv.indexOf('--data-dir');
  const inline = argv.find((a) => a.startsWith('--data-dir='));
  const given = inline?.slice('--data-dir='.length) ?? (at >= 0 ? argv[at + 1] : undefined);
  return resolve(given ?? (await import('../broker/broker.js')).DEFAULT_BROKER_CONFIG.dataDir);
}

try {
  await registerCommands(process.argv.slice(2));
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and --version end normally; anything else commander refused was bad usage (already printed).
    process.exitCode = err.exitCode === 0 ? ExitCodes.OK : ExitCodes.USAGE;
  } else {
    const { explainFailure } = await import('./failures.js');
    const failure = explainFailure(err, { dataDir: await dataDirOf(process.argv) });
    const debug = program.opts<{ debug?: boolean }>().debug === true;
    if (failure === undefined) {
      console.error(`parapet: unexpected error: ${err instanceof Error ? err.message : String(err)}${debug ? '' : ' (run with --debug for the stack trace)'}`);
    } else {
      console.error(`parapet: ${failure.message}`);
    }
    if (debug && err instanceof Error) console.error(err.stack);
    process.exitCode = failure?.exitCode ?? ExitCodes.FAILED;
  }
}
