import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type KeyInput } from 'jose';
import { Kafka, logLevel, type Consumer, type KafkaConfig, type Producer, type SASLOptions } from 'kafkajs';
import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../../src/protocol/acl.js';
import type { AclBindingInput } from '../../src/security/authz/acl-store.js';
import { DEFAULT_SECURITY_CONFIG } from '../../src/security/config.js';
import type { SecurityEvent } from '../../src/security/events.js';
import { startSecureBroker, type SecureBroker } from '../helpers/secure-broker.js';
import { errorChain } from './security-support.js';

/**
 * KafkaJS 2.2.4 against the broker as `parapet init` sets it up: SASL_SSL, the server certificate
 * verified against the local CA (KafkaJS passes `ssl` to tls.connect; for an IP address it sets no
 * servername, so Node checks the certificate's IP SAN 127.0.0.1), SCRAM-SHA-256 and OAUTHBEARER with
 * signed JWTs, and Kafka ACLs deciding what each principal may do.
 */

// A session timeout below Kafka's 6 s minimum keeps a consumer's leave and rejoin short.
const GROUP_TIMING = { groupInitialRebalanceDelayMs: 100, groupMinSessionTimeoutMs: 1000 } as const;

function allow(principal: string, resourceType: number, resourceName: string, operation: number): AclBindingInput {
  return { resourceType, resourceName, patternType: PatternType.LITERAL, principal, host: '*', operation, permission: AclPermissionType.ALLOW };
}

const summary = (chain: Record<string, unknown>[]): string =>
  chain.map((e) => `${String(e.name)}(${JSON.stringify(e.type ?? e.code ?? null)}): ${String(e.message)}`).join(' <- ');

/** Asserts that `promise` rejects and that some error in its chain matches `expected`. */
async function rejectsWith(promise: Promise<unknown>, expected: Record<string, unknown>, what: string): Promise<Record<string, unknown>[]> {
  let chain: Record<string, unknown>[] | undefined;
  await assert.rejects(promise, (error: unknown) => {
    chain = errorChain(error);
    const match = chain.some((e) => Object.entries(expected).every(([k, v]) => (v instanceof RegExp ? typeof e[k] === 'string' && v.test(e[k]) : e[k] === v)));
    assert.ok(match, `${what}: expected ${JSON.stringify(expected, (_k, v: unknown) => (v instanceof RegExp ? String(v) : v))}, got ${summary(chain)}`);
    return true;
  });
  return chain ?? [];
}

/** Runs the cleanups in reverse order; the broker's own cleanup (registered first) runs after them. */
function cleanups(): { add(fn: () => Promise<unknown>): void; run(): Promise<void> } {
  const fns: (() => Promise<unknown>)[] = [];
  return {
    add: (fn) => fns.push(fn),
    async run() {
      for (const fn of fns.reverse()) await fn().catch(() => undefined);
    },
  };
}

function kafkaClient(b: SecureBroker, clientId: string, sasl: SASLOptions, ssl: KafkaConfig['ssl'] = { ca: [readFileSync(b.caFile)] }): Kafka {
  return new Kafka({
    clientId,
    brokers: [b.bootstrap],
    ssl,
    sasl,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 5000,
    // Short backoffs for the consumer's rejoins; errors the tests expect are not retriable anyway.
    retry: { initialRetryTime: 50, maxRetryTime: 500, retries: 3 },
  });
}

interface SentMessage {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer>;
}

/** Binary keys, values and header values, with an empty value and a tombstone among them. */
function binaryMessages(count: number, partitions: number): { partition: number; key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer> }[] {
  return Array.from({ length: count }, (_, i) => ({
    partition: i % partitions,
    key: i % 5 === 4 ? null : randomBytes(1 + (i % 9)),
    value: i === 7 ? null : i === 8 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0, 0xff, 0x80, i]), randomBytes(i * 13)]),
    headers: i % 3 === 0 ? { trace: randomBytes(8), 'x-bin': Buffer.from([0, 1, 2, 0xfe]) } : {},
  }));
}

async function produceAll(producer: Producer, topic: string, messages: ReturnType<typeof binaryMessages>): Promise<SentMessage[]> {
  const sent: SentMessage[] = [];
  for (const m of messages) {
    const [meta] = await producer.send({ topic, acks: -1, messages: [{ partition: m.partition, key: m.key, value: m.value, headers: m.headers }] });
    assert.equal(meta?.errorCode, 0);
    assert.ok(meta.baseOffset !== undefined);
    sent.push({ ...m, offset: meta.baseOffset });
  }
  return sent;
}

/** Joins `groupId`, reads until `count` messages arrived, and returns them as they were received. */
async function consumeInGroup(consumer: Consumer, topic: string, count: number): Promise<SentMessage[]> {
  const received: SentMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let done: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (done = resolve));
  await consumer.run({
    eachMessage: ({ partition, message }) => {
      const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, v as Buffer]));
      received.push({ partition, offset: message.offset, key: message.key, value: message.value, headers });
      if (received.length >= count) done();
      return Promise.resolve();
    },
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`only ${received.length} of ${count} messages consumed`));
    }, 15_000);
  });
  await Promise.race([all, timeout]);
  clearTimeout(timer);
  return received;
}

const byPosition = (a: SentMessage, b: SentMessage) => a.partition - b.partition || Number(a.offset) - Number(b.offset);
const asHex = (m: SentMessage) => ({
  partition: m.partition,
  offset: m.offset,
  key: m.key?.toString('hex') ?? null,
  value: m.value?.toString('hex') ?? null,
  headers: Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [k, v.toString('hex')])),
});

function eventsOf<T extends SecurityEvent['type']>(events: readonly SecurityEvent[], type: T): Extract<SecurityEvent, { type: T }>[] {
  return events.filter((e): e is Extract<SecurityEvent, { type: T }> => e.type === type);
}

async function createTopics(t: TestContext, b: SecureBroker, topics: { topic: string; numPartitions: number }[]): Promise<void> {
  const admin = kafkaClient(b, 'setup-admin', { mechanism: 'scram-sha-512', username: 'admin', password: b.adminPassword }).admin();
  await admin.connect();
  try {
    assert.equal(await admin.createTopics({ topics, waitForLeaders: true }), true);
  } finally {
    await admin.disconnect();
  }
  t.diagnostic(`created ${topics.map((x) => x.topic).join(', ')} as User:admin`);
}

describe('KafkaJS over SASL_SSL with a verified server certificate', () => {
  it('refuses a server certificate it cannot verify: an unknown CA, or a name the certificate does not carry', async (t) => {
    const b = await startSecureBroker(t, { users: { alice: 'alice-password-256' } });
    const sasl: SASLOptions = { mechanism: 'scram-sha-256', username: 'alice', password: 'alice-password-256' };
    // ssl: true trusts only the system CAs, which do not include the broker's local CA (the broker
    // sends its certificate without the CA, so the chain stops at the leaf).
    await rejectsWith(kafkaClient(b, 'no-ca', sasl, true).producer().connect(), { name: 'KafkaJSConnectionError', code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }, 'system CAs only');
    // The right CA but another name: the hostname check is what fails.
    await rejectsWith(
      kafkaClient(b, 'wrong-name', sasl, { ca: [readFileSync(b.caFile)], servername: 'not-the-broker.example' }).producer().connect(),
      { name: 'KafkaJSConnectionError', code: 'ERR_TLS_CERT_ALTNAME_INVALID' },
      'certificate name mismatch',
    );
    assert.deepEqual(eventsOf(b.events, 'authentication-succeeded'), [], 'no client got as far as SASL');
    // The same client with the CA and the IP address it connects to gets in.
    const producer = kafkaClient(b, 'ok', sasl).producer();
    await producer.connect();
    await producer.disconnect();
    assert.deepEqual(eventsOf(b.events, 'authentication-succeeded').map((e) => [e.mechanism, e.principal]), [['SCRAM-SHA-256', 'User:alice']]);
  });

  it('SCRAM-SHA-256: a user with ACLs produces and consumes in a group, byte for byte; other topics and a wrong password are refused', { timeout: 40_000 }, async (t) => {
    const password = 'alice-scram-256-password';
    const b = await startSecureBroker(t, {
      users: { alice: password },
      acls: [
        allow('User:alice', ResourceType.TOPIC, 'orders', AclOperation.WRITE),
        allow('User:alice', ResourceType.TOPIC, 'orders', AclOperation.READ),
        allow('User:alice', ResourceType.GROUP, 'orders-app', AclOperation.READ),
        // READ implies DESCRIBE: alice sees this topic in Metadata but may not write to it.
        allow('User:alice', ResourceType.TOPIC, 'audit', AclOperation.READ),
      ],
      broker: GROUP_TIMING,
    });
    await createTopics(t, b, [
      { topic: 'orders', numPartitions: 2 },
      { topic: 'audit', numPartitions: 1 },
      { topic: 'payments', numPartitions: 1 },
    ]);
    const close = cleanups();
    try {
      const kafka = kafkaClient(b, 'alice-app', { mechanism: 'scram-sha-256', username: 'alice', password });
      const producer = kafka.producer({ allowAutoTopicCreation: false });
      close.add(() => producer.disconnect());
      await producer.connect();
      const sent = await produceAll(producer, 'orders', binaryMessages(24, 2));
      assert.deepEqual(
        sent.map((m) => [m.partition, m.offset]),
        sent.map((m, i) => [m.partition, String(Math.floor(i / 2))]),
        'offsets per partition',
      );

      const consumer = kafka.consumer({ groupId: 'orders-app', sessionTimeout: 6000, heartbeatInterval: 200, maxWaitTimeInMs: 100 });
      close.add(() => consumer.disconnect());
      const received = await consumeInGroup(consumer, 'orders', sent.length);
      assert.deepEqual(received.sort(byPosition).map(asHex), sent.sort(byPosition).map(asHex), 'keys, values and headers byte-identical, each once');

      // The group's commits went through too (OffsetCommit needs READ on the group and the topic).
      const admin = kafka.admin();
      close.add(() => admin.disconnect());
      await admin.connect();
      const deadline = Date.now() + 10_000;
      let committed: string[] = [];
      while (Date.now() < deadline) {
        const [offsets] = await admin.fetchOffsets({ groupId: 'orders-app', topics: ['orders'] });
        committed = (offsets?.partitions ?? []).sort((x, y) => x.partition - y.partition).map((p) => p.offset);
        if (committed.join() === '12,12') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual(committed, ['12', '12'], 'committed offsets');
      await consumer.disconnect();

      // Visible but not writable: Produce itself answers TOPIC_AUTHORIZATION_FAILED (29).
      await rejectsWith(
        producer.send({ topic: 'audit', messages: [{ value: 'not allowed' }] }),
        { name: 'KafkaJSProtocolError', type: 'TOPIC_AUTHORIZATION_FAILED', code: 29 },
        'produce to a topic alice may only read',
      );
      // No ACL at all: already Metadata refuses the topic, with the same error.
      await rejectsWith(
        producer.send({ topic: 'payments', messages: [{ value: 'not allowed' }] }),
        { name: 'KafkaJSProtocolError', type: 'TOPIC_AUTHORIZATION_FAILED', code: 29 },
        'produce to a topic alice has no ACL for',
      );
      const denied = eventsOf(b.events, 'authorization-denied').filter((e) => e.principal === 'User:alice');
      assert.ok(
        denied.some((e) => e.api === 'Produce' && e.resources.includes('WRITE TOPIC:audit')),
        `a denied Produce on audit: ${JSON.stringify(denied)}`,
      );
      assert.ok(
        denied.some((e) => e.api === 'Metadata' && e.resources.some((r) => r.includes('TOPIC:payments'))),
        `a denied Metadata on payments: ${JSON.stringify(denied)}`,
      );
      assert.equal(
        denied.filter((e) => e.resources.some((r) => r.includes('orders'))).length,
        0,
        'nothing on orders or the orders-app group was denied',
      );

      // A wrong password: KafkaJS's connect fails with its SASL authentication error.
      const before = b.events.length;
      await rejectsWith(
        kafkaClient(b, 'alice-wrong', { mechanism: 'scram-sha-256', username: 'alice', password: 'not-the-password' }).producer().connect(),
        { name: 'KafkaJSSASLAuthenticationError', message: /SCRAM SHA256 authentication failed/ },
        'wrong password',
      );
      assert.deepEqual(
        eventsOf(b.events.slice(before), 'authentication-failed').map((e) => [e.mechanism, e.reason, e.claimedUser]),
        [['SCRAM-SHA-256', 'BAD_CREDENTIALS', 'alice']],
      );
      assert.ok(
        eventsOf(b.events, 'authentication-succeeded').every((e) => e.principal === 'User:admin' || (e.principal === 'User:alice' && e.mechanism === 'SCRAM-SHA-256')),
      );
    } finally {
      await close.run();
    }
  });

  it('OAUTHBEARER: a signed JWT for svc-orders produces and consumes; expired, wrong-audience and forged tokens are refused', { timeout: 40_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'parapet-jwks-'));
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const issuer = 'https://idp.example.test/realms/parapet';
    const audience = 'parapet-cluster';
    const kid = 'signing-key-1';
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwksFile = join(dir, 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] }));

    const now = Math.floor(Date.now() / 1000);
    const sign = async (claims: { sub: string; aud?: string; iat?: number; exp?: number }, key: KeyInput = privateKey): Promise<string> =>
      new SignJWT({ scope: 'kafka' })
        .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
        .setIssuer(issuer)
        .setSubject(claims.sub)
        .setAudience(claims.aud ?? audience)
        .setIssuedAt(claims.iat ?? now)
        .setExpirationTime(claims.exp ?? now + 600)
        .sign(key);

    const b = await startSecureBroker(t, {
      acls: [
        allow('User:svc-orders', ResourceType.TOPIC, 'orders', AclOperation.WRITE),
        allow('User:svc-orders', ResourceType.TOPIC, 'orders', AclOperation.READ),
        allow('User:svc-orders', ResourceType.GROUP, 'orders-svc', AclOperation.READ),
      ],
      security: {
        sasl: {
          ...DEFAULT_SECURITY_CONFIG.sasl,
          failedAuthenticationDelayMs: 0,
          mechanisms: ['SCRAM-SHA-512', 'OAUTHBEARER'],
          oauthbearer: { jwksFile, issuer, audience: [audience, 'another-cluster'] },
        },
      },
      broker: GROUP_TIMING,
    });
    await createTopics(t, b, [
      { topic: 'orders', numPartitions: 2 },
      { topic: 'payments', numPartitions: 1 },
    ]);

    const oauthClient = (clientId: string, token: string) => {
      let calls = 0;
      const kafka = kafkaClient(b, clientId, {
        mechanism: 'oauthbearer',
        oauthBearerProvider: () => {
          calls++;
          return Promise.resolve({ value: token });
        },
      });
      return { kafka, calls: () => calls };
    };

    const close = cleanups();
    try {
      const { kafka, calls } = oauthClient('orders-service', await sign({ sub: 'svc-orders' }));
      const producer = kafka.producer({ allowAutoTopicCreation: false });
      close.add(() => producer.disconnect());
      await producer.connect();
      const sent = await produceAll(producer, 'orders', binaryMessages(10, 2));
      const consumer = kafka.consumer({ groupId: 'orders-svc', sessionTimeout: 6000, heartbeatInterval: 200, maxWaitTimeInMs: 100 });
      close.add(() => consumer.disconnect());
      const received = await consumeInGroup(consumer, 'orders', sent.length);
      assert.deepEqual(received.sort(byPosition).map(asHex), sent.sort(byPosition).map(asHex), 'every message, byte-identical');
      await consumer.disconnect();
      assert.ok(calls() >= 2, 'the token provider was asked on each connection');

      // The token's principal is what the ACLs see: no ACL on payments, no write.
      await rejectsWith(
        producer.send({ topic: 'payments', messages: [{ value: 'x' }] }),
        { name: 'KafkaJSProtocolError', type: 'TOPIC_AUTHORIZATION_FAILED' },
        'svc-orders producing to payments',
      );
      await producer.disconnect();

      const succeeded = eventsOf(b.events, 'authentication-succeeded').filter((e) => e.mechanism === 'OAUTHBEARER');
      assert.ok(succeeded.length >= 2, 'producer and consumer connections authenticated');
      assert.deepEqual([...new Set(succeeded.map((e) => e.principal))], ['User:svc-orders']);

      const refused = async (what: string, token: string): Promise<void> => {
        const before = b.events.length;
        await rejectsWith(oauthClient(what, token).kafka.producer().connect(), { name: 'KafkaJSSASLAuthenticationError', message: /SASL OAUTHBEARER authentication failed/ }, what);
        assert.deepEqual(
          eventsOf(b.events.slice(before), 'authentication-failed').map((e) => [e.mechanism, e.reason, e.claimedUser]),
          [['OAUTHBEARER', 'INVALID_TOKEN', 'svc-orders']],
          `${what}: the failure is logged`,
        );
        assert.deepEqual(eventsOf(b.events.slice(before), 'authentication-succeeded'), [], `${what}: no session`);
      };
      // Expired ten minutes ago: far beyond the 30 s clock skew allowed.
      await refused('expired', await sign({ sub: 'svc-orders', iat: now - 3600, exp: now - 600 }));
      await refused('wrong audience', await sign({ sub: 'svc-orders', aud: 'some-other-service' }));
      // Signed with another key under the same kid: the signature does not verify.
      const { privateKey: otherKey } = await generateKeyPair('ES256');
      await refused('forged', await sign({ sub: 'svc-orders' }, otherKey));
    } finally {
      await close.run();
    }
  });
});
