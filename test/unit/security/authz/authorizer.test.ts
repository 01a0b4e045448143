import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AclOperation, AclPermissionType, CONCRETE_ACL_OPERATIONS, PatternType, ResourceType } from '../../../../src/protocol/acl.js';
import { AclStore, type AclBinding, type AclBindingInput } from '../../../../src/security/authz/acl-store.js';
import { AclAuthorizer } from '../../../../src/security/authz/authorizer.js';
import type { AuthorizationRequest, Principal } from '../../../../src/security/types.js';
import { aclInput as acl, memoryAclPersistence } from './acl-fixtures.js';

const { TOPIC, GROUP, CLUSTER } = ResourceType;
const { LITERAL, PREFIXED } = PatternType;
const { ALLOW, DENY } = AclPermissionType;
const { READ, WRITE, DESCRIBE, ALTER, DELETE, ALL, CREATE, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE } = AclOperation;


/** An authorizer over a fresh ACL store holding `bindings` (each must be valid). */
function setup(bindings: AclBindingInput[], superUsers: Principal[] = []): { acls: AclStore; authz: AclAuthorizer } {
  const acls = new AclStore({ store: memoryAclPersistence() });
  const results = acls.create(bindings);
  assert.ok(results.every((r) => r.code === 0), JSON.stringify(results));
  return { acls, authz: new AclAuthorizer({ acls, superUsers }) };
}

const req = (over: Partial<AuthorizationRequest> = {}): AuthorizationRequest => ({
  principal: 'User:alice',
  host: '10.1.2.3',
  operation: READ,
  resourceType: TOPIC,
  resourceName: 'orders',
  ...over,
});

describe('AclAuthorizer.authorize', () => {
  it('denies by default: no binding, no access (no allow-everyone fallback)', () => {
    const { authz } = setup([]);
    assert.equal(authz.authorize(req()), false);
    assert.deepEqual(authz.decide(req()), { allowed: false, reason: 'no-match' });
  });

  it('a DENY beats an ALLOW, whichever pattern each comes from', () => {
    const { authz } = setup([acl(), acl({ resourceName: 'ord', patternType: PREFIXED, permission: DENY })]);
    assert.equal(authz.authorize(req()), false);
    const d = authz.decide(req());
    assert.equal(d.reason, 'deny');
    assert.equal(d.binding.patternType, PREFIXED, 'the decision names the DENY that decided it');
    const { authz: other } = setup([acl({ resourceName: '*' }), acl({ permission: DENY })]);
    assert.equal(other.authorize(req()), false);
    assert.equal(other.authorize(req({ resourceName: 'payments' })), true);
  });

  it('matches literal names exactly, * literally for every name, and prefixes by startsWith', () => {
    const { authz } = setup([acl({ resourceName: 'orders' }), acl({ resourceName: 'pay', patternType: PREFIXED }), acl({ resourceType: GROUP, resourceName: '*' })]);
    assert.equal(authz.authorize(req({ resourceName: 'orders' })), true);
    assert.equal(authz.authorize(req({ resourceName: 'orders2' })), false, 'a literal is not a prefix');
    assert.equal(authz.authorize(req({ resourceName: 'order' })), false);
    assert.equal(authz.authorize(req({ resourceName: 'pay' })), true);
    assert.equal(authz.authorize(req({ resourceName: 'payments' })), true);
    assert.equal(authz.authorize(req({ resourceName: 'pa' })), false);
    assert.equal(authz.authorize(req({ resourceName: 'xpay' })), false);
    assert.equal(authz.authorize(req({ resourceType: GROUP, resourceName: 'anything' })), true);
    assert.equal(authz.authorize(req({ resourceType: TOPIC, resourceName: 'anything' })), false, 'bindings apply to their own resource type only');
  });

  it('a PREFIXED * is a literal prefix, not a wildcard', () => {
    const { authz } = setup([acl({ resourceName: '*', patternType: PREFIXED })]);
    assert.equal(authz.authorize(req({ resourceName: 'orders' })), false);
    assert.equal(authz.authorize(req({ resourceName: '*orders' })), true);
  });

  it('User:* applies to every principal; other principals only to themselves', () => {
    const { authz } = setup([acl({ principal: 'User:*', resourceName: 'public' }), acl({ principal: 'User:bob', resourceName: 'bobs' })]);
    assert.equal(authz.authorize(req({ principal: 'User:anyone', resourceName: 'public' })), true);
    assert.equal(authz.authorize(req({ principal: 'User:ANONYMOUS', resourceName: 'public' })), true);
    assert.equal(authz.authorize(req({ principal: 'User:bob', resourceName: 'bobs' })), true);
    assert.equal(authz.authorize(req({ principal: 'User:alice', resourceName: 'bobs' })), false);
  });

  it('a User:* DENY denies everyone, the named ALLOW notwithstanding', () => {
    const { authz } = setup([acl(), acl({ principal: 'User:*', permission: DENY })]);
    assert.equal(authz.authorize(req()), false);
  });

  it('host rules: *, exact address, IPv4 and IPv6 CIDR, IPv4-mapped clients, the listener’s /ip form', () => {
    const { authz } = setup([
      acl({ resourceName: 'v4', host: '10.0.0.0/8' }),
      acl({ resourceName: 'one', host: '192.168.1.5' }),
      acl({ resourceName: 'v6', host: 'fd00::/8' }),
      acl({ resourceName: 'loop6', host: '::1' }),
    ]);
    assert.equal(authz.authorize(req({ resourceName: 'v4', host: '10.200.0.1' })), true);
    assert.equal(authz.authorize(req({ resourceName: 'v4', host: '11.0.0.1' })), false);
    assert.equal(authz.authorize(req({ resourceName: 'v4', host: '::ffff:10.1.2.3' })), true, 'IPv4-mapped IPv6 matches IPv4 rules');
    assert.equal(authz.authorize(req({ resourceName: 'v4', host: '/10.1.2.3' })), true);
    assert.equal(authz.authorize(req({ resourceName: 'one', host: '192.168.1.5' })), true);
    assert.equal(authz.authorize(req({ resourceName: 'one', host: '192.168.1.6' })), false);
    assert.equal(authz.authorize(req({ resourceName: 'v6', host: 'fd12:3456::1' })), true);
    assert.equal(authz.authorize(req({ resourceName: 'v6', host: 'fe80::1' })), false);
    assert.equal(authz.authorize(req({ resourceName: 'loop6', host: '0:0:0:0:0:0:0:1' })), true);
  });

  it('a DENY by CIDR cannot be sidestepped through an IPv4-mapped address', () => {
    const { authz } = setup([acl({ principal: 'User:*' }), acl({ principal: 'User:*', host: '10.0.0.0/8', permission: DENY, operation: ALL })]);
    assert.equal(authz.authorize(req({ host: '10.9.9.9' })), false);
    assert.equal(authz.authorize(req({ host: '::ffff:10.9.9.9' })), false);
    assert.equal(authz.authorize(req({ host: '::ffff:a09:909' })), false);
    assert.equal(authz.authorize(req({ host: '192.0.2.1' })), true);
  });

  it('fails closed for a client address it cannot parse: * allows, host-specific DENYs apply', () => {
    const { authz } = setup([acl({ resourceName: 'open' }), acl({ resourceName: 'byhost', host: '10.0.0.1' }), acl({ resourceName: 'open', host: '10.0.0.1', permission: DENY, operation: WRITE }), acl({ resourceName: 'open', operation: WRITE })]);
    assert.equal(authz.authorize(req({ resourceName: 'open', host: 'unknown' })), true);
    assert.equal(authz.authorize(req({ resourceName: 'byhost', host: 'unknown' })), false);
    assert.equal(authz.authorize(req({ resourceName: 'open', host: 'unknown', operation: WRITE })), false);
    assert.equal(authz.authorize(req({ resourceName: 'open', host: '10.0.0.2', operation: WRITE })), true);
  });

  it('READ, WRITE, DELETE and ALTER imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS; nothing else is implied', () => {
    for (const op of [READ, WRITE, DELETE, ALTER]) {
      const { authz } = setup([acl({ operation: op })]);
      assert.equal(authz.authorize(req({ operation: DESCRIBE })), true, `ALLOW ${op} implies DESCRIBE`);
      assert.equal(authz.authorize(req({ operation: DESCRIBE_CONFIGS })), false);
    }
    const { authz } = setup([acl({ operation: ALTER_CONFIGS })]);
    assert.equal(authz.authorize(req({ operation: DESCRIBE_CONFIGS })), true);
    assert.equal(authz.authorize(req({ operation: DESCRIBE })), false);
    const { authz: reader } = setup([acl({ operation: READ })]);
    assert.equal(reader.authorize(req({ operation: WRITE })), false);
    const { authz: describer } = setup([acl({ operation: DESCRIBE })]);
    assert.equal(describer.authorize(req({ operation: READ })), false, 'DESCRIBE implies nothing upwards');
  });

  it('DENY READ does not deny DESCRIBE; DENY DESCRIBE does', () => {
    const { authz } = setup([acl({ operation: ALL }), acl({ operation: READ, permission: DENY })]);
    assert.equal(authz.authorize(req({ operation: READ })), false);
    assert.equal(authz.authorize(req({ operation: DESCRIBE })), true);
    assert.equal(authz.authorize(req({ operation: WRITE })), true);
    const { authz: other } = setup([acl({ operation: READ }), acl({ operation: DESCRIBE, permission: DENY })]);
    assert.equal(other.authorize(req({ operation: DESCRIBE })), false);
    assert.equal(other.authorize(req({ operation: READ })), true);
  });

  it('ALLOW ALL allows every operation; DENY ALL denies every operation', () => {
    const { authz } = setup([acl({ operation: ALL })]);
    for (const op of CONCRETE_ACL_OPERATIONS) assert.equal(authz.authorize(req({ operation: op })), true, `ALLOW ALL → ${op}`);
    const { authz: denied } = setup([acl({ operation: ALL }), acl({ operation: ALL, permission: DENY })]);
    for (const op of CONCRETE_ACL_OPERATIONS) assert.equal(denied.authorize(req({ operation: op })), false, `DENY ALL → ${op}`);
  });

  it('super users are allowed everything, DENY bindings included; others are not', () => {
    const { authz } = setup([acl({ principal: 'User:*', operation: ALL, permission: DENY, resourceName: '*' })], ['User:admin']);
    assert.equal(authz.authorize(req({ principal: 'User:admin', operation: ALTER, resourceType: CLUSTER, resourceName: 'kafka-cluster' })), true);
    assert.equal(authz.authorize(req({ principal: 'User:admin' })), true);
    assert.deepEqual(authz.decide(req({ principal: 'User:admin' })), { allowed: true, reason: 'super-user' });
    assert.equal(authz.authorize(req({ principal: 'User:administrator' })), false);
  });

  it('sees ACL changes at once: the decision cache is dropped on every change', () => {
    const { acls, authz } = setup([]);
    assert.equal(authz.authorize(req()), false);
    acls.create([acl()]);
    assert.equal(authz.authorize(req()), true, 'a grant takes effect');
    assert.equal(authz.authorize(req()), true);
    acls.create([acl({ permission: DENY })]);
    assert.equal(authz.authorize(req()), false, 'a DENY takes effect');
    acls.delete([{ resourceType: TOPIC, resourceName: 'orders', patternType: LITERAL, principal: null, host: null, operation: AclOperation.ANY, permission: DENY }]);
    assert.equal(authz.authorize(req()), true, 'removing the DENY takes effect');
    acls.delete([{ resourceType: ResourceType.ANY, resourceName: null, patternType: PatternType.ANY, principal: null, host: null, operation: AclOperation.ANY, permission: AclPermissionType.ANY }]);
    assert.equal(authz.authorize(req()), false, 'revoking takes effect');
  });

  it('stays correct when its bounded cache fills and is cleared', () => {
    const acls = new AclStore({ store: memoryAclPersistence() });
    acls.create([acl({ resourceName: 't', patternType: PREFIXED }), acl({ resourceName: 't7', permission: DENY })]);
    const tiny = new AclAuthorizer({ acls, cacheSize: 3 });
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 10; i++) assert.equal(tiny.authorize(req({ resourceName: `t${i}` })), i !== 7, `round ${round}, t${i}`);
    }
  });

  it('bounds its cache in entries and in key length: a long name is decided, correctly, without being cached', () => {
    const acls = new AclStore({ store: memoryAclPersistence() });
    acls.create([acl({ resourceName: 'x', patternType: PREFIXED })]);
    const authz = new AclAuthorizer({ acls, cacheSize: 100 });
    // 17,000-character names differing only at the end: as cache keys, V8 would hash them all alike.
    const stem = 'x'.repeat(16_994);
    for (let i = 0; i < 300; i++) assert.equal(authz.authorize(req({ resourceName: `${stem}${String(i).padStart(6, '0')}` })), true);
    assert.equal(authz.authorize(req({ resourceName: `y${stem}` })), false);
    assert.equal(authz.cachedDecisions, 0);
    for (let i = 0; i < 250; i++) authz.authorize(req({ resourceName: `x${i}` }));
    const cached = ((a: AclAuthorizer) => a.cachedDecisions)(authz);
    assert.ok(cached > 0 && cached <= 100, `${cached} cached`);
    const bounded = new AclAuthorizer({ acls, cacheKeyMaxLength: 40 });
    bounded.authorize(req({ resourceName: 'x'.repeat(30) }));
    assert.equal(bounded.cachedDecisions, 0, 'principal, host and name together count against the bound');
    bounded.authorize(req({ resourceName: 'x' }));
    assert.equal(bounded.cachedDecisions, 1);
  });

  it('rebuilds from whatever the source holds when its generation moves, and only then', () => {
    let bindings: readonly AclBinding[] = [];
    const source = { generation: 0, bindings: () => bindings };
    const authz = new AclAuthorizer({ acls: source });
    assert.equal(authz.authorize(req()), false);
    bindings = setup([acl()]).acls.bindings();
    assert.equal(authz.authorize(req()), false, 'same generation: the cached decision stands');
    source.generation = 1;
    assert.equal(authz.authorize(req()), true);
  });
});

describe('AclAuthorizer.authorizeAny (KIP-679 authorizeByResourceType)', () => {
  const any = (over: Partial<Omit<AuthorizationRequest, 'resourceName'>> = {}): Omit<AuthorizationRequest, 'resourceName'> => ({
    principal: 'User:alice',
    host: '10.1.2.3',
    operation: WRITE,
    resourceType: TOPIC,
    ...over,
  });

  it('is false without bindings and true for super users', () => {
    assert.equal(setup([]).authz.authorizeAny(any()), false);
    assert.equal(setup([acl({ principal: 'User:*', resourceName: '*', operation: ALL, permission: DENY })], ['User:admin']).authz.authorizeAny(any({ principal: 'User:admin' })), true);
  });

  it('an ALLOW on a prefixed topic makes WRITE on some topic possible', () => {
    const { authz } = setup([acl({ resourceName: 'logs-', patternType: PREFIXED, operation: WRITE })]);
    assert.equal(authz.authorizeAny(any()), true);
    assert.equal(authz.authorizeAny(any({ principal: 'User:bob' })), false);
    assert.equal(authz.authorizeAny(any({ resourceType: GROUP })), false);
    assert.equal(authz.authorizeAny(any({ operation: CREATE })), false);
  });

  it('a DENY on the * literal makes it false whatever is allowed', () => {
    const { authz } = setup([acl({ resourceName: 'logs-', patternType: PREFIXED, operation: WRITE }), acl({ resourceName: 'x', operation: ALL }), acl({ resourceName: '*', operation: WRITE, permission: DENY })]);
    assert.equal(authz.authorizeAny(any()), false);
  });

  it('an ALLOW on the * literal makes it true unless a DENY covers every name (the probe name being denied does not matter)', () => {
    assert.equal(setup([acl({ resourceName: '*', operation: WRITE })]).authz.authorizeAny(any()), true);
    const probeDenied = setup([acl({ resourceName: '*', operation: WRITE }), acl({ resourceName: 'hard', patternType: PREFIXED, operation: WRITE, permission: DENY })]);
    assert.equal(probeDenied.authz.authorize({ ...any(), resourceName: 'hardcode' }), false);
    assert.equal(probeDenied.authz.authorizeAny(any()), true);
  });

  it('a DENY dominating every ALLOW (same literal, or a prefix of its name) makes it false', () => {
    assert.equal(setup([acl({ resourceName: 'a', operation: WRITE }), acl({ resourceName: 'a', operation: WRITE, permission: DENY })]).authz.authorizeAny(any()), false);
    assert.equal(setup([acl({ resourceName: 'abc', patternType: PREFIXED, operation: WRITE }), acl({ resourceName: 'ab', patternType: PREFIXED, operation: WRITE, permission: DENY })]).authz.authorizeAny(any()), false);
    assert.equal(setup([acl({ resourceName: 'abc', operation: WRITE }), acl({ resourceName: 'a', patternType: PREFIXED, operation: WRITE, permission: DENY })]).authz.authorizeAny(any()), false);
    // A longer denied prefix leaves other names under the allowed prefix: still possible.
    assert.equal(setup([acl({ resourceName: 'a', patternType: PREFIXED, operation: WRITE }), acl({ resourceName: 'ab', patternType: PREFIXED, operation: WRITE, permission: DENY })]).authz.authorizeAny(any()), true);
    // A denied literal under an allowed prefix does not cover the prefix.
    assert.equal(setup([acl({ resourceName: 'a', patternType: PREFIXED, operation: WRITE }), acl({ resourceName: 'a', operation: WRITE, permission: DENY })]).authz.authorizeAny(any()), true);
  });

  it('counts the exact operation or ALL, as Kafka does (WRITE does not imply IDEMPOTENT_WRITE)', () => {
    assert.equal(setup([acl({ resourceType: CLUSTER, resourceName: 'kafka-cluster', operation: IDEMPOTENT_WRITE })]).authz.authorizeAny(any({ resourceType: CLUSTER, operation: IDEMPOTENT_WRITE })), true);
    assert.equal(setup([acl({ resourceType: CLUSTER, resourceName: 'kafka-cluster', operation: WRITE })]).authz.authorizeAny(any({ resourceType: CLUSTER, operation: IDEMPOTENT_WRITE })), false);
    assert.equal(setup([acl({ resourceName: 'x', operation: ALL })]).authz.authorizeAny(any()), true);
    // Only through Kafka's probe name do implications count: READ on * implies DESCRIBE of any topic...
    assert.equal(setup([acl({ resourceName: '*', operation: READ })]).authz.authorizeAny(any({ operation: DESCRIBE })), true);
    // ...while READ on one topic does not make DESCRIBE of some topic count.
    assert.equal(setup([acl({ resourceName: 'x', operation: READ })]).authz.authorizeAny(any({ operation: DESCRIBE })), false);
  });

  it('applies principal and host rules', () => {
    const { authz } = setup([acl({ principal: 'User:*', resourceName: 'x', operation: WRITE, host: '10.0.0.0/8' })]);
    assert.equal(authz.authorizeAny(any({ host: '10.5.5.5' })), true);
    assert.equal(authz.authorizeAny(any({ host: '::ffff:10.5.5.5' })), true);
    assert.equal(authz.authorizeAny(any({ host: '192.0.2.1' })), false);
  });
});

/*
 * A property: the indexed, caching authorizer against a naive reference over random bindings, random
 * requests and random changes in between. The reference is written from Kafka's rules directly: a
 * linear scan, its own operation implications, and a hand-written table of which hosts each host
 * rule covers (an oracle independent of node:net).
 */
const NAMES = ['a', 'ab', 'abc', 'b', 'hard', '*'];
const PRINCIPALS: Principal[] = ['User:alice', 'User:bob', 'User:*'];
const REQUEST_PRINCIPALS: Principal[] = ['User:alice', 'User:bob', 'User:carol', 'User:root'];
const HOST_RULES = ['*', '10.0.0.1', '10.0.0.0/8', '192.168.1.0/24', '::1', 'fd00::/8'];
const CLIENTS = ['10.0.0.1', '/10.0.0.1', '::ffff:10.0.0.1', '10.200.3.4', '192.168.1.77', '192.168.2.1', '::1', '0:0:0:0:0:0:0:1', 'fd12::5', 'fe80::1', 'unknown'];
const COVERS: Readonly<Record<string, readonly string[]>> = {
  '10.0.0.1': ['10.0.0.1', '/10.0.0.1', '::ffff:10.0.0.1'],
  '10.0.0.0/8': ['10.0.0.1', '/10.0.0.1', '::ffff:10.0.0.1', '10.200.3.4'],
  '192.168.1.0/24': ['192.168.1.77'],
  '::1': ['::1', '0:0:0:0:0:0:0:1'],
  'fd00::/8': ['fd12::5'],
};
const RESOURCE_TYPES = [TOPIC, GROUP];
const SUPER: Principal = 'User:root';

function refHost(rule: string, client: string, permission: number): boolean {
  if (rule === '*') return true;
  if (client === 'unknown') return permission === DENY;
  return (COVERS[rule] ?? []).includes(client);
}

function refOperation(bound: number, permission: number, requested: number): boolean {
  if (bound === ALL || bound === requested) return true;
  if (permission === DENY) return false;
  if (requested === DESCRIBE) return bound === READ || bound === WRITE || bound === DELETE || bound === ALTER;
  return requested === DESCRIBE_CONFIGS && bound === ALTER_CONFIGS;
}

function refAuthorize(bindings: readonly AclBindingInput[], r: AuthorizationRequest, exactOperation = false): boolean {
  if (r.principal === SUPER) return true;
  const applying = bindings.filter(
    (b) =>
      b.resourceType === r.resourceType &&
      (b.patternType === LITERAL ? b.resourceName === r.resourceName || b.resourceName === '*' : r.resourceName.startsWith(b.resourceName)) &&
      (b.principal === r.principal || b.principal === 'User:*') &&
      refHost(b.host, r.host, b.permission) &&
      (exactOperation ? b.operation === r.operation || b.operation === ALL : refOperation(b.operation, b.permission, r.operation)),
  );
  if (applying.some((b) => b.permission === DENY)) return false;
  return applying.some((b) => b.permission === ALLOW);
}

/**
 * Kafka's authorizeByResourceType amounts to: the probe name is allowed, or some resource name is
 * allowed counting exact operations only. Names worth trying are the bound names and each prefix with
 * a suffix no binding uses.
 */
function refAuthorizeAny(bindings: readonly AclBindingInput[], r: Omit<AuthorizationRequest, 'resourceName'>): boolean {
  if (refAuthorize(bindings, { ...r, resourceName: 'hardcode' })) return true;
  const candidates = bindings.flatMap((b) => [b.resourceName, `${b.resourceName}~~`]);
  return candidates.some((resourceName) => refAuthorize(bindings, { ...r, resourceName }, true));
}

/** Mostly the common values, so that bindings and requests meet (and collide) often. */
function biased<T>(common: readonly T[], all: readonly T[]): fc.Arbitrary<T> {
  return fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...common) }, { weight: 1, arbitrary: fc.constantFrom(...all) });
}
const bindingArb = fc.record({
  resourceType: biased([TOPIC], RESOURCE_TYPES),
  resourceName: biased(['a', 'ab'], NAMES),
  patternType: fc.constantFrom(LITERAL, PREFIXED),
  principal: biased<Principal>(['User:alice', 'User:*'], PRINCIPALS),
  host: biased(['*', '10.0.0.0/8'], HOST_RULES),
  operation: biased([WRITE, ALL], [READ, WRITE, DESCRIBE, ALL, ALTER_CONFIGS, DESCRIBE_CONFIGS, DELETE, IDEMPOTENT_WRITE]),
  permission: fc.constantFrom(ALLOW, DENY),
});
const requestArb = fc.record({
  principal: biased<Principal>(['User:alice'], REQUEST_PRINCIPALS),
  host: biased(['10.0.0.1', '::ffff:10.0.0.1', 'unknown'], CLIENTS),
  operation: biased([WRITE, DESCRIBE], CONCRETE_ACL_OPERATIONS),
  resourceType: biased([TOPIC], RESOURCE_TYPES),
  resourceName: biased(['a', 'ab', 'abc'], [...NAMES, 'abcd', 'ba', 'hardcode', 'hardly', 'c']),
});
/**
 * Requests come from a small per-run pool, so the same request is asked again after changes: a stale
 * cached decision would show.
 */
type Step = { kind: 'add'; bindings: AclBindingInput[] } | { kind: 'remove'; index: number } | { kind: 'check'; requests: number[] };
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), bindings: fc.array(bindingArb, { minLength: 1, maxLength: 3 }) }),
  fc.record({ kind: fc.constant('remove' as const), index: fc.nat() }),
  fc.record({ kind: fc.constant('check' as const), requests: fc.array(fc.nat(), { minLength: 1, maxLength: 8 }) }),
);

describe('AclAuthorizer against a reference implementation', () => {
  it('agrees on authorize and authorizeAny over random bindings, requests and changes', () => {
    fc.assert(
      fc.property(fc.array(requestArb, { minLength: 1, maxLength: 6 }), fc.array(stepArb, { maxLength: 20 }), fc.integer({ min: 1, max: 8 }), (pool, steps, cacheSize) => {
        const acls = new AclStore({ store: memoryAclPersistence() });
        const authz = new AclAuthorizer({ acls, superUsers: [SUPER], cacheSize });
        let model: AclBindingInput[] = [];
        for (const step of steps) {
          if (step.kind === 'add') {
            assert.ok(acls.create(step.bindings).every((r) => r.code === 0));
            model.push(...step.bindings);
          } else if (step.kind === 'remove') {
            const victim = acls.bindings()[step.index % Math.max(1, acls.bindings().length)];
            if (victim === undefined) continue;
            acls.delete([{ ...victim }]);
            const same = (b: AclBindingInput) =>
              b.resourceType === victim.resourceType && b.resourceName === victim.resourceName && b.patternType === victim.patternType &&
              b.principal === victim.principal && b.host === victim.host && b.operation === victim.operation && b.permission === victim.permission;
            model = model.filter((b) => !same(b));
          } else {
            // Each request twice: the second answer may come from the cache.
            for (const i of [...step.requests, ...step.requests]) {
              const r = pool[i % pool.length];
              if (r === undefined) continue;
              assert.equal(authz.authorize(r), refAuthorize(model, r), `authorize ${JSON.stringify(r)} over ${JSON.stringify(model)}`);
              const rest = { principal: r.principal, host: r.host, operation: r.operation, resourceType: r.resourceType };
              assert.equal(authz.authorizeAny(rest), refAuthorizeAny(model, rest), `authorizeAny ${JSON.stringify(rest)} over ${JSON.stringify(model)}`);
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
