import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { Metadata } from '../../src/protocol/messages/metadata.js';
import { SaslTestConnection } from '../helpers/sasl-client.js';
import { startSecureBroker } from '../helpers/secure-broker.js';

const USERS = { alice: 'alice-secret-password' };

/** Resolves with the error of a TLS connection attempt, or null when the handshake succeeds. */
async function tlsAttempt(port: number, options: ConnectionOptions): Promise<Error | null> {
  const socket = connectTls({ host: '127.0.0.1', port, servername: 'localhost', ...options });
  try {
    await once(socket, 'secureConnect');
    return null;
  } catch (err) {
    return err as Error;
  } finally {
    socket.destroy();
  }
}

/** Opens a plain TCP connection, writes `bytes` (then half-closes when `end`), resolves when the broker closes it. */
async function sendAndWaitClose(port: number, bytes: Buffer, end = false): Promise<Buffer> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const received: Buffer[] = [];
  socket.on('data', (c: Buffer) => received.push(c));
  socket.on('error', () => undefined);
  if (end) socket.end(bytes);
  else socket.write(bytes);
  await once(socket, 'close');
  return Buffer.concat(received);
}

describe('transport security of the default listener', () => {
  it('refuses TLS 1.0, TLS 1.1 and CBC cipher suites, and accepts TLS 1.2 AEAD and TLS 1.3', async (t) => {
    const b = await startSecureBroker(t);
    const ca = readFileSync(b.caFile);
    // SECLEVEL=0 lets this OpenSSL client offer the old versions at all, so the refusal is the broker's.
    const old = { ca, ciphers: 'DEFAULT@SECLEVEL=0' };
    const tls10 = await tlsAttempt(b.port, { ...old, minVersion: 'TLSv1', maxVersion: 'TLSv1' });
    const tls11 = await tlsAttempt(b.port, { ...old, minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1' });
    const cbc = await tlsAttempt(b.port, { ca, maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA' });
    for (const [name, err] of [['TLS 1.0', tls10], ['TLS 1.1', tls11], ['CBC', cbc]] as const) {
      assert.ok(err !== null, `${name} was accepted`);
      assert.match((err as { code?: string }).code ?? err.message, /ALERT|VERSION|HANDSHAKE|CIPHER|ECONNRESET/i, `${name}: ${err.message}`);
    }
    assert.equal(await tlsAttempt(b.port, { ca, maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' }), null);
    assert.equal(await tlsAttempt(b.port, { ca, minVersion: 'TLSv1.3' }), null);
    // Reported once per address per interval, the others summed (docs/security/network.md#finding-the-attacker).
    assert.ok(b.events.filter((e) => e.type === 'connection-refused' && e.reason === 'TLS_HANDSHAKE_FAILED').length >= 1);
  });

  it('garbage and truncated handshakes are refused, logged with a typed reason, and others are still served', async (t) => {
    const b = await startSecureBroker(t, { users: USERS });
    // A Kafka frame where a TLS ClientHello should be (a plaintext client on the TLS port).
    const kafkaFrame = Buffer.from('0000001200120003000000010004746573740000', 'hex');
    assert.equal((await sendAndWaitClose(b.port, kafkaFrame)).length < 64, true);
    // A TLS record header announcing a ClientHello, then the peer hangs up halfway.
    await sendAndWaitClose(b.port, Buffer.concat([Buffer.from('1603010200010001fc0303', 'hex'), Buffer.alloc(20, 7)]), true);
    await sendAndWaitClose(b.port, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    const refused = b.events.filter((e) => e.type === 'connection-refused');
    // Both from 127.0.0.1 in one interval: the first reported, the second summed at the interval's end.
    assert.ok(refused.length >= 1, JSON.stringify(refused));
    assert.ok(refused.every((e) => e.reason === 'TLS_HANDSHAKE_FAILED'));
    const fine = await SaslTestConnection.open(t, b.port, b.caFile);
    assert.equal((await fine.scram('SCRAM-SHA-512', 'alice', USERS.alice)).result.errorCode, 0);
  });

  it('a 2 GiB size field before authentication is refused without allocating, and memory stays flat', async (t) => {
    const b = await startSecureBroker(t, { users: USERS });
    const ca = readFileSync(b.caFile);
    const attack = async () => {
      const socket = connectTls({ host: '127.0.0.1', port: b.port, servername: 'localhost', ca });
      socket.on('error', () => undefined);
      await once(socket, 'secureConnect');
      socket.write(Buffer.from('7fffffff0012000300000001', 'hex'));
      await once(socket, 'close');
    };
    for (let i = 0; i < 20; i++) await attack(); // warm up TLS and the allocator
    global.gc?.();
    const before = process.memoryUsage();
    for (let round = 0; round < 10; round++) await Promise.all(Array.from({ length: 20 }, attack));
    global.gc?.();
    const after = process.memoryUsage();
    const grownMiB = (after.rss - before.rss) / 2 ** 20;
    // 200 refused 2 GiB frames: had any been allocated, RSS would have grown by gigabytes.
    assert.ok(grownMiB < 64, `RSS grew ${grownMiB.toFixed(1)} MiB`);
    assert.ok(after.arrayBuffers - before.arrayBuffers < 32 * 2 ** 20, `array buffers grew ${(after.arrayBuffers - before.arrayBuffers) / 2 ** 20} MiB`);
    const closes = b.logger.entries.filter((e) => (e.obj as { reason?: string }).reason === 'FRAME_TOO_LARGE');
    assert.ok(closes.length >= 200, `${closes.length} FRAME_TOO_LARGE closes logged`);
  });

  it('frames above the small pre-authentication limit are refused until the client has authenticated', async (t) => {
    const b = await startSecureBroker(t, { users: USERS });
    const names = Array.from({ length: 3000 }, (_, i) => ({ name: `no-such-topic-${String(i).padStart(30, '0')}` }));
    const early = await SaslTestConnection.open(t, b.port, b.caFile);
    early.send(Metadata, 9, { topics: names, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
    await early.closed;
    assert.equal(early.unreadFrames, 0);
    const later = await SaslTestConnection.open(t, b.port, b.caFile);
    assert.equal((await later.scram('SCRAM-SHA-512', 'alice', USERS.alice)).result.errorCode, 0);
    const response = await later.request(Metadata, 9, { topics: names, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
    // alice may not describe these topics: each one is answered, with TOPIC_AUTHORIZATION_FAILED.
    const topics = response.topics as { errorCode: number }[];
    assert.equal(topics.length, names.length);
    assert.ok(topics.every((topic) => topic.errorCode === 29));
  });
});
