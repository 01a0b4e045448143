import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { Kafka, logLevel } from 'kafkajs';
import { AdminClient } from '../../src/client/admin.js';
import { readClientConfig } from '../../src/client/client-config.js';
import { KafkaError } from '../../src/client/errors.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { AclOperation, ResourceType } from '../../src/protocol/acl.js';
import { DEFAULT_SECURITY_CONFIG, type SecurityConfig } from '../../src/security/config.js';
import { createTopic } from '../helpers/client.js';
import { SaslTestConnection } from '../helpers/sasl-client.js';
import { startSecureBroker, type SecureBroker } from '../helpers/secure-broker.js';
import { allow, deniedOnTopic, describeEvents, errorChain, initCa, kcat, writeClientCertificate, writeProperties } from '../interop/security-support.js';

/**
 * Certificate names and OAUTHBEARER subjects share the `User:` namespace with SCRAM users, so a token
 * with `sub: admin` or a certificate with CN=admin would be the super user `User:admin`. The prefixes
 * (`tls.principalPrefix`, `sasl.oauthbearer.principalPrefix`) put them in namespaces of their own:
 * tested with KafkaJS (OAUTHBEARER) and kcat (mTLS), through the ACLs that name them.
 */

const TOPIC = 'prefixed-orders';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-prefix-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

interface Issuer {
  readonly jwksFile: string;
  token(sub: string): Promise<string>;
}

async function tokenIssuer(dir: string): Promise<Issuer> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwksFile = join(dir, 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] }));
  return {
    jwksFile,
    token: (sub) => new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setSubject(sub).setIssuedAt().setExpirationTime('10m').sign(privateKey),
  };
}

function oauthSasl(jwksFile: string, principalPrefix?: string): SecurityConfig['sasl'] {
  return {
    ...DEFAULT_SECURITY_CONFIG.sasl,
    failedAuthenticationDelayMs: 0,
    mechanisms: ['SCRAM-SHA-512', 'OAUTHBEARER'],
    oauthbearer: { jwksFile, ...(principalPrefix === undefined ? {} : { principalPrefix }) },
  };
}

/** Produces one message with KafkaJS logged in by a token for `sub`; resolves with the error type, or 'ok'. */
async function produceWithToken(t: TestContext, b: SecureBroker, issuer: Issuer, sub: string): Promise<string> {
  const token = await issuer.token(sub);
  const kafka = new Kafka({
    clientId: `prefix-${sub}`,
    brokers: [b.bootstrap],
    ssl: { ca: [readFileSync(b.caFile, 'utf8')] },
    sasl: { mechanism: 'oauthbearer', oauthBearerProvider: () => Promise.resolve({ value: token }) },
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  t.after(() => producer.disconnect());
  await producer.connect();
  try {
    await producer.send({ topic: TOPIC, messages: [{ value: `from ${sub}` }] });
    return 'ok';
  } catch (err) {
    // KafkaJS wraps the protocol error it retried on.
    const type = errorChain(err).map((e) => e.type).find((value) => typeof value === 'string');
    return typeof type === 'string' ? type : String(err);
  }
}

const principalsLoggedIn = (b: SecureBroker, mechanism: string): string[] =>
  b.events.flatMap((e) => (e.type === 'authentication-succeeded' && e.mechanism === mechanism ? [e.principal] : []));

describe('principal prefixes keep OAUTHBEARER and certificate principals apart from SCRAM users', () => {
  it('OAUTHBEARER: with principalPrefix "oauth:", sub admin is User:oauth:admin, not the super user; ACLs name User:oauth:alice', { timeout: 30_000 }, async (t) => {
    const issuer = await tokenIssuer(tempDir(t));
    const b = await startSecureBroker(t, {
      security: { sasl: oauthSasl(issuer.jwksFile, 'oauth:') },
      acls: [allow('User:oauth:alice', ResourceType.TOPIC, TOPIC, AclOperation.WRITE)],
    });
    await createTopic(b.adminProperties, [TOPIC]);
    assert.equal(await produceWithToken(t, b, issuer, 'admin'), 'TOPIC_AUTHORIZATION_FAILED');
    assert.ok(deniedOnTopic(b.events, 'User:oauth:admin', TOPIC).length > 0, describeEvents(b.events));
    assert.equal(await produceWithToken(t, b, issuer, 'alice'), 'ok');
    assert.deepEqual(principalsLoggedIn(b, 'OAUTHBEARER'), ['User:oauth:admin', 'User:oauth:alice']);
  });

  it('OAUTHBEARER without a prefix (configs that do not set one): sub admin is the super user, as before', { timeout: 30_000 }, async (t) => {
    const issuer = await tokenIssuer(tempDir(t));
    const b = await startSecureBroker(t, { security: { sasl: oauthSasl(issuer.jwksFile) } });
    await createTopic(b.adminProperties, [TOPIC]);
    assert.equal(await produceWithToken(t, b, issuer, 'admin'), 'ok');
    assert.deepEqual(principalsLoggedIn(b, 'OAUTHBEARER'), ['User:admin']);
  });

  it('mTLS: with principalPrefix "cert:", CN=admin is User:cert:admin, not the super user; ACLs and superUsers name User:cert:…', { timeout: 30_000 }, async (t) => {
    const dir = tempDir(t);
    const b = await startSecureBroker(t, {
      listener: { protocol: 'SSL' },
      security: {
        tls: { clientAuth: 'required', principalMapping: [], principalPrefix: 'cert:', reloadIntervalMs: 60_000 },
        superUsers: ['User:admin', 'User:cert:ops'],
      },
      acls: [allow('User:cert:alice', ResourceType.TOPIC, TOPIC, AclOperation.WRITE)],
    });
    const ca = initCa(b);
    const base = { 'bootstrap.servers': b.bootstrap, 'security.protocol': 'SSL', 'ssl.ca.location': b.caFile };
    const configFor = async (cn: string) => {
      const cert = await writeClientCertificate(ca, cn, dir);
      return writeProperties(join(dir, `${cn}.properties`), { ...base, 'ssl.certificate.location': cert.certFile, 'ssl.key.location': cert.keyFile });
    };
    const admin = await configFor('admin');
    const ops = await configFor('ops');
    const alice = await configFor('alice');
    // CN=admin may not create a topic: it is User:cert:admin, not the super user User:admin.
    await assert.rejects(createTopic(admin, [TOPIC]), (err: unknown) => {
      assert.ok(err instanceof KafkaError);
      assert.equal(err.code, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
      return true;
    });
    // superUsers names the certificate principal with its prefix.
    await createTopic(ops, [TOPIC]);
    const produced = await kcat(['-F', alice, '-P', '-t', TOPIC, '-p', '0'], { input: Buffer.from('hello\n') });
    assert.equal(produced.code, 0, produced.stderr);
    const deniedAdmin = await kcat(['-F', admin, '-P', '-t', TOPIC, '-p', '0', '-X', 'message.timeout.ms=4000'], { input: Buffer.from('x\n') });
    assert.notEqual(deniedAdmin.code, 0);
    assert.match(deniedAdmin.stderr, /Topic authorization failed/i);
    assert.deepEqual(new Set(principalsLoggedIn(b, 'TLS client certificate')), new Set(['User:cert:admin', 'User:cert:ops', 'User:cert:alice']));
    assert.ok(deniedOnTopic(b.events, 'User:cert:admin', TOPIC).length > 0, describeEvents(b.events));
  });

  // A prefix with ":" (the form init writes) can never hold a SCRAM name, since user names have no ":";
  // a prefix without one, such as "ext-", shares the namespace and is guarded by the broker.
  it('a SCRAM user cannot be named into a prefix: creating one is refused, and one made before the prefix cannot log in', async (t) => {
    const b = await startSecureBroker(t, {
      users: { 'ext-bob': 'bob-made-before-the-prefix', carol: 'carol-password-123' },
      security: { tls: { ...DEFAULT_SECURITY_CONFIG.tls, principalPrefix: 'ext-' } },
    });
    const admin = await AdminClient.connect(readClientConfig(b.adminProperties), { clientId: 'prefix-test' });
    t.after(() => {
      admin.close();
    });
    await assert.rejects(admin.upsertScramCredential('ext-mallory', 'SCRAM-SHA-512', 'mallory-password-1'), (err: unknown) => {
      assert.ok(err instanceof KafkaError);
      assert.equal(err.code, ErrorCode.UNACCEPTABLE_CREDENTIAL);
      assert.equal(err.brokerMessage, 'User names starting with "ext-" belong to tls.principalPrefix: choose another name');
      return true;
    });
    assert.deepEqual((await admin.describeScramUsers(['ext-mallory'])).length, 0);
    const bob = await SaslTestConnection.open(t, b.port, b.caFile);
    assert.equal((await bob.scram('SCRAM-SHA-512', 'ext-bob', 'bob-made-before-the-prefix')).result.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
    const carol = await SaslTestConnection.open(t, b.port, b.caFile);
    assert.equal((await carol.scram('SCRAM-SHA-512', 'carol', 'carol-password-123')).result.errorCode, 0);
    assert.deepEqual(
      b.events.flatMap((e) => (e.type === 'authentication-failed' ? [[e.claimedUser, e.reason]] : [])),
      [['ext-bob', 'UNKNOWN_USER']],
    );
  });
});
