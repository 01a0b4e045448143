import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { CLI, startParapet } from '../helpers/cli-process.js';

const run = promisify(execFile);

/** Runs `parapet start ARGS`; resolves with its stdout once it listens (or rejects with what it printed when it exits). */
async function start(t: TestContext, args: string[]): Promise<string> {
  return (await startParapet(t, args)).out;
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-first-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

const mode = (path: string) => statSync(path).mode & 0o777;

describe('the secure first start', () => {
  it('parapet start on a new data directory initialises it and the printed kcat command works as written', async (t) => {
    const dataDir = join(tempDir(t), 'data');
    const out = await start(t, ['--data-dir', dataDir, '--listen', '127.0.0.1:0']);
    assert.match(out, /listening on 127\.0\.0\.1:\d+ \(SASL_SSL; authentication required, ACLs deny by default\)/);
    const kcat = /try: (kcat -F (\S+) -L)/.exec(out);
    assert.ok(kcat?.[2] !== undefined, out);
    assert.equal(kcat[2], join(dataDir, 'client', 'admin.properties'));
    // Keys and the files holding the admin password are private; certificates are not secret.
    for (const file of ['tls/server.key', 'client/admin.properties', 'client/admin.java.properties', 'client/admin.json', 'parapet.yaml', 'metadata.db']) {
      assert.equal(mode(join(dataDir, file)), 0o600, file);
    }
    for (const dir of ['', 'tls', 'client']) assert.equal(mode(join(dataDir, dir)), 0o700, dir || 'data dir');
    // The CA key is not in the data directory but beside it, in a private directory of its own.
    assert.equal(existsSync(join(dataDir, 'tls', 'ca.key')), false);
    assert.equal(mode(`${dataDir}-ca`), 0o700);
    assert.equal(mode(join(`${dataDir}-ca`, 'ca.key')), 0o600);
    assert.match(out, new RegExp(`CA key: +${dataDir}-ca/ca\\.key`));
    const properties = readFileSync(kcat[2], 'utf8');
    assert.match(properties, /^security\.protocol=SASL_SSL$/m);
    assert.match(properties, /^sasl\.mechanisms=SCRAM-SHA-512$/m);
    assert.match(properties, /^sasl\.username=admin$/m);
    const password = /^sasl\.password=(.+)$/m.exec(properties)?.[1] ?? '';
    assert.ok(password.length >= 24);
    assert.ok(!out.includes(password), 'the password is never printed');
    // The certificate names localhost and the loopback addresses.
    const { stdout: text } = await run('openssl', ['x509', '-in', join(dataDir, 'tls', 'server.crt'), '-noout', '-ext', 'subjectAltName']);
    assert.match(text, /DNS:localhost/);
    assert.match(text, /IP Address:127\.0\.0\.1/);
    assert.match(text, /IP Address:0:0:0:0:0:0:0:1/);
    // The command exactly as printed: the broker's own bootstrap port was written into the file.
    const { stdout: metadata } = await run('kcat', ['-F', kcat[2], '-L']);
    assert.match(metadata, /1 brokers:/);
    assert.match(metadata, /sasl_ssl:\/\/127\.0\.0\.1:\d+/);
  });

  it('parapet init refuses a directory that is already initialised', async (t) => {
    const dataDir = join(tempDir(t), 'data');
    const first = await run(process.execPath, [CLI, 'init', '--data-dir', dataDir]);
    assert.match(first.stdout, /initialised/);
    await assert.rejects(run(process.execPath, [CLI, 'init', '--data-dir', dataDir]), (err: { code?: number; stderr?: string }) => {
      assert.equal(err.code, 3);
      assert.match(err.stderr ?? '', /already initialised/);
      return true;
    });
  });

  it('--insecure starts a plaintext broker with a warning, and is refused on a non-loopback address', async (t) => {
    const dir = tempDir(t);
    const out = await start(t, ['--insecure', '--data-dir', join(dir, 'dev'), '--listen', '127.0.0.1:0']);
    // The banner carries the warnings itself, right below it, rather than pointing at log lines that
    // may come later.
    assert.match(out, /\(PLAINTEXT; INSECURE\)\n {2}warning: allowInsecurePlaintext: .*unencrypted\n {2}warning: allowInsecureAnonymous: .*User:ANONYMOUS/);
    assert.doesNotMatch(out, /see the warnings above/);
    assert.match(out, /try: kcat -b 127\.0\.0\.1:\d+ -L/);
    await assert.rejects(start(t, ['--insecure', '--data-dir', join(dir, 'open'), '--listen', '0.0.0.0:0']), (err: { code?: number; err?: string }) => {
      assert.equal(err.code, 2);
      assert.match(err.err ?? '', /loopback[\s\S]*allowInsecureNonLoopback/);
      return true;
    });
  });
});
