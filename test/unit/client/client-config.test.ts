import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { inspect } from 'node:util';
import { ClientConfigError, parseBootstrapServers, parseClientConfig, readClientConfig } from '../../../src/client/client-config.js';
import { readClientSettings } from '../../../src/client/client-settings.js';

const SECRET = 'Sup3r-s3cret=pa55,word#1';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-client-config-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

function parseError(text: string): ClientConfigError {
  try {
    parseClientConfig(text, 'test.properties');
  } catch (err) {
    assert.ok(err instanceof ClientConfigError, `expected a ClientConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the config to be refused');
}

describe('client config', () => {
  it('reads a SASL_SSL config: comments, spacing, case-insensitive protocol, unknown keys ignored', () => {
    const config = parseClientConfig(
      [
        '# admin client',
        '  bootstrap.servers = SASL_SSL://broker-1:9093, [::1]:9094,broker-2',
        'security.protocol=sasl_ssl',
        'sasl.mechanisms=scram-sha-512',
        'sasl.username=admin',
        `sasl.password=${SECRET}`,
        'ssl.ca.location=/etc/parapet/ca.pem',
        'ssl.certificate.location=/etc/parapet/admin.pem',
        'ssl.key.location=/etc/parapet/admin.key',
        'linger.ms=5',
        '',
      ].join('\r\n'),
    );
    assert.deepEqual(config.bootstrapServers, [
      { host: 'broker-1', port: 9093 },
      { host: '::1', port: 9094 },
      { host: 'broker-2', port: 9092 },
    ]);
    assert.equal(config.securityProtocol, 'SASL_SSL');
    assert.ok(config.sasl);
    assert.equal(config.sasl.mechanism, 'SCRAM-SHA-512');
    assert.equal(config.sasl.username, 'admin');
    // Split at the first "=", so "=" and "#" inside a password survive.
    assert.equal(config.sasl.password.reveal(), SECRET);
    assert.deepEqual(config.tls, {
      caLocation: '/etc/parapet/ca.pem',
      certificateLocation: '/etc/parapet/admin.pem',
      keyLocation: '/etc/parapet/admin.key',
    });
  });

  it('accepts sasl.mechanism as a spelling of sasl.mechanisms, and defaults to PLAINTEXT like librdkafka', () => {
    const sasl = parseClientConfig('security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-256\nsasl.username=u\nsasl.password=p\n');
    assert.equal(sasl.sasl?.mechanism, 'SCRAM-SHA-256');
    const plain = parseClientConfig('bootstrap.servers=localhost:9092\n');
    assert.equal(plain.securityProtocol, 'PLAINTEXT');
    assert.equal(plain.sasl, undefined);
    assert.deepEqual(parseClientConfig('# nothing').bootstrapServers, []);
  });

  it('keeps the password out of inspect, JSON and string conversion', () => {
    const config = parseClientConfig(`security.protocol=SASL_SSL\nsasl.mechanisms=PLAIN\nsasl.username=u\nsasl.password=${SECRET}\n`);
    assert.ok(!inspect(config, { depth: 10 }).includes(SECRET));
    assert.ok(!JSON.stringify(config).includes(SECRET));
    assert.equal(String(config.sasl?.password), '[redacted]');
    assert.match(inspect(config, { depth: 10 }), /redacted/);
  });

  it('refuses invalid settings with the file and line', () => {
    assert.match(parseError('\n\nsecurity.protocol=TLS\n').message, /^test\.properties: line 3: security\.protocol must be one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL \(got "TLS"\)$/);
    assert.match(parseError('security.protocol=SASL_SSL\nsasl.username=u\nsasl.password=p\n').message, /sasl\.mechanism must be set/);
    assert.match(parseError('security.protocol=SASL_SSL\nsasl.mechanisms=GSSAPI\nsasl.username=u\nsasl.password=p\n').message, /line 2: sasl\.mechanisms must be one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512/);
    assert.match(parseError('security.protocol=SASL_SSL\nsasl.mechanisms=PLAIN\nsasl.password=p\n').message, /sasl\.username must be set/);
    assert.match(parseError('bootstrap.servers=host:notaport\n').message, /line 1: bootstrap\.servers is invalid/);
    assert.match(parseError('ssl.certificate.location=/c.pem\n').message, /together/);
  });

  it('never puts the password in an error', () => {
    const cases = [
      // A password on a line without a key: reported by line number only.
      `security.protocol=SASL_SSL\n${SECRET.replace(/=/g, '')}\n`,
      `sasl.password=${SECRET}\n`,
      `security.protocol=PLAINTEXT\nsasl.username=u\nsasl.password=${SECRET}\n`,
      `security.protocol=SASL_SSL\nsasl.mechanisms=NOPE\nsasl.username=u\nsasl.password=${SECRET}\n`,
      `security.protocol=SASL_SSL\nsasl.mechanisms=PLAIN\nsasl.password=${SECRET}\n`,
      `security.protocol=bogus\nsasl.password=${SECRET}\n`,
    ];
    for (const text of cases) {
      const err = parseError(text);
      assert.ok(!err.message.includes(SECRET) && !err.message.includes(SECRET.replace(/=/g, '')), err.message);
      assert.ok(!inspect(err).includes(SECRET.replace(/=/g, '')));
    }
    assert.match(parseError(`security.protocol=SASL_SSL\n${SECRET.replace(/=/g, '')}\n`).message, /line 2 is not a key=value setting$/);
    assert.match(parseError(`sasl.password=${SECRET}\n`).message, /sasl\.password is set but security\.protocol is PLAINTEXT/);
  });

  it('parses bootstrap lists and refuses malformed ones', () => {
    assert.deepEqual(parseBootstrapServers('a:1,b:2'), [
      { host: 'a', port: 1 },
      { host: 'b', port: 2 },
    ]);
    assert.deepEqual(parseBootstrapServers('[fe80::1]'), [{ host: 'fe80::1', port: 9092 }]);
    for (const bad of ['', ' , ', 'a:0', 'a:65536', '::1:9092', '[nothost]:1', 'a:b:c']) {
      assert.throws(() => parseBootstrapServers(bad), ClientConfigError, bad);
    }
  });

  it('refuses a file holding a password that group or others can read', { skip: process.platform === 'win32' }, (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'admin.properties');
    writeFileSync(path, `bootstrap.servers=localhost:9092\nsecurity.protocol=SASL_SSL\nsasl.mechanisms=SCRAM-SHA-512\nsasl.username=admin\nsasl.password=${SECRET}\n`);
    for (const mode of [0o644, 0o640, 0o604, 0o660]) {
      chmodSync(path, mode);
      assert.throws(
        () => readClientConfig(path),
        (err: unknown) => {
          assert.ok(err instanceof ClientConfigError);
          assert.ok(err.message.includes(`chmod 600 ${path}`), err.message);
          assert.ok(err.message.includes(`(${mode.toString(8)})`), err.message);
          assert.ok(!err.message.includes(SECRET));
          return true;
        },
      );
    }
    chmodSync(path, 0o600);
    assert.equal(readClientConfig(path).sasl?.username, 'admin');
    chmodSync(path, 0o400);
    assert.equal(readClientConfig(path).sasl?.username, 'admin');
  });

  it('reads a world-readable file without a password, and names a missing file', { skip: process.platform === 'win32' }, (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'plain.properties');
    writeFileSync(path, 'bootstrap.servers=localhost:9092\nsecurity.protocol=SSL\nssl.ca.location=/ca.pem\n# sasl.password=commented out\n');
    chmodSync(path, 0o644);
    assert.equal(readClientConfig(path).securityProtocol, 'SSL');
    assert.throws(() => readClientConfig(join(dir, 'missing.properties')), /cannot read client config .*missing\.properties: no such file/);
  });

  it('takes sasl.password by reference, ${file:} (owner-only, relative to the file) or ${env:}, in a file anyone may read', { skip: process.platform === 'win32' }, (t) => {
    const dir = tempDir(t);
    const head = 'bootstrap.servers=localhost:9092\nsecurity.protocol=SASL_SSL\nsasl.mechanisms=SCRAM-SHA-512\nsasl.username=admin\n';
    writeFileSync(join(dir, 'admin.password'), `${SECRET}\n`, { mode: 0o600 });
    const byFile = join(dir, 'by-file.properties');
    writeFileSync(byFile, `${head}sasl.password=\${file:admin.password}\n`, { mode: 0o644 });
    chmodSync(byFile, 0o644);
    const fromFile = readClientConfig(byFile).sasl;
    assert.ok(fromFile);
    assert.equal(fromFile.password.reveal(), SECRET, 'the final newline is not part of the password');
    assert.equal(fromFile.passwordReference, '${file:admin.password}');
    // Its other formats would have to hold the password itself: Parapet does not write them from it.
    assert.throws(() => readClientSettings(byFile), /takes sasl\.password from \$\{file:admin\.password\}/);

    const byEnv = join(dir, 'by-env.properties');
    writeFileSync(byEnv, `${head}sasl.password=\${env:PARAPET_TEST_CLIENT_PASSWORD}\n`, { mode: 0o644 });
    chmodSync(byEnv, 0o644);
    process.env.PARAPET_TEST_CLIENT_PASSWORD = SECRET;
    t.after(() => {
      delete process.env.PARAPET_TEST_CLIENT_PASSWORD;
    });
    assert.equal(readClientConfig(byEnv).sasl?.password.reveal(), SECRET);
    delete process.env.PARAPET_TEST_CLIENT_PASSWORD;
    assert.throws(() => readClientConfig(byEnv), /by-env\.properties: line 5: sasl\.password = \$\{env:PARAPET_TEST_CLIENT_PASSWORD\}: the environment variable PARAPET_TEST_CLIENT_PASSWORD is not set$/);

    // The file a reference names must be owner-only; refused unread, with the fix.
    chmodSync(join(dir, 'admin.password'), 0o640);
    assert.throws(
      () => readClientConfig(byFile),
      (err: unknown) => {
        assert.ok(err instanceof ClientConfigError);
        assert.ok(err.message.includes(`${join(dir, 'admin.password')} may be read by other accounts (mode 640): \`chmod 600 ${join(dir, 'admin.password')}\``), err.message);
        assert.ok(!err.message.includes(SECRET));
        return true;
      },
    );
    const cases: [string, RegExp][] = [
      ['${file:nothing}', /cannot read .*nothing \(ENOENT\)/],
      [`\${file:${dir}}`, /is not a file/],
      ['${vault:admin}', /sasl\.password looks like a reference but is not one/],
      ['${env:}', /sasl\.password looks like a reference but is not one/],
    ];
    for (const [reference, message] of cases) {
      const path = join(dir, 'case.properties');
      writeFileSync(path, `${head}sasl.password=${reference}\n`, { mode: 0o600 });
      assert.throws(() => readClientConfig(path), message, reference);
    }
    writeFileSync(join(dir, 'empty.password'), '\n', { mode: 0o600 });
    writeFileSync(join(dir, 'empty.properties'), `${head}sasl.password=\${file:empty.password}\n`, { mode: 0o600 });
    assert.throws(() => readClientConfig(join(dir, 'empty.properties')), /the password is empty/);
  });

  it('still refuses a file that others may read when any sasl.password line holds a password', { skip: process.platform === 'win32' }, (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'mixed.properties');
    writeFileSync(path, `security.protocol=SASL_SSL\nsasl.mechanisms=PLAIN\nsasl.username=u\nsasl.password=${SECRET}\nsasl.password=\${env:HOME}\n`);
    chmodSync(path, 0o644);
    assert.throws(() => readClientConfig(path), /chmod 600/);
  });
});
