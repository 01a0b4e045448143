import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { parseClientConfig, type ClientConfig } from '../../../src/client/client-config.js';
import { ClientError, ConnectionError } from '../../../src/client/errors.js';
import { connectToCluster, KafkaConnection } from '../../../src/client/kafka-connection.js';
import { encodeResponse } from '../../../src/protocol/frames.js';
import { CreateTopics } from '../../../src/protocol/messages/create-topics.js';
import { DescribeAcls } from '../../../src/protocol/messages/describe-acls.js';
import { Metadata } from '../../../src/protocol/messages/metadata.js';
import { Produce } from '../../../src/protocol/messages/produce.js';
import { startFakeBroker } from './fake-broker.js';

const PLAINTEXT = parseClientConfig('security.protocol=PLAINTEXT');

function config(lines: string): ClientConfig {
  return parseClientConfig(lines);
}

const local = (port: number) => ({ host: '127.0.0.1', port });

async function connect(t: TestContext, port: number, cfg: ClientConfig = PLAINTEXT, options = {}): Promise<KafkaConnection> {
  const connection = await KafkaConnection.connect(local(port), cfg, { requestTimeoutMs: 5000, connectTimeoutMs: 5000, ...options });
  t.after(() => {
    connection.close();
  });
  return connection;
}

async function deadPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no address');
  return address.port;
}

const metadataResponse = (clusterId: string) => ({ throttleTimeMs: 0, brokers: [], clusterId, controllerId: 1, topics: [] });

describe('KafkaConnection', () => {
  it('starts with ApiVersions v3 and picks, per API, the highest version both sides support', async (t) => {
    const broker = await startFakeBroker(t, {
      apiRanges: [
        { apiKey: 18, minVersion: 0, maxVersion: 3 },
        { apiKey: Metadata.apiKey, minVersion: 0, maxVersion: 5 },
        { apiKey: CreateTopics.apiKey, minVersion: 2, maxVersion: 12 },
        { apiKey: Produce.apiKey, minVersion: 10, maxVersion: 12 },
      ],
    });
    const connection = await connect(t, broker.port);
    assert.deepEqual(
      broker.received.map((r) => [r.apiKey, r.apiVersion]),
      [[18, 3]],
    );
    assert.equal(broker.received[0]?.body.clientSoftwareName, 'parapet-admin');
    assert.equal(connection.versionFor(Metadata), 5);
    assert.equal(connection.versionFor(CreateTopics), CreateTopics.maxVersion);
    assert.throws(() => connection.versionFor(DescribeAcls), /does not support DescribeAcls \(API key 29\)/);
    assert.throws(() => connection.versionFor(Produce), /no common Produce version: the broker supports v10-v12/);
    await assert.rejects(connection.request(DescribeAcls, { resourceTypeFilter: 1, resourceNameFilter: null, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1 }), ClientError);
  });

  it('falls back to the version an older broker names in its KIP-511 answer', async (t) => {
    const broker = await startFakeBroker(t, { apiVersionsMax: 2 });
    const connection = await connect(t, broker.port);
    assert.deepEqual(
      broker.received.map((r) => [r.apiKey, r.apiVersion]),
      [
        [18, 3],
        [18, 2],
      ],
    );
    assert.equal(connection.versionFor(Metadata), Metadata.maxVersion);
  });

  it('matches concurrent requests to their responses in order', async (t) => {
    const broker = await startFakeBroker(t, {
      handle: (_api, _v, body) => {
        const topics = body.topics as { name: string }[];
        return metadataResponse(topics[0]?.name ?? '');
      },
    });
    const connection = await connect(t, broker.port);
    const names = ['a', 'b', 'c', 'd'];
    const responses = await Promise.all(names.map((name) => connection.request(Metadata, { topics: [{ name }] })));
    assert.deepEqual(
      responses.map((r) => r.clusterId),
      names,
    );
  });

  it('sends a pinned version as given, and negotiates the others', async (t) => {
    const broker = await startFakeBroker(t, { handle: () => metadataResponse('pinned') });
    const connection = await connect(t, broker.port);
    assert.equal((await connection.request(Metadata, { topics: [] }, 1)).brokers.length, 0);
    await connection.request(Metadata, { topics: [] });
    assert.deepEqual(
      broker.received.map((r) => [r.apiKey, r.apiVersion]),
      [
        [18, 3],
        [Metadata.apiKey, 1],
        [Metadata.apiKey, Metadata.maxVersion],
      ],
    );
  });

  it('authenticates with SCRAM-SHA-512 through SaslHandshake v1 and SaslAuthenticate', async (t) => {
    const broker = await startFakeBroker(t, { users: { alice: 'wonder,land=' }, handle: () => metadataResponse('after-auth') });
    const connection = await connect(
      t,
      broker.port,
      config('security.protocol=SASL_PLAINTEXT\nsasl.mechanisms=SCRAM-SHA-512\nsasl.username=alice\nsasl.password=wonder,land='),
    );
    assert.deepEqual(
      broker.received.map((r) => [r.apiKey, r.apiVersion]),
      [
        [18, 3],
        [17, 1],
        [36, 2],
        [36, 2],
      ],
    );
    assert.equal(broker.received[1]?.body.mechanism, 'SCRAM-SHA-512');
    assert.equal((await connection.request(Metadata, { topics: [] })).clusterId, 'after-auth');
  });

  it('authenticates with SCRAM-SHA-256', async (t) => {
    const broker = await startFakeBroker(t, { users: { bob: 'builder' } });
    await connect(t, broker.port, config('security.protocol=SASL_PLAINTEXT\nsasl.mechanisms=SCRAM-SHA-256\nsasl.username=bob\nsasl.password=builder'));
    assert.equal(broker.received.filter((r) => r.apiKey === 36).length, 2);
  });

  it('fails clearly on a wrong password (58) without echoing it', async (t) => {
    const broker = await startFakeBroker(t, { users: { alice: 'right' } });
    const wrong = 'wrong-Passw0rd';
    await assert.rejects(
      KafkaConnection.connect(local(broker.port), config(`security.protocol=SASL_PLAINTEXT\nsasl.mechanisms=SCRAM-SHA-512\nsasl.username=alice\nsasl.password=${wrong}`)),
      (err: unknown) => {
        assert.ok(err instanceof ClientError);
        assert.match(err.message, /^SASL SCRAM-SHA-512 authentication as "alice" failed: Authentication failed: invalid credentials$/);
        assert.ok(!err.message.includes(wrong));
        return true;
      },
    );
  });

  it('names the mechanisms a broker offers when ours is not enabled (33)', async (t) => {
    const broker = await startFakeBroker(t, { mechanisms: ['PLAIN', 'OAUTHBEARER'] });
    await assert.rejects(
      KafkaConnection.connect(local(broker.port), config('security.protocol=SASL_PLAINTEXT\nsasl.mechanisms=SCRAM-SHA-512\nsasl.username=a\nsasl.password=b')),
      /does not enable SASL mechanism SCRAM-SHA-512 \(it offers: PLAIN, OAUTHBEARER\)/,
    );
  });

  it('never sends a PLAIN password over an unencrypted connection', async (t) => {
    const broker = await startFakeBroker(t, { mechanisms: ['PLAIN'], users: { a: 'b' } });
    await assert.rejects(
      KafkaConnection.connect(local(broker.port), config('security.protocol=SASL_PLAINTEXT\nsasl.mechanisms=PLAIN\nsasl.username=a\nsasl.password=b')),
      /refusing to send a PLAIN password over an unencrypted connection/,
    );
    assert.deepEqual(
      broker.received.map((r) => r.apiKey),
      [18],
    );
  });

  it('refuses a response frame above the size limit before buffering it', async (t) => {
    const broker = await startFakeBroker(t, {
      handle: (_api, _v, _body, _cid, socket) => {
        const size = Buffer.alloc(4);
        size.writeInt32BE(2048);
        socket.write(size);
        return undefined;
      },
    });
    const connection = await connect(t, broker.port, PLAINTEXT, { maxResponseBytes: 1024 });
    await assert.rejects(connection.request(Metadata, { topics: [] }), /frame size 2048 is outside 0\.\.1024/);
    await assert.rejects(connection.request(Metadata, { topics: [] }), /frame size 2048/);
  });

  it('gives up the connection when a correlation id is out of order', async (t) => {
    const broker = await startFakeBroker(t, {
      handle: (_api, _v, _body, cid, socket) => {
        const frame = Buffer.alloc(8);
        frame.writeInt32BE(4);
        frame.writeInt32BE(cid + 7, 4);
        socket.write(frame);
        return undefined;
      },
    });
    const connection = await connect(t, broker.port);
    await assert.rejects(connection.request(Metadata, { topics: [] }), /answered Metadata v9 out of order \(correlation id mismatch\)/);
  });

  it('times out a request that gets no answer, and fails the ones behind it', async (t) => {
    const broker = await startFakeBroker(t, { handle: () => undefined });
    const connection = await connect(t, broker.port, PLAINTEXT, { requestTimeoutMs: 150 });
    const first = connection.request(Metadata, { topics: [] });
    const second = connection.request(Metadata, { topics: [] });
    await assert.rejects(first, /Metadata v9 to 127\.0\.0\.1:\d+ timed out after 150 ms/);
    await assert.rejects(second, /timed out/);
  });

  it('gives each pipelined request its own deadline: one behind an answered one times out after its full wait', async (t) => {
    // The first request is answered after 200 ms, the second (sent 100 ms in) never.
    const broker = await startFakeBroker(t, {
      handle: (api, version, _body, correlationId, socket) => {
        if (broker.received.filter((r) => r.apiKey === Metadata.apiKey).length === 1) {
          setTimeout(() => socket.write(Buffer.concat(encodeResponse(api, version, correlationId, metadataResponse('first')))), 200);
        }
        return undefined;
      },
    });
    const connection = await connect(t, broker.port, PLAINTEXT, { requestTimeoutMs: 300 });
    const started = performance.now();
    const first = connection.request(Metadata, { topics: [] });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const second = connection.request(Metadata, { topics: [] });
    assert.equal((await first).clusterId, 'first');
    await assert.rejects(second, /timed out after 300 ms/);
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 390, `the second request was given up after ${elapsed.toFixed(0)} ms, not its 300 ms from 100 ms in`);
  });

  it('fails pending requests when the broker closes the connection', async (t) => {
    const broker = await startFakeBroker(t, {
      handle: (_api, _v, _body, _cid, socket) => {
        socket.destroy();
        return undefined;
      },
    });
    const connection = await connect(t, broker.port);
    await assert.rejects(connection.request(Metadata, { topics: [] }), /closed by the broker/);
  });

  it('tries each bootstrap server in turn and names them all when none answers', async (t) => {
    const dead1 = await deadPort();
    const dead2 = await deadPort();
    const broker = await startFakeBroker(t);
    const cfg = config(`bootstrap.servers=127.0.0.1:${dead1},127.0.0.1:${broker.port}`);
    const connection = await connectToCluster(cfg, { connectTimeoutMs: 5000 });
    t.after(() => {
      connection.close();
    });
    assert.equal(connection.address.port, broker.port);
    await assert.rejects(connectToCluster(config(`bootstrap.servers=127.0.0.1:${dead1},127.0.0.1:${dead2}`)), (err: unknown) => {
      assert.ok(err instanceof ConnectionError);
      assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${dead1}: ECONNREFUSED.*127\\.0\\.0\\.1:${dead2}: ECONNREFUSED`));
      return true;
    });
    await assert.rejects(connectToCluster(PLAINTEXT), /no bootstrap servers/);
  });
});

function makeCertificate(t: TestContext): { dir: string; key: Buffer; cert: Buffer } | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'parapet-client-tls-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  try {
    execFileSync(
      'openssl',
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
        '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
  } catch {
    return undefined;
  }
  return { dir, key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
}

describe('KafkaConnection over TLS', () => {
  it('verifies the broker against ssl.ca.location, by host name and by IP', async (t) => {
    const pki = makeCertificate(t);
    if (pki === undefined) {
      t.skip('openssl is not available');
      return;
    }
    const broker = await startFakeBroker(t, { tls: { key: pki.key, cert: pki.cert }, handle: () => metadataResponse('tls') });
    const cfg = config(`security.protocol=SSL\nssl.ca.location=${join(pki.dir, 'cert.pem')}`);
    for (const host of ['localhost', '127.0.0.1']) {
      const connection = await KafkaConnection.connect({ host, port: broker.port }, cfg);
      t.after(() => {
        connection.close();
      });
      assert.equal((await connection.request(Metadata, { topics: [] })).clusterId, 'tls');
    }
  });

  it('refuses a broker certificate it cannot verify', async (t) => {
    const pki = makeCertificate(t);
    if (pki === undefined) {
      t.skip('openssl is not available');
      return;
    }
    const broker = await startFakeBroker(t, { tls: { key: pki.key, cert: pki.cert } });
    await assert.rejects(KafkaConnection.connect(local(broker.port), config('security.protocol=SSL')), (err: unknown) => {
      assert.ok(err instanceof ConnectionError);
      assert.match(err.message, /cannot connect to 127\.0\.0\.1:\d+: .*self[- ]signed/i);
      return true;
    });
    await assert.rejects(
      KafkaConnection.connect(local(broker.port), config('security.protocol=SSL\nssl.ca.location=/nonexistent/ca.pem')),
      /cannot read ssl\.ca\.location \/nonexistent\/ca\.pem/,
    );
  });
});
