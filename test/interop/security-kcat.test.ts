import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { AclOperation, ResourceType } from '../../src/protocol/acl.js';
import { createCertificateAuthority } from '../../src/security/tls/certificates.js';
import { createTopic } from '../helpers/client.js';
import { startSecureBroker } from '../helpers/secure-broker.js';
import {
  allow,
  appAcls,
  authenticationFailures,
  deniedOnTopic,
  deniedResource,
  describeEvents,
  initCa,
  kcat,
  kcatLines,
  writeClientCertificate,
  writeProperties,
} from './security-support.js';

/**
 * kcat (librdkafka 2.0.2) against a broker set up the way `parapet init` leaves it: SASL_SSL with the
 * init CA, librdkafka's hostname verification on (the client connects to 127.0.0.1, an IP SAN of the
 * server certificate), deny-by-default ACLs. Then an mTLS listener (SSL, client certificates required)
 * whose principal is the certificate's CN.
 */

const USERS = { alice: 'alice-interop-password-1' };
const TOPIC = 'kcat-orders';
const READ_ONLY_TOPIC = 'kcat-audit';
const GROUP = 'kcat-orders-app';
const MESSAGES = 500;

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-kcat-sec-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** `-f` for kcat -C that prints exactly what `kcat -P -K :` read: key, `:`, value, newline. */
const KEY_VALUE_FORMAT = ['-f', '%k:%s\\n'];

describe('kcat over SASL_SSL with CA and hostname verification', () => {
  it('init admin config, SCRAM-SHA-512 produce/consume/group under ACLs, WRITE denial, wrong CA, wrong password', async (t) => {
    const b = await startSecureBroker(t, {
      users: USERS,
      acls: [...appAcls('User:alice', TOPIC, GROUP), allow('User:alice', ResourceType.TOPIC, READ_ONLY_TOPIC, AclOperation.READ)],
      broker: { groupInitialRebalanceDelayMs: 0 },
    });
    await createTopic(b.adminProperties, [TOPIC, READ_ONLY_TOPIC]);
    // librdkafka 2.x verifies the hostname by default; saying so keeps the test meaningful if that changes.
    const verify = { 'ssl.endpoint.identification.algorithm': 'https' };
    const alice = b.clientConfig('alice', USERS.alice, verify);

    await t.test('kcat -F <the admin properties parapet init wrote> -L lists the broker and the topics', async () => {
      const listed = await kcat(['-F', b.adminProperties, '-L']);
      assert.equal(listed.code, 0, listed.stderr);
      const text = listed.stdout.toString('utf8');
      assert.match(text, new RegExp(`broker \\d+ at 127\\.0\\.0\\.1:${b.port}`), text);
      assert.match(text, new RegExp(`topic "${TOPIC}" with 1 partitions`), text);
      assert.match(text, new RegExp(`topic "${READ_ONLY_TOPIC}" with 1 partitions`), text);
    });

    const input = kcatLines(MESSAGES);
    await t.test(`alice produces ${MESSAGES} binary messages (-P) and reads them back byte-identical (-C -e)`, async () => {
      const produced = await kcat(['-F', alice, '-P', '-t', TOPIC, '-p', '0', '-K', ':', '-X', 'acks=all'], { input });
      assert.equal(produced.code, 0, produced.stderr);
      assert.doesNotMatch(produced.stderr, /fail|error/i);

      const consumed = await kcat(['-F', alice, '-C', '-t', TOPIC, '-p', '0', '-o', 'beginning', '-e', '-q', ...KEY_VALUE_FORMAT]);
      assert.equal(consumed.code, 0, consumed.stderr);
      assert.equal(consumed.stdout.length, input.length, 'byte count');
      assert.ok(consumed.stdout.equals(input), 'every byte, in order');
    });

    await t.test('alice reads them again as a member of her group (-G), which commits; a second run finds nothing new', async () => {
      const group = ['-F', alice, '-G', GROUP, '-X', 'auto.offset.reset=earliest', '-e', '-q', ...KEY_VALUE_FORMAT, TOPIC];
      const first = await kcat(group, { timeoutMs: 30_000 });
      assert.equal(first.code, 0, first.stderr);
      assert.ok(first.stdout.equals(input), `group consumer read ${first.stdout.length} of ${input.length} bytes`);
      // librdkafka commits on close (OffsetCommit: READ on the group and the topic); the next member starts there.
      const second = await kcat(group, { timeoutMs: 30_000 });
      assert.equal(second.code, 0, second.stderr);
      assert.equal(second.stdout.length, 0, 'the committed offset is the end of the partition');
    });

    await t.test('no authorization was denied to alice on what her ACLs grant', () => {
      assert.deepEqual(deniedOnTopic(b.events, 'User:alice', TOPIC), [], describeEvents(b.events));
      assert.equal(deniedResource(b.events, 'User:alice', `READ GROUP:${GROUP}`), false);
      assert.equal(deniedResource(b.events, 'User:alice', `DESCRIBE GROUP:${GROUP}`), false);
    });

    await t.test('alice may read but not write the other topic: kcat -P fails with Topic authorization failed', async () => {
      const produced = await kcat(['-F', alice, '-P', '-t', READ_ONLY_TOPIC, '-p', '0', '-X', 'message.timeout.ms=5000'], { input: Buffer.from('not allowed\n') });
      assert.notEqual(produced.code, 0, 'kcat reports the failed delivery in its exit code');
      assert.match(produced.stderr, /Topic authorization failed/i, produced.stderr);
      assert.ok(deniedResource(b.events, 'User:alice', `WRITE TOPIC:${READ_ONLY_TOPIC}`), describeEvents(b.events));
      const consumed = await kcat(['-F', alice, '-C', '-t', READ_ONLY_TOPIC, '-p', '0', '-o', 'beginning', '-e', '-q']);
      assert.equal(consumed.code, 0, consumed.stderr);
      assert.equal(consumed.stdout.length, 0, 'nothing was written');
    });

    await t.test('a CA that did not sign the server certificate: the TLS handshake fails, nothing is sent', async () => {
      const dir = tempDir(t);
      const other = await createCertificateAuthority({ commonName: 'Some other CA' });
      const otherCa = join(dir, 'other-ca.crt');
      writeFileSync(otherCa, other.certPem);
      const from = b.events.length;
      const listed = await kcat(['-F', alice, '-X', `ssl.ca.location=${otherCa}`, '-L', '-m', '3']);
      assert.notEqual(listed.code, 0, listed.stdout.toString());
      assert.match(listed.stderr, /certificate verify failed|SSL handshake failed/i, listed.stderr);
      const after = b.events.slice(from);
      // librdkafka aborts the handshake with an alert, which the broker reports; no SASL exchange started.
      assert.ok(after.some((e) => e.type === 'connection-refused' && e.reason === 'TLS_HANDSHAKE_FAILED'), describeEvents(after));
      assert.deepEqual(after.filter((e) => e.type === 'authentication-succeeded' || e.type === 'authentication-failed'), []);
    });

    await t.test('a wrong password: kcat -L fails with an authentication error, and the broker reports it', async () => {
      const wrong = b.clientConfig('alice', 'not-alices-password', verify);
      const from = b.events.length;
      const listed = await kcat(['-F', wrong, '-L', '-m', '3']);
      assert.notEqual(listed.code, 0, listed.stdout.toString());
      assert.match(listed.stderr, /SASL authentication error: Authentication failed/i, listed.stderr);
      const failures = authenticationFailures(b.events.slice(from));
      assert.ok(failures.length >= 1, describeEvents(b.events));
      // BAD_CREDENTIALS: the proof was checked and failed (not a protocol mismatch such as the nonce).
      assert.deepEqual(new Set(failures.map((e) => `${e.mechanism} ${e.claimedUser ?? '?'} ${e.reason}`)), new Set(['SCRAM-SHA-512 alice BAD_CREDENTIALS']), describeEvents(failures));
      assert.deepEqual(b.events.slice(from).filter((e) => e.type === 'authentication-succeeded'), []);
    });
  });
});

describe('kcat over mutual TLS (SSL listener, client certificate required)', () => {
  it('CN=alice from the init CA produces and consumes as User:alice; no certificate or a foreign CA is refused', async (t) => {
    const topic = 'mtls-orders';
    const ungranted = 'mtls-payroll';
    const b = await startSecureBroker(t, {
      listener: { protocol: 'SSL' },
      // tls.certFile, keyFile and caFile are left to their defaults: the files init wrote in <dataDir>/tls.
      security: { tls: { clientAuth: 'required', principalMapping: [], reloadIntervalMs: 60_000 } },
      acls: [allow('User:alice', ResourceType.TOPIC, topic, AclOperation.WRITE), allow('User:alice', ResourceType.TOPIC, topic, AclOperation.READ)],
    });
    const dir = tempDir(t);
    const ca = initCa(b);
    const aliceCert = await writeClientCertificate(ca, 'alice', dir);
    const base = {
      'bootstrap.servers': b.bootstrap,
      'security.protocol': 'SSL',
      'ssl.ca.location': b.caFile,
      'ssl.endpoint.identification.algorithm': 'https',
    };
    const alice = writeProperties(join(dir, 'alice.properties'), { ...base, 'ssl.certificate.location': aliceCert.certFile, 'ssl.key.location': aliceCert.keyFile });

    // The super user, over SSL too: a certificate with CN=admin from the init CA is User:admin.
    const adminCert = await writeClientCertificate(ca, 'admin', dir);
    await createTopic(writeProperties(join(dir, 'admin.properties'), { ...base, 'ssl.certificate.location': adminCert.certFile, 'ssl.key.location': adminCert.keyFile }), [topic, ungranted]);

    const input = kcatLines(200);
    const produced = await kcat(['-F', alice, '-P', '-t', topic, '-p', '0', '-K', ':'], { input });
    assert.equal(produced.code, 0, produced.stderr);
    const consumed = await kcat(['-F', alice, '-C', '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-q', ...KEY_VALUE_FORMAT]);
    assert.equal(consumed.code, 0, consumed.stderr);
    assert.ok(consumed.stdout.equals(input), `consumed ${consumed.stdout.length} of ${input.length} bytes, byte-identical`);
    assert.deepEqual(deniedOnTopic(b.events, 'User:alice', topic), [], describeEvents(b.events));

    // The certificate, not anything the client says, names the principal: the denial names User:alice.
    const denied = await kcat(['-F', alice, '-P', '-t', ungranted, '-p', '0', '-X', 'message.timeout.ms=5000'], { input: Buffer.from('x\n') });
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /Topic authorization failed/i, denied.stderr);
    // librdkafka may ask for the topic's metadata more than once: each time it is denied the same way.
    assert.deepEqual(new Set(deniedOnTopic(b.events, 'User:alice', ungranted)), new Set([`DESCRIBE TOPIC:${ungranted}`]), describeEvents(b.events));
    assert.deepEqual(deniedOnTopic(b.events, 'User:ANONYMOUS', ungranted), []);

    // No client certificate: the handshake is refused (librdkafka sees TLS 1.3's `certificate required` alert).
    const noCertFrom = b.events.length;
    const anonymous = writeProperties(join(dir, 'anonymous.properties'), base);
    const noCert = await kcat(['-F', anonymous, '-L', '-m', '2']);
    assert.notEqual(noCert.code, 0, noCert.stdout.toString());
    assert.doesNotMatch(noCert.stdout.toString(), new RegExp(topic));
    assert.match(noCert.stderr, /certificate required/i, noCert.stderr);
    const noCertRefusals = b.events.slice(noCertFrom);
    assert.ok(noCertRefusals.length >= 1, 'the refusal is reported');
    assert.ok(
      noCertRefusals.every((e) => e.type === 'connection-refused' && e.reason === 'TLS_HANDSHAKE_FAILED' && e.detail === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE'),
      describeEvents(noCertRefusals),
    );

    // A certificate from another CA, however convincing its CN, is refused as well.
    const forgedFrom = b.events.length;
    const foreignCa = await createCertificateAuthority({ commonName: 'Parapet local CA (impostor)' });
    const impostorCert = await writeClientCertificate(foreignCa, 'admin', dir, 'impostor');
    const impostor = writeProperties(join(dir, 'impostor.properties'), { ...base, 'ssl.certificate.location': impostorCert.certFile, 'ssl.key.location': impostorCert.keyFile });
    const forged = await kcat(['-F', impostor, '-L', '-m', '2']);
    assert.notEqual(forged.code, 0, forged.stdout.toString());
    assert.doesNotMatch(forged.stdout.toString(), new RegExp(topic));
    const forgedRefusals = b.events.slice(forgedFrom);
    assert.ok(forgedRefusals.length >= 1, 'the refusal is reported');
    assert.ok(forgedRefusals.every((e) => e.type === 'connection-refused' && e.reason === 'TLS_HANDSHAKE_FAILED'), describeEvents(forgedRefusals));

    // Node's TLS server verifies the certificate after the handshake and destroys the socket without an
    // error; tlsClientError then fires from the close, as ECONNRESET, once the peer address is gone.
    await t.test('the refusal of a foreign certificate names the client address and the verification error', () => {
      for (const e of forgedRefusals) {
        assert.ok(e.type === 'connection-refused' && e.remote.startsWith('127.0.0.1:') && e.detail === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', describeEvents([e]));
      }
    });
    assert.deepEqual(deniedOnTopic(b.events, 'User:admin', topic), []);
  });
});
