import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { parseClientConfig, Secret } from '../../../src/client/client-config.js';
import {
  ClientSettingsError,
  clientSettingsFiles,
  clientSettingsFilesIn,
  readClientSettings,
  renderClientSettings,
  rewriteClientBootstrap,
  stageClientSettings,
  writeClientSettings,
  type ClientSettings,
} from '../../../src/client/client-settings.js';

const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';

/** Names and passwords that each format must carry back unchanged: quotes, backslashes, JAAS and properties syntax, unicode. */
const TRICKY: readonly { username: string; password: string }[] = [
  { username: 'alice', password: 'plain-Passw0rd' },
  { username: `o'brien "the" \\admin`, password: `p"a\\ss'w=rd;x` },
  { username: 'zoë-名前-😀', password: 'ünïcödé 密码 😀 \u2028 end' },
  { username: 'c:\\users\\bob', password: '\\"\\\\"\\u0041\\n' },
  { username: '#not-a-comment', password: '!bang = : // /* */ ; # \t tab' },
  { username: 'name with spaces', password: '=leading-equals' },
];

function settings(over: Partial<ClientSettings> = {}): ClientSettings {
  return {
    bootstrapServers: [
      { host: '127.0.0.1', port: 9092 },
      { host: '::1', port: 9093 },
    ],
    securityProtocol: 'SASL_SSL',
    mechanism: 'SCRAM-SHA-512',
    username: 'alice',
    password: new Secret('pw'),
    caFile: '/data/tls/ca.crt',
    ...over,
  };
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-client-settings-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

type Section = Record<string, unknown>;

function sections(json: string): Record<string, Section> {
  return JSON.parse(json) as Record<string, Section>;
}

function refused(fn: () => unknown, message: RegExp, secret?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ClientSettingsError, String(err));
    assert.match(err.message, message);
    if (secret !== undefined) assert.ok(!err.message.includes(secret), 'the error does not show the password');
    return true;
  });
}

describe('client settings rendering', () => {
  it('every format carries names and passwords with quotes, backslashes and unicode back unchanged', () => {
    for (const { username, password } of TRICKY) {
      const rendered = renderClientSettings(settings({ username, password: new Secret(password) }), CA_PEM);

      const config = parseClientConfig(rendered.properties);
      assert.equal(config.sasl?.username, username);
      assert.equal(config.sasl.password.reveal(), password);
      assert.equal(config.sasl.mechanism, 'SCRAM-SHA-512');
      assert.equal(config.securityProtocol, 'SASL_SSL');
      assert.deepEqual(config.bootstrapServers, settings().bootstrapServers);
      assert.equal(config.tls.caLocation, '/data/tls/ca.crt');

      const json = sections(rendered.json);
      assert.deepEqual(json.kafkajs, {
        brokers: ['127.0.0.1:9092', '[::1]:9093'],
        ssl: { ca: [CA_PEM] },
        sasl: { mechanism: 'scram-sha-512', username, password },
      });
      assert.deepEqual(json['@platformatic/kafka'], {
        bootstrapBrokers: [
          { host: '127.0.0.1', port: 9092 },
          { host: '::1', port: 9093 },
        ],
        tls: { ca: CA_PEM },
        sasl: { mechanism: 'SCRAM-SHA-512', username, password },
      });
      assert.deepEqual(json['kafka-python'], {
        bootstrap_servers: ['127.0.0.1:9092', '[::1]:9093'],
        security_protocol: 'SASL_SSL',
        sasl_mechanism: 'SCRAM-SHA-512',
        sasl_plain_username: username,
        sasl_plain_password: password,
        ssl_cafile: '/data/tls/ca.crt',
      });
      assert.deepEqual(json['confluent-kafka'], {
        'bootstrap.servers': '127.0.0.1:9092,[::1]:9093',
        'security.protocol': 'SASL_SSL',
        'sasl.mechanisms': 'SCRAM-SHA-512',
        'sasl.username': username,
        'sasl.password': password,
        'ssl.ca.location': '/data/tls/ca.crt',
      });

      // Java's files are read as ISO-8859-1: everything else must be escaped.
      assert.match(rendered.javaProperties, /^[\x20-\x7e\n]*$/);
      // Every line is a comment or key=value: no value broke a line.
      for (const line of rendered.javaProperties.trimEnd().split('\n')) assert.match(line, /^(#.*|[a-z.]+=.*)$/);
    }
  });

  it('SASL_PLAINTEXT has no TLS settings in any format, and no CA is read for it', () => {
    const rendered = renderClientSettings(settings({ securityProtocol: 'SASL_PLAINTEXT', mechanism: 'SCRAM-SHA-256' }));
    assert.doesNotMatch(rendered.properties, /ssl\./);
    assert.doesNotMatch(rendered.javaProperties, /ssl\./);
    assert.match(rendered.javaProperties, /^security\.protocol=SASL_PLAINTEXT$/m);
    assert.match(rendered.javaProperties, /^sasl\.mechanism=SCRAM-SHA-256$/m);
    const json = sections(rendered.json);
    assert.equal('ssl' in (json.kafkajs ?? {}), false);
    assert.equal('tls' in (json['@platformatic/kafka'] ?? {}), false);
    assert.equal('ssl_cafile' in (json['kafka-python'] ?? {}), false);
    assert.equal('ssl.ca.location' in (json['confluent-kafka'] ?? {}), false);
    assert.deepEqual(json.kafkajs?.sasl, { mechanism: 'scram-sha-256', username: 'alice', password: 'pw' });
  });

  it('SASL_SSL without a CA file trusts the system CAs in every format', () => {
    const { bootstrapServers, securityProtocol, mechanism, username, password } = settings();
    const rendered = renderClientSettings({ bootstrapServers, securityProtocol, mechanism, username, password });
    assert.doesNotMatch(rendered.properties, /ssl\.ca\.location/);
    assert.doesNotMatch(rendered.javaProperties, /truststore/);
    const json = sections(rendered.json);
    assert.equal(json.kafkajs?.ssl, true);
    assert.deepEqual(json['@platformatic/kafka']?.tls, {});
    assert.equal('ssl_cafile' in (json['kafka-python'] ?? {}), false);
  });

  it('refuses what a properties file cannot carry, without showing the password', () => {
    for (const [password, message] of [
      ['two\nlines', /line break or NUL/],
      ['cr\rhere', /line break or NUL/],
      ['nul\0here', /line break or NUL/],
      [' leading', /surrounding spaces/],
      ['trailing\t', /surrounding spaces/],
      ['', /the password is empty/],
    ] as const) {
      refused(() => renderClientSettings(settings({ password: new Secret(password) }), CA_PEM), message, password === '' ? undefined : password);
    }
    refused(() => renderClientSettings(settings({ username: 'a\nb' }), CA_PEM), /the user name holds a line break/);
    refused(() => renderClientSettings(settings({ caFile: 'tls/ca.crt' }), CA_PEM), /not absolute/);
    refused(() => renderClientSettings(settings({ bootstrapServers: [] }), CA_PEM), /no bootstrap servers/);
    refused(() => renderClientSettings(settings()), /CA certificate text is needed/);
  });

  it('names the other files after the .properties file', () => {
    assert.deepEqual(clientSettingsFiles('/x/alice.properties'), {
      properties: '/x/alice.properties',
      javaProperties: '/x/alice.java.properties',
      json: '/x/alice.json',
    });
    assert.deepEqual(clientSettingsFiles('/x/creds.conf'), {
      properties: '/x/creds.conf',
      javaProperties: '/x/creds.conf.java.properties',
      json: '/x/creds.conf.json',
    });
    assert.deepEqual(clientSettingsFilesIn('/d/client', 'admin').json, '/d/client/admin.json');
  });
});

describe('client settings files', () => {
  it('writes every format mode 0600 through temporary files, reads the settings back and rewrites the bootstrap in all', (t) => {
    const dir = tempDir(t);
    const caFile = join(dir, 'ca.crt');
    writeFileSync(caFile, CA_PEM);
    const files = clientSettingsFilesIn(join(dir, 'client'), 'alice');
    const password = `p"a\\ss'wörd`;
    writeClientSettings(files, settings({ caFile, password: new Secret(password) }));
    assert.deepEqual(readdirSync(join(dir, 'client')).sort(), ['alice.java.properties', 'alice.json', 'alice.properties']);
    assert.equal(statSync(join(dir, 'client')).mode & 0o777, 0o700);
    for (const f of [files.properties, files.javaProperties, files.json]) assert.equal(statSync(f).mode & 0o777, 0o600, f);
    assert.deepEqual((sections(readFileSync(files.json, 'utf8')).kafkajs?.ssl as { ca: string[] }).ca, [CA_PEM]);

    const back = readClientSettings(files.properties);
    assert.equal(back.password.reveal(), password);
    assert.equal(back.username, 'alice');
    assert.equal(back.caFile, caFile);

    rewriteClientBootstrap(files, [{ host: '127.0.0.1', port: 40001 }]);
    const json = sections(readFileSync(files.json, 'utf8'));
    assert.deepEqual(json.kafkajs?.brokers, ['127.0.0.1:40001']);
    assert.equal(json['kafka-python']?.sasl_plain_password, password);
    assert.match(readFileSync(files.javaProperties, 'utf8'), /^bootstrap\.servers=127\.0\.0\.1:40001$/m);
    assert.equal(readClientSettings(files.properties).password.reveal(), password);
    assert.deepEqual(readdirSync(join(dir, 'client')).sort(), ['alice.java.properties', 'alice.json', 'alice.properties']);
  });

  it('staged files replace the old ones only on commit; abort leaves the old ones and no temporary file', (t) => {
    const dir = tempDir(t);
    const caFile = join(dir, 'ca.crt');
    writeFileSync(caFile, CA_PEM);
    const files = clientSettingsFilesIn(dir, 'bob');
    writeClientSettings(files, settings({ caFile, username: 'bob', password: new Secret('old-password') }));
    const before = readFileSync(files.json, 'utf8');

    const aborted = stageClientSettings(files, settings({ caFile, username: 'bob', password: new Secret('new-password') }));
    assert.equal(readFileSync(files.json, 'utf8'), before, 'nothing changes before commit');
    aborted.abort();
    assert.equal(readFileSync(files.json, 'utf8'), before);
    assert.deepEqual(readdirSync(dir).sort(), ['bob.java.properties', 'bob.json', 'bob.properties', 'ca.crt']);

    stageClientSettings(files, settings({ caFile, username: 'bob', password: new Secret('new-password') })).commit();
    assert.equal(readClientSettings(files.properties).password.reveal(), 'new-password');
    assert.match(readFileSync(files.javaProperties, 'utf8'), /password="new-password";/);
    assert.equal(sections(readFileSync(files.json, 'utf8'))['confluent-kafka']?.['sasl.password'], 'new-password');
    assert.deepEqual(readdirSync(dir).sort(), ['bob.java.properties', 'bob.json', 'bob.properties', 'ca.crt']);
  });

  it('refuses a CA location that is missing, a directory or not a certificate, before writing anything', (t) => {
    const dir = tempDir(t);
    const files = clientSettingsFilesIn(join(dir, 'out'), 'carol');
    refused(() => stageClientSettings(files, settings({ caFile: join(dir, 'missing.crt') })), /cannot read the CA certificate .*missing\.crt: no such file/);
    mkdirSync(join(dir, 'certs'));
    refused(() => stageClientSettings(files, settings({ caFile: join(dir, 'certs') })), /is a directory: the client settings embed the CA certificate/);
    // A PEM file of another kind (a CRL) is not a CA certificate.
    writeFileSync(join(dir, 'crl.pem'), '-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n');
    refused(() => stageClientSettings(files, settings({ caFile: join(dir, 'crl.pem') })), /holds no PEM certificate/);
    mkdirSync(join(dir, 'out', 'carol.json'), { recursive: true });
    writeFileSync(join(dir, 'ca.crt'), CA_PEM);
    refused(() => stageClientSettings(files, settings({ caFile: join(dir, 'ca.crt') })), /carol\.json is a directory/);
    assert.deepEqual(readdirSync(join(dir, 'out')), ['carol.json'], 'no staged file is left behind');
  });

  it('refuses to read back a properties file without a SCRAM login', (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'plain.properties');
    writeFileSync(file, 'bootstrap.servers=h:1\nsecurity.protocol=SASL_SSL\nsasl.mechanisms=PLAIN\nsasl.username=u\nsasl.password=p\n', { mode: 0o600 });
    refused(() => readClientSettings(file), /uses PLAIN, not a SCRAM mechanism/);
    writeFileSync(file, 'bootstrap.servers=h:1\nsecurity.protocol=SSL\n');
    refused(() => readClientSettings(file), /holds no SASL login/);
  });
});

const run = promisify(execFile);

function hasJava(): boolean {
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Kafka's Java client jars cannot be installed here, so the Java file is checked with the JDK's own
 * parsers, the ones Kafka's client uses: java.util.Properties for the file and java.io.StreamTokenizer,
 * set up as Kafka's JaasConfig sets it up, for sasl.jaas.config (test/fixtures/java).
 */
describe('client settings for Java', { skip: hasJava() ? false : 'no java on this machine' }, () => {
  it('java.util.Properties and the JAAS tokenizer read back the exact names, passwords and paths', async (t) => {
    const dir = tempDir(t);
    const caFile = join(dir, 'tls dir', 'cä.crt');
    const files = TRICKY.map(({ username, password }, index) => {
      const file = join(dir, `u${index}.java.properties`);
      writeFileSync(file, renderClientSettings(settings({ username, password: new Secret(password), caFile }), CA_PEM).javaProperties);
      return file;
    });
    // One JVM for every file: starting one (and compiling the reader) takes seconds.
    const { stdout } = await run('java', ['test/fixtures/java/ReadJavaClientSettings.java', ...files], { timeout: 60_000 });
    const seenByFile = new Map<string, Map<string, string>>();
    let current = new Map<string, string>();
    for (const line of stdout.trimEnd().split('\n')) {
      const [key = '', hex = ''] = line.split('\t');
      const value = Buffer.from(hex, 'hex').toString('utf8');
      if (key === 'file') seenByFile.set(value, (current = new Map<string, string>()));
      else current.set(key, value);
    }
    assert.equal(seenByFile.size, TRICKY.length);
    for (const [index, { username, password }] of TRICKY.entries()) {
      const seen = seenByFile.get(files[index] ?? '') ?? new Map<string, string>();
      assert.equal(seen.get('bootstrap.servers'), '127.0.0.1:9092,[::1]:9093');
      assert.equal(seen.get('security.protocol'), 'SASL_SSL');
      assert.equal(seen.get('sasl.mechanism'), 'SCRAM-SHA-512');
      assert.equal(seen.get('ssl.truststore.type'), 'PEM');
      assert.equal(seen.get('ssl.truststore.location'), caFile);
      assert.equal(seen.get('jaas.module'), 'org.apache.kafka.common.security.scram.ScramLoginModule');
      assert.equal(seen.get('jaas.flag'), 'required');
      assert.equal(seen.get('jaas.option.username'), username, `username of case ${index}`);
      assert.equal(seen.get('jaas.option.password'), password, `password of case ${index}`);
    }
  });
});
