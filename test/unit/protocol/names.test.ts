import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PatternType, ResourceType } from '../../../src/protocol/acl.js';
import {
  DEFAULT_NAME_LIMITS,
  aclResourceNameProblem,
  boundClientId,
  confusableUserName,
  existingUserNameProblem,
  groupIdProblem,
  groupInstanceIdProblem,
  maxMemberIdLength,
  memberIdProblem,
  topicNameProblem,
  transactionalIdProblem,
  userNameKey,
  userNameProblem,
} from '../../../src/protocol/names.js';

const limits = DEFAULT_NAME_LIMITS;

describe('name rules', () => {
  it('topic names follow Kafka: 1–249 of [a-zA-Z0-9._-], not "." or ".."', () => {
    for (const ok of ['a', 'orders.v1_EU-2', 'x'.repeat(249), '...', '__consumer_offsets']) assert.equal(topicNameProblem(ok), null, ok);
    for (const bad of ['', 'x'.repeat(250), 'x'.repeat(17_000), '.', '..', 'a/b', 'a b', 'é', 'a\u0000', 'a:b']) assert.notEqual(topicNameProblem(bad), null, bad);
  });

  it('group instance ids follow the topic rule, as the Java client checks them (KIP-345)', () => {
    assert.equal(groupInstanceIdProblem('consumer-1.host_a'), null);
    assert.match(groupInstanceIdProblem('host:1') ?? '', /group instance id/);
    assert.notEqual(groupInstanceIdProblem('x'.repeat(250)), null);
  });

  it('group and transactional ids: any character but controls, up to their configured bounds', () => {
    for (const ok of ['', 'orders app', 'gruppe-ü-😀', 'x'.repeat(255)]) assert.equal(groupIdProblem(ok, limits), null, JSON.stringify(ok));
    assert.match(groupIdProblem('x'.repeat(256), limits) ?? '', /at most 255/);
    assert.match(groupIdProblem('a\nb', limits) ?? '', /control/);
    assert.match(groupIdProblem('a\u0085b', limits) ?? '', /control/, 'C1 controls too');
    assert.equal(transactionalIdProblem('t'.repeat(1024), limits), null);
    assert.notEqual(transactionalIdProblem('t'.repeat(1025), limits), null);
    assert.equal(groupIdProblem('x'.repeat(300), { ...limits, maxGroupIdLength: 300 }), null, 'the bound is a setting');
  });

  it('member ids are bounded by what the coordinator hands out: the bounded client id, a dash and a UUID', () => {
    assert.equal(maxMemberIdLength(limits), 255 + 37);
    assert.equal(memberIdProblem(`${'c'.repeat(255)}-${crypto.randomUUID()}`, limits), null);
    assert.notEqual(memberIdProblem('m'.repeat(293), limits), null);
  });

  it('client ids are cut to their bound, never through a surrogate pair', () => {
    assert.equal(boundClientId(null, limits), null);
    assert.equal(boundClientId('rdkafka', limits), 'rdkafka');
    assert.equal(boundClientId('c'.repeat(17_000), limits), 'c'.repeat(255));
    const emoji = `${'c'.repeat(254)}😀`;
    assert.equal(boundClientId(emoji, limits), 'c'.repeat(254));
  });

  it('user names: one rule for login, the SCRAM admin API and the CLI', () => {
    for (const ok of ['alice', 'zoë o\'brien "q"\\x', 'a,b=c', 'Jürgen', 'x'.repeat(255), 'svc.orders@example.com', 'a*b']) {
      assert.equal(userNameProblem(ok), null, ok);
    }
    const refused: [string, RegExp][] = [
      ['', /empty/],
      ['x'.repeat(256), /at most 255/],
      ['x'.repeat(2000), /at most 255/],
      ['root\n', /control/],
      ['\u001b[2Kroot', /control/],
      ['admin\u200b', /invisible/],
      ['ad\u202emin', /format|invisible/],
      ['admin\ufe0f', /invisible/],
      ['a\u00a0b', /spaces other than/],
      ['a\u2028b', /separators|invisible|spaces/],
      ['admin ', /start or end/],
      [' admin', /start or end/],
      ['e\u0301', /NFC/],
      ['User:admin', /":"/],
      ['a:b', /":"/],
      ['*', /cannot be "\*" or "ANONYMOUS"/],
      ['ANONYMOUS', /in any case or width/],
      ['anonymous', /in any case or width/],
      ['ＡＮＯＮＹＭＯＵＳ', /in any case or width/],
    ];
    for (const [name, why] of refused) assert.match(userNameProblem(name) ?? '', why, JSON.stringify(name));
  });

  it('names are compared for confusion by case folding and NFKC', () => {
    assert.equal(userNameKey('Admin'), userNameKey('admin'));
    assert.equal(userNameKey('ＡＤＭＩＮ'), userNameKey('admin'));
    assert.equal(userNameKey('straße'), userNameKey('STRASSE'));
    assert.equal(userNameKey('ﬁle'), userNameKey('file'));
    assert.notEqual(userNameKey('admin2'), userNameKey('admin'));
    assert.equal(confusableUserName('Admin', ['bob', 'admin']), 'admin');
    assert.equal(confusableUserName('admin', ['bob', 'admin']), undefined, 'a user is not confused with itself');
    assert.equal(confusableUserName('carol', ['bob', 'admin']), undefined);
  });

  it('descriptions and deletions accept any name a user could have had before the rule, bounded', () => {
    assert.equal(existingUserNameProblem('Admin '), null);
    assert.equal(existingUserNameProblem('x'.repeat(4096)), null);
    assert.notEqual(existingUserNameProblem('x'.repeat(4097)), null);
    assert.notEqual(existingUserNameProblem(''), null);
  });

  it('ACL resource names follow their resource type, plus * and prefixes', () => {
    const { LITERAL, PREFIXED } = PatternType;
    assert.equal(aclResourceNameProblem(ResourceType.TOPIC, LITERAL, '*', limits), null);
    assert.equal(aclResourceNameProblem(ResourceType.TOPIC, LITERAL, 'orders', limits), null);
    assert.notEqual(aclResourceNameProblem(ResourceType.TOPIC, LITERAL, 'orders:eu', limits), null);
    assert.notEqual(aclResourceNameProblem(ResourceType.TOPIC, LITERAL, 'x'.repeat(250), limits), null);
    assert.equal(aclResourceNameProblem(ResourceType.TOPIC, PREFIXED, '.', limits), null, '"." begins valid topic names');
    assert.notEqual(aclResourceNameProblem(ResourceType.TOPIC, PREFIXED, '*', limits), null, 'a prefix * is a literal character');
    assert.equal(aclResourceNameProblem(ResourceType.GROUP, PREFIXED, 'team a/', limits), null);
    assert.notEqual(aclResourceNameProblem(ResourceType.GROUP, LITERAL, 'g'.repeat(256), limits), null);
    assert.equal(aclResourceNameProblem(ResourceType.TRANSACTIONAL_ID, LITERAL, 't'.repeat(1024), limits), null);
    assert.notEqual(aclResourceNameProblem(ResourceType.TRANSACTIONAL_ID, LITERAL, 't'.repeat(1025), limits), null);
    assert.notEqual(aclResourceNameProblem(ResourceType.USER, LITERAL, 'u'.repeat(17_000), limits), null);
  });
});
