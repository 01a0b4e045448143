import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { AdminClient } from '../../src/client/admin.js';
import { KafkaError } from '../../src/client/errors.js';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { AlterUserScramCredentials } from '../../src/protocol/messages/index.js';
import { DEFAULT_SCRAM_ITERATIONS, saltedPassword } from '../../src/security/credentials/scram-keys.js';
import { MetadataStore } from '../../src/storage/metadata-store.js';
import { parapet } from '../helpers/admin-cli.js';
import { startParapet } from '../helpers/cli-process.js';
import { SaslTestConnection } from '../helpers/sasl-client.js';
import { startBrokerProcess, type BrokerProcess } from './attack-support.js';

/**
 * The SCRAM admin API and `parapet user` apply the user-name rule that login applies, refuse weak
 * credentials it can recognise, and print names escaped; an unknown user's SCRAM first answer looks
 * like a real user's and stays the same across restarts (docs/security/authentication.md).
 */

const PASSWORD = 'a-long-enough-password';

/** Names that were accepted before and that no user may have now (issue 11, item 7). */
const REFUSED_NAMES = ['evil\u0007bell', 'x'.repeat(2000), '*', 'ANONYMOUS', 'User:admin', 'Admin', 'admin ', 'admin\u200b'];

/** Restarts the broker of `broker`'s data directory (after `broker.stop()`); returns its port. */
async function restart(t: TestContext, broker: BrokerProcess): Promise<number> {
  return (await startParapet(t, ['--data-dir', broker.dataDir, '--listen', '127.0.0.1:0'])).port;
}

/** The admin's CLI flags against a broker listening on `port`. */
const cliFlags = (broker: BrokerProcess, port: number) => ['--client-config', join(broker.dataDir, 'client', 'admin.properties'), '--data-dir', broker.dataDir, '--bootstrap', `127.0.0.1:${port}`];

/** SCRAM's server-first for `user`: its salt (base64) and iteration count, and how long the broker took. */
async function serverFirst(t: TestContext, broker: BrokerProcess, port: number, user: string): Promise<{ salt: string; iterations: number; ms: number }> {
  const connection = await SaslTestConnection.open(t, port, broker.caFile);
  assert.equal((await connection.handshake('SCRAM-SHA-512')).errorCode, 0);
  const started = performance.now();
  const first = await connection.authenticate(Buffer.from(`n,,n=${user},r=client-nonce-1234`));
  const ms = performance.now() - started;
  connection.socket.destroy();
  assert.equal(first.errorCode, 0);
  const match = /^r=[^,]+,s=([^,]+),i=(\d+)$/.exec(first.authBytes.toString());
  assert.ok(match !== null, first.authBytes.toString());
  return { salt: match[1] ?? '', iterations: Number(match[2]), ms };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

describe('the SCRAM admin API and parapet user', () => {
  it('refuse weak or confusing credentials', async (t) => {
    const broker = await startBrokerProcess(t);
    const admin = await broker.admin();

    await t.test('every name the issue lists is refused with UNACCEPTABLE_CREDENTIAL, as by parapet user add, and none is stored', async () => {
      for (const name of REFUSED_NAMES) {
        await assert.rejects(
          admin.upsertScramCredentials(name, PASSWORD, [{ mechanism: 'SCRAM-SHA-512', iterations: DEFAULT_SCRAM_ITERATIONS }]),
          (err: unknown) => err instanceof KafkaError && err.code === ErrorCode.UNACCEPTABLE_CREDENTIAL,
          JSON.stringify(name.slice(0, 20)),
        );
        // The CLI refuses by the rule before connecting (2); a look-alike of an existing user only the broker can tell (1).
        const run = await parapet(['user', 'add', name, '--password-stdin', ...cliFlags(broker, broker.port)], `${PASSWORD}\n`);
        assert.equal(run.code, name === 'Admin' ? 1 : 2, `user add ${JSON.stringify(name.slice(0, 20))}: ${run.stderr}`);
        assert.ok(!run.stderr.includes('\u0007') && !run.stderr.includes('\u200b'), 'the refusal shows the name escaped');
      }
      assert.deepEqual((await admin.describeScramUsers(null)).map((u) => u.user), ['admin']);
    });

    await t.test('a 1-byte salt and a credential derived from the empty password are refused; SCRAM login with "" fails', async () => {
      const address = broker.adminConfig.bootstrapServers[0];
      assert.ok(address !== undefined);
      const connection = await KafkaConnection.connect(address, broker.adminConfig);
      t.after(() => {
        connection.close();
      });
      const upsert = async (name: string, salt: Buffer, password: string) => {
        const response = await connection.request(AlterUserScramCredentials, {
          deletions: [],
          upsertions: [{ name, mechanism: 2, iterations: 4096, salt, saltedPassword: saltedPassword('SCRAM-SHA-512', password, salt, 4096) }],
        });
        return response.results[0];
      };
      const oneByte = await upsert('salty', Buffer.from([0x5a]), PASSWORD);
      assert.equal(oneByte?.errorCode, ErrorCode.UNACCEPTABLE_CREDENTIAL);
      assert.match(oneByte.errorMessage ?? '', /at least 16 bytes/);
      const empty = await upsert('nopass', Buffer.alloc(32, 1), '');
      assert.equal(empty?.errorCode, ErrorCode.UNACCEPTABLE_CREDENTIAL);
      assert.match(empty.errorMessage ?? '', /empty password/);
      assert.equal((await upsert('fine', Buffer.alloc(16, 1), PASSWORD))?.errorCode, ErrorCode.NONE, 'a 16-byte salt and a real password are accepted');
      const login = await SaslTestConnection.open(t, broker.port, broker.caFile);
      const { result } = await login.scram('SCRAM-SHA-512', 'nopass', '');
      assert.equal(result.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
    });

    await t.test('parapet user add refuses a password shorter than 12 characters before connecting, and never shows it', async () => {
      const short = await parapet(['user', 'add', 'bob', '--password-stdin', ...cliFlags(broker, broker.port)], 'elevenchars\n');
      assert.equal(short.code, 2);
      assert.match(short.stderr, /shorter than 12 characters/);
      assert.doesNotMatch(short.stderr, /elevenchars/);
      const fine = await parapet(['user', 'add', 'bob', '--password-stdin', ...cliFlags(broker, broker.port)], 'twelve-chars\n');
      assert.equal(fine.code, 0, fine.stderr);
    });
  });
});

describe('user enumeration through SCRAM, and names from before the rule', () => {
  it("an unknown user's server-first looks like a real user's, stays across a restart, and forged names are listed escaped", async (t) => {
    const broker = await startBrokerProcess(t);
    // As `parapet user add` creates users: 32-byte salts and the default iterations.
    await (await broker.admin()).upsertScramCredentials('alice', PASSWORD, [{ mechanism: 'SCRAM-SHA-512', iterations: DEFAULT_SCRAM_ITERATIONS }]);
    const real = await serverFirst(t, broker, broker.port, 'alice');
    const unknown = await serverFirst(t, broker, broker.port, 'nobody');

    await t.test('same salt length and iterations as a real user, the same salt on every attempt, comparable time', async () => {
      assert.equal(Buffer.from(unknown.salt, 'base64').length, Buffer.from(real.salt, 'base64').length);
      assert.equal(unknown.iterations, real.iterations);
      assert.equal((await serverFirst(t, broker, broker.port, 'nobody')).salt, unknown.salt);
      assert.notEqual((await serverFirst(t, broker, broker.port, 'nobody2')).salt, unknown.salt);
      // Neither path derives a key (in SCRAM the client does): the broker's work is the same lookup and HMACs.
      const knownMs: number[] = [];
      const unknownMs: number[] = [];
      for (let i = 0; i < 15; i++) {
        knownMs.push((await serverFirst(t, broker, broker.port, 'alice')).ms);
        unknownMs.push((await serverFirst(t, broker, broker.port, `ghost${i}`)).ms);
      }
      t.diagnostic(`server-first median: known ${median(knownMs).toFixed(2)} ms, unknown ${median(unknownMs).toFixed(2)} ms`);
      assert.ok(Math.abs(median(unknownMs) - median(knownMs)) < Math.max(median(knownMs), 5), `${median(unknownMs)} vs ${median(knownMs)} ms`);
    });

    assert.equal(await broker.stop(), 0);
    // A store written before the user-name rule: the name breaks a line and moves the cursor up.
    const forged = 'mallory\n\u001b[1A\u001b[2Kroot  SCRAM-SHA-512 (8192 iterations)';
    const store = new MetadataStore(broker.dataDir);
    store.alterScramCredentials({
      deletions: [],
      upsertions: [{ user: forged, mechanism: 'SCRAM-SHA-512', salt: Buffer.alloc(32, 2), storedKey: Buffer.alloc(64, 3), serverKey: Buffer.alloc(64, 4), iterations: 8192 }],
    });
    store.close();
    const port = await restart(t, broker);

    await t.test('a restart keeps the fake salt, as it keeps real ones', async () => {
      assert.equal((await serverFirst(t, broker, port, 'nobody')).salt, unknown.salt);
      assert.equal((await serverFirst(t, broker, port, 'alice')).salt, real.salt);
    });

    await t.test('parapet user list escapes a name that would forge lines; such a user can still be deleted', async () => {
      const listed = await parapet(['user', 'list', ...cliFlags(broker, port)]);
      assert.equal(listed.code, 0, listed.stderr);
      assert.deepEqual(listed.stdout.split('\n').filter((l) => l !== ''), [
        'admin  SCRAM-SHA-256 (8192 iterations), SCRAM-SHA-512 (8192 iterations)',
        'alice  SCRAM-SHA-512 (8192 iterations)',
        'mallory\\n\\x1b[1A\\x1b[2Kroot  SCRAM-SHA-512 (8192 iterations)  SCRAM-SHA-512 (8192 iterations)',
      ]);
      assert.ok(!listed.stdout.includes('\u001b'));
      const deleted = await parapet(['user', 'delete', forged, ...cliFlags(broker, port)]);
      assert.equal(deleted.code, 0, deleted.stderr);
      assert.match(deleted.stdout, /^deleted user "mallory\\n\\x1b\[1A/);
      assert.deepEqual((await parapet(['user', 'list', ...cliFlags(broker, port)])).stdout.split('\n').filter((l) => l !== '').length, 2);
    });

    await t.test('unknown users advertise the iterations most real users have: 4096 once most were made so', async () => {
      // Users made with 4096 iterations (Kafka's tools' default, and the harness's), now the most common count.
      const config = { ...broker.adminConfig, bootstrapServers: [{ host: '127.0.0.1', port }] };
      const admin = await AdminClient.connect(config);
      t.after(() => {
        admin.close();
      });
      for (const name of ['bob', 'carol', 'dave']) await admin.upsertScramCredentials(name, PASSWORD, [{ mechanism: 'SCRAM-SHA-512', iterations: 4096 }]);
      assert.equal((await serverFirst(t, broker, port, 'bob')).iterations, 4096);
      assert.equal((await serverFirst(t, broker, port, 'nobody')).iterations, 4096);
    });
  });
});
