import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConnectionAdmission } from '../../../../src/server/admission/connection-admission.js';
import { derivedMaxConnections, derivedMaxConnectionsPerIp, resolveAdmissionPolicy, type ListenerAdmissionSettings } from '../../../../src/server/admission/admission-policy.js';

/** What a 1,024 open-file limit leaves to connections: half to segment files, 64 to the broker. */
const FDS = 1024 - 512 - 64;
const policy = (settings: ListenerAdmissionSettings) => resolveAdmissionPolicy(settings, FDS);

function admissionWith(settings: ListenerAdmissionSettings, maxTrackedAddresses?: number) {
  let now = 1_000_000;
  const admission = new ConnectionAdmission(policy(settings), { clock: () => now, ...(maxTrackedAddresses === undefined ? {} : { maxTrackedAddresses }) });
  return {
    admission,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

/** Admits `n` connections from `address`; the kinds and reasons of the decisions, counted. */
function storm(admission: ConnectionAdmission, address: string, n: number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const d = admission.admit(address);
    const key = d.kind === 'admit' ? (d.delayMs > 0 ? 'delayed' : 'admitted') : d.reason;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

describe('connection admission', () => {
  it('derives the defaults from the open-file limit: descriptors left for the broker, a quarter per address', () => {
    assert.equal(derivedMaxConnections(448), 448);
    assert.equal(derivedMaxConnections(160 - 10_000 - 64), 32, 'never below the floor');
    assert.equal(derivedMaxConnectionsPerIp(448), 112);
    assert.equal(derivedMaxConnectionsPerIp(20), 8);
    const p = policy({});
    assert.equal(p.maxConnections, 448);
    assert.equal(p.maxConnectionsPerIp, 112);
    assert.equal(policy({ maxConnections: 10 }).maxConnectionsPerIp, 8);
    assert.equal(policy({ maxConnections: 4 }).maxConnectionsPerIp, 4, 'auto per address is never above the listener');
  });

  it('refuses an address over its maximum, counts it down as its connections close, and lets others in', () => {
    const { admission } = admissionWith({ maxConnections: 100, maxConnectionsPerIp: 3 });
    assert.deepEqual(storm(admission, '10.0.0.1', 5), { admitted: 3, CONNECTION_LIMIT: 2 });
    const refused = admission.admit('10.0.0.1');
    assert.equal(refused.kind === 'refuse' && refused.detail, 'the address has its maximum of 3 connections open (maxConnectionsPerIp)');
    assert.equal(admission.admit('10.0.0.2').kind, 'admit');
    assert.equal(admission.admit('::ffff:10.0.0.1').kind, 'refuse', 'the IPv4-mapped form is the same address');
    admission.release('10.0.0.1');
    assert.equal(admission.admit('10.0.0.1').kind, 'admit');
    assert.equal(admission.open, 4);
  });

  it('refuses everyone once the listener is full, until a connection closes', () => {
    const { admission } = admissionWith({ maxConnections: 4, maxConnectionsPerIp: 4 });
    assert.deepEqual(storm(admission, '10.0.0.1', 4), { admitted: 4 });
    const d = admission.admit('10.0.0.9');
    assert.equal(d.kind === 'refuse' && d.reason, 'CONNECTION_LIMIT');
    assert.match(d.kind === 'refuse' ? d.detail : '', /maximum of 4 connections open \(maxConnections\)/);
    admission.release('10.0.0.1');
    assert.equal(admission.admit('10.0.0.9').kind, 'admit');
  });

  it('lets the operators\' addresses past a full listener, by reservedConnections and no more; nobody else', () => {
    const { admission } = admissionWith({ maxConnections: 4, maxConnectionsPerIp: 4, reservedFor: ['192.0.2.0/28', '2001:db8::/64'], reservedConnections: 2 });
    // An attack from many addresses fills the listener.
    for (let i = 0; i < 4; i++) assert.equal(admission.admit(`10.0.0.${i}`).kind, 'admit');
    assert.equal(admission.admit('10.0.0.9').kind, 'refuse', 'the listener is full for everyone else');
    assert.equal(admission.admit('192.0.2.16').kind, 'refuse', 'next to the reserved block is not in it');
    assert.equal(admission.admit('192.0.2.5').kind, 'admit', 'an operator gets in');
    assert.equal(admission.admit('2001:db8::7').kind, 'admit');
    const over = admission.admit('192.0.2.6');
    assert.ok(over.kind === 'refuse' && over.reason === 'CONNECTION_LIMIT', 'the reserve is bounded too');
    // The reserve holds no slot for anyone else: once it is in use, a closed connection frees one.
    admission.release('192.0.2.5');
    assert.equal(admission.admit('10.0.0.9').kind, 'refuse', 'still 5 open: over maxConnections for an unreserved address');
    assert.equal(admission.admit('192.0.2.5').kind, 'admit');
    assert.deepEqual(policy({}).summary.reservedFor, [], 'no reserve unless addresses are named');
    assert.equal(policy({}).reservedConnections, 16);
  });

  it('applies the most specific per-address override, IPv4 and IPv6', () => {
    const { admission } = admissionWith({
      maxConnections: 1000,
      maxConnectionsPerIp: 2,
      maxConnectionsPerIpOverrides: [
        { cidr: '10.0.0.0/8', max: 5 },
        { cidr: '10.9.0.0/16', max: 0 },
        { cidr: '2001:db8::/32', max: 7 },
      ],
    });
    assert.deepEqual(storm(admission, '10.1.1.1', 6), { admitted: 5, CONNECTION_LIMIT: 1 });
    assert.deepEqual(storm(admission, '10.9.1.1', 1), { CONNECTION_LIMIT: 1 });
    const d = admission.admit('10.9.1.1');
    assert.match(d.kind === 'refuse' ? d.detail : '', /maxConnectionsPerIpOverrides 10\.9\.0\.0\/16/);
    assert.deepEqual(storm(admission, '2001:db8::42', 8), { admitted: 7, CONNECTION_LIMIT: 1 });
    assert.deepEqual(storm(admission, '192.168.1.1', 3), { admitted: 2, CONNECTION_LIMIT: 1 });
  });

  it('checks the address lists first, deny winning over allow, an empty allow meaning everyone', () => {
    const open = admissionWith({}).admission;
    assert.equal(open.admit('203.0.113.7').kind, 'admit');
    const { admission } = admissionWith({ allow: ['10.0.0.0/8', '2001:db8::/32'], deny: ['10.6.6.0/24'] });
    assert.equal(admission.admit('10.1.2.3').kind, 'admit');
    assert.equal(admission.admit('2001:db8::1').kind, 'admit');
    const outside = admission.admit('192.168.0.1');
    assert.deepEqual(outside, { kind: 'refuse', reason: 'ADDRESS_DENIED', detail: 'the address is not in listener.allow' });
    const denied = admission.admit('10.6.6.6');
    assert.deepEqual(denied, { kind: 'refuse', reason: 'ADDRESS_DENIED', detail: 'the address is in listener.deny (10.6.6.0/24)' });
    assert.equal(admission.denied('10.6.6.1'), true);
    assert.equal(admission.denied('10.6.7.1'), false);
    assert.equal(admission.open, 2, 'a denied address was never counted');
  });

  it('refuses an address over its creation rate (KIP-612 per-IP), after a burst of two seconds of it, and not its neighbours', () => {
    const { admission, advance } = admissionWith({ maxConnections: 10_000, maxConnectionsPerIp: 10_000, maxConnectionCreationRatePerIp: 10, maxConnectionCreationRate: 10_000 });
    assert.deepEqual(storm(admission, '10.0.0.1', 25), { admitted: 20, CONNECTION_RATE: 5 });
    assert.equal(admission.admit('10.0.0.2').kind, 'admit');
    advance(500);
    assert.deepEqual(storm(admission, '10.0.0.1', 10), { admitted: 5, CONNECTION_RATE: 5 }, 'half a second buys five');
  });

  it('delays accepts over the listener rate (KIP-612 listener quota), and refuses beyond the longest delay', () => {
    const { admission, advance } = admissionWith({ maxConnections: 10_000, maxConnectionsPerIp: 10_000, maxConnectionCreationRatePerIp: 10_000, maxConnectionCreationRate: 100 });
    const delays: number[] = [];
    let refused = 0;
    for (let i = 0; i < 800; i++) {
      const d = admission.admit(`10.0.${Math.floor(i / 250)}.${i % 250}`);
      if (d.kind === 'admit') delays.push(d.delayMs);
      else refused++;
    }
    assert.equal(delays.filter((d) => d === 0).length, 200, 'the burst: two seconds of the rate');
    assert.equal(Math.max(...delays), 5000, 'then up to 5 s of delay');
    assert.equal(delays.length, 200 + 500);
    assert.equal(refused, 100);
    advance(10_000);
    const d = admission.admit('10.9.9.9');
    assert.deepEqual(d, { kind: 'admit', delayMs: 0 }, 'the debt is paid back in time');
  });

  it('bounds its per-address table, forgetting the least recently seen address', () => {
    const { admission } = admissionWith({ maxConnections: 100_000, maxConnectionsPerIp: 100_000, maxConnectionCreationRatePerIp: 1, maxConnectionCreationRate: 100_000 }, 100);
    for (let i = 0; i < 1000; i++) {
      const address = `10.0.${Math.floor(i / 250)}.${i % 250}`;
      admission.admit(address);
      admission.release(address);
    }
    assert.equal(admission.trackedAddresses, 100);
    assert.equal(admission.open, 0);
    // 10.0.3.249 is remembered (spent its burst of 2); 10.0.0.0 was forgotten (a fresh burst).
    assert.equal(admission.admit('10.0.3.249').kind, 'admit');
    assert.equal(admission.admit('10.0.3.249').kind, 'refuse');
    assert.equal(admission.admit('10.0.0.0').kind, 'admit');
    assert.equal(admission.admit('10.0.0.0').kind, 'admit');
    assert.equal(admission.admit('10.0.0.0').kind, 'refuse');
  });

  it('takes a new policy without losing its counts of open connections', () => {
    const { admission } = admissionWith({ maxConnectionsPerIp: 2 });
    storm(admission, '10.0.0.1', 2);
    admission.update(policy({ maxConnectionsPerIp: 3, deny: ['10.0.0.0/8'] }));
    assert.equal(admission.denied('10.0.0.1'), true);
    assert.equal(admission.admit('10.0.0.1').kind, 'refuse');
    admission.update(policy({ maxConnectionsPerIp: 3 }));
    assert.deepEqual(storm(admission, '10.0.0.1', 2), { admitted: 1, CONNECTION_LIMIT: 1 }, 'two were still open');
  });

  it('refuses a policy with a malformed block, naming the setting', () => {
    assert.throws(() => policy({ deny: ['10.0.0.0/40'] }), /listener\.deny: 10\.0\.0\.0\/40: the prefix length must be 0 to 32/);
    assert.throws(() => policy({ maxConnectionsPerIpOverrides: [{ cidr: 'nope', max: 1 }] }), /listener\.maxConnectionsPerIpOverrides: nope/);
  });
});
