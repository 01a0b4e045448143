import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { describe, it, type TestContext } from 'node:test';
import { Metadata } from '../../src/protocol/messages/index.js';
import { SaslTestConnection } from '../helpers/sasl-client.js';
import { eventually, startBrokerProcess, type BrokerProcess } from './attack-support.js';
import { metricValue, refusalLines } from '../abuse/abuse-support.js';

/**
 * Slow clients (docs/security/limits.md#connections): a connection must log in within
 * `authenticationTimeoutMs` of its accept, however it trickles bytes, and a connection idle for
 * `connectionsMaxIdleMs` is closed. Short settings here, so that each attack ends in seconds.
 */

const SETTINGS = 'authenticationTimeoutMs: 1500\nconnectionsMaxIdleMs: 2500\n';
const TESTER_PASSWORD = 'tester-slow-clients-1';

/** A TLS connection that has finished its handshake, and resolves `closed` when the broker closes it. */
async function tlsSocket(t: TestContext, broker: BrokerProcess): Promise<{ socket: TLSSocket; closed: Promise<void> }> {
  const socket = await new Promise<TLSSocket>((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port: broker.port, ca: readFileSync(broker.caFile) }, () => {
      resolve(s);
    });
    s.once('error', reject);
  });
  socket.on('error', () => undefined);
  t.after(() => {
    socket.destroy();
  });
  const closed = new Promise<void>((resolve) => {
    socket.once('close', () => {
      resolve();
    });
  });
  return { socket, closed };
}

async function metadataOk(conn: SaslTestConnection): Promise<boolean> {
  const response = (await conn.request(Metadata, 9, { topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false })) as {
    brokers: unknown[];
  };
  return response.brokers.length === 1;
}

describe('slow clients: the login deadline and the idle timeout', () => {
  it('closes 200 connections that trickle a frame they never finish, and 50 that stop after SaslHandshake, while a real client is served', async (t) => {
    const broker = await startBrokerProcess(t, { configYaml: SETTINGS });
    const fdsBefore = broker.openFds();
    const trickling = await Promise.all(Array.from({ length: 200 }, () => tlsSocket(t, broker)));
    // A size prefix of 1 KiB, then a byte every 200 ms: the frame is never complete.
    for (const { socket } of trickling) socket.write(Buffer.from([0, 0, 4, 0]));
    const drip = setInterval(() => {
      for (const { socket } of trickling) if (!socket.destroyed) socket.write(Buffer.from([1]));
    }, 200);
    t.after(() => {
      clearInterval(drip);
    });
    const halfway = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const conn = await SaslTestConnection.open(t, broker.port, broker.caFile);
        assert.equal((await conn.handshake('SCRAM-SHA-512')).errorCode, 0);
        return conn;
      }),
    );
    assert.ok(broker.openFds() >= fdsBefore + 200, 'the attack holds its descriptors, for now');

    // A real client logs in and is served during the attack, and past the deadline (its login ended it).
    await broker.addUser('tester', TESTER_PASSWORD);
    const admin = await SaslTestConnection.open(t, broker.port, broker.caFile);
    assert.equal((await admin.scram('SCRAM-SHA-512', 'tester', TESTER_PASSWORD)).result.errorCode, 0);
    assert.ok(await metadataOk(admin));

    const started = performance.now();
    await Promise.all(trickling.map((c) => c.closed));
    await Promise.all(halfway.map((c) => c.closed));
    const closedAfterMs = performance.now() - started;
    clearInterval(drip);
    assert.ok(closedAfterMs < 5000, `all 250 closed within ${Math.round(closedAfterMs)} ms`);
    assert.ok(await metadataOk(admin), 'the logged-in client is still served');
    await eventually(() => broker.openFds() <= fdsBefore + 5, 'the descriptors freed');
    // Each close counted with its reason; reported once per address per interval (then summed), not once each.
    const closedByDeadline = async () => metricValue(broker, 'parapet_connections_closed_total{listener="SASL_SSL",reason="AUTHENTICATION_TIMEOUT"}');
    const counted = await closedByDeadline();
    assert.ok(counted >= 250, `${counted} closes counted`);
    assert.equal(refusalLines(broker, 'AUTHENTICATION_TIMEOUT', '127.0.0.1').length, 1, 'one line for the address in this interval');
  });

  it('closes a logged-in connection idle for connectionsMaxIdleMs, and keeps one that sends requests', async (t) => {
    const broker = await startBrokerProcess(t, { configYaml: SETTINGS });
    await broker.addUser('tester', TESTER_PASSWORD);
    const login = async () => {
      const conn = await SaslTestConnection.open(t, broker.port, broker.caFile);
      assert.equal((await conn.scram('SCRAM-SHA-512', 'tester', TESTER_PASSWORD)).result.errorCode, 0);
      return conn;
    };
    const idle = await login();
    const idleClosed = idle.closed.then(() => performance.now());
    const busy = await login();
    const loggedIn = performance.now();
    for (let i = 0; i < 8; i++) {
      assert.ok(await metadataOk(busy), `request ${i} of the busy client`);
      await sleep(500);
    }
    // 4 s later: the idle one was closed after 2.5 s; the busy one never idled that long.
    const closedAt = await Promise.race([idleClosed, sleep(1000).then(() => undefined)]);
    assert.ok(closedAt !== undefined, 'the idle connection was closed');
    assert.ok(closedAt - loggedIn >= 2000, `closed ${Math.round(closedAt - loggedIn)} ms after its last answer`);
    assert.ok(await metadataOk(busy), 'the busy connection is still served');
    await eventually(() => broker.output().includes('IDLE_TIMEOUT'), 'the close reason in the log');
  });
});
