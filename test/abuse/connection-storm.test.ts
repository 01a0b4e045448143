import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { eventually, LatencyProbe, startBrokerProcess } from '../security/attack-support.js';
import { metricValue, refusalLines, setListenerLines, settled, sighup, storm, stillOpen } from './abuse-support.js';

/**
 * Connection storms against a broker with default settings (docs/security/network.md#connection-limits-and-address-lists),
 * under the open-file limit of the security review that found the broker could be locked up: 1,024.
 * With it, `maxConnections: auto` is 1,024 - 512 (segment files) - 64 (the broker's own) = 448, and
 * `maxConnectionsPerIp: auto` a quarter of that, 112. The storms come from other loopback addresses
 * than the legitimate client (127.0.0.1).
 */

const OPEN_FILE_LIMIT = 1024;
const MAX_CONNECTIONS = 448;
const MAX_PER_IP = 112;

describe('connection storms', () => {
  it('one address and many: refused on accept with a typed reason, bounded descriptors, reported once per address; a real client logs in and produces', async (t) => {
    const broker = await startBrokerProcess(t, { openFileLimit: OPEN_FILE_LIMIT });
    assert.match(readFileSync(`/proc/${broker.pid}/limits`, 'utf8'), /Max open files\s+1024\s+1024/);
    const admin = await broker.admin();
    await admin.createTopic('storm-probe', 1);
    const fdsBefore = broker.openFds();

    // One address opens 1,000 connections at once (the review's attack): 112 get in.
    const one = storm(t, broker.port, '127.0.0.2', 1000);
    await settled(one);
    await eventually(() => stillOpen(one) <= MAX_PER_IP, `the refused connections closed (${stillOpen(one)} open)`);
    const fromOne = stillOpen(one);
    assert.equal(fromOne, MAX_PER_IP, 'exactly maxConnectionsPerIp connections from the address');
    assert.ok(broker.openFds() <= fdsBefore + MAX_PER_IP + 4, `${broker.openFds()} descriptors, ${fdsBefore} before`);

    // Two more addresses, 150 each: 112 each get in, and the listener still has room for 127.0.0.1.
    const many = [...storm(t, broker.port, '127.0.1.1', 150), ...storm(t, broker.port, '127.0.1.2', 150)];
    await settled(many);
    await eventually(() => stillOpen(many) <= 2 * MAX_PER_IP, `the refused connections closed (${stillOpen(many)} open)`);
    assert.equal(stillOpen(many), 2 * MAX_PER_IP);
    const fdsDuring = broker.openFds();
    assert.ok(fdsDuring <= fdsBefore + 3 * MAX_PER_IP + 4 && fdsDuring < OPEN_FILE_LIMIT, `${fdsDuring} descriptors under the attack`);

    // The legitimate client: a new connection, a SCRAM login, a produce.
    const probe = await LatencyProbe.open(t, broker.adminConfig, 'storm-probe');
    assert.ok((await probe.produceMs()) < 10_000);
    const user = await broker.addUser('storm-user', 'storm-user-password-1');
    const userProbe = await LatencyProbe.open(t, user, 'storm-probe').catch((err: unknown) => err);
    assert.ok(userProbe instanceof LatencyProbe, `a second user logs in during the storm: ${String(userProbe)}`);

    // Each address is reported once (then summed every 10 s), not once per refused connection.
    await eventually(() => refusalLines(broker, 'CONNECTION_LIMIT', '127.0.0.2').length > 0, 'the refusal in the log');
    const refusedOne = refusalLines(broker, 'CONNECTION_LIMIT', '127.0.0.2');
    assert.equal(refusedOne.length, 1, JSON.stringify(refusedOne));
    assert.match(refusedOne[0]?.detail ?? '', /maximum of 112 connections open \(maxConnectionsPerIp\)/);
    await eventually(() => refusalLines(broker, 'CONNECTION_LIMIT', '127.0.1.1').length === 1, 'the refusals of 127.0.1.1 reported once');
    // The metric counts every refusal once the interval's summary is in (10 s after the first).
    const refused = 1000 - MAX_PER_IP + 2 * (150 - MAX_PER_IP);
    await eventually(() => refusalLines(broker, 'CONNECTION_LIMIT').some((l) => (l.repeated ?? 0) > 0), 'the summed refusals', 15_000);
    const counted = await metricValue(broker, 'parapet_connections_refused_total{reason="CONNECTION_LIMIT"}');
    assert.equal(counted, refused, 'every refusal counted, by reason');
    const summed = refusalLines(broker, 'CONNECTION_LIMIT', '127.0.0.2').find((l) => l.repeated !== undefined);
    assert.equal((summed?.repeated ?? 0) + 1, 1000 - MAX_PER_IP - 1, 'the summary stands for the refusals not reported one by one');

    // The storm's connections are counted down as they close: the address gets in again.
    for (const s of [...one, ...many]) s.socket.destroy();
    await eventually(() => broker.openFds() <= fdsBefore + 8, `the descriptors freed (${broker.openFds()})`);
    const again = storm(t, broker.port, '127.0.0.2', 5);
    await settled(again);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(stillOpen(again), 5);
    t.diagnostic(`one address: ${fromOne} of 1000 admitted; two more: ${2 * MAX_PER_IP} of 300; fds ${fdsBefore} before, ${fdsDuring} during; refused ${counted}`);
  });

  it('a full listener refuses everyone on accept but the operators\' reserve, the broker keeps its descriptors, and frees them as the storm ends', async (t) => {
    // At info, the broker logs the reload's event (the SIGHUP below).
    const broker = await startBrokerProcess(t, { openFileLimit: OPEN_FILE_LIMIT, env: { PARAPET_LOG_LEVEL: 'info' } });
    const admin = await broker.admin();
    await admin.createTopic('storm-probe', 1);
    const probe = await LatencyProbe.open(t, broker.adminConfig, 'storm-probe');
    const fdsBefore = broker.openFds();
    // Eight addresses of 100: the listener's 448 fill (two connections are the admin's and the probe's).
    const addresses = Array.from({ length: 8 }, (_, i) => `127.0.2.${i + 1}`);
    const sockets = addresses.flatMap((a) => storm(t, broker.port, a, 100));
    await settled(sockets);
    await eventually(() => stillOpen(sockets) <= MAX_CONNECTIONS, `the refused connections closed (${stillOpen(sockets)} open)`);
    const admitted = stillOpen(sockets);
    assert.ok(admitted >= MAX_CONNECTIONS - 8 && admitted <= MAX_CONNECTIONS - 2, `${admitted} admitted`);
    assert.ok(broker.openFds() < OPEN_FILE_LIMIT - 400, `the broker keeps its descriptors (${broker.openFds()} open): never EMFILE`);
    // Logged-in clients are served; new connections wait for the storm to end (or its TLS handshakes to time out).
    assert.ok((await probe.produceMs()) < 10_000);
    await eventually(() => refusalLines(broker, 'CONNECTION_LIMIT').some((l) => /maximum of 448 connections open \(maxConnections\)/.test(l.detail ?? '')), 'the full listener reported');
    // The operator is locked out too, until its address is reserved (listener.reservedFor, by SIGHUP).
    const locked = storm(t, broker.port, '127.0.0.1', 1);
    await settled(locked);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(stillOpen(locked), 0, 'a new connection from the operator\'s address is refused while the listener is full');
    setListenerLines(broker, readFileSync(join(broker.dataDir, 'parapet.yaml'), 'utf8'), ['reservedFor: [127.0.0.1/32]']);
    await sighup(broker, /"event":"listener-policy-reloaded","ok":true/);
    const operator = await LatencyProbe.open(t, broker.adminConfig, 'storm-probe');
    assert.ok((await operator.produceMs()) < 10_000, 'the operator logs in and produces during the storm');
    const stillLocked = storm(t, broker.port, '127.0.2.9', 1);
    await settled(stillLocked);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(stillOpen(stillLocked), 0, 'the reserve is not anyone\'s');
    for (const s of sockets) s.socket.destroy();
    await eventually(() => broker.openFds() <= fdsBefore + 4, `the descriptors freed (${broker.openFds()})`);
    const after = await LatencyProbe.open(t, broker.adminConfig, 'storm-probe');
    assert.ok((await after.produceMs()) < 10_000);
  });

  it('an address opening connections faster than maxConnectionCreationRatePerIp is refused (CONNECTION_RATE), another is not', async (t) => {
    const broker = await startBrokerProcess(t);
    // Open-and-close churn from one address: never many open, 1,500 opened in about two seconds.
    let refused = 0;
    const started = performance.now();
    for (let batch = 0; batch < 10; batch++) {
      const sockets = storm(t, broker.port, '127.0.3.1', 150);
      await settled(sockets);
      // A refused connection is closed on accept; an admitted one waits for a ClientHello (10 s).
      await new Promise((r) => setTimeout(r, 100));
      refused += 150 - stillOpen(sockets);
      for (const s of sockets) s.socket.destroy();
    }
    const elapsedS = (performance.now() - started) / 1000;
    // 200 a second with a burst of 400: at most 400 + 200 per second got in.
    const admittedMax = 400 + Math.ceil(200 * elapsedS) + 10;
    assert.ok(1500 - refused <= admittedMax, `${1500 - refused} admitted in ${elapsedS.toFixed(2)} s (at most ${admittedMax})`);
    assert.ok(refused > 0, 'some were refused');
    await eventually(() => refusalLines(broker, 'CONNECTION_RATE', '127.0.3.1').length === 1, 'the refusal reported, once for the address');
    // Another address is not slowed by this one.
    const other = storm(t, broker.port, '127.0.3.2', 20);
    await settled(other);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(stillOpen(other), 20);
    const admin = await broker.admin();
    await admin.createTopic('rate-probe', 1);
    const probe = await LatencyProbe.open(t, broker.adminConfig, 'rate-probe');
    assert.ok((await probe.produceMs()) < 10_000);
    t.diagnostic(`${1500 - refused} of 1500 admitted from one address in ${elapsedS.toFixed(2)} s; ${refused} refused`);
  });
});
