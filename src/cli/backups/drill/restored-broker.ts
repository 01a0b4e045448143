import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * The broker a drill starts on the restored directory: this build's own `parapet start`, as a child
 * process, on loopback with ports the system picks (the restored parapet.yaml names the original's
 * ports, which its broker may still hold). Its start is bounded by a timeout, and it is always stopped
 * when the drill ends, killed if it does not stop in time.
 */
export interface RestoredBroker {
  readonly host: string;
  readonly port: number;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

/** This build's CLI entry point: dist/src/cli/main.js beside dist/src/cli/backups/drill/. */
const MAIN = fileURLToPath(new URL('../../main.js', import.meta.url));
/** What the drill keeps of the broker's output, for the message when it does not start. */
const OUTPUT_TAIL_BYTES = 4096;

export async function startRestoredBroker(dataDir: string, timeoutMs: number): Promise<RestoredBroker> {
  const child = spawn(process.execPath, [MAIN, 'start', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0'], {
    env: { ...process.env, PARAPET_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (chunk: Buffer) => {
    out = (out + chunk.toString('utf8')).slice(-OUTPUT_TAIL_BYTES);
  };
  child.stderr.on('data', keep);
  // A drill that ends abruptly (cron's timeout, Ctrl-C: drill-command.ts exits on them) leaves no broker behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const stop = async (graceMs = 10_000) => {
    await stopChild(child, graceMs);
    process.removeListener('exit', killOnExit);
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`the restored broker did not listen within ${timeoutMs / 1000} s: ${out.trim() || 'no output'}`));
      }, timeoutMs);
      child.stdout.on('data', (chunk: Buffer) => {
        keep(chunk);
        const m = /listening on 127\.0\.0\.1:(\d+) /.exec(out);
        if (m?.[1] !== undefined) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`the restored broker did not start: ${err.message}`));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the restored broker exited (${signal ?? `code ${String(code)}`}) before it listened: ${out.trim() || 'no output'}`));
      });
    });
    return { host: '127.0.0.1', port, stop };
  } catch (err) {
    await stop(0);
    throw err;
  }
}

function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    child.kill(graceMs === 0 ? 'SIGKILL' : 'SIGTERM');
  });
}
