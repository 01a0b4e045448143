import assert from 'node:assert/strict';
import { Command } from 'commander';
import { registerAdminCommands, type AdminIo } from '../../src/cli/admin-commands.js';

/** Thrown by the injected `exit` so that a usage error ends the in-process run like process.exit would. */
class Exit extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`exit ${code}`);
    this.code = code;
  }
}

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `parapet <args>` (the admin commands) in-process with captured output, as `main.ts` would with the real process. */
export async function parapet(args: readonly string[], stdin = ''): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  let code = 0;
  const io: AdminIo = {
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
    readStdin: () => Promise.resolve(stdin),
    exit: (c) => {
      throw new Exit(c);
    },
    setExitCode: (c) => {
      code = c;
    },
    connection: { connectTimeoutMs: 5000, requestTimeoutMs: 10_000 },
  };
  const program = new Command('parapet').exitOverride();
  await registerAdminCommands(program, io);
  try {
    await program.parseAsync([...args], { from: 'user' });
  } catch (err) {
    if (!(err instanceof Exit)) throw err;
    code = err.code;
  }
  return { code, stdout, stderr };
}

/** Asserts a successful run with nothing on stderr; returns its stdout. */
export function ok(run: CliRun): string {
  assert.equal(run.code, 0, `exit ${run.code}: ${run.stderr}`);
  assert.equal(run.stderr, '');
  return run.stdout;
}

/** Asserts a failure: exit `code`, nothing on stdout, and one line on stderr matching `message`. */
export function fails(run: CliRun, code: 1 | 2, message: RegExp): void {
  assert.equal(run.code, code, `expected exit ${code}, got ${run.code}: ${run.stderr}`);
  assert.equal(run.stdout, '');
  assert.match(run.stderr, message);
  if (code === 1) assert.match(run.stderr, /^parapet: [^\n]+\n$/, 'one line');
}
