import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compilePolicy,
  groupProblems,
  MAX_FIELDS_PER_POLICY,
  MAX_TOPICS_PER_POLICY,
  MaskingPolicySet,
  policyHashKey,
  policyProblems,
  type MaskingPolicy,
} from '../../../../src/governance/masking/policy.js';
import { parseTopicPattern, topicMatches } from '../../../../src/topics/topic-pattern.js';

const SECRET = Buffer.alloc(32, 1);
const GROUPS = { analysts: ['User:ann', 'User:bob'], auditors: ['User:aud'] };

function policy(overrides: Partial<MaskingPolicy> = {}): MaskingPolicy {
  return { name: 'cards', topics: ['payments'], fields: [{ path: 'card.number', rule: 'keep-last 4' }], ...overrides };
}

function set(...policies: MaskingPolicy[]): MaskingPolicySet {
  return new MaskingPolicySet(policies.map((p) => compilePolicy(p, 'config', GROUPS, SECRET)));
}

/** The names of the policies that apply to `principal` on `topic`. */
function applying(s: MaskingPolicySet, principal: string, topic: string): readonly string[] {
  return s.forPrincipal(principal)?.(topic)?.policies ?? [];
}

function matches(pattern: string, topic: string): boolean {
  const p = parseTopicPattern(pattern);
  if ('error' in p) assert.fail(p.error);
  return topicMatches(p, topic);
}

describe('masking policies: topics', () => {
  it('literal names, prefixes and globs', () => {
    assert.deepEqual(parseTopicPattern('payments'), { kind: 'literal', text: 'payments' });
    assert.deepEqual(parseTopicPattern('orders-*'), { kind: 'prefix', text: 'orders-*', prefix: 'orders-' });
    assert.deepEqual(parseTopicPattern('*-pii'), { kind: 'glob', text: '*-pii' });
    assert.ok(matches('payments', 'payments'));
    assert.ok(!matches('payments', 'payments2'), 'a literal is the whole name');
    assert.ok(matches('orders-*', 'orders-eu'));
    assert.ok(matches('orders-*', 'orders-'));
    assert.ok(!matches('orders-*', 'order-eu'));
    assert.ok(matches('*-pii', 'crm-pii'));
    assert.ok(!matches('*-pii', 'crm-pii-raw'));
    assert.ok(matches('eu-?-*.pii', 'eu-1-crm.pii'));
    assert.ok(!matches('eu-?-*.pii', 'eu-12-crm.pii'));
    assert.ok(matches('*a*b*', 'xxaxxbxx'));
    assert.ok(matches('*', ''));
  });

  it('a glob with many stars against a long name takes no more than name × pattern steps', () => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < 100; i++) assert.ok(!matches('*a*a*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(249)));
    // A regular expression built the same way backtracks for seconds here; this is well under 100 ms.
    assert.ok(Number(process.hrtime.bigint() - start) / 1e6 < 1000);
  });

  it('refuses what is not a topic name or pattern', () => {
    for (const bad of ['', 'a b', 'a/b', 'x'.repeat(250), 'ünï']) assert.ok('error' in parseTopicPattern(bad), bad);
  });
});

describe('masking policies: who they apply to', () => {
  it('everyone by default, except the exempt principals and the members of exempt groups', () => {
    const s = set(policy({ exempt: ['User:admin', 'Group:auditors'] }));
    assert.deepEqual(applying(s, 'User:anyone', 'payments'), ['cards'], 'a consumer nobody thought of is masked: the safe default');
    assert.deepEqual(applying(s, 'User:admin', 'payments'), []);
    assert.deepEqual(applying(s, 'User:aud', 'payments'), [], 'exempt through its group');
    assert.deepEqual(applying(s, 'User:ANONYMOUS', 'payments'), ['cards']);
  });

  it('only the listed principals and groups when principals is given, less the exempt', () => {
    const s = set(policy({ principals: ['Group:analysts', 'User:carol'], exempt: ['User:bob'] }));
    assert.deepEqual(applying(s, 'User:ann', 'payments'), ['cards']);
    assert.deepEqual(applying(s, 'User:carol', 'payments'), ['cards']);
    assert.deepEqual(applying(s, 'User:bob', 'payments'), [], 'exempt wins over a group');
    assert.deepEqual(applying(s, 'User:dave', 'payments'), []);
  });

  it('no policy for a principal: no work per topic at all', () => {
    const s = set(policy({ principals: ['User:ann'] }));
    assert.equal(s.forPrincipal('User:zed'), null);
    assert.equal(set().forPrincipal('User:ann'), null);
    assert.ok(set().isEmpty);
  });

  it('the fields of every policy that applies to a topic add up, in order; other topics have none', () => {
    const s = set(policy(), policy({ name: 'emails', topics: ['pay*'], fields: [{ path: 'email', rule: 'hash' }, { path: 'id', rule: 'mask', part: 'key' }] }));
    const masking = s.forPrincipal('User:x')?.('payments');
    assert.deepEqual(masking?.policies, ['cards', 'emails']);
    assert.equal(masking.value.length, 2);
    assert.equal(masking.key.length, 1);
    assert.equal(s.forPrincipal('User:x')?.('orders'), undefined);
  });

  it('a group gone from the config fails closed: nobody exempt through it; in principals, everyone', () => {
    const warnings: string[] = [];
    const gone = compilePolicy(policy({ exempt: ['Group:old'] }), 'cli', GROUPS, SECRET, (m) => warnings.push(m));
    assert.equal(gone.exempt.size, 0);
    const only = compilePolicy(policy({ principals: ['Group:old'] }), 'cli', GROUPS, SECRET, (m) => warnings.push(m));
    assert.equal(only.only, null, 'applies to everyone');
    assert.equal(warnings.length, 2);
  });
});

describe('masking policies: checks', () => {
  it('accepts a good policy', () => {
    assert.deepEqual(policyProblems(policy({ exempt: ['Group:analysts', 'User:cert:CN=x'] }), GROUPS), []);
  });

  it('names each problem', () => {
    const problems = policyProblems(
      { name: 'Bad Name', topics: ['a b'], principals: [], exempt: ['alice', 'Group:nope'], fields: [{ path: 'a[0]', rule: 'blur' }, { path: 'x', rule: 'mask', part: 'headers' as 'key' }] },
      GROUPS,
    );
    const text = problems.join('\n');
    assert.match(text, /a policy name is/);
    assert.match(text, /topic "a b"/);
    assert.match(text, /principals is empty/);
    assert.match(text, /"alice": a principal is User:NAME/);
    assert.match(text, /Group:nope: no such group/);
    assert.match(text, /indexes and filters/);
    assert.match(text, /unknown rule "blur"/);
    assert.match(text, /part is value or key/);
  });

  it('bounds topics and fields per policy, and the groups', () => {
    assert.match(policyProblems(policy({ topics: Array.from({ length: MAX_TOPICS_PER_POLICY + 1 }, (_, i) => `t${i}`) })).join(), /give 1 to 64 topics/);
    assert.match(policyProblems(policy({ topics: [] })).join(), /give 1 to 64 topics/);
    assert.match(policyProblems(policy({ fields: Array.from({ length: MAX_FIELDS_PER_POLICY + 1 }, () => ({ path: 'a', rule: 'mask' })) })).join(), /give 1 to 64 fields/);
    assert.match(groupProblems({ 'bad name': ['nobody'] }).join(), /group name .*a principal is/s);
  });

  it('each policy has its own hash key, derived from the broker secret', () => {
    assert.notDeepEqual(policyHashKey(SECRET, 'a'), policyHashKey(SECRET, 'b'));
    assert.deepEqual(policyHashKey(SECRET, 'a'), policyHashKey(SECRET, 'a'));
    assert.notDeepEqual(policyHashKey(Buffer.alloc(32, 2), 'a'), policyHashKey(SECRET, 'a'));
  });
});
