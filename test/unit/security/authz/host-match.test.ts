import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isValidAclHost, parseClientAddress, parseHostPattern } from '../../../../src/security/authz/host-match.js';

function matches(pattern: string, client: string): boolean {
  const p = parseHostPattern(pattern);
  const c = parseClientAddress(client);
  assert.ok(p !== undefined, `pattern ${pattern} should parse`);
  assert.ok(c !== null, `client ${client} should parse`);
  return p.matches(c);
}

describe('ACL host patterns', () => {
  it('accepts *, IPv4 and IPv6 addresses and CIDR ranges, and nothing else', () => {
    for (const ok of ['*', '10.0.0.1', '::1', 'fe80::1', '10.0.0.0/8', '0.0.0.0/0', '192.168.1.0/24', '10.1.2.3/32', 'fd00::/8', '::/0', '2001:db8::/128']) {
      assert.equal(isValidAclHost(ok), true, ok);
    }
    for (const bad of ['', ' ', 'localhost', 'example.com', '10.0.0', '256.0.0.1', '010.0.0.1', '10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/-1', '10.0.0.0/08', '10.0.0.0/8/8', '/8', '[::1]', '**', '10.0.0.*']) {
      assert.equal(isValidAclHost(bad), false, bad);
    }
  });

  it('matches an address as an address, not as a string', () => {
    assert.equal(matches('::1', '0:0:0:0:0:0:0:1'), true);
    assert.equal(matches('10.0.0.1', '10.0.0.1'), true);
    assert.equal(matches('10.0.0.1', '10.0.0.2'), false);
    assert.equal(matches('2001:db8::1', '2001:0db8:0000::0001'), true);
  });

  it('matches CIDR ranges, IPv4 and IPv6, at their boundaries', () => {
    assert.equal(matches('10.0.0.0/8', '10.255.255.255'), true);
    assert.equal(matches('10.0.0.0/8', '11.0.0.0'), false);
    assert.equal(matches('192.168.1.0/24', '192.168.1.200'), true);
    assert.equal(matches('192.168.1.0/24', '192.168.2.1'), false);
    assert.equal(matches('fd00::/8', 'fdff::1'), true);
    assert.equal(matches('fd00::/8', 'fe00::1'), false);
    assert.equal(matches('0.0.0.0/0', '203.0.113.9'), true);
    assert.equal(matches('0.0.0.0/0', '::1'), false, 'an IPv4 range never covers a native IPv6 client');
  });

  it('an IPv4-mapped IPv6 client matches IPv4 rules, in both notations', () => {
    assert.equal(matches('10.0.0.0/8', '::ffff:10.1.2.3'), true);
    assert.equal(matches('10.1.2.3', '::FFFF:10.1.2.3'), true);
    assert.equal(matches('10.0.0.0/8', '::ffff:a01:203'), true);
    assert.equal(matches('10.0.0.0/8', '::ffff:11.1.2.3'), false);
  });

  it('reads the client address as the listener reports it: leading slash, zone index', () => {
    assert.deepEqual(parseClientAddress('/127.0.0.1'), { address: '127.0.0.1', family: 'ipv4' });
    assert.deepEqual(parseClientAddress('/::ffff:127.0.0.1'), { address: '127.0.0.1', family: 'ipv4' });
    assert.deepEqual(parseClientAddress('fe80::1%eth0'), { address: 'fe80::1', family: 'ipv6' });
    assert.equal(parseClientAddress('/unknown'), null);
    assert.equal(parseClientAddress(''), null);
    assert.equal(matches('127.0.0.1', '/127.0.0.1'), true);
  });

  it('* matches every client', () => {
    const any = parseHostPattern('*');
    assert.equal(any?.any, true);
    assert.equal(parseHostPattern('10.0.0.1')?.any, false);
    assert.equal(matches('*', '::1'), true);
    assert.equal(matches('*', '10.9.8.7'), true);
  });
});
