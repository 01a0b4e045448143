import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, appendFileSync, closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DocBlock } from './doc-blocks.js';

/**
 * Where the marked blocks of one markdown file run (docs/contributing.md#docs-that-run): a fresh
 * directory holding `./parapet-data` made by `npx parapet init` on a free port, the broker started
 * there by `npx parapet start` (its output in `./parapet.log`), and a PATH whose `npx parapet …` and
 * `parapet …` run this repository's compiled CLI. Blocks run in order, each in its own
 * `bash -e -o pipefail`, sharing the directory (not shell variables).
 */

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface BlockOutcome {
  /** Exit status, or null when the block was killed at its timeout. */
  readonly code: number | null;
  /** Standard output and error, interleaved, with every secret of the directory replaced. */
  readonly output: string;
  readonly timedOut: boolean;
}

/** A POSIX shell word holding `text` as it is. */
function shellQuoted(text: string): string {
  return `'${text.replace(/'/g, "'\\''")}'`;
}

/** The npx the machine has, found on PATH as a shell would, else the one installed beside node. */
function realNpx(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'npx');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return join(dirname(process.execPath), 'npx');
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve) => {
    const poll = () => {
      if (check()) resolve(true);
      else if (Date.now() > deadline) resolve(false);
      else setTimeout(poll, 100);
    };
    poll();
  });
}

export class DocWorkspace {
  readonly dir: string;
  readonly #bin: string;
  readonly #env: NodeJS.ProcessEnv;
  /** Process groups started here (the broker, each block): all ended with the workspace. */
  readonly #groups: ChildProcess[] = [];

  private constructor(dir: string) {
    this.dir = dir;
    this.#bin = join(dir, '.doctest', 'bin');
    mkdirSync(this.#bin, { recursive: true, mode: 0o700 });
    const node = shellQuoted(process.execPath);
    const cli = shellQuoted(CLI);
    writeFileSync(
      join(this.#bin, 'npx'),
      `#!/bin/sh\n# npx parapet …: the CLI of the repository under test; anything else: the real npx.\nif [ "$1" = parapet ]; then shift; exec ${node} ${cli} "$@"; fi\nexec ${shellQuoted(realNpx())} "$@"\n`,
      { mode: 0o755 },
    );
    writeFileSync(join(this.#bin, 'parapet'), `#!/bin/sh\nexec ${node} ${cli} "$@"\n`, { mode: 0o755 });
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${this.#bin}${delimiter}${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}` };
    // node --test's own settings would turn a block's node into a test runner's child.
    delete env.NODE_TEST_CONTEXT;
    delete env.NODE_OPTIONS;
    delete env.PARAPET_LOG_LEVEL;
    delete env.PARAPET_LOG_FORMAT;
    this.#env = env;
  }

  /** A directory with `parapet init` done, and `parapet start` listening on free ports. */
  static async start(timeoutMs = 60_000): Promise<DocWorkspace> {
    const ws = new DocWorkspace(mkdtempSync(join(tmpdir(), 'parapet-doctest-')));
    try {
      const [port, adminPort] = [await freePort(), await freePort()];
      const init = await ws.run(`npx parapet init --listen 127.0.0.1:${port} > .doctest/init.log\n`, timeoutMs);
      if (init.code !== 0) throw new Error(`npx parapet init failed (${String(init.code)}): ${init.output}`);
      // The admin endpoint on a free port, in the config file, where `parapet sessions` reads it.
      appendFileSync(join(ws.dir, 'parapet-data', 'parapet.yaml'), `adminEndpoint:\n  port: ${adminPort}\n`);
      const log = openSync(join(ws.dir, 'parapet.log'), 'a', 0o600);
      const broker = spawn(join(ws.#bin, 'npx'), ['parapet', 'start'], { cwd: ws.dir, env: ws.#env, stdio: ['ignore', log, log], detached: true });
      closeSync(log);
      ws.#groups.push(broker);
      const listening = await until(() => broker.exitCode !== null || /parapet listening on /.test(ws.brokerLog()), timeoutMs);
      if (!listening || broker.exitCode !== null) throw new Error(`npx parapet start did not listen: ${ws.brokerLog()}`);
      return ws;
    } catch (err) {
      await ws.close();
      throw err;
    }
  }

  brokerLog(): string {
    return this.redact(readFileSync(join(this.dir, 'parapet.log'), 'utf8'));
  }

  /** Runs one block; the output is kept to its last 16 KiB. */
  runBlock(block: DocBlock, timeoutMs: number): Promise<BlockOutcome> {
    return this.run(block.script, timeoutMs, `block-${block.line}`);
  }

  async run(script: string, timeoutMs: number, name = 'setup'): Promise<BlockOutcome> {
    const scriptFile = join(this.dir, '.doctest', `${name}.sh`);
    const outputFile = join(this.dir, '.doctest', `${name}.out`);
    writeFileSync(scriptFile, script, { mode: 0o600 });
    // A file rather than a pipe: a process a block leaves in the background cannot hold the run open.
    const out = openSync(outputFile, 'w', 0o600);
    const child = spawn('bash', ['-e', '-o', 'pipefail', scriptFile], { cwd: this.dir, env: this.#env, stdio: ['ignore', out, out], detached: true });
    closeSync(out);
    this.#groups.push(child);
    const state = { timedOut: false };
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        state.timedOut = true;
        killGroup(child, 'SIGKILL');
      }, timeoutMs);
      child.once('exit', (status) => {
        clearTimeout(timer);
        resolve(status);
      });
    });
    const text = readFileSync(outputFile, 'utf8');
    return { code: state.timedOut ? null : code, output: this.redact(text.length > 16_384 ? `…${text.slice(-16_384)}` : text), timedOut: state.timedOut };
  }

  /** The text with every secret of the directory replaced (see {@link redactSecrets}). */
  redact(text: string): string {
    return redactSecrets(text, this.dir);
  }

  /** Ends the broker and anything a block left running (SIGTERM, then SIGKILL after 5 s), and removes the directory. */
  async close(): Promise<void> {
    const running = this.#groups.filter((c) => c.exitCode === null && c.signalCode === null);
    for (const child of this.#groups) killGroup(child, 'SIGTERM');
    await until(() => running.every((c) => c.exitCode !== null || c.signalCode !== null), 5000);
    for (const child of this.#groups) killGroup(child, 'SIGKILL');
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 5 });
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/**
 * The text with every secret a doc's directory holds replaced by `[redacted]`: the passwords of the
 * client settings files (parapet-data/client and any a block wrote), and the lines of the key files
 * (master key, audit signing key, TLS and CA keys) and `*.password` files, a few levels deep.
 */
export function redactSecrets(text: string, dir: string): string {
  const secrets = new Set<string>();
  for (const file of secretFiles(dir)) {
    let content: string;
    try {
      content = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    if (/\.(key|password)$/.test(file)) for (const line of content.split('\n')) if (line.trim().length >= 8 && !line.startsWith('-----')) secrets.add(line.trim());
    for (const m of content.matchAll(/^\s*sasl\.password\s*=\s*(.+?)\s*$/gm)) if (m[1] !== undefined && !m[1].startsWith('${')) secrets.add(m[1]);
  }
  let out = text;
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join('[redacted]');
  return out;
}

function secretFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (at: string, depth: number) => {
    if (depth > 3 || !existsSync(at)) return;
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory() && entry.name !== '.doctest' && entry.name !== 'node_modules') walk(path, depth + 1);
      else if (entry.isFile() && /\.(properties|key|password)$/.test(entry.name)) found.push(path);
    }
  };
  walk(dir, 0);
  return found;
}
