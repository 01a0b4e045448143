import assert from 'node:assert/strict';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { after, before, describe, it, type TestContext } from 'node:test';
import { KafkaError } from '../../src/client/errors.js';
import { isFlexible } from '../../src/protocol/codec.js';
import { encodeRequest } from '../../src/protocol/frames.js';
import { Fetch, IncrementalAlterConfigs, AlterConfigs, OffsetFetch, Produce } from '../../src/protocol/messages/index.js';
import { buildBatchSync } from '../../src/records/record.js';
import { SaslTestConnection } from '../helpers/sasl-client.js';
import { connect, eventually, startBrokerProcess, type BrokerProcess } from '../security/attack-support.js';
import { MiB, RssSampler } from './support/broker-health.js';

/**
 * The Kafka CVEs that apply to a broker, each replayed against a default Parapet broker process (and,
 * where one cannot apply to Parapet's design, the analogous input, with a sentence saying why). The
 * advisories: https://kafka.apache.org/cve-list and the CVE records cited in each test.
 */

const cleanups: (() => void)[] = [];
let broker: BrokerProcess;
const ALICE = { user: 'alice', password: 'alice-password-1' };

before(async () => {
  broker = await startBrokerProcess({ after: (fn) => cleanups.push(fn) });
  await broker.addUser(ALICE.user, ALICE.password);
});
after(() => {
  for (const fn of cleanups.reverse()) fn();
});

/** A request header v1 (v2 when flexible: an empty tag section) with a null client id. */
function header(apiKey: number, version: number, flexible: boolean): Buffer {
  const h = Buffer.alloc(flexible ? 11 : 10);
  h.writeInt16BE(apiKey, 0);
  h.writeInt16BE(version, 2);
  h.writeInt32BE(7, 4);
  h.writeInt16BE(-1, 8);
  return h;
}

/** The `connection closed` reasons the broker logged since `from` (an offset into its output). */
function closeReasonsSince(from: number): string[] {
  return [...broker.output().slice(from).matchAll(/"reason":"([A-Z_]+)"[^\n]*"msg":"connection closed"/g)].map((m) => m[1] as string);
}

async function closedWithin(conn: SaslTestConnection, ms: number): Promise<void> {
  const timer = new Promise<'open'>((resolve) => setTimeout(() => {
      resolve('open');
    }, ms).unref());
  assert.notEqual(await Promise.race([conn.closed.then(() => 'closed' as const), timer]), 'open', `the broker did not close the connection within ${ms} ms`);
}

describe('CVE-2022-34917: no allocation sized by an unauthenticated peer', () => {
  // "allows malicious unauthenticated clients to allocate large amounts of memory on brokers … can
  // trigger the issue without the need for valid SASL credentials" (CVE-2022-34917,
  // https://github.com/advisories/GHSA-c9h3-c6qj-hh7q): a size prefix, and a length inside a SASL
  // frame, taken at their word. Parapet bounds the frame before login (maxUnauthenticatedFrameBytes)
  // and checks every length against what remains before allocating (src/bytes/reader.ts).
  it('60 peers each announce 2 GiB frames, 2 GiB SASL tokens and 2^31 array elements: RSS stays flat, each is closed with a typed reason', async (t) => {
    const from = broker.output().length;
    const rss = new RssSampler(() => broker.rssBytes(), 50);
    const rssBefore = broker.rssBytes();
    const attacks: { name: string; reason: string; run: (c: SaslTestConnection) => Promise<void> }[] = [
      {
        name: 'size prefix 0x7fffffff',
        reason: 'FRAME_TOO_LARGE',
        run: (c) => {
          c.socket.write(Buffer.concat([Buffer.from('7fffffff', 'hex'), randomBytes(4096)]));
          return Promise.resolve();
        },
      },
      {
        name: 'SaslAuthenticate v1 with a 2 GiB auth_bytes length',
        reason: 'DECODE_ERROR',
        run: async (c) => {
          assert.equal((await c.handshake('SCRAM-SHA-512')).errorCode, 0);
          c.sendFrame(Buffer.concat([header(36, 1, false), Buffer.from('7fffffff', 'hex'), Buffer.from('n,,n=alice,r=abc')]));
        },
      },
      {
        name: 'SaslAuthenticate v2 with a 2 GiB compact auth_bytes length',
        reason: 'DECODE_ERROR',
        run: async (c) => {
          assert.equal((await c.handshake('SCRAM-SHA-512')).errorCode, 0);
          c.sendFrame(Buffer.concat([header(36, 2, true), Buffer.from('ffffffff07', 'hex'), Buffer.from('n,,n=alice,r=abc')]));
        },
      },
      {
        name: 'Metadata v4 (refused before login, decoded first) with 2^31-1 topics',
        reason: 'DECODE_ERROR',
        run: (c) => {
          c.sendFrame(Buffer.concat([header(3, 4, false), Buffer.from('7fffffff', 'hex'), Buffer.alloc(16)]));
          return Promise.resolve();
        },
      },
    ];
    const conns: { conn: SaslTestConnection; attack: (typeof attacks)[number] }[] = [];
    for (let i = 0; i < 60; i++) {
      const attack = attacks[i % attacks.length] as (typeof attacks)[number];
      conns.push({ conn: await SaslTestConnection.open(t, broker.port, broker.caFile), attack });
    }
    await Promise.all(conns.map(({ conn, attack }) => attack.run(conn)));
    await Promise.all(conns.map(({ conn }) => closedWithin(conn, 10_000)));
    rss.stop();
    const peak = Math.max(...rss.samples) - rssBefore;
    t.diagnostic(`RSS ${(rssBefore / MiB).toFixed(0)} MiB, peak +${(peak / MiB).toFixed(1)} MiB over 60 hostile peers`);
    // One honoured 2 GiB allocation would show as gigabytes; 60 connections' TLS state is a few MiB.
    assert.ok(peak < 64 * MiB, `RSS rose by ${(peak / MiB).toFixed(0)} MiB`);
    await eventually(() => closeReasonsSince(from).length >= 60, '60 close lines');
    const reasons = closeReasonsSince(from);
    for (const a of attacks) {
      const expected = conns.filter((c) => c.attack === a).length;
      assert.equal(reasons.filter((r) => r === a.reason).length >= expected, true, `${a.name}: ${a.reason} closes in ${JSON.stringify(reasons)}`);
    }
  });
});

describe('CVE-2018-1288: a client cannot act as a broker', () => {
  // "authenticated Kafka users may perform action reserved for the Broker via a manually created fetch
  // request interfering with data replication" (CVE-2018-1288; https://kafka.apache.org/cve-list): a
  // Fetch whose replica_id is a broker id was served as replication without the ClusterAction ACL.
  // Parapet has no replication, so a replica_id grants nothing: the Fetch is a consumer's, authorized
  // as READ on the topic; and the inter-broker APIs (LeaderAndIsr, StopReplica, UpdateMetadata,
  // ControlledShutdown) are not served at all, for any principal.
  it('a Fetch with replica_id 0 (the broker) by a user without READ gets TOPIC_AUTHORIZATION_FAILED and no records', async (t) => {
    const admin = await broker.admin();
    await admin.createTopic('replicated', 1);
    const adminConnection = await connect(t, broker.adminConfig);
    const produced = await adminConnection.request(Produce, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 10_000,
      topicData: [{ name: 'replicated', partitionData: [{ index: 0, records: buildBatchSync({ records: [{ value: 'replicated secret' }] }) }] }],
    });
    assert.equal(produced.responses[0]?.partitionResponses[0]?.errorCode, 0);
    const mallory = await SaslTestConnection.open(t, broker.port, broker.caFile);
    assert.equal((await mallory.scram('SCRAM-SHA-512', ALICE.user, ALICE.password)).result.errorCode, 0);
    for (const version of [4, 11, 12]) {
      const body = (await mallory.request(Fetch, version, {
        clusterId: null,
        replicaId: 0,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1_048_576,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topic: 'replicated', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1_048_576 }] }],
        forgottenTopicsData: [],
        rackId: '',
      })) as { responses: { partitions: { errorCode: number; records: Buffer | null }[] }[] };
      const p = body.responses[0]?.partitions[0];
      assert.equal(p?.errorCode, 29, `Fetch v${version}: TOPIC_AUTHORIZATION_FAILED (29)`);
      assert.ok(p.records === null || p.records.length === 0, `Fetch v${version} returned records`);
    }
  });

  it('the inter-broker APIs close the connection (UNSUPPORTED_API), even for the super user', async (t) => {
    const from = broker.output().length;
    const admin = broker.adminConfig.sasl;
    assert.ok(admin !== undefined && admin.mechanism !== 'PLAIN');
    // LeaderAndIsr (4), StopReplica (5), UpdateMetadata (6), ControlledShutdown (7).
    for (const apiKey of [4, 5, 6, 7]) {
      const conn = await SaslTestConnection.open(t, broker.port, broker.caFile);
      const login = await conn.scram(admin.mechanism, admin.username, admin.password.reveal());
      assert.equal(login.result.errorCode, 0);
      conn.sendFrame(Buffer.concat([header(apiKey, 1, false), Buffer.alloc(32)]));
      await closedWithin(conn, 10_000);
    }
    await eventually(() => closeReasonsSince(from).filter((r) => r === 'UNSUPPORTED_API').length >= 4, 'four UNSUPPORTED_API closes');
  });
});

describe('CVE-2023-25194: no client-supplied configuration loads code or reaches out', () => {
  // Kafka Connect let a REST client set `sasl.jaas.config` of a connector's Kafka client to
  // com.sun.security.auth.module.JndiLoginModule, which looked up an attacker's LDAP server and
  // deserialized what it returned (CVE-2023-25194, https://kafka.apache.org/cve-list). Parapet has no
  // Connect, no JAAS and no JNDI: nothing it accepts names a class, a module or a file to load. What a
  // client can send are topic configs (a closed list, unknown keys refused) and broker configs (none
  // alterable); the test sends the injection through both and checks that it is refused and inert: the
  // "LDAP server" below sees no connection.
  it('sasl.jaas.config with a JndiLoginModule (and OAuth URLs) as topic or broker configs: refused, and nothing connects to the URL', async (t) => {
    let reached = 0;
    const ldap = createServer((s: Socket) => {
      reached++;
      s.destroy();
    });
    await new Promise<void>((resolve) => ldap.listen(0, '127.0.0.1', resolve));
    t.after(() => ldap.close());
    const address = ldap.address();
    assert.ok(address !== null && typeof address === 'object');
    const url = `ldap://127.0.0.1:${address.port}/cn=x`;
    const injections: Record<string, string> = {
      'sasl.jaas.config': `com.sun.security.auth.module.JndiLoginModule required user.provider.url="${url}" group.provider.url="${url}" useFirstPass=true;`,
      'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config': `com.sun.security.auth.module.JndiLoginModule required user.provider.url="${url}";`,
      'sasl.oauthbearer.token.endpoint.url': url.replace('ldap', 'http'),
      'sasl.oauthbearer.jwks.endpoint.url': `file:///etc/passwd`,
    };
    const admin = await broker.admin();
    for (const [key, value] of Object.entries(injections)) {
      await assert.rejects(admin.createTopic(`jndi-${key.length}`, 1, { [key]: value }), (err: unknown) => err instanceof KafkaError && err.code === 40, `${key} as a topic config`);
    }
    const names = (await admin.listTopics()).map((x) => x.name);
    assert.deepEqual(names.filter((n) => n.startsWith('jndi-')), []);

    const conn = await connect(t, broker.adminConfig);
    const configs = Object.entries(injections).map(([name, value]) => ({ name, value, configOperation: 0 }));
    for (const resourceType of [4, 2]) {
      // BROKER 0 (no broker config is alterable), and a topic.
      const resourceName = resourceType === 4 ? '0' : 'replicated-or-not';
      const incremental = await conn.request(IncrementalAlterConfigs, { resources: [{ resourceType, resourceName, configs }], validateOnly: false });
      assert.notEqual(incremental.responses[0]?.errorCode, 0, `IncrementalAlterConfigs of resource type ${resourceType}`);
      const legacy = await conn.request(AlterConfigs, { resources: [{ resourceType, resourceName, configs }], validateOnly: false });
      assert.notEqual(legacy.responses[0]?.errorCode, 0, `AlterConfigs of resource type ${resourceType}`);
    }
    // Whatever the broker did with them, it did not look the URL up (give a lookup time to happen).
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(reached, 0, 'the broker connected to the injected URL');
  });
});

/** The client side of SCRAM (RFC 5802 §3), spelled out so that a test can sign what it likes. */
function scramKeys(mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512', password: string, salt: Buffer, iterations: number) {
  const hash = mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512';
  const salted = pbkdf2Sync(password, salt, iterations, hash === 'sha256' ? 32 : 64, hash);
  const clientKey = createHmac(hash, salted).update('Client Key').digest();
  const storedKey = createHash(hash).update(clientKey).digest();
  return {
    proof(authMessage: string): string {
      const signature = createHmac(hash, storedKey).update(authMessage).digest();
      return Buffer.from(clientKey.map((b, i) => b ^ (signature[i] as number))).toString('base64');
    },
  };
}

interface ServerFirst {
  readonly text: string;
  readonly nonce: string;
  readonly salt: Buffer;
  readonly iterations: number;
}

/** Opens a connection, sends client-first for `user` and returns the parsed server-first. */
async function startScram(t: TestContext, clientNonce: string, clientFirstBare = `n=${ALICE.user},r=${clientNonce}`, gs2 = 'n,,') {
  const conn = await SaslTestConnection.open(t, broker.port, broker.caFile);
  assert.equal((await conn.handshake('SCRAM-SHA-256')).errorCode, 0);
  const first = await conn.authenticate(Buffer.from(gs2 + clientFirstBare));
  const text = first.authBytes.toString();
  const m = /^r=([^,]+),s=([^,]+),i=(\d+)$/.exec(text);
  const serverFirst: ServerFirst | null = m === null ? null : { text, nonce: m[1] as string, salt: Buffer.from(m[2] as string, 'base64'), iterations: Number(m[3]) };
  return { conn, errorCode: first.errorCode, serverFirst, clientFirstBare };
}

describe('CVE-2024-56128: SCRAM as RFC 5802 and RFC 7677 require', () => {
  // "the server must verify that the nonce sent by the client in the second message matches the nonce
  // sent by the server in its first message. However, Kafka's SCRAM implementation did not perform this
  // validation" (CVE-2024-56128, https://kafka.apache.org/cve-list). Each case signs its client-final
  // with the right password, so that only the check under test can refuse it: without the nonce check
  // the first case would log in.
  const clientFinal = (sf: ServerFirst, bare: string, nonce: string, binding = 'biws') => {
    const withoutProof = `c=${binding},r=${nonce}`;
    const proof = scramKeys('SCRAM-SHA-256', ALICE.password, sf.salt, sf.iterations).proof(`${bare},${sf.text},${withoutProof}`);
    return Buffer.from(`${withoutProof},p=${proof}`);
  };

  it('server-first echoes the client nonce, adds its own, and carries the salt and iteration count of the credential', async (t) => {
    const a = await startScram(t, 'nonce-one-1234567890');
    const b = await startScram(t, 'nonce-one-1234567890');
    assert.ok(a.serverFirst !== null && b.serverFirst !== null, 'server-first is r=…,s=…,i=…');
    assert.ok(a.serverFirst.nonce.startsWith('nonce-one-1234567890') && a.serverFirst.nonce.length >= 'nonce-one-1234567890'.length + 16, 'r= is the client nonce plus ≥16 characters of the server');
    assert.notEqual(a.serverFirst.nonce, b.serverFirst.nonce, 'a fresh server nonce per exchange');
    assert.equal(a.serverFirst.iterations, 4096, 'the iteration count of the stored credential (RFC 7677: at least 4096)');
    assert.ok(a.serverFirst.salt.length >= 16 && a.serverFirst.salt.equals(b.serverFirst.salt), 'the stored salt, the same for both exchanges');
    // A control: signed the same way with the right nonce, the exchange succeeds.
    const ok = await a.conn.authenticate(clientFinal(a.serverFirst, a.clientFirstBare, a.serverFirst.nonce));
    assert.equal(ok.errorCode, 0, 'the control login');
  });

  it('a client-final whose nonce differs from the server-first nonce is refused, however well signed', async (t) => {
    const from = broker.output().length;
    for (const wrong of [(n: string) => `${n.slice(0, -1)}${n.endsWith('A') ? 'B' : 'A'}`, () => 'nonce-two-1234567890', (n: string) => `${n}x`]) {
      const s = await startScram(t, 'nonce-two-1234567890');
      assert.ok(s.serverFirst !== null);
      const result = await s.conn.authenticate(clientFinal(s.serverFirst, s.clientFirstBare, wrong(s.serverFirst.nonce)));
      assert.equal(result.errorCode, 58, 'SASL_AUTHENTICATION_FAILED');
      await closedWithin(s.conn, 10_000);
    }
    await eventually(() => (broker.output().slice(from).match(/NONCE_MISMATCH/g) ?? []).length >= 3, 'three NONCE_MISMATCH security events');
  });

  it('a client-final replayed on another exchange is refused', async (t) => {
    const first = await startScram(t, 'nonce-three-123456789');
    assert.ok(first.serverFirst !== null);
    const captured = clientFinal(first.serverFirst, first.clientFirstBare, first.serverFirst.nonce);
    assert.equal((await first.conn.authenticate(captured)).errorCode, 0, 'the captured exchange succeeds');
    const replay = await startScram(t, 'nonce-three-123456789');
    assert.equal((await replay.conn.authenticate(captured)).errorCode, 58, 'the replay is refused');
  });

  it('channel binding: a c= other than the GS2 header, or a client asking for binding, is refused; so is the reserved m= extension', async (t) => {
    // c=eSws is base64("y,,"): the client claims it supports binding but thinks the server does not.
    const s = await startScram(t, 'nonce-four-123456789');
    assert.ok(s.serverFirst !== null);
    assert.equal((await s.conn.authenticate(clientFinal(s.serverFirst, s.clientFirstBare, s.serverFirst.nonce, 'eSws'))).errorCode, 58);
    // tls-server-end-point binding is not offered (RFC 5802 §6): refused at client-first.
    const p = await startScram(t, 'nonce-five-123456789', `n=${ALICE.user},r=nonce-five-123456789`, 'p=tls-server-end-point,,');
    assert.equal(p.errorCode, 58);
    // RFC 5802 §5.1: "m: This attribute is reserved for future extensibility … the server MUST fail".
    const m = await startScram(t, 'x', `m=ext,n=${ALICE.user},r=nonce-six-123456789`);
    assert.equal(m.errorCode, 58);
  });
});

describe('CVE-2026-111108: no heap amplification by nested arrays', () => {
  // "Broker OutOfMemoryError via array allocation amplification in code-generated protocol readers"
  // (CVE-2026-111108, https://kafka.apache.org/cve-list): every array count was checked against the
  // bytes that remain, but an element of one to three bytes on the wire is an object of tens of bytes
  // in memory. Found by this suite in Parapet: a 30 MB OffsetFetch (no ACL is checked before decoding)
  // of 100 groups × 100,000 empty topics held 800 MB of heap and the event loop for 11 s; a 100 MiB
  // one would exhaust the heap. The decoder now bounds the elements of one request in all
  // (ReadLimits.maxRequestElements, 1,000,000).
  it('an authenticated OffsetFetch of 100 × 100,000 nested elements is closed (DECODE_ERROR) quickly, without the heap', async (t) => {
    const from = broker.output().length;
    const topics = Array.from({ length: 100_000 }, () => ({ name: '', partitionIndexes: [] }));
    const body = { groups: Array.from({ length: 100 }, () => ({ groupId: '', topics })), requireStable: false };
    const frame = Buffer.concat(encodeRequest(OffsetFetch, { apiVersion: 8, correlationId: 1, clientId: 'amplifier' }, body));
    assert.ok(isFlexible(OffsetFetch, 8) && frame.length > 25 * 1_000_000);
    const conn = await SaslTestConnection.open(t, broker.port, broker.caFile);
    assert.equal((await conn.scram('SCRAM-SHA-512', ALICE.user, ALICE.password)).result.errorCode, 0);
    const rssBefore = broker.rssBytes();
    const rss = new RssSampler(() => broker.rssBytes(), 20);
    const started = performance.now();
    conn.socket.write(frame);
    await closedWithin(conn, 20_000);
    const ms = performance.now() - started;
    await new Promise((r) => setTimeout(r, 200));
    rss.stop();
    const peak = Math.max(...rss.samples) - rssBefore;
    t.diagnostic(`closed after ${ms.toFixed(0)} ms; RSS peak +${(peak / MiB).toFixed(0)} MiB for a ${(frame.length / MiB).toFixed(0)} MiB frame`);
    // The frame is held while it is read and joined (~2 × 29 MiB), and up to the bound of 1,000,000
    // elements is decoded before the refusal (~100–130 MiB in all here); decoded whole, it was 800 MB.
    assert.ok(peak < 400 * MiB, `RSS rose by ${(peak / MiB).toFixed(0)} MiB`);
    await eventually(() => closeReasonsSince(from).includes('DECODE_ERROR'), 'a DECODE_ERROR close');
  });
});
