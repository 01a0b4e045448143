import { execFile, spawn, type ChildProcess } from 'node:child_process';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import { TEST_ADMIN_LISTEN } from './admin-endpoint.js';

/** The compiled `parapet` command, run from the project root as `npm test` does. */
export const CLI = 'dist/src/cli/main.js';

export interface StartedParapet {
  readonly child: ChildProcess;
  /** The port it printed it listens on. */
  readonly port: number;
  /** Its standard output up to the `try:` line. */
  readonly out: string;
}

/**
 * Runs `parapet start ARGS` as a separate process until it prints where it listens and what to try;
 * killed when the test ends. Rejects with `{ code, out, err }` when it exits first.
 */
export function startParapet(t: TestContext, args: readonly string[]): Promise<StartedParapet> {
  const child = spawn(process.execPath, [CLI, 'start', ...TEST_ADMIN_LISTEN, ...args], { env: { ...process.env, PARAPET_LOG_LEVEL: 'warn' } });
  t.after(() => {
    child.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const port = /listening on \S+:(\d+) /.exec(out)?.[1];
      if (port !== undefined && /^try: .*\n/m.test(out)) resolve({ child, port: Number(port), out });
    });
    child.once('exit', (code) => {
      reject(Object.assign(new Error(`parapet start exited with ${String(code)}: ${err}`), { code, out, err }));
    });
  });
}

/** How a `parapet` command ended. */
export interface CliOutcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const execFileAsync = promisify(execFile);

/** Runs `parapet ARGS` to its end; standard input is a pipe, never a terminal. `env` is added to the test's. */
export async function runParapet(args: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliOutcome> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args], {
      maxBuffer: 64 * 1024 * 1024,
      ...(options.env === undefined ? {} : { env: { ...process.env, ...options.env } }),
      ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
