import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { CredentialStore } from '../../src/security/credentials/credential-store.js';
import { MetadataStore } from '../../src/storage/metadata-store.js';
import { CLI, startParapet as start } from '../helpers/cli-process.js';
import { TEST_ADMIN_LISTEN } from '../helpers/admin-endpoint.js';

const run = promisify(execFile);

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-owner-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

const adminConfig = (dataDir: string) => join(dataDir, 'client', 'admin.properties');

async function consumeAll(dataDir: string, bootstrap: string, topic: string): Promise<string[]> {
  const { stdout } = await run('kcat', ['-F', adminConfig(dataDir), '-b', bootstrap, '-C', '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%o %s\\n']);
  return stdout.trimEnd().split('\n');
}

describe('one owner per data directory', () => {
  it('a second broker on the same data directory is refused, naming the first; after a SIGKILL the next start works and nothing acknowledged is lost', async (t) => {
    const dataDir = join(tempDir(t), 'data');
    const first = await start(t, ['--data-dir', dataDir, '--listen', '127.0.0.1:0']);
    const bootstrap = `127.0.0.1:${first.port}`;
    await run(process.execPath, [CLI, 'topic', 'create', 'orders', '--partitions', '1', '--data-dir', dataDir, '--bootstrap', bootstrap]);
    const records = Array.from({ length: 100 }, (_, i) => `first-${i}`).join('\n');
    const produce = spawn('kcat', ['-F', adminConfig(dataDir), '-b', bootstrap, '-P', '-t', 'orders', '-p', '0', '-X', 'acks=all']);
    produce.stdin.end(`${records}\n`);
    assert.equal(await new Promise((resolve) => produce.once('exit', resolve)), 0);

    // The scenario that lost acknowledged records: a second broker, another port, the same directory.
    await assert.rejects(start(t, ['--data-dir', dataDir, '--listen', '127.0.0.1:0']), (err: { code?: number; err?: string }) => {
      assert.equal(err.code, 3);
      assert.equal(err.err?.trimEnd().split('\n').length, 1, err.err);
      assert.match(err.err ?? '', new RegExp(`in use by parapet start \\(pid ${String(first.child.pid)} on .*\\): stop it first, or use another --data-dir`));
      return true;
    });
    // init writes the directory too, and is refused the same way.
    await assert.rejects(run(process.execPath, [CLI, 'init', '--data-dir', dataDir]), (err: { code?: number; stderr?: string }) => {
      assert.equal(err.code, 3);
      assert.match(err.stderr ?? '', /in use by parapet start/);
      return true;
    });

    await kill(first.child);
    const next = await start(t, ['--data-dir', dataDir, '--listen', '127.0.0.1:0']);
    const read = await consumeAll(dataDir, `127.0.0.1:${next.port}`, 'orders');
    assert.deepEqual(
      read,
      Array.from({ length: 100 }, (_, i) => `${i} first-${i}`),
    );
  });

  it('a first start killed in the middle of initialising is resumed by the next start, and the admin can log in', async (t) => {
    const dataDir = join(tempDir(t), 'data');
    const child = spawn(process.execPath, [CLI, 'start', '--data-dir', dataDir, '--listen', '127.0.0.1:0', ...TEST_ADMIN_LISTEN], { stdio: 'ignore' });
    t.after(() => {
      child.kill('SIGKILL');
    });
    // Killed as soon as initialisation has begun: what Ctrl-C 0.7 s after launch did to a new user.
    await new Promise<void>((resolve, reject) => {
      const poll = setInterval(() => {
        if (existsSync(join(dataDir, '.init-pending'))) {
          clearInterval(poll);
          child.kill('SIGKILL');
          resolve();
        }
      }, 1);
      child.once('exit', () => {
        clearInterval(poll);
        reject(new Error('the start finished before it could be interrupted'));
      });
    });
    await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(existsSync(join(dataDir, 'parapet.yaml')), false, 'interrupted: not initialised');

    const next = await start(t, ['--data-dir', dataDir, '--listen', '127.0.0.1:0']);
    assert.match(next.out, /resumed an interrupted initialisation/);
    const { stdout } = await run('kcat', ['-F', adminConfig(dataDir), '-L']);
    assert.match(stdout, /1 brokers:/);
    assert.deepEqual(
      readdirSync(dataDir).filter((n) => n.startsWith('.')),
      [],
    );
  });

  it('a directory nobody can log in to is refused with the fix, and init gives the admin back', async (t) => {
    const dataDir = join(tempDir(t), 'data');
    await run(process.execPath, [CLI, 'init', '--data-dir', dataDir]);
    const store = new MetadataStore(dataDir);
    try {
      const credentials = new CredentialStore({ store });
      for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) credentials.delete('admin', mechanism);
    } finally {
      store.close();
    }
    await assert.rejects(start(t, ['--data-dir', dataDir, '--listen', '127.0.0.1:0']), (err: { code?: number; err?: string }) => {
      assert.equal(err.code, 3);
      assert.match(err.err ?? '', /no user can log in: .*holds no SCRAM user .*run `parapet init --data-dir .*data` to create the admin user again/);
      return true;
    });
    const { stdout } = await run(process.execPath, [CLI, 'init', '--data-dir', dataDir]);
    assert.match(stdout, /had no user who could log in: created the admin user again/);
    const started = await start(t, ['--data-dir', dataDir, '--listen', '127.0.0.1:0']);
    const metadata = await run('kcat', ['-F', adminConfig(dataDir), '-b', `127.0.0.1:${started.port}`, '-L']);
    assert.match(metadata.stdout, /1 brokers:/);
  });
});
