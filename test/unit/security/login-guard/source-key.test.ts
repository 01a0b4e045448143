import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sourceKey } from '../../../../src/security/login-guard/source-key.js';

describe('login guard source keys', () => {
  it('keeps IPv4 addresses, maps IPv4-mapped IPv6 to IPv4, and cuts IPv6 to its /64', () => {
    assert.equal(sourceKey('127.0.0.5'), '127.0.0.5');
    assert.equal(sourceKey('::ffff:10.1.2.3'), '10.1.2.3');
    assert.equal(sourceKey('2001:db8:0:1::42'), '2001:db8:0:1::/64');
    assert.equal(sourceKey('2001:0DB8:0000:0001:ffff:1:2:3'), '2001:db8:0:1::/64');
    assert.equal(sourceKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(sourceKey('::1'), '0:0:0:0::/64');
    assert.equal(sourceKey('64:ff9b:1:2::10.0.0.1'), '64:ff9b:1:2::/64');
  });
});
