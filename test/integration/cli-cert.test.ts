import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { CLI, runParapet, startParapet, type CliOutcome } from '../helpers/cli-process.js';
import { createOpensslCa } from '../helpers/openssl-ca.js';
import { waitFor } from '../helpers/tls-fixtures.js';
import { TEST_ADMIN_LISTEN } from '../helpers/admin-endpoint.js';

/**
 * The CA outside the data directory, from the command line: `parapet init` writes its key beside the
 * data directory, the broker starts and serves without it, a directory that still holds `tls/ca.key`
 * (an older Parapet's layout) is warned about at every start until the key is moved, and `parapet cert`
 * issues client and server certificates and CRLs that a running broker picks up.
 */

const run = promisify(execFile);

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-cert-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}


const parapet = runParapet;

async function kcatExit(args: readonly string[]): Promise<CliOutcome> {
  try {
    const { stdout, stderr } = await run('kcat', [...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** `parapet start` as a process with its log at info, resolved once it listens; its output keeps growing in `log()`. */
async function startLogged(t: TestContext, args: readonly string[]): Promise<{ port: number; log: () => string }> {
  const child = spawn(process.execPath, [CLI, 'start', ...TEST_ADMIN_LISTEN, ...args], { env: { ...process.env, PARAPET_LOG_LEVEL: 'info' } });
  t.after(() => {
    child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  await waitFor(() => /^data directory: /m.test(out) || child.exitCode !== null, 'the broker to listen', 20_000);
  const port = /listening on \S+:(\d+) /.exec(out)?.[1];
  if (port === undefined) throw new Error(`parapet start failed: ${out}`);
  return { port: Number(port), log: () => out };
}

describe('the CA directory and parapet cert', () => {
  it('init keeps the CA key beside the data directory; the broker starts and serves with the CA directory gone', async (t) => {
    const root = tempDir(t);
    const dataDir = join(root, 'data');
    const init = await parapet(['init', '--data-dir', dataDir]);
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stdout, new RegExp(`CA key: +${join(root, 'data-ca', 'ca.key')}\\n.*since the broker never reads it`));
    assert.equal(existsSync(join(dataDir, 'tls', 'ca.key')), false);
    assert.equal(statSync(join(root, 'data-ca', 'ca.key')).mode & 0o777, 0o600);
    // Offline: the broker needs only tls/ca.crt, which stays.
    renameSync(join(root, 'data-ca'), join(root, 'usb-stick'));
    const broker = await startParapet(t, ['--data-dir', dataDir, '--listen', '127.0.0.1:0']);
    assert.doesNotMatch(broker.out, /warning/);
    const listed = await kcatExit(['-F', join(dataDir, 'client', 'admin.properties'), '-b', `127.0.0.1:${broker.port}`, '-L']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /1 brokers:/);
    // Issuing needs the CA: without it, a clear error; with --ca-dir, a certificate.
    const missing = await parapet(['cert', 'client', 'alice', '--data-dir', dataDir]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^parapet: no CA in .*data-ca .*give --ca-dir/m);
    const issued = await parapet(['cert', 'client', 'alice', '--data-dir', dataDir, '--ca-dir', join(root, 'usb-stick')]);
    assert.equal(issued.code, 0, issued.stderr);
    const cert = new X509Certificate(readFileSync(join(dataDir, 'client', 'alice.crt')));
    assert.equal(cert.verify(new X509Certificate(readFileSync(join(dataDir, 'tls', 'ca.crt'))).publicKey), true);
    assert.equal(statSync(join(dataDir, 'client', 'alice.key')).mode & 0o777, 0o600);
    // Revoking twice records it once; a certificate of another CA can't be revoked here (its CRL would be ignored).
    const caFlags = ['--data-dir', dataDir, '--ca-dir', join(root, 'usb-stick'), '--crl', join(root, 'crl.pem')];
    const revoked = await parapet(['cert', 'revoke', join(dataDir, 'client', 'alice.crt'), join(dataDir, 'client', 'alice.crt'), ...caFlags]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, /^already revoked: serial [0-9A-F]+ \(CN=alice\)\nrevoked serial [0-9A-F]+ \(CN=alice\), reason unspecified\nwrote .*crl\.pem: CRL number 1, 1 revoked/);
    const other = await createOpensslCa(root, 'other-ca', 'Another CA');
    const eve = await other.issueClient('eve');
    const foreign = await parapet(['cert', 'revoke', eve.certFile, ...caFlags]);
    assert.equal(foreign.code, 2);
    assert.match(foreign.stderr, /eve\.crt was not issued by the CA in this CA directory \(CN=Parapet local CA/);
  });

  it('a data directory that still holds tls/ca.key is warned about at every start and by check-config, until the key is moved as told', async (t) => {
    const root = tempDir(t);
    const dataDir = join(root, 'data');
    assert.equal((await parapet(['init', '--data-dir', dataDir])).code, 0);
    // The layout of an older Parapet: the CA key in the data directory, no CA directory.
    copyFileSync(join(root, 'data-ca', 'ca.key'), join(dataDir, 'tls', 'ca.key'));
    rmSync(join(root, 'data-ca'), { recursive: true });
    const first = await startParapet(t, ['--data-dir', dataDir, '--listen', '127.0.0.1:0']);
    assert.match(first.out, /\(SASL_SSL; authentication required, ACLs deny by default\)\n {2}warning: caKeyInDataDir: the CA private key .*data\/tls\/ca\.key is in the data directory/);
    const fix = /move it out \((mkdir -m 700 .*?)\), then keep/.exec(first.out)?.[1];
    assert.ok(fix !== undefined, first.out);
    const checked = await parapet(['check-config', join(dataDir, 'parapet.yaml')]);
    assert.equal(checked.code, 0, checked.stderr);
    assert.match(checked.stderr, /^parapet: warning: caKeyInDataDir: /m);
    assert.match(checked.stdout, /# OK: .* is valid \(1 warning\(s\) on stderr\)/);
    first.child.kill('SIGTERM');
    await new Promise((resolve) => first.child.once('exit', resolve));
    // The command the warning gives, as printed.
    await run('sh', ['-c', fix]);
    assert.equal(existsSync(join(dataDir, 'tls', 'ca.key')), false);
    assert.equal(statSync(join(root, 'data-ca')).mode & 0o777, 0o700);
    const again = await startParapet(t, ['--data-dir', dataDir, '--listen', '127.0.0.1:0']);
    assert.doesNotMatch(again.out, /warning/);
    // The moved CA still issues certificates the broker trusts.
    assert.equal((await parapet(['cert', 'client', 'bob', '--data-dir', dataDir])).code, 0);
  });

  it('parapet cert issues client certificates, revokes one into a CRL the running broker reloads, and renews the server certificate', { timeout: 60_000 }, async (t) => {
    const root = tempDir(t);
    const dataDir = join(root, 'data');
    assert.equal((await parapet(['init', '--data-dir', dataDir])).code, 0);
    for (const name of ['alice', 'bob']) {
      const issued = await parapet(['cert', 'client', name, '--data-dir', dataDir]);
      assert.equal(issued.code, 0, issued.stderr);
      assert.match(issued.stdout, new RegExp(`^issued CN=${name} \\(serial [0-9A-F]+, valid until \\d{4}-\\d\\d-\\d\\d\\)`));
    }
    // Not overwritten: the first key may be in use.
    const again = await parapet(['cert', 'client', 'alice', '--data-dir', dataDir]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /alice\.crt exists: delete it, or choose another --out-dir/);
    const crl = await parapet(['cert', 'crl', '--data-dir', dataDir]);
    assert.equal(crl.code, 0, crl.stderr);
    assert.match(crl.stdout, /CRL number 1, 0 revoked certificate\(s\), next update \d{4}-\d\d-\d\d/);

    // mTLS with the CRL, as docs/security/tls.md shows.
    const config = join(dataDir, 'parapet.yaml');
    writeFileSync(
      config,
      readFileSync(config, 'utf8')
        .replace('protocol: SASL_SSL', 'protocol: SSL')
        .replace('clientAuth: none', 'clientAuth: required\n  crlFile: tls/crl.pem\n  reloadIntervalMs: 200'),
    );
    const broker = await startLogged(t, ['--data-dir', dataDir, '--listen', '127.0.0.1:0']);
    const properties = (name: string) => {
      const file = join(root, `${name}.properties`);
      writeFileSync(
        file,
        [
          `bootstrap.servers=127.0.0.1:${broker.port}`,
          'security.protocol=SSL',
          `ssl.ca.location=${join(dataDir, 'tls', 'ca.crt')}`,
          `ssl.certificate.location=${join(dataDir, 'client', `${name}.crt`)}`,
          `ssl.key.location=${join(dataDir, 'client', `${name}.key`)}`,
          '',
        ].join('\n'),
        { mode: 0o600 },
      );
      return file;
    };
    assert.equal((await kcatExit(['-F', properties('alice'), '-L', '-m', '5'])).code, 0);
    assert.equal((await kcatExit(['-F', properties('bob'), '-L', '-m', '5'])).code, 0);

    const revoked = await parapet(['cert', 'revoke', join(dataDir, 'client', 'bob.crt'), '--reason', 'keyCompromise', '--data-dir', dataDir]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, /^revoked serial [0-9A-F]+ \(CN=bob\), reason keyCompromise\nwrote .*crl\.pem: CRL number 2, 1 revoked certificate\(s\)/);
    await waitFor(() => broker.log().includes('"event":"tls-crl-reloaded"'), 'the broker to reload the CRL');
    const bob = await kcatExit(['-F', properties('bob'), '-L', '-m', '3']);
    assert.notEqual(bob.code, 0);
    await waitFor(() => /"event":"connection-refused".*"reason":"CLIENT_CERTIFICATE_REVOKED"/.test(broker.log()), 'the refusal to be logged');
    assert.equal((await kcatExit(['-F', properties('alice'), '-L', '-m', '5'])).code, 0);

    // A new server certificate: written over the old files, reloaded by the running broker.
    const before = broker.log().length;
    const server = await parapet(['cert', 'server', '--data-dir', dataDir, '--dns', 'localhost', '--ip', '127.0.0.1', '--days', '30']);
    assert.equal(server.code, 0, server.stderr);
    const serial = /serial ([0-9A-F]+)/.exec(server.stdout)?.[1];
    assert.ok(serial !== undefined, server.stdout);
    await waitFor(() => broker.log().slice(before).includes('"event":"tls-certificate-reloaded"'), 'the broker to reload its certificate');
    const served = await run('sh', ['-c', `openssl s_client -connect 127.0.0.1:${broker.port} -CAfile ${join(dataDir, 'tls', 'ca.crt')} -cert ${join(dataDir, 'client', 'alice.crt')} -key ${join(dataDir, 'client', 'alice.key')} </dev/null 2>/dev/null | openssl x509 -noout -serial`]);
    assert.equal(served.stdout.trim(), `serial=${serial}`);
  });
});
