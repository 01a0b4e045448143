import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { Metadata } from '../../src/protocol/messages/index.js';
import { SaslTestConnection } from '../helpers/sasl-client.js';
import { startBrokerProcess, type BrokerProcess } from '../security/attack-support.js';
import { refusalLines, setListenerLines, sighup } from './abuse-support.js';

/**
 * The listener's address lists (docs/security/network.md#connection-limits-and-address-lists): a denied
 * address is refused on the TCP accept, before any TLS (openssl sees no ServerHello); SIGHUP applies a
 * changed config file without a restart, closes the open connections of a newly denied address, and
 * keeps the lists in force when the new file is invalid.
 */

const PASSWORD = 'address-lists-password-1';

/** A TLS connection from `localAddress`, logged in with SCRAM as `user`. */
async function loginFrom(t: TestContext, broker: BrokerProcess, localAddress: string, user: string): Promise<SaslTestConnection> {
  const tcp = tcpConnect({ host: '127.0.0.1', port: broker.port, localAddress });
  const socket = await new Promise<TLSSocket>((resolve, reject) => {
    const s = tlsConnect({ socket: tcp, host: '127.0.0.1', ca: readFileSync(broker.caFile) }, () => {
      resolve(s);
    });
    s.once('error', reject);
  });
  const conn = new SaslTestConnection(socket);
  t.after(() => {
    conn.close();
  });
  assert.equal((await conn.scram('SCRAM-SHA-512', user, PASSWORD)).result.errorCode, 0, `login from ${localAddress}`);
  return conn;
}

async function metadataOk(conn: SaslTestConnection): Promise<boolean> {
  const response = (await conn.request(Metadata, 9, { topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false })) as { brokers: unknown[] };
  return response.brokers.length === 1;
}

/** What `openssl s_client` from `localAddress` reports: how many bytes of handshake it read, and whether the chain verified. */
async function sClient(broker: BrokerProcess, localAddress: string): Promise<{ read: number; verified: boolean }> {
  const args = ['s_client', '-connect', `127.0.0.1:${broker.port}`, '-bind', localAddress, '-CAfile', broker.caFile, '-verify_return_error'];
  // s_client exits non-zero when the connection is reset: what it printed is what matters.
  const child = execFile('openssl', args, { timeout: 10_000 });
  child.stdin?.end();
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise((resolve) => child.once('exit', resolve));
  const read = /SSL handshake has read (\d+) bytes/.exec(out)?.[1];
  assert.ok(read !== undefined, out);
  return { read: Number(read), verified: /-----BEGIN CERTIFICATE-----/.test(out) && /Verify return code: 0 \(ok\)/.test(out) };
}

describe('listener address lists', () => {
  it('refuses a denied address before TLS, and applies a changed file on SIGHUP: open connections of a newly denied address closed, an invalid file refused', async (t) => {
    const broker = await startBrokerProcess(t, { env: { PARAPET_LOG_LEVEL: 'info' } });
    const original = readFileSync(join(broker.dataDir, 'parapet.yaml'), 'utf8');
    await broker.addUser('lists', PASSWORD);
    const soonDenied = await loginFrom(t, broker, '127.0.6.6', 'lists');
    const staying = await loginFrom(t, broker, '127.0.7.7', 'lists');
    assert.ok((await sClient(broker, '127.0.6.6')).verified, 'before the reload, the address completes a TLS handshake');

    // Only loopback's 127.0.0.1 (the admin), 127.0.6.0/24 and 127.0.7.0/24 are allowed; 127.0.6.6 is denied.
    setListenerLines(broker, original, ['allow: [127.0.0.1/32, 127.0.6.0/24, 127.0.7.0/24]', 'deny: [127.0.6.6]']);
    await sighup(broker, /listener-policy-reloaded/);
    await soonDenied.closed;
    assert.ok(await metadataOk(staying), 'a connection from an allowed address is kept');
    assert.ok(
      refusalLines(broker, 'ADDRESS_DENIED', '127.0.6.6').some((l) => /closed: its address was denied by a reload while it was connected/.test(l.detail ?? '')),
      broker.output(),
    );
    assert.match(broker.output(), /"event":"listener-policy-reloaded","ok":true,"detail":"allow \[127\.0\.0\.1\/32, 127\.0\.6\.0\/24, 127\.0\.7\.0\/24\], deny \[127\.0\.6\.6\][^"]*","closed":1/);

    // Denied, and not allowed: closed on accept, before a single byte of TLS.
    for (const address of ['127.0.6.6', '127.0.8.8']) {
      const { read, verified } = await sClient(broker, address);
      assert.equal(read, 0, `${address}: no ServerHello`);
      assert.equal(verified, false);
    }
    assert.ok((await sClient(broker, '127.0.6.7')).verified, 'its neighbour in the allowed block gets in');
    assert.ok(refusalLines(broker, 'ADDRESS_DENIED', '127.0.8.8').some((l) => l.detail === 'the address is not in listener.allow'));
    assert.doesNotMatch(broker.output(), /TLS_HANDSHAKE_FAILED[^\n]*127\.0\.(6\.6|8\.8)/, 'a refused connection never reached TLS');

    // An invalid file: refused loudly, the lists in force kept.
    setListenerLines(broker, original, ['deny: [127.0.6.0/99]']);
    await sighup(broker, /"event":"listener-policy-reloaded","ok":false/);
    assert.match(broker.output(), /listener\.deny\.0: 127\.0\.6\.0\/99: the prefix length must be 0 to 32 \(the lists and limits in force are kept\)/);
    assert.match(broker.output(), /the config file is invalid: the listener address lists and connection limits in force are kept/);
    assert.equal((await sClient(broker, '127.0.6.6')).read, 0, 'still denied');
    assert.ok(await metadataOk(staying));

    // Lists removed: every address gets in again, without a restart.
    writeFileSync(join(broker.dataDir, 'parapet.yaml'), original);
    await sighup(broker, /"event":"listener-policy-reloaded","ok":true,"detail":"allow \[\], deny \[\]/);
    assert.ok((await sClient(broker, '127.0.6.6')).verified);
    assert.ok(await metadataOk(await loginFrom(t, broker, '127.0.8.8', 'lists')));
  });
});

