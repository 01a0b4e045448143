import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { Broker, DEFAULT_BROKER_CONFIG } from '../../../src/broker/broker.js';
import { silentLogger } from '../../../src/logger.js';
import { INSECURE_DEV_SECURITY } from '../../../src/security/config.js';
import { DataDirLock, DataDirLockedError, readOwner } from '../../../src/storage/data-dir-lock.js';
import { TEST_ADMIN_ENDPOINT } from '../../helpers/admin-endpoint.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-lock-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

const LOCK_MODULE = new URL('../../../src/storage/data-dir-lock.js', import.meta.url).href;

/** Another process that takes the lock, says so, and holds it until it is killed. */
async function holdInChild(t: TestContext, dataDir: string): Promise<ChildProcess> {
  const script = `const { DataDirLock } = await import(${JSON.stringify(LOCK_MODULE)});
DataDirLock.acquire(${JSON.stringify(dataDir)}, 'test holder');
process.stdout.write('locked\\n');
setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => {
    child.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('locked')) resolve();
    });
    child.once('exit', (code) => {
      reject(new Error(`the holder exited with ${String(code)}`));
    });
  });
  return child;
}

describe('DataDirLock: one owner per data directory', () => {
  it('creates the directory owner-only and refuses a second lock in the same process, naming the owner', (t) => {
    const dataDir = join(tempDir(t), 'data');
    const first = DataDirLock.acquire(dataDir, 'parapet start', () => Date.UTC(2026, 0, 2));
    t.after(() => {
      first.release();
    });
    assert.equal(statSync(dataDir).mode & 0o777, 0o700);
    assert.equal(statSync(join(dataDir, 'parapet.lock')).mode & 0o777, 0o600);
    assert.throws(
      () => DataDirLock.acquire(dataDir, 'parapet init'),
      (err: unknown) => {
        assert.ok(err instanceof DataDirLockedError);
        assert.equal(err.owner?.pid, process.pid);
        assert.equal(err.owner.command, 'parapet start');
        assert.equal(err.owner.since, '2026-01-02T00:00:00.000Z');
        assert.match(err.message, new RegExp(`in use by parapet start \\(pid ${process.pid} on .+, since 2026-01-02T00:00:00\\.000Z\\): stop it first`));
        return true;
      },
    );
    // Nothing but the lock and its owner note, and no SQLite journal beside them.
    assert.deepEqual(readdirSync(dataDir).sort(), ['parapet.lock', 'parapet.owner']);
    first.release();
    assert.equal(first.held, false);
    const again = DataDirLock.acquire(dataDir, 'parapet init');
    assert.equal(readOwner(dataDir)?.command, 'parapet init');
    again.release();
    again.release();
  });

  it('refuses while another process holds it, and is free again at once when that process is killed (no stale lock)', async (t) => {
    const dataDir = join(tempDir(t), 'data');
    const holder = await holdInChild(t, dataDir);
    assert.throws(
      () => DataDirLock.acquire(dataDir, 'parapet start'),
      (err: unknown) => err instanceof DataDirLockedError && err.owner?.pid === holder.pid && err.owner?.command === 'test holder',
    );
    const exited = new Promise((resolve) => holder.once('exit', resolve));
    holder.kill('SIGKILL');
    await exited;
    const lock = DataDirLock.acquire(dataDir, 'parapet start');
    assert.equal(readOwner(dataDir)?.pid, process.pid);
    lock.release();
  });

  it('names "another process" when the owner note is missing', (t) => {
    const dataDir = join(tempDir(t), 'data');
    const first = DataDirLock.acquire(dataDir, 'parapet start');
    t.after(() => {
      first.release();
    });
    rmSync(join(dataDir, 'parapet.owner'));
    assert.throws(() => DataDirLock.acquire(dataDir, 'x'), /in use by another process: stop it first/);
    assert.equal(existsSync(join(dataDir, 'parapet.owner')), false);
  });

  it('throws file-system errors as they are (a path under a file)', (t) => {
    const file = join(tempDir(t), 'file');
    writeFileSync(file, 'not a directory');
    assert.throws(
      () => DataDirLock.acquire(join(file, 'data'), 'x'),
      (err: unknown) => err instanceof Error && 'code' in err && (err.code === 'ENOTDIR' || err.code === 'EEXIST'),
    );
  });

  it('a Broker holds the lock from construction to close, and a second Broker on the same directory is refused', async (t) => {
    const dataDir = join(tempDir(t), 'data');
    const config = { ...DEFAULT_BROKER_CONFIG, listener: { host: '127.0.0.1', port: 0, protocol: 'PLAINTEXT' as const }, security: INSECURE_DEV_SECURITY, dataDir, adminEndpoint: TEST_ADMIN_ENDPOINT };
    const first = new Broker(config, silentLogger, { events: { emit: () => {} } });
    await first.start();
    assert.throws(() => new Broker(config, silentLogger, { events: { emit: () => {} } }), DataDirLockedError);
    await first.close();
    const second = new Broker(config, silentLogger, { events: { emit: () => {} } });
    await second.close();
    // A broker that fails to construct (an insecure listener without its switches) gives the lock back.
    assert.throws(() => new Broker({ ...config, security: DEFAULT_BROKER_CONFIG.security }, silentLogger, { events: { emit: () => {} } }), /PLAINTEXT/);
    DataDirLock.acquire(dataDir, 'x').release();
  });
});
