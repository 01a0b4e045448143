import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CidrTable, cidrContains, parseCidr, parseIp } from '../../../../src/server/admission/cidr.js';

const ip = (text: string): bigint => {
  const parsed = parseIp(text);
  if (parsed === undefined) throw new Error(`not an address: ${text}`);
  return parsed;
};

describe('CIDR blocks', () => {
  it('parses IPv4 and IPv6 addresses into one space, IPv4 as its IPv4-mapped form', () => {
    assert.equal(ip('10.1.2.3'), ip('::ffff:10.1.2.3'));
    assert.equal(ip('::ffff:10.1.2.3'), ip('::ffff:a01:203'));
    assert.equal(ip('::1'), 1n);
    assert.equal(ip('2001:db8::1'), (0x2001n << 112n) | (0xdb8n << 96n) | 1n);
    assert.equal(ip('fe80::1%eth0'), ip('fe80::1'));
    assert.equal(ip('1:2:3:4:5:6:7:8'), [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n].reduce((a, g) => (a << 16n) | g, 0n));
    for (const bad of ['', 'localhost', '10.0.0.256', '1::2::3', '10.0.0', '::g']) assert.equal(parseIp(bad), undefined, bad);
  });

  it('matches addresses inside a block and not outside it, for both families', () => {
    const v4 = parseCidr('10.0.0.0/8');
    assert.ok(cidrContains(v4, ip('10.255.1.2')));
    assert.ok(cidrContains(v4, ip('::ffff:10.0.0.1')), 'an IPv4 client of a dual-stack listener');
    assert.ok(!cidrContains(v4, ip('11.0.0.1')));
    assert.ok(!cidrContains(v4, ip('::a00:1')), 'an IPv4-compatible (not mapped) IPv6 address is another address');
    const v6 = parseCidr('2001:db8::/32');
    assert.ok(cidrContains(v6, ip('2001:db8:ffff::1')));
    assert.ok(!cidrContains(v6, ip('2001:db9::1')));
    assert.ok(cidrContains(parseCidr('0.0.0.0/0'), ip('203.0.113.9')));
    assert.ok(!cidrContains(parseCidr('0.0.0.0/0'), ip('2001:db8::1')), 'all of IPv4 is not all of IPv6');
    assert.ok(cidrContains(parseCidr('::/0'), ip('127.0.0.1')), 'all of IPv6 holds the mapped IPv4 addresses');
    assert.ok(cidrContains(parseCidr('127.0.0.2'), ip('127.0.0.2')), 'a bare address is a /32');
    assert.ok(!cidrContains(parseCidr('127.0.0.2'), ip('127.0.0.3')));
  });

  it('refuses malformed blocks with a message naming the problem', () => {
    assert.throws(() => parseCidr('10.0.0.0/33'), /prefix length must be 0 to 32/);
    assert.throws(() => parseCidr('2001:db8::/129'), /prefix length must be 0 to 128/);
    assert.throws(() => parseCidr('10.0.0.0/'), /prefix length/);
    assert.throws(() => parseCidr('10.0.0.0/8x'), /prefix length/);
    assert.throws(() => parseCidr('example.com/8'), /not an IPv4 or IPv6 address/);
    assert.throws(() => parseCidr('10.1.2.3/8'), /bits set after the \/8 prefix \(did you mean 10\.0\.0\.0\/8\?\)/);
  });

  it('answers the most specific block, whatever the order written', () => {
    const table = new CidrTable([
      { cidr: parseCidr('10.0.0.0/8'), value: 'wide' },
      { cidr: parseCidr('10.1.2.0/24'), value: 'narrow' },
      { cidr: parseCidr('10.1.0.0/16'), value: 'middle' },
      { cidr: parseCidr('2001:db8::/32'), value: 'v6' },
    ]);
    assert.equal(table.match(ip('10.1.2.3'))?.value, 'narrow');
    assert.equal(table.match(ip('10.1.3.3'))?.value, 'middle');
    assert.equal(table.match(ip('10.2.0.1'))?.value, 'wide');
    assert.equal(table.match(ip('2001:db8::5'))?.value, 'v6');
    assert.equal(table.match(ip('192.168.0.1')), undefined);
  });
});
