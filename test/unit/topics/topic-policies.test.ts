import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import type { LogStore } from '../../../src/storage/log-store.js';
import type { TopicConfigChange, TopicRecord, TopicStore } from '../../../src/storage/topic-store.js';
import { AUDIT_TOPIC } from '../../../src/topics/internal-topics.js';
import { TopicAdmin } from '../../../src/topics/topic-admin.js';
import { TopicConfigCache } from '../../../src/topics/topic-config-cache.js';
import { DEFAULT_TOPIC_CONFIG_LIMITS, validateTopicConfigs } from '../../../src/topics/topic-configs.js';
import { checkTopicPolicies, compileTopicPolicies, namePatternProblem, type TopicPolicy } from '../../../src/topics/topic-policies.js';
import { recordingLogger } from '../../helpers/broker.js';

const POLICIES: TopicPolicy[] = [
  { name: 'partition-bounds', topics: 'orders.*', partitions: { min: 3, max: 48 } },
  { name: 'naming', topics: '*', namePattern: '^[a-z][a-z0-9._-]*$' },
  { name: 'retention', topics: 'logs-??', retentionMs: { min: 3_600_000, max: 2_592_000_000 } },
  { name: 'pii-encrypted', topics: '*', tags: ['pii', 'pci'], requireEncryption: true },
  { name: 'cardholder-validated', topics: '*', tags: ['cardholder'], requireValidation: true },
];
const compiled = compileTopicPolicies(POLICIES);
const check = (name: string, partitions: number, configs: Record<string, string> = {}) => checkTopicPolicies(compiled, { name, partitions, configs });

describe('checkTopicPolicies', () => {
  it('refuses a partition count outside the bounds of a policy whose glob selects the topic, naming the policy and the range', () => {
    assert.deepEqual(check('orders.eu', 2), { rule: 'partition-bounds', message: 'topic policy "partition-bounds": orders.eu would have 2 partitions; allowed: 3 to 48' });
    assert.equal(check('orders.eu', 49)?.rule, 'partition-bounds');
    assert.equal(check('orders.eu', 3), null);
    assert.equal(check('orders.eu', 48), null);
    // The glob does not select it: no bound.
    assert.equal(check('payments', 1), null);
    const onlyMin = compileTopicPolicies([{ name: 'm', topics: '*', partitions: { min: 2 } }]);
    assert.match(checkTopicPolicies(onlyMin, { name: 'a', partitions: 1, configs: {} })?.message ?? '', /allowed: at least 2$/);
  });

  it('refuses a name that does not match the pattern', () => {
    assert.deepEqual(check('Orders', 1), { rule: 'naming', message: 'topic policy "naming": topic name Orders does not match ^[a-z][a-z0-9._-]*$' });
    assert.equal(check('orders_x', 1), null);
  });

  it('bounds retention.ms, the default when unset, with -1 (forever) above any max', () => {
    assert.equal(check('logs-01', 1, { 'retention.ms': '86400000' }), null);
    assert.match(check('logs-01', 1, { 'retention.ms': '60000' })?.message ?? '', /^topic policy "retention": retention\.ms=60000 is not allowed: 3600000 ms to 2592000000 ms$/);
    assert.match(check('logs-01', 1, { 'retention.ms': '-1' })?.message ?? '', /retention\.ms=-1 \(forever\) is not allowed/);
    // The default (7 days) is within the bounds; a min above it refuses a topic that sets nothing.
    assert.equal(check('logs-01', 1), null);
    const long = compileTopicPolicies([{ name: 'keep-a-month', topics: '*', retentionMs: { min: 2_592_000_000 } }]);
    assert.match(checkTopicPolicies(long, { name: 'x', partitions: 1, configs: {} })?.message ?? '', /retention\.ms=604800000 \(the default\) is not allowed: at least 2592000000 ms/);
    assert.equal(checkTopicPolicies(long, { name: 'x', partitions: 1, configs: { 'retention.ms': '-1' } }), null);
    // `?` is one character: logs-1 is not selected.
    assert.equal(check('logs-1', 1, { 'retention.ms': '1' }), null);
  });

  it('requires value validation on a topic tagged with one of the policy tags (docs/governance/validation.md)', () => {
    assert.equal(check('events', 1, {}), null);
    assert.deepEqual(check('cards', 1, { tags: 'cardholder' }), {
      rule: 'cardholder-validated',
      message: "topic policy \"cardholder-validated\": confluent.value.schema.validation=true is required for topics tagged cardholder: the topic's values must be validated against the schema registry",
    });
    assert.equal(check('cards', 1, { tags: 'cardholder', 'confluent.value.schema.validation': 'false' })?.rule, 'cardholder-validated');
    // Key validation alone does not satisfy it: the values are what the policy protects.
    assert.equal(check('cards', 1, { tags: 'cardholder', 'confluent.key.schema.validation': 'true' })?.rule, 'cardholder-validated');
    assert.equal(check('cards', 1, { tags: 'cardholder', 'confluent.value.schema.validation': 'true' }), null);
  });

  it('refuses encryption=none only on a topic tagged with one of the policy tags', () => {
    assert.equal(check('events', 1, { encryption: 'none' }), null);
    assert.equal(check('events', 1, { encryption: 'none', tags: 'internal' }), null);
    assert.deepEqual(check('customers', 1, { encryption: 'none', tags: 'ops,pii' }), {
      rule: 'pii-encrypted',
      message: 'topic policy "pii-encrypted": encryption=none is not allowed for topics tagged pii or pci: the topic must be stored encrypted (encryption=aes-256-gcm)',
    });
    assert.equal(check('customers', 1, { tags: 'pci' }), null, 'the default is encrypted');
    assert.equal(check('customers', 1, { tags: 'pci', encryption: 'aes-256-gcm' }), null);
  });

  it('checks only the aspects asked for', () => {
    const partitionsOnly = new Set(['partitions'] as const);
    assert.equal(checkTopicPolicies(compiled, { name: 'Orders', partitions: 1, configs: { tags: 'pii', encryption: 'none' } }, partitionsOnly), null);
    assert.equal(checkTopicPolicies(compiled, { name: 'orders.x', partitions: 1, configs: {} }, partitionsOnly)?.rule, 'partition-bounds');
  });

  it('globs match whole names, with regex characters taken literally', () => {
    const selects = (glob: string, name: string) => checkTopicPolicies(compileTopicPolicies([{ name: 'p', topics: glob, partitions: { max: 1 } }]), { name, partitions: 2, configs: {} }) !== null;
    assert.ok(selects('a.b*', 'a.bcd'));
    assert.ok(!selects('a.b*', 'axb'));
    assert.ok(!selects('orders', 'orders2'));
    assert.ok(selects('o?d', 'odd'));
    assert.ok(selects('*-pii-*', 'eu-pii-orders'));
  });
});

describe('name patterns are kept linear-time', () => {
  it('refuses backreferences, lookaround, nested repetition and patterns that do not compile; accepts ordinary ones', () => {
    for (const ok of ['^[a-z][a-z0-9._-]*$', '^(orders|payments)\\.[a-z]+$', '^[a-z]{3,10}(-v[0-9])?$', '^(?:ab){2}$', '[(+*]+']) {
      assert.equal(namePatternProblem(ok), null, ok);
    }
    assert.match(namePatternProblem('^(a)\\1$') ?? '', /backreference/);
    assert.match(namePatternProblem('^(?<x>a)\\k<x>$') ?? '', /backreference/);
    assert.match(namePatternProblem('^(?=a)b') ?? '', /lookahead or lookbehind/);
    assert.match(namePatternProblem('(?<!x)y') ?? '', /lookahead or lookbehind/);
    assert.match(namePatternProblem('^(a+)+$') ?? '', /exponential/);
    assert.match(namePatternProblem('^(a|ab)*$') ?? '', /exponential/);
    assert.match(namePatternProblem('^((ab)*c)+$') ?? '', /exponential/);
    assert.match(namePatternProblem('^([a-z]{2,})+$') ?? '', /exponential/);
    assert.match(namePatternProblem('^(a') ?? '', /does not compile/);
    // The rule is by shape, so it is conservative: this one is unambiguous yet refused ([a-z.]* says it).
    assert.match(namePatternProblem('^[a-z]+(\\.[a-z]+)*$') ?? '', /exponential/);
  });
});

describe('the tags topic config', () => {
  it('is a list of up to 16 tags of a-z, 0-9 and -, empty by default', () => {
    const v = (tags: string) => validateTopicConfigs({ tags }, DEFAULT_TOPIC_CONFIG_LIMITS);
    assert.equal(v(''), null);
    assert.equal(v('pii,pci,team-a'), null);
    assert.match(v('PII') ?? '', /^tags must be a comma-separated list/);
    assert.match(v('pii,,pci') ?? '', /got ""/);
    assert.match(v(Array.from({ length: 17 }, (_, i) => `t${i}`).join(',')) ?? '', /at most 16 tags/);
    assert.match(v('x'.repeat(33)) ?? '', /^tags must/);
  });
});

/** An in-memory topic store: what TopicAdmin writes is visible in `topics`. */
function memoryStore(): TopicStore & { readonly topicsByName: Map<string, TopicRecord> } {
  const topicsByName = new Map<string, TopicRecord>();
  return {
    topicsByName,
    createTopic(name, id, partitions, configs = {}) {
      const topic = { name, id, partitions, configs: { ...configs } };
      topicsByName.set(name, topic);
      return { kind: 'created', topic };
    },
    topic: (name) => topicsByName.get(name),
    topics: () => [...topicsByName.values()],
    deleteTopic: (name) => topicsByName.delete(name),
    setPartitionCount(name, partitions) {
      const t = topicsByName.get(name);
      if (t !== undefined) topicsByName.set(name, { ...t, partitions });
      return { kind: 'changed' };
    },
    alterConfigs(name: string, change: TopicConfigChange) {
      const t = topicsByName.get(name);
      if (t !== undefined) {
        const configs: Record<string, string> = { ...(change.replace ?? t.configs), ...change.set };
        topicsByName.set(name, { ...t, configs: Object.fromEntries(Object.entries(configs).filter(([k]) => !(change.remove ?? []).includes(k))) });
      }
      return { kind: 'changed' };
    },
  };
}

function admin(policies: TopicPolicy[]) {
  const store = memoryStore();
  const logs = { addTopic: () => undefined, deleteTopic: () => Promise.resolve() } as unknown as LogStore;
  const topics = new TopicAdmin(store, logs, new TopicConfigCache(store, DEFAULT_TOPIC_CONFIG_LIMITS), {
    defaultPartitions: 1,
    maxPartitionsPerTopic: 1000,
    maxPartitions: 10_000,
    configLimits: DEFAULT_TOPIC_CONFIG_LIMITS,
    logger: recordingLogger(),
    events: { emit: () => undefined },
    topicPolicies: policies,
  });
  return { store, topics };
}
const spec = (name: string, numPartitions: number, configs: Record<string, string> = {}) => ({ name, numPartitions, replicationFactor: -1, assignments: [], configs });

describe('TopicAdmin applies the policies before anything is written', () => {
  it('on create (validateOnly too), add-partitions and alter-configs, with POLICY_VIOLATION; internal topics exempt', () => {
    const { store, topics } = admin(POLICIES);
    for (const validateOnly of [true, false]) {
      const refused = topics.create(spec('orders.eu', 1), validateOnly);
      assert.equal(refused.errorCode, ErrorCode.POLICY_VIOLATION);
      assert.match(refused.errorMessage ?? '', /^topic policy "partition-bounds": /);
    }
    assert.equal(store.topicsByName.size, 0, 'nothing written');
    // A default-count topic (auto-creation's path: numPartitions -1) is judged at the default count.
    assert.equal(topics.create(spec('orders.auto', -1), false).errorCode, ErrorCode.POLICY_VIOLATION);
    // The existing checks come first: a bad config is INVALID_CONFIG, not a policy refusal.
    assert.equal(topics.create(spec('orders.eu', 1, { 'retention.ms': 'x' }), false).errorCode, ErrorCode.INVALID_CONFIG);
    assert.equal(topics.create(spec('orders.eu', 3), false).errorCode, 0);

    assert.equal(topics.addPartitions('orders.eu', 49, false).errorCode, ErrorCode.POLICY_VIOLATION);
    assert.equal(store.topic('orders.eu')?.partitions, 3);
    assert.equal(topics.addPartitions('orders.eu', 6, false).errorCode, 0);
    assert.equal(store.topic('orders.eu')?.partitions, 6);

    assert.equal(topics.create(spec('customers', 1, { tags: 'pii' }), false).errorCode, 0);
    for (const change of [{ set: { encryption: 'none' } }, { replace: { tags: 'pii', encryption: 'none' } }]) {
      const refused = topics.alterConfigs('customers', change, false);
      assert.equal(refused.errorCode, ErrorCode.POLICY_VIOLATION);
      assert.match(refused.errorMessage ?? '', /^topic policy "pii-encrypted": encryption=none/);
    }
    assert.deepEqual(store.topic('customers')?.configs, { tags: 'pii' });
    // Removing the tag and clearing encryption in one change is the topic leaving the policy: allowed.
    assert.equal(topics.alterConfigs('customers', { set: { encryption: 'none' }, remove: ['tags'] }, false).errorCode, 0);
    // Tagging it again brings it back under the policy.
    assert.equal(topics.alterConfigs('customers', { set: { tags: 'pci' } }, true).errorCode, ErrorCode.POLICY_VIOLATION);

    // The broker's own topic is not the policies' to shape (it fails the naming pattern).
    assert.equal(topics.create(spec(AUDIT_TOPIC, 1), false).errorCode, 0);
  });

  it('an alter-configs is not refused for a partition count it cannot change, unless it retags the topic', () => {
    const { topics } = admin([{ name: 'pci-partitions', topics: '*', tags: ['pci'], partitions: { min: 3 } }]);
    assert.equal(topics.create(spec('legacy', 1), false).errorCode, 0);
    assert.equal(topics.alterConfigs('legacy', { set: { 'retention.ms': '1000000' } }, false).errorCode, 0);
    const retag = topics.alterConfigs('legacy', { set: { tags: 'pci' } }, false);
    assert.equal(retag.errorCode, ErrorCode.POLICY_VIOLATION);
    assert.match(retag.errorMessage ?? '', /legacy would have 1 partitions; allowed for topics tagged pci: at least 3/);
  });
});
