import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { DEFAULT_BROKER_CONFIG } from '../../../src/broker/broker.js';
import { stringify } from 'yaml';
import { applyConfigFile, ConfigError, loadConfigFile, parseConfigFile, toConfigFile } from '../../../src/config/config-file.js';
import { TEST_ADMIN_LISTEN } from '../../helpers/admin-endpoint.js';
import { DEFAULT_LISTENER_ADMISSION } from '../../../src/server/admission/admission-policy.js';

const run = promisify(execFile);

describe('config file', () => {
  it('layers the file over the defaults, the listener key by key', () => {
    const file = parseConfigFile('listener:\n  port: 19092\ndataDir: /var/lib/parapet\nautoCreateTopics: true\n', 'test.yaml');
    const config = applyConfigFile(DEFAULT_BROKER_CONFIG, file);
    assert.deepEqual(config.listener, { host: '127.0.0.1', port: 19092, protocol: 'SASL_SSL', ...DEFAULT_LISTENER_ADMISSION });
    assert.equal(config.dataDir, '/var/lib/parapet');
    assert.equal(config.autoCreateTopics, true);
    assert.equal(config.maxFetchBytes, DEFAULT_BROKER_CONFIG.maxFetchBytes);
    assert.equal(config.maxFetchWaitMs, 5000);
    assert.equal(applyConfigFile(DEFAULT_BROKER_CONFIG, parseConfigFile('maxFetchWaitMs: 500\n', 'c.yaml')).maxFetchWaitMs, 500);
    const names = applyConfigFile(DEFAULT_BROKER_CONFIG, parseConfigFile('maxGroupIdLength: 300\nmaxTransactionalIdLength: 64\n', 'names.yaml'));
    assert.deepEqual([names.maxGroupIdLength, names.maxTransactionalIdLength, names.maxClientIdLength], [300, 64, 255]);
  });

  it('sets the login guard key by key over its defaults, and refuses its unknown keys and out-of-range values', () => {
    const config = applyConfigFile(DEFAULT_BROKER_CONFIG, parseConfigFile('sasl:\n  loginGuard:\n    sourceBlockMs: 120000\n', 'guard.yaml'));
    assert.equal(config.security.sasl.loginGuard.sourceBlockMs, 120_000);
    assert.equal(config.security.sasl.loginGuard.sourceFreeFailures, 10);
    assert.equal(config.security.sasl.loginGuard.enabled, true);
    assert.equal(DEFAULT_BROKER_CONFIG.security.sasl.loginGuard.enabled, true);
    assert.throws(() => parseConfigFile('sasl:\n  loginGuard:\n    sourceFreeFailure: 3\n', 'typo.yaml'), /sasl\.loginGuard.*sourceFreeFailure/s);
    assert.throws(() => parseConfigFile('sasl:\n  loginGuard:\n    sourceMaxDelayMs: 600000\n', 'range.yaml'), /sasl\.loginGuard\.sourceMaxDelayMs/);
  });

  it('reads the listener connection limits and address lists, and refuses malformed blocks naming the key', () => {
    const file = parseConfigFile(
      [
        'listener:',
        '  maxConnections: 2000',
        '  maxConnectionsPerIp: auto',
        '  maxConnectionsPerIpOverrides: [{ cidr: 10.0.0.0/8, max: 500 }, { cidr: "2001:db8::/32", max: 0 }]',
        '  maxConnectionCreationRate: 300',
        '  maxConnectionCreationRatePerIp: 20',
        '  reservedFor: [192.0.2.0/24]',
        '  reservedConnections: 8',
        '  allow: [10.0.0.0/8, 127.0.0.1]',
        '  deny: [10.6.6.0/24]',
      ].join('\n'),
      'limits.yaml',
    );
    const { listener } = applyConfigFile(DEFAULT_BROKER_CONFIG, file);
    assert.equal(listener.maxConnections, 2000);
    assert.equal(listener.maxConnectionsPerIp, 'auto');
    assert.deepEqual(listener.maxConnectionsPerIpOverrides, [
      { cidr: '10.0.0.0/8', max: 500 },
      { cidr: '2001:db8::/32', max: 0 },
    ]);
    assert.deepEqual([listener.maxConnectionCreationRate, listener.maxConnectionCreationRatePerIp], [300, 20]);
    assert.deepEqual([listener.allow, listener.deny], [['10.0.0.0/8', '127.0.0.1'], ['10.6.6.0/24']]);
    assert.deepEqual([listener.reservedFor, listener.reservedConnections], [['192.0.2.0/24'], 8]);
    assert.throws(() => parseConfigFile('listener:\n  reservedFor: [192.0.2.1/24]\n', 'bad.yaml'), /listener\.reservedFor\.0: 192\.0\.2\.1\/24: has bits set after the \/24 prefix/);
    assert.throws(() => parseConfigFile('listener:\n  deny: [10.0.0.0/33]\n', 'bad.yaml'), /bad\.yaml: invalid configuration\n {2}listener\.deny\.0: 10\.0\.0\.0\/33: the prefix length must be 0 to 32/);
    assert.throws(() => parseConfigFile('listener:\n  allow: [10.1.2.3/8]\n', 'bad.yaml'), /listener\.allow\.0: 10\.1\.2\.3\/8: has bits set after the \/8 prefix \(did you mean 10\.0\.0\.0\/8\?\)/);
    assert.throws(() => parseConfigFile('listener:\n  maxConnections: 0\n', 'bad.yaml'), /listener\.maxConnections/);
    assert.throws(() => parseConfigFile('listener:\n  maxConnectionsPerIpOverrides: [{ cidr: 10.0.0.0/8 }]\n', 'bad.yaml'), /listener\.maxConnectionsPerIpOverrides\.0\.max/);
    assert.throws(() => parseConfigFile('listener:\n  alow: [10.0.0.0/8]\n', 'bad.yaml'), /alow/);
  });

  it('reads JSON too, and an empty file means the defaults', () => {
    assert.deepEqual(applyConfigFile(DEFAULT_BROKER_CONFIG, parseConfigFile('', 'empty.yaml')), DEFAULT_BROKER_CONFIG);
    assert.equal(parseConfigFile('{"nodeId": 3}', 'c.json').nodeId, 3);
  });

  it('refuses unknown keys, wrong types and out-of-range values, naming the key', () => {
    const cases: [string, RegExp][] = [
      ['listener:\n  prot: 1\n', /listener: .*prot/i],
      ['retentionMs: 5\n', /retentionMs/],
      ['listener:\n  port: 70000\n', /listener\.port/],
      ['defaultPartitions: 0\n', /defaultPartitions/],
      ['autoCreateTopics: "yes"\n', /autoCreateTopics/],
      ['listener:\n  protocol: TLS\n', /listener\.protocol/],
      ['superUsers: [alice]\n', /superUsers/],
      ['sasl:\n  mechanisms: [GSSAPI]\n', /sasl\.mechanisms/],
      ['tls:\n  clientAuth: maybe\n', /tls\.clientAuth/],
      ['allowInsecurePlaintext: 1\n', /allowInsecurePlaintext/],
      ['maxFetchWaitMs: 0\n', /maxFetchWaitMs/],
      ['maxFetchWaitMs: 2.5\n', /maxFetchWaitMs/],
      ['tls: { principalPrefix: "has space:" }\n', /tls\.principalPrefix: a principal prefix is 1 to 64 printable ASCII characters/],
      ['sasl: { oauthbearer: { principalPrefix: "" } }\n', /sasl\.oauthbearer\.principalPrefix/],
      ['tls: { crlFile: "" }\n', /tls\.crlFile/],
      ['maxGroupIdLength: 0\n', /maxGroupIdLength/],
      ['maxClientIdLength: 20000\n', /maxClientIdLength/],
      ['- a\n- b\n', /\(top level\)/],
      ['a: [unclosed\n', /not valid YAML/],
    ];
    for (const [text, expected] of cases) {
      assert.throws(
        () => parseConfigFile(text, 'bad.yaml'),
        (err: unknown) => err instanceof ConfigError && err.message.startsWith('bad.yaml') && expected.test(err.message),
        text,
      );
    }
  });

  it('toConfigFile gives the file layout of any effective config: written out and read back, it configures the same broker', () => {
    const text = [
      'listener: { host: 10.0.0.1, port: 9093, protocol: SASL_SSL }',
      'tls:',
      '  certFile: /etc/parapet/server.crt',
      '  keyFile: /etc/parapet/server.key',
      '  caFile: /etc/parapet/ca.crt',
      '  clientAuth: required',
      '  principalMapping: [{ source: subject, match: "^CN=(.*)$", principal: "User:$1", case: lower }]',
      '  principalPrefix: "cert:"',
      '  crlFile: /etc/parapet/crl.pem',
      'sasl:',
      '  mechanisms: [OAUTHBEARER, SCRAM-SHA-256]',
      '  oauthbearer: { jwksFile: /etc/parapet/jwks.json, issuer: https://issuer, audience: [parapet, other], principalPrefix: "oauth:" }',
      'superUsers: [User:ops, User:admin]',
      'allowInsecureNonLoopback: true',
      'maxFetchBytes: 1048576',
      'maxFetchWaitMs: 1000',
      'groupInitialRebalanceDelayMs: 0',
      '',
    ].join('\n');
    const config = applyConfigFile(DEFAULT_BROKER_CONFIG, parseConfigFile(text, 'rich.yaml'));
    const layout = toConfigFile(config);
    assert.equal('security' in layout, false);
    assert.deepEqual(layout.sasl?.oauthbearer?.audience, ['parapet', 'other']);
    assert.deepEqual(applyConfigFile(DEFAULT_BROKER_CONFIG, parseConfigFile(stringify(layout), 'printed')), config);
    assert.deepEqual(applyConfigFile(DEFAULT_BROKER_CONFIG, parseConfigFile(stringify(toConfigFile(DEFAULT_BROKER_CONFIG)), 'd')), DEFAULT_BROKER_CONFIG);
  });

  it('parapet check-config prints the effective config, or the problems with exit status 2', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'parapet-config-'));
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'listener:\n  host: 0.0.0.0\nmaxFetchBytes: 1048576\n');
    const { stdout, stderr } = await run(process.execPath, ['dist/src/cli/main.js', 'check-config', good]);
    // YAML in the file's own layout (security settings at the top level, not under `security`)...
    const printed = parseConfigFile(stdout, 'printed');
    assert.equal(printed.listener?.host, '0.0.0.0');
    assert.equal(printed.listener.port, 9092);
    assert.equal(printed.maxFetchBytes, 1048576);
    assert.deepEqual(printed.superUsers, ['User:admin']);
    assert.doesNotMatch(stdout, /^security:/m);
    // ...that configures the same broker when saved as a file, with the verdict as its last line.
    assert.deepEqual(applyConfigFile(DEFAULT_BROKER_CONFIG, printed), applyConfigFile(DEFAULT_BROKER_CONFIG, loadConfigFile(good), dir));
    assert.match(stdout.trimEnd().split('\n').at(-1) ?? '', /^# OK: .*good\.yaml is valid \(no warnings\)$/);
    assert.equal(stderr, '');

    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'listenr: {}\n');
    await assert.rejects(run(process.execPath, ['dist/src/cli/main.js', 'check-config', bad]), (err: { code?: number; stderr?: string }) => {
      assert.equal(err.code, 2);
      assert.match(err.stderr ?? '', /bad\.yaml: invalid configuration/);
      assert.match(err.stderr ?? '', /listenr/);
      return true;
    });
  });

  it('parapet start --config uses the file and flags override it', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'parapet-config-'));
    const file = join(dir, 'parapet.yaml');
    writeFileSync(file, `listener:\n  port: 1\ndataDir: ${join(dir, 'from-file')}\n`);
    const child = spawn(process.execPath, ['dist/src/cli/main.js', 'start', '--config', file, '--listen', '127.0.0.1:0', ...TEST_ADMIN_LISTEN]);
    t.after(() => {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('data directory:')) resolve();
      });
      child.once('exit', (code) => {
        reject(new Error(`exited ${String(code)}: ${out}`));
      });
    });
    // The flag's port 0 (any free port) replaced the file's port 1; the data dir came from the file.
    assert.match(out, /parapet listening on 127\.0\.0\.1:(\d+)/);
    assert.doesNotMatch(out, /listening on 127\.0\.0\.1:1 /);
    assert.match(out, new RegExp(`data directory: ${join(dir, 'from-file').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  });
});
