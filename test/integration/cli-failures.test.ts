import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';

const CLI = 'dist/src/cli/main.js';
const isRoot = process.getuid?.() === 0;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `parapet ARGS` to its end. `unprivileged`: without root's power to ignore file permissions
 * (CI runs as root), so that permission failures happen as they do for a normal user.
 */
function parapet(args: readonly string[], options: { env?: NodeJS.ProcessEnv; unprivileged?: boolean } = {}): Promise<Run> {
  const command = options.unprivileged === true && isRoot ? 'setpriv' : process.execPath;
  const argv = options.unprivileged === true && isRoot ? ['--bounding-set=-dac_override,-dac_read_search,-fowner', process.execPath, CLI, ...args] : [CLI, ...args];
  const child = spawn(command, argv, { env: { ...process.env, PARAPET_LOG_LEVEL: 'warn', ...options.env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => {
    child.once('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-fail-'));
  t.after(() => {
    restoreAccess(dir);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Gives the owner back the permissions the tests took away, so that the tree can be removed. */
function restoreAccess(dir: string): void {
  chmodSync(dir, 0o700);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) restoreAccess(join(dir, entry.name));
  }
}

/** One line on stderr with the expected message, no stack trace, and the documented exit code. */
function assertOneLineFailure(run: Run, code: number, message: RegExp): void {
  assert.equal(run.code, code, `exit code (stderr: ${run.stderr})`);
  const lines = run.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${run.stderr}`);
  assert.match(lines[0] ?? '', /^parapet: /);
  assert.match(lines[0] ?? '', message);
  assert.doesNotMatch(run.stderr, /^\s+at /m);
}

async function occupiedPort(t: TestContext): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.close();
  });
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return address.port;
}

describe('parapet fails with one line a person can act on, and a documented exit code', () => {
  it('--version and -V print the package version', async () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const run = await parapet([flag]);
      assert.equal(run.code, 0);
      assert.equal(run.stdout, `${version}\n`);
    }
  });

  it('a port in use: exit 4, and the data directory is free again', async (t) => {
    const port = await occupiedPort(t);
    const dataDir = join(tempDir(t), 'data');
    const run = await parapet(['start', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`]);
    assertOneLineFailure(run, 4, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the address is already in use .*--listen HOST:PORT`));
    // The failed start released its lock: the directory can be used at once.
    const again = await parapet(['init', '--data-dir', dataDir]);
    assertOneLineFailure(again, 3, /is already initialised/);
  });

  it('a --listen port out of range: exit 2', async (t) => {
    const run = await parapet(['start', '--data-dir', join(tempDir(t), 'data'), '--listen', '127.0.0.1:99999']);
    assertOneLineFailure(run, 2, /--listen: port 99999 is out of range \(0-65535/);
  });

  it('an unknown PARAPET_LOG_LEVEL: exit 2, naming the levels', async (t) => {
    const run = await parapet(['start', '--data-dir', join(tempDir(t), 'data')], { env: { PARAPET_LOG_LEVEL: 'verbose' } });
    assertOneLineFailure(run, 2, /PARAPET_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent \(got "verbose"\)/);
  });

  it('a data directory that cannot be created (EACCES on mkdir): exit 3', async (t) => {
    const parent = join(tempDir(t), 'read-only');
    mkdirSync(parent, { mode: 0o500 });
    chmodSync(parent, 0o500);
    const run = await parapet(['start', '--data-dir', join(parent, 'data')], { unprivileged: true });
    assertOneLineFailure(run, 3, /cannot create .*read-only\/data: permission denied; .*--data-dir/);
  });

  it('a data directory under a file (ENOTDIR): exit 3, and --debug adds the stack trace', async (t) => {
    const file = join(tempDir(t), 'file');
    writeFileSync(file, 'x');
    const run = await parapet(['start', '--data-dir', join(file, 'data')]);
    assertOneLineFailure(run, 3, /a file, not a directory|a file of that name exists/);
    const debug = await parapet(['start', '--debug', '--data-dir', join(file, 'data')]);
    assert.equal(debug.code, 3);
    assert.match(debug.stderr, /^\s+at /m);
  });

  it('a CA directory or master key that cannot be made beside the data directory: exit 3 before anything is written, and --ca-dir and --master-key-file work', async (t) => {
    const root = tempDir(t);
    const parent = join(root, 'srv');
    mkdirSync(join(parent, 'data'), { recursive: true, mode: 0o700 });
    // The data directory exists (made by an administrator), its parent is not ours to write.
    chmodSync(parent, 0o500);
    const run = await parapet(['init', '--data-dir', join(parent, 'data')], { unprivileged: true });
    assertOneLineFailure(run, 3, /cannot create the CA directory .*srv\/data-ca: permission denied; give --ca-dir DIR, a directory outside the data directory/);
    assert.deepEqual(readdirSync(join(parent, 'data')).filter((name) => !name.startsWith('parapet.')), [], 'nothing but the lock');
    // The master key goes beside the data directory too: it needs a place of its own as well.
    const keyBeside = await parapet(['init', '--data-dir', join(parent, 'data'), '--ca-dir', join(root, 'ca')], { unprivileged: true });
    assertOneLineFailure(keyBeside, 3, /cannot create the master key file .*srv\/data-keys\/master\.key: permission denied; give --master-key-file FILE/);
    const elsewhere = await parapet(['init', '--data-dir', join(parent, 'data'), '--ca-dir', join(root, 'ca'), '--master-key-file', join(root, 'keys', 'master.key')], { unprivileged: true });
    assert.equal(elsewhere.code, 0, elsewhere.stderr);
    assert.match(elsewhere.stdout, /CA key: +.*\/ca\/ca\.key/);
    assert.match(elsewhere.stdout, /master key: +.*\/keys\/master\.key/);
  });

  it('a data directory that cannot be read (EACCES on scandir): exit 3', async (t) => {
    const dataDir = join(tempDir(t), 'data');
    mkdirSync(dataDir);
    // Write and search, but not read: the lock can be taken, the directory cannot be listed.
    chmodSync(dataDir, 0o300);
    const run = await parapet(['start', '--data-dir', dataDir], { unprivileged: true });
    assertOneLineFailure(run, 3, /cannot read the directory .*data: permission denied/);
  });

  it('a data directory that belongs to another user (EPERM on chmod): exit 3', { skip: isRoot ? false : 'needs root to give a directory to another user' }, async (t) => {
    const dataDir = join(tempDir(t), 'data');
    mkdirSync(dataDir, { mode: 0o777 });
    chmodSync(dataDir, 0o777);
    chownSync(dataDir, 65534, 65534);
    const run = await parapet(['init', '--data-dir', dataDir], { unprivileged: true });
    assertOneLineFailure(run, 3, /cannot change the permissions of .*data: operation not permitted \(it belongs to another user\?\); run parapet as its owner/);
  });

  it('bad usage (an unknown option): exit 2', async () => {
    const run = await parapet(['start', '--no-such-option']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /unknown option '--no-such-option'/);
  });
});
