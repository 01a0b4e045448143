import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CLI } from '../helpers/cli-process.js';
import { kcat } from '../interop/security-support.js';
import { eventually, startBrokerProcess } from '../security/attack-support.js';

/**
 * Secrets by reference never leak (issue 16, item 1): a broker whose every secret comes from
 * `${env:…}` or `${file:…}` with random values, driven through the CLI commands that touch them, its
 * failures made to happen (wrong references, unreadable and group-readable files, wrong passwords);
 * then everything it and the commands wrote is searched for every secret, raw, base64, base64url and
 * hex: broker output, every command's output, every file of the data directory, the __audit topic.
 */

interface Run {
  readonly code: number;
  readonly out: string;
}

const outputs: string[] = [];

function cli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      const out = `${stdout}${stderr}`;
      // The output only: one command line holds a token on purpose (to see it refused).
      outputs.push(out);
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, out });
    });
  });
}

/** Each secret in the forms it could be written in. */
function encodings(secret: string | Buffer): Buffer[] {
  const raw = Buffer.isBuffer(secret) ? secret : Buffer.from(secret, 'utf8');
  const forms = [raw.toString('base64').replace(/=+$/, ''), raw.toString('base64url'), raw.toString('hex'), raw.toString('hex').toUpperCase()];
  return [raw, ...forms.map((f) => Buffer.from(f, 'utf8'))];
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
}

describe('secrets by reference never leak', () => {
  it('no secret from ${env:} or ${file:} appears in any output, file of the data directory or the __audit topic', async (t) => {
    const home = mkdtempSync(join(tmpdir(), 'parapet-leaks-'));
    t.after(() => {
      rmSync(home, { recursive: true, force: true });
    });
    const secretsDir = join(home, 'secrets');
    mkdirSync(secretsDir, { mode: 0o700 });
    const dataDir = join(home, 'data');

    // The secrets: random, so that any trace of one is found, whatever its encoding.
    const masterKey = randomBytes(32);
    const adminToken = randomBytes(24).toString('hex');
    const wrongToken = randomBytes(24).toString('hex');
    const userPassword = randomBytes(18).toString('base64url');
    const wrongPassword = randomBytes(18).toString('base64url');
    const pkcs11Pin = randomBytes(9).toString('base64url');
    const signing = generateKeyPairSync('ed25519');
    const signingPem = signing.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const signingDer = signing.privateKey.export({ format: 'der', type: 'pkcs8' });
    const signingSeed = Buffer.from(signing.privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
    const env = {
      PARAPET_LEAK_MASTER_KEY: masterKey.toString('hex'),
      PARAPET_LEAK_ADMIN_TOKEN: adminToken,
      PARAPET_LEAK_WRONG_TOKEN: wrongToken,
      PARAPET_LEAK_USER_PASSWORD: userPassword,
      PARAPET_LEAK_PIN: pkcs11Pin,
    };
    const secretFile = (name: string, content: string, mode = 0o600) => {
      const path = join(secretsDir, name);
      writeFileSync(path, content, { mode });
      chmodSync(path, mode);
      return path;
    };
    const signingKeyFile = secretFile('audit-signing.key', signingPem);

    // init, then every secret of its parapet.yaml by reference to the values above.
    const init = await cli(['init', '--data-dir', dataDir, '--listen', '127.0.0.1:9092']);
    assert.equal(init.code, 0, init.out);
    const yamlFile = join(dataDir, 'parapet.yaml');
    const yaml = readFileSync(yamlFile, 'utf8')
      .replace(/^ {2}masterKey: .*$/m, '  masterKey: ${env:PARAPET_LEAK_MASTER_KEY}')
      .replace(/^ {2}signingKey: .*$/m, `  signingKey: \${file:${signingKeyFile}}`);
    writeFileSync(yamlFile, `${yaml}adminEndpoint:\n  bearerToken: \${env:PARAPET_LEAK_ADMIN_TOKEN}\n`);
    // The admin's password (init's, random) leaves the data directory: its client config names it.
    const adminProperties = join(dataDir, 'client', 'admin.properties');
    const adminPassword = /^sasl\.password=(.+)$/m.exec(readFileSync(adminProperties, 'utf8'))?.[1] ?? '';
    assert.ok(adminPassword.length >= 24);
    const adminPasswordFile = secretFile('admin.password', `${adminPassword}\n`);
    writeFileSync(adminProperties, readFileSync(adminProperties, 'utf8').replace(/^sasl\.password=.*$/m, `sasl.password=\${file:${adminPasswordFile}}`));
    // A reference is not a secret: the file that holds one may be read by anyone.
    chmodSync(adminProperties, 0o644);
    for (const f of ['admin.java.properties', 'admin.json']) rmSync(join(dataDir, 'client', f));
    const kcatConfig = secretFile('kcat.properties', readFileSync(adminProperties, 'utf8').replace(/^sasl\.password=.*$/m, `sasl.password=${adminPassword}`));

    // check-config, while the broker starts.
    const [check, broker] = await Promise.all([cli(['check-config', yamlFile], env), startBrokerProcess(t, { dataDir, env })]);
    assert.equal(check.code, 0, check.out);
    assert.match(check.out, /masterKey: \$\{env:PARAPET_LEAK_MASTER_KEY\}\n/, 'the reference as written');
    assert.match(check.out, /# {3}encryptionAtRest\.masterKey: \$\{env:PARAPET_LEAK_MASTER_KEY\}: set \(from env PARAPET_LEAK_MASTER_KEY\)/);
    assert.ok(check.out.includes(`#   audit.signingKey: \${file:${signingKeyFile}}: set (from file ${signingKeyFile}, mode 600)`), check.out);
    assert.match(check.out, /# {3}adminEndpoint\.bearerToken: \$\{env:PARAPET_LEAK_ADMIN_TOKEN\}: set \(from env PARAPET_LEAK_ADMIN_TOKEN\)/);

    await eventually(() => /admin endpoint: http:\/\/\S+\/metrics/.test(broker.output()), 'the admin endpoint line');
    const adminUrl = /admin endpoint: (http:\/\/\S+)\/metrics/.exec(broker.output())?.[1] ?? '';
    const at = ['--data-dir', dataDir];
    // A restart on a free port: the client configs are pointed at it.
    for (const f of [adminProperties, kcatConfig]) writeFileSync(f, readFileSync(f, 'utf8').replace(/^bootstrap\.servers=.*$/m, `bootstrap.servers=${broker.bootstrap}`));

    // What works, with every secret by reference: the admin's password (a file), a new user's (the
    // environment), the endpoint's token (the environment), the signing key (audit verify reads it).
    const [users, added, byToken, verify, created] = await Promise.all([
      cli(['user', 'list', ...at]),
      cli(['user', 'add', 'leaky', '--password', '${env:PARAPET_LEAK_USER_PASSWORD}', ...at], env),
      cli(['sessions', 'list', '--admin-url', adminUrl, '--bearer-token', '${env:PARAPET_LEAK_ADMIN_TOKEN}', ...at], env),
      cli(['audit', 'verify', ...at]),
      cli(['topic', 'create', 'leak-topic', ...at]),
    ]);
    assert.equal(users.code, 0, users.out);
    assert.match(users.out, /^admin {2}SCRAM-SHA-256/m);
    assert.equal(added.code, 0, added.out);
    assert.match(added.out, /created user "leaky"/);
    assert.equal(byToken.code, 0, byToken.out);
    assert.equal(verify.code, 0, verify.out);
    assert.equal(created.code, 0, created.out);
    const leakyConfig = join(home, 'leaky.properties');
    writeFileSync(leakyConfig, readFileSync(adminProperties, 'utf8').replace(/^sasl\.username=.*$/m, 'sasl.username=leaky').replace(/^sasl\.password=.*$/m, 'sasl.password=${env:PARAPET_LEAK_USER_PASSWORD}'), { mode: 0o644 });
    const [asLeaky, acls, produced] = await Promise.all([
      // leaky may describe no topic: an empty list, after a login with the password from the environment.
      cli(['topic', 'list', '--client-config', leakyConfig, ...at], env),
      cli(['acl', 'list', ...at]),
      kcat(['-F', kcatConfig, '-X', 'sasl.mechanisms=PLAIN', '-P', '-t', 'leak-topic', '-p', '0'], { input: Buffer.from('one\n') }),
    ]);
    assert.equal(asLeaky.code, 0, asLeaky.out);
    assert.equal(acls.code, 0, acls.out);
    assert.equal(produced.code, 0, produced.stderr);

    // What fails: each refusal names the reference or the file, never the secret. (Every kind of
    // refusal of a client config's reference is in test/unit/client/client-config.test.ts.)
    const refConfig = (name: string, reference: string) => {
      const path = join(home, `${name}.properties`);
      writeFileSync(path, readFileSync(adminProperties, 'utf8').replace(/^sasl\.password=.*$/m, `sasl.password=${reference}`), { mode: 0o644 });
      return path;
    };
    const groupReadable = secretFile('group-readable.password', `${adminPassword}\n`, 0o640);
    const wrongFile = secretFile('wrong.password', `${wrongPassword}\n`);
    const openTokenFile = secretFile('open.token', `${adminToken}\n`, 0o644);
    // check-config refuses what start would: a group-readable signing key, an unset variable; and
    // says where a pin comes from.
    const weakYaml = join(home, 'weak.yaml');
    writeFileSync(weakYaml, `dataDir: ${dataDir}\naudit:\n  signingKey: \${file:${groupReadable}}\nadminEndpoint:\n  bearerToken: \${env:PARAPET_LEAK_UNSET}\n`);
    const pinYaml = join(home, 'pin.yaml');
    writeFileSync(pinYaml, `dataDir: ${dataDir}\nencryptionAtRest:\n  provider: pkcs11\n  pkcs11:\n    module: /usr/lib/softhsm/libsofthsm2.so\n    tokenLabel: parapet\n    pin: \${env:PARAPET_LEAK_PIN}\n`);
    const cases: [string[], NodeJS.ProcessEnv, number, RegExp][] = [
      [['user', 'list', '--client-config', refConfig('unset', '${env:PARAPET_LEAK_UNSET}'), ...at], {}, 1, /sasl\.password = \$\{env:PARAPET_LEAK_UNSET\}: the environment variable PARAPET_LEAK_UNSET is not set/],
      [['user', 'list', '--client-config', refConfig('group', `\${file:${groupReadable}}`), ...at], {}, 1, new RegExp(`${groupReadable} may be read by other accounts \\(mode 640\\): \`chmod 600 ${groupReadable}\``)],
      [['user', 'list', '--client-config', refConfig('wrong', `\${file:${wrongFile}}`), ...at], {}, 1, /[Aa]uthentication failed|invalid credentials/],
      [['sessions', 'list', '--admin-url', adminUrl, '--bearer-token', '${env:PARAPET_LEAK_WRONG_TOKEN}', ...at], env, 1, /refused the credentials \(bearer token\)/],
      [['sessions', 'list', '--admin-url', adminUrl, '--bearer-token', adminToken, ...at], {}, 2, /--bearer-token takes a reference/],
      [['sessions', 'list', '--admin-url', adminUrl, '--bearer-token-file', openTokenFile, ...at], {}, 1, new RegExp(`--bearer-token-file: ${openTokenFile} may be read by other accounts \\(mode 644\\)`)],
      [['user', 'add', 'nobody', '--password', '${env:PARAPET_LEAK_UNSET}', ...at], {}, 1, /--password: the environment variable PARAPET_LEAK_UNSET is not set/],
      [['check-config', weakYaml], {}, 2, /adminEndpoint\.bearerToken: the environment variable PARAPET_LEAK_UNSET is not set/],
      [['check-config', pinYaml], env, 0, /encryptionAtRest\.pkcs11\.pin: \$\{env:PARAPET_LEAK_PIN\}: set \(from env PARAPET_LEAK_PIN\)/],
    ];
    // Logins that fail at the broker: SCRAM with a wrong password (a case above); PLAIN, which sends
    // the password itself, with kcat: two attempts at most (librdkafka retries a failed login), fewer
    // than the login guard lets a source fail freely, so that the admin can still read __audit below.
    const [runs, plain] = await Promise.all([
      Promise.all(cases.map(([args, extraEnv]) => cli(args, extraEnv))),
      kcat(['-F', kcatConfig, '-X', 'sasl.mechanisms=PLAIN', '-X', `sasl.password=${wrongPassword}`, '-X', 'reconnect.backoff.ms=1500', '-X', 'reconnect.backoff.max.ms=1500', '-L', '-m', '2'], { timeoutMs: 15_000 }),
    ]);
    assert.notEqual(plain.code, 0);
    outputs.push(plain.stdout.toString(), plain.stderr);
    for (const [index, [args, , code, message]] of cases.entries()) {
      const run = runs[index];
      assert.ok(run !== undefined);
      assert.equal(run.code, code, `parapet ${args[0] ?? ''} ${args[1] ?? ''}: ${run.out}`);
      assert.match(run.out, message);
      assert.doesNotMatch(run.out, /\n\s+at /, 'no stack trace');
    }
    assert.ok(runs[7]?.out.includes(`audit.signingKey: ${groupReadable} may be read by other accounts (mode 640): \`chmod 600 ${groupReadable}\``), runs[7]?.out);
    // The __audit topic, read as the admin.
    const audit = await kcat(['-F', kcatConfig, '-C', '-t', '__audit', '-e', '-q', '-o', 'beginning'], { timeoutMs: 20_000 });
    assert.equal(audit.code, 0, audit.stderr);
    const auditTopic = audit.stdout.toString();
    assert.match(auditTopic, /leaky/, 'the audit topic holds the events of this test');
    assert.match(auditTopic, /"unmapped":|"class_uid"/);
    assert.equal(await broker.stop(), 0);

    const secrets: [string, Buffer[]][] = [
      ['master key', [...encodings(masterKey), ...encodings(masterKey.toString('hex'))]],
      ['admin endpoint bearer token', encodings(adminToken)],
      ['wrong bearer token', encodings(wrongToken)],
      ['user password', encodings(userPassword)],
      ['wrong password', encodings(wrongPassword)],
      ['admin password', encodings(adminPassword)],
      ['pkcs11 pin', encodings(pkcs11Pin)],
      ['audit signing key', [...encodings(signingSeed), ...encodings(signingDer), Buffer.from(signingPem.split('\n')[1] ?? 'absent', 'utf8')]],
    ];
    const places: [string, Buffer][] = [
      ['broker output', Buffer.from(broker.output(), 'utf8')],
      ['command output', Buffer.from(outputs.join('\n'), 'utf8')],
      ['__audit topic', audit.stdout],
      ...filesUnder(dataDir).map((f): [string, Buffer] => [f, readFileSync(f)]),
    ];
    assert.ok(places.some(([p]) => p.includes(`${join(dataDir, 'audit')}/`)), 'the audit files are searched');
    assert.ok(places.length > 10, `searched: ${places.map(([p]) => p).join(', ')}`);
    for (const [place, content] of places) {
      for (const [what, forms] of secrets) {
        for (const form of forms) assert.equal(content.indexOf(form), -1, `the ${what} (as ${form.length} bytes) appears in ${place}`);
      }
    }
  });
});
