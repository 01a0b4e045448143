import assert from 'node:assert/strict';
import { Command } from 'commander';
import { registerAdminCommands, type AdminIo } from '../../src/cli/admin-commands.js';

// The `parapet user|acl|topic` commands run in-process, as `main.ts` runs them with the real process.

/** Thrown by the injected `exit` so that a usage error ends the in-process run like process.exit would. */
class Exit extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`exit ${code}`);
    this.code = code;
  }
}

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `parapet <args>` in-process with captured output, as `main.ts` would with the real process. */
export async function parapet(args: readonly string[], stdin = ''): Promise<Run> {
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
  registerAdminCommands(program, io);
  try {
    await program.parseAsync([...args], { from: 'user' });
  } catch (err) {
    if (!(err instanceof Exit)) throw err;
    code = err.code;
  }
  return { code, stdout, stderr };
}

/** Asserts a run succeeded with nothing on stderr; returns its stdout. */
export function ok(run: Run): string {
  assert.equal(run.code, 0, `exit ${run.code}: ${run.stderr}`);
  assert.equal(run.stderr, '');
  return run.stdout;
}
