import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { jaasQuoted, javaPropertiesValue } from '../../src/client/java-properties.js';
import { ok, parapet } from '../helpers/admin-cli.js';
import { startBroker } from '../helpers/broker.js';

/**
 * Asserts that every client settings file of `<stem>` (.properties, .java.properties, each section of
 * .json) holds `password`. The Java line is compared with its escaped form; the unit tests of
 * client-settings check that form with Java's own parsers.
 */
function assertPasswordEverywhere(stem: string, password: string): void {
  assert.equal(/^sasl\.password=(.*)$/m.exec(readFileSync(`${stem}.properties`, 'utf8'))?.[1], password, `${stem}.properties`);
  const jaas = /^sasl\.jaas\.config=(.*)$/m.exec(readFileSync(`${stem}.java.properties`, 'utf8'))?.[1] ?? '';
  assert.ok(jaas.endsWith(` password=${javaPropertiesValue(jaasQuoted(password))};`), `${stem}.java.properties: ${jaas}`);
  const json = JSON.parse(readFileSync(`${stem}.json`, 'utf8')) as Record<string, Record<string, unknown>>;
  const sasl = (section: string) => json[section]?.sasl as { password?: string } | undefined;
  assert.deepEqual(
    [sasl('kafkajs')?.password, sasl('@platformatic/kafka')?.password, json['kafka-python']?.sasl_plain_password, json['confluent-kafka']?.['sasl.password']],
    [password, password, password, password],
    `${stem}.json`,
  );
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-cli-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** A broker (plaintext and anonymous today) and a client config for it. */
async function setup(t: TestContext): Promise<{ dir: string; bootstrap: string; flags: string[] }> {
  const { bootstrap } = await startBroker(t);
  const dir = tempDir(t);
  const file = join(dir, 'admin.properties');
  writeFileSync(file, `# test admin\nbootstrap.servers=${bootstrap}\nsecurity.protocol=PLAINTEXT\n`, { mode: 0o600 });
  return { dir, bootstrap, flags: ['--client-config', file, '--data-dir', dir] };
}

describe('parapet topic', () => {
  it('creates, lists, describes and deletes a topic', async (t) => {
    const { flags } = await setup(t);
    assert.equal(ok(await parapet(['topic', 'create', 'orders', '--partitions', '3', '--config', 'retention.ms=60000', ...flags])), 'created topic "orders"\n');
    ok(await parapet(['topic', 'create', 'audit', ...flags]));
    assert.equal(ok(await parapet(['topic', 'list', ...flags])), 'audit\norders\n');

    const described = ok(await parapet(['topic', 'describe', 'orders', ...flags]));
    const lines = described.trimEnd().split('\n');
    assert.equal(lines[0], 'topic: orders');
    assert.equal(lines[1], 'partitions: 3');
    assert.deepEqual(
      lines.filter((l) => l.startsWith('  partition ')).map((l) => /^ {2}partition (\d+): leader=\d+ replicas=\d+ isr=\d+$/.exec(l)?.[1]),
      ['0', '1', '2'],
    );
    // Only the config that was set is shown by default; every one with --all-configs.
    assert.deepEqual(
      lines.slice(lines.indexOf('configs:') + 1),
      ['  retention.ms=60000'],
    );
    const all = ok(await parapet(['topic', 'describe', 'orders', '--all-configs', ...flags]));
    assert.match(all, /^ {2}retention\.ms=60000 {2}\(DYNAMIC_TOPIC_CONFIG\)$/m);
    assert.match(all, /^ {2}cleanup\.policy=delete {2}\(DEFAULT_CONFIG\)$/m);
    assert.match(ok(await parapet(['topic', 'describe', 'audit', ...flags])), /^configs: \(all default\)$/m);

    assert.equal(ok(await parapet(['topic', 'delete', 'orders', ...flags])), 'deleted topic "orders"\n');
    assert.equal(ok(await parapet(['topic', 'list', ...flags])), 'audit\n');
  });

  it('reports Kafka errors by name on stderr with exit code 1', async (t) => {
    const { flags } = await setup(t);
    const missing = await parapet(['topic', 'describe', 'nope', ...flags]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stdout, '');
    assert.match(missing.stderr, /^parapet: describe topic "nope" failed: UNKNOWN_TOPIC_OR_PARTITION \(3\)/);
    // Describing must not have auto-created it.
    assert.equal(ok(await parapet(['topic', 'list', ...flags])), '');

    ok(await parapet(['topic', 'create', 'dup', ...flags]));
    const again = await parapet(['topic', 'create', 'dup', ...flags]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^parapet: create topic "dup" failed: TOPIC_ALREADY_EXISTS \(36\)/);

    const badConfig = await parapet(['topic', 'create', 'x', '--config', 'retention.ms=soon', ...flags]);
    assert.equal(badConfig.code, 1);
    assert.match(badConfig.stderr, /INVALID_CONFIG \(40\)/);

    const deleteMissing = await parapet(['topic', 'delete', 'nope', ...flags]);
    assert.equal(deleteMissing.code, 1);
    assert.match(deleteMissing.stderr, /delete topic "nope" failed: UNKNOWN_TOPIC_OR_PARTITION \(3\)/);
  });

  it('takes --bootstrap over bootstrap.servers, and the config from <data-dir>/client/admin.properties by default', async (t) => {
    const { bootstrap, dir } = await setup(t);
    const dataDir = join(dir, 'data');
    const noConfig = await parapet(['topic', 'list', '--data-dir', dataDir]);
    assert.equal(noConfig.code, 1);
    assert.match(noConfig.stderr, /^parapet: no client config at .*data\/client\/admin\.properties: pass --client-config FILE/);

    const clientDir = join(dataDir, 'client');
    mkdirSync(clientDir, { recursive: true });
    // Port 1 is closed: only --bootstrap can make this work.
    writeFileSync(join(clientDir, 'admin.properties'), 'bootstrap.servers=127.0.0.1:1\nsecurity.protocol=PLAINTEXT\n');
    const refused = await parapet(['topic', 'list', '--data-dir', dataDir]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /cannot connect to 127\.0\.0\.1:1: ECONNREFUSED/);
    ok(await parapet(['topic', 'create', 'via-default', '--data-dir', dataDir, '--bootstrap', bootstrap]));
    assert.equal(ok(await parapet(['topic', 'list', '--data-dir', dataDir, '--bootstrap', bootstrap])), 'via-default\n');
  });

  it('refuses a client config holding a password that others can read, without showing it', { skip: process.platform === 'win32' }, async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'loose.properties');
    const secret = 'do-not-print-me-0123';
    writeFileSync(file, `bootstrap.servers=127.0.0.1:1\nsecurity.protocol=SASL_SSL\nsasl.mechanisms=SCRAM-SHA-512\nsasl.username=admin\nsasl.password=${secret}\n`);
    chmodSync(file, 0o644);
    const run = await parapet(['topic', 'list', '--client-config', file]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /permissions \(644\) let other users read it; run: chmod 600/);
    assert.ok(!run.stderr.includes(secret) && !run.stdout.includes(secret));
  });

  it('exits 2 on bad usage', async () => {
    for (const args of [
      ['topic', 'create'],
      ['topic', 'create', 'x', '--partitions', '0'],
      ['topic', 'create', 'x', '--partitions', 'many'],
      ['topic', 'create', 'x', '--config', 'novalue'],
      ['topic', 'list', '--bogus'],
      ['topic', 'frobnicate'],
      ['topic'],
      ['topic', 'list', '--bootstrap', 'host:99999', '--client-config', '/dev/null'],
    ]) {
      const run = await parapet(args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.notEqual(run.stderr, '', args.join(' '));
      assert.equal(run.stdout, '', args.join(' '));
    }
  });
});

describe('parapet acl', () => {
  it('exits 2 on bad usage before connecting anywhere', async () => {
    const none = ['--client-config', '/nonexistent/admin.properties'];
    for (const [args, message] of [
      [['acl', 'add', '--principal', 'User:a', '--operation', 'READ', '--topic', 't', ...none], /give --allow or --deny/],
      [['acl', 'add', '--principal', 'User:a', '--allow', '--deny', '--operation', 'READ', '--topic', 't', ...none], /cannot be used with/],
      [['acl', 'add', '--principal', 'User:a', '--allow', '--operation', 'READ', '--topic', 't', '--group', 'g', ...none], /cannot be used with/],
      [['acl', 'add', '--principal', 'User:a', '--allow', '--operation', 'READ', ...none], /give the resource/],
      [['acl', 'add', '--principal', 'alice', '--allow', '--operation', 'READ', '--topic', 't', ...none], /--principal must be TYPE:NAME/],
      [['acl', 'add', '--principal', 'User:a', '--allow', '--operation', 'READ,FLY', '--topic', 't', ...none], /unknown ACL operation "FLY"/],
      [['acl', 'add', '--principal', 'User:a', '--allow', '--operation', 'ANY', '--topic', 't', ...none], /unknown ACL operation "ANY"/],
      [['acl', 'add', '--principal', 'User:a', '--allow', '--operation', 'ALTER', '--cluster', '--prefixed', ...none], /--prefixed does not apply to --cluster/],
      [['acl', 'add', '--principal', 'User:a', '--allow', '--operation', 'READ', '--topic', 't', '--host', '10.0.0.0/33', ...none], /--host must be/],
      [['acl', 'add', '--allow', '--operation', 'READ', '--topic', 't', ...none], /give --principal/],
      [['acl', 'remove', ...none], /refusing to remove every ACL binding/],
    ] as const) {
      const run = await parapet(args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message);
    }
  });

  it('adds, lists and removes ACL bindings', async (t) => {
    const { flags } = await setup(t);
    // Principals with SCRAM credentials, so that `acl add` has nothing to warn about (see cli-acl-warnings.test.ts).
    for (const user of ['alice', 'bob', 'ops']) ok(await parapet(['user', 'add', user, '--password-stdin', ...flags], `${user}-secret-1\n`));
    const added = ok(
      await parapet(['acl', 'add', '--principal', 'User:alice', '--allow', '--operation', 'READ,WRITE', '--topic', 'orders', ...flags]),
    );
    assert.equal(
      added,
      [
        'added principal=User:alice permission=ALLOW operation=READ resource=TOPIC name=orders pattern=LITERAL host=*',
        'added principal=User:alice permission=ALLOW operation=WRITE resource=TOPIC name=orders pattern=LITERAL host=*',
        '',
      ].join('\n'),
    );
    ok(await parapet(['acl', 'add', '--principal', 'User:bob', '--deny', '--operation', 'READ', '--group', 'app-', '--prefixed', '--host', '10.0.0.0/8', ...flags]));
    ok(await parapet(['acl', 'add', '--principal', 'User:ops', '--allow', '--operation', 'ALTER', '--cluster', ...flags]));

    assert.equal(
      ok(await parapet(['acl', 'list', ...flags])),
      [
        'principal=User:alice permission=ALLOW operation=READ resource=TOPIC name=orders pattern=LITERAL host=*',
        'principal=User:alice permission=ALLOW operation=WRITE resource=TOPIC name=orders pattern=LITERAL host=*',
        'principal=User:bob permission=DENY operation=READ resource=GROUP name=app- pattern=PREFIXED host=10.0.0.0/8',
        'principal=User:ops permission=ALLOW operation=ALTER resource=CLUSTER name=kafka-cluster pattern=LITERAL host=*',
        '',
      ].join('\n'),
    );
    assert.equal(
      ok(await parapet(['acl', 'list', '--principal', 'User:alice', '--operation', 'WRITE', ...flags])),
      'principal=User:alice permission=ALLOW operation=WRITE resource=TOPIC name=orders pattern=LITERAL host=*\n',
    );

    assert.equal(
      ok(await parapet(['acl', 'remove', '--principal', 'User:alice', '--operation', 'READ', '--topic', 'orders', ...flags])),
      'removed principal=User:alice permission=ALLOW operation=READ resource=TOPIC name=orders pattern=LITERAL host=*\n',
    );
    // A literal filter does not reach the prefixed binding.
    assert.equal(ok(await parapet(['acl', 'remove', '--group', 'app-', ...flags])), 'no ACL binding matched\n');
    assert.match(ok(await parapet(['acl', 'remove', '--group', 'app-', '--prefixed', ...flags])), /^removed principal=User:bob /);
    ok(await parapet(['acl', 'remove', '--all', ...flags]));
    assert.equal(ok(await parapet(['acl', 'list', ...flags])), '');
  });
});

describe('parapet user', () => {
  it('exits 2 on bad usage before connecting anywhere', async () => {
    const none = ['--client-config', '/nonexistent/admin.properties'];
    for (const [args, message] of [
      [['user', 'add', 'x', '--iterations', '1000', ...none], /--iterations must be an integer from 4096 to 16384/],
      [['user', 'add', 'x', '--mechanism', 'SCRAM-SHA-1', ...none], /SCRAM-SHA-1/],
      [['user', 'add', ...none], /missing required argument/],
    ] as const) {
      const run = await parapet(args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message);
    }
  });

  it('refuses a user name that would escape the client directory, before changing anything', async (t) => {
    const { flags } = await setup(t);
    const run = await parapet(['user', 'add', '../evil', ...flags]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /user name "\.\.\/evil" cannot be used as a file name: pass --out FILE/);
    const empty = await parapet(['user', 'add', 'bob', '--password-stdin', ...flags], '\n');
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /standard input holds no password/);
  });

  it('takes a password by reference (--password), never the password itself; a client file that names its password by reference is kept', async (t) => {
    const { dir, flags } = await setup(t);
    process.env.PARAPET_TEST_CAROL_PASSWORD = 'carol-ref-password-1';
    t.after(() => {
      delete process.env.PARAPET_TEST_CAROL_PASSWORD;
    });
    const added = ok(await parapet(['user', 'add', 'carol', '--password', '${env:PARAPET_TEST_CAROL_PASSWORD}', ...flags]));
    assert.equal(added, 'created user "carol": SCRAM-SHA-256 (8192 iterations), SCRAM-SHA-512 (8192 iterations)\n');
    assert.ok(!existsSync(join(dir, 'client', 'carol.properties')), 'a password the caller keeps is written nowhere');

    const literal = await parapet(['user', 'add', 'dave', '--password', 'dave-literal-password', ...flags]);
    assert.equal(literal.code, 2);
    assert.match(literal.stderr, /--password takes a reference, '\$\{env:NAME\}' or '\$\{file:PATH\}'/);
    assert.ok(!literal.stderr.includes('dave-literal-password'));
    const both = await parapet(['user', 'add', 'dave', '--password', '${env:PARAPET_TEST_CAROL_PASSWORD}', '--password-stdin', ...flags], 'x-password-12\n');
    assert.equal(both.code, 2);

    // carol's client file names its password: passwd changes the password and leaves the file to name it.
    mkdirSync(join(dir, 'client'), { recursive: true, mode: 0o700 });
    const carolFile = join(dir, 'client', 'carol.properties');
    const carolSettings = 'security.protocol=SASL_PLAINTEXT\nsasl.mechanisms=SCRAM-SHA-512\nsasl.username=carol\nsasl.password=${file:carol.password}\n';
    writeFileSync(carolFile, carolSettings, { mode: 0o644 });
    const newPassword = join(dir, 'new.password');
    writeFileSync(newPassword, 'carol-new-password-2\n', { mode: 0o644 });
    chmodSync(newPassword, 0o644);
    const open = await parapet(['user', 'passwd', 'carol', '--password', `\${file:${newPassword}}`, ...flags]);
    assert.equal(open.code, 1);
    assert.ok(open.stderr.includes(`${newPassword} may be read by other accounts (mode 644): \`chmod 600 ${newPassword}\``), open.stderr);
    chmodSync(newPassword, 0o600);
    const changed = await parapet(['user', 'passwd', 'carol', '--password', `\${file:${newPassword}}`, ...flags]);
    assert.equal(changed.code, 0, changed.stderr);
    assert.equal(changed.stderr, `parapet: ${carolFile} takes its password from \${file:carol.password}: it is left as it is; put the new password there\n`);
    assert.equal(readFileSync(carolFile, 'utf8'), carolSettings);
    const generated = await parapet(['user', 'passwd', 'carol', ...flags]);
    assert.equal(generated.code, 2);
    assert.match(generated.stderr, /takes its password from \$\{file:carol\.password\}: give the new password with --password REF or --password-stdin/);
    assert.equal(readFileSync(carolFile, 'utf8'), carolSettings);
  });

  it('adds, lists, changes the password of and deletes SCRAM users', async (t) => {
    const { dir, bootstrap, flags } = await setup(t);
    const added = await parapet(['user', 'add', 'alice', ...flags]);
    ok(added);
    const file = join(dir, 'client', 'alice.properties');
    const javaFile = join(dir, 'client', 'alice.java.properties');
    const jsonFile = join(dir, 'client', 'alice.json');
    assert.equal(
      added.stdout,
      [
        'created user "alice": SCRAM-SHA-256 (8192 iterations), SCRAM-SHA-512 (8192 iterations)',
        'client settings with the password (mode 0600):',
        `  ${file}  (librdkafka, kcat -F)`,
        `  ${javaFile}  (Java clients and tools)`,
        `  ${jsonFile}  (sections for kafkajs, @platformatic/kafka, kafka-python, confluent-kafka)`,
        '',
      ].join('\n'),
    );
    for (const f of [file, javaFile, jsonFile]) assert.equal(statSync(f).mode & 0o777, 0o600, f);
    const written = readFileSync(file, 'utf8');
    const password = /^sasl\.password=(.+)$/m.exec(written)?.[1];
    assert.ok(password !== undefined && password.length >= 24);
    assert.ok(!added.stdout.includes(password) && !added.stderr.includes(password));
    assert.match(written, new RegExp(`^bootstrap\\.servers=${bootstrap.replace(/\./g, '\\.')}$`, 'm'));
    assert.match(written, /^security\.protocol=SASL_PLAINTEXT$/m);
    assert.match(written, /^sasl\.mechanisms=SCRAM-SHA-512$/m);
    assert.match(written, /^sasl\.username=alice$/m);
    // The other formats carry the same login (the plaintext test broker: SASL_PLAINTEXT, no CA).
    assertPasswordEverywhere(join(dir, 'client', 'alice'), password);
    assert.match(readFileSync(javaFile, 'utf8'), /^security\.protocol=SASL_PLAINTEXT$/m);

    const out = join(dir, 'bob.properties');
    const bob = await parapet(['user', 'add', 'bob', '--mechanism', 'SCRAM-SHA-256', '--iterations', '4096', '--password-stdin', '--out', out, ...flags], 'b0b-secret-pw\n');
    ok(bob);
    assert.ok(!bob.stdout.includes('b0b-secret-pw'));
    assert.match(readFileSync(out, 'utf8'), /^sasl\.password=b0b-secret-pw$/m);
    assert.match(readFileSync(out, 'utf8'), /^sasl\.mechanisms=SCRAM-SHA-256$/m);
    // --out names the .properties file; the other formats go beside it with the same stem.
    assert.match(bob.stdout, new RegExp(`^  ${join(dir, 'bob.java.properties')}  \\(Java`, 'm'));
    assertPasswordEverywhere(join(dir, 'bob'), 'b0b-secret-pw');
    assert.match(readFileSync(join(dir, 'bob.java.properties'), 'utf8'), /^sasl\.mechanism=SCRAM-SHA-256$/m);

    assert.equal(
      ok(await parapet(['user', 'list', ...flags])),
      'alice  SCRAM-SHA-256 (8192 iterations), SCRAM-SHA-512 (8192 iterations)\nbob  SCRAM-SHA-256 (4096 iterations)\n',
    );

    const again = await parapet(['user', 'add', 'alice', '--password-stdin', ...flags], 'x-password-12\n');
    assert.equal(again.code, 1);
    assert.match(again.stderr, /user "alice" already exists/);

    // The KafkaJS module an older `parapet init` wrote is no longer rewritten: passwd says so.
    const legacy = join(dir, 'client', 'alice.kafkajs.mjs');
    writeFileSync(legacy, '// old\n', { mode: 0o600 });
    const changed = await parapet(['user', 'passwd', 'alice', ...flags]);
    ok(changed);
    assert.match(changed.stdout, /^changed the password of "alice": SCRAM-SHA-256 \(8192 iterations\), SCRAM-SHA-512 \(8192 iterations\)\n/);
    assert.ok(changed.stdout.endsWith(`${legacy} (written by an older parapet init) keeps the old password: delete it, and use ${jsonFile}\n`), changed.stdout);
    const newPassword = /^sasl\.password=(.+)$/m.exec(readFileSync(file, 'utf8'))?.[1];
    assert.ok(newPassword !== undefined && newPassword !== password);
    assert.ok(!changed.stdout.includes(newPassword));
    assertPasswordEverywhere(join(dir, 'client', 'alice'), newPassword);

    // A password from stdin rewrites the user's files in <data-dir>/client when they exist, so that they stay in step.
    const fromStdin = await parapet(['user', 'passwd', 'alice', '--password-stdin', ...flags], 'st\u00efn-pa"ss-w\\\n');
    ok(fromStdin);
    assert.match(fromStdin.stdout, /^client settings with the password/m);
    assertPasswordEverywhere(join(dir, 'client', 'alice'), 'st\u00efn-pa"ss-w\\');

    // bob has no files in <data-dir>/client (his went to --out): nothing is written without --out.
    const viaStdin = await parapet(['user', 'passwd', 'bob', '--password-stdin', ...flags], 'n3w-bob-secret\n');
    ok(viaStdin);
    assert.ok(!viaStdin.stdout.includes('n3w-bob-secret'));
    assert.doesNotMatch(viaStdin.stdout, /client settings/);
    assert.match(readFileSync(out, 'utf8'), /^sasl\.password=b0b-secret-pw$/m);

    ok(await parapet(['acl', 'add', '--principal', 'User:alice', '--allow', '--operation', 'WRITE,READ', '--topic', 'orders', ...flags]));
    ok(await parapet(['acl', 'add', '--principal', 'User:alice', '--allow', '--operation', 'READ', '--group', 'app-', '--prefixed', ...flags]));
    // A binding for a principal without SCRAM credentials is created, with a warning.
    const forAlice2 = await parapet(['acl', 'add', '--principal', 'User:alice2', '--allow', '--operation', 'READ', '--topic', 'orders', ...flags]);
    assert.equal(forAlice2.code, 0);
    assert.match(forAlice2.stderr, /^parapet: warning: there is no SCRAM user "alice2"/);
    assert.equal(
      ok(await parapet(['user', 'delete', 'alice', ...flags])),
      [
        'deleted user "alice": SCRAM-SHA-256, SCRAM-SHA-512',
        'ACL bindings that still name User:alice (they apply again to a new user of that name):',
        '  principal=User:alice permission=ALLOW operation=READ resource=TOPIC name=orders pattern=LITERAL host=*',
        '  principal=User:alice permission=ALLOW operation=WRITE resource=TOPIC name=orders pattern=LITERAL host=*',
        '  principal=User:alice permission=ALLOW operation=READ resource=GROUP name=app- pattern=PREFIXED host=*',
        'remove them with: parapet acl remove --principal User:alice',
        `client files of "alice" left in place (their password no longer works):`,
        `  ${file}`,
        `  ${javaFile}`,
        `  ${jsonFile}`,
        `  ${legacy}`,
        `delete them with: rm ${file} ${javaFile} ${jsonFile} ${legacy}`,
        '',
      ].join('\n'),
    );
    assert.equal(ok(await parapet(['user', 'list', ...flags])), 'bob  SCRAM-SHA-256 (4096 iterations)\n');
    // The printed command removes exactly alice's bindings, and the printed rm her files.
    assert.equal(ok(await parapet(['acl', 'remove', '--principal', 'User:alice', ...flags])).split('\n').filter((l) => l !== '').length, 3);
    assert.equal(ok(await parapet(['acl', 'list', ...flags])), 'principal=User:alice2 permission=ALLOW operation=READ resource=TOPIC name=orders pattern=LITERAL host=*\n');
    const gone = await parapet(['user', 'passwd', 'alice', '--password-stdin', ...flags], 'whatever-long\n');
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /no SCRAM user "alice"/);
    assert.ok(existsSync(out));
    // Files written with --out are not in <data-dir>/client: only the bindings are named, quoted for the shell.
    ok(await parapet(['user', 'add', "b'o b", '--password-stdin', ...flags], 'x-secret-pw-1\n'));
    ok(await parapet(['acl', 'add', '--principal', "User:b'o b", '--allow', '--operation', 'READ', '--topic', 'orders', ...flags]));
    const quoted = ok(await parapet(['user', 'delete', "b'o b", ...flags]));
    assert.match(quoted, /^remove them with: parapet acl remove --principal 'User:b'\\''o b'$/m);
    assert.doesNotMatch(quoted, /client files/);
    ok(await parapet(['user', 'delete', 'bob', ...flags]));
  });
});
