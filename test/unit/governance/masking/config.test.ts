import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_BROKER_CONFIG } from '../../../../src/broker/broker.js';
import { applyConfigFile, ConfigError, parseConfigFile, toConfigFile } from '../../../../src/config/config-file.js';

const YAML = `
masking:
  principalGroups:
    auditors: [User:aud, User:carol]
  policies:
    - name: cards
      topics: [payments, orders-*]
      exempt: [Group:auditors]
      fields:
        - { path: card.number, rule: keep-last 4 }
        - { path: customer.id, rule: hash, part: key }
`;

describe('the masking section of the config file', () => {
  it('is read into the broker config and written back by check-config as it was', () => {
    const config = applyConfigFile(DEFAULT_BROKER_CONFIG, parseConfigFile(YAML, 'parapet.yaml'));
    assert.deepEqual(config.masking, {
      principalGroups: { auditors: ['User:aud', 'User:carol'] },
      policies: [{ name: 'cards', topics: ['payments', 'orders-*'], exempt: ['Group:auditors'], fields: [{ path: 'card.number', rule: 'keep-last 4' }, { path: 'customer.id', rule: 'hash', part: 'key' }] }],
    });
    assert.deepEqual(toConfigFile(config).masking, parseConfigFile(YAML, 'x').masking);
    assert.equal(applyConfigFile(DEFAULT_BROKER_CONFIG, parseConfigFile('{}', 'x')).masking, undefined, 'no section: no masking');
  });

  it('refuses what `parapet mask add` refuses, naming the key', () => {
    const bad = `
masking:
  policies:
    - name: cards
      topics: ['a b']
      exempt: [Group:nope, alice]
      fields: [{ path: 'a[0]', rule: blur }]
    - { name: cards, topics: [t], fields: [{ path: a, rule: mask }] }
`;
    assert.throws(
      () => parseConfigFile(bad, 'parapet.yaml'),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        for (const expected of [/masking\.policies\.0: .*topic "a b"/, /Group:nope: no such group/, /"alice": a principal is User:NAME/, /indexes and filters/, /unknown rule "blur"/, /masking\.policies\.1\.name: the policy name cards is used twice/]) assert.match(err.message, expected);
        return true;
      },
    );
    assert.throws(() => parseConfigFile('masking: { policies: [{ name: a, topics: [t], fields: [{ path: x, rule: mask, extra: 1 }] }] }', 'x'), /Unrecognized key/);
  });
});
